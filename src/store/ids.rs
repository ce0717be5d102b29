//! Identifiers as types, parsed once at the edge: an account SID (`AC` + 32 lowercase
//! hex), a partner id (`PN` + 32 lowercase hex) and a client id (RFC 6749 §2.2 and
//! Appendix A.1: 1 to 255 visible ASCII characters). A value read from the database
//! that does not parse is [`StoreError::Corrupt`](super::StoreError::Corrupt); a
//! request naming a malformed id gets 404 or `invalid_request` before any store is asked.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::Entropy;

/// Whether `s` is `prefix` + 32 lowercase hex.
fn is_sid(prefix: &str, s: &str) -> bool {
    s.len() == prefix.len() + 32
        && s.starts_with(prefix)
        && s[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` is a client id: 1 to 255 characters of %x20-7E, not blank at either end.
fn is_client_id(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !s.starts_with(' ')
        && !s.ends_with(' ')
}

/// A string identifier with a checked form: `parse` is the only way in.
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $valid:expr, $what:literal, $pattern:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// `s` as this id, if it has the form.
            pub fn parse(s: &str) -> Option<Self> {
                let valid: fn(&str) -> bool = $valid;
                valid(s).then(|| Self(s.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == &other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::custom(concat!("not ", $what)))
            }
        }

        impl super::sql::TextEnum for $name {
            fn from_text(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// An account SID: `AC` + 32 lowercase hex.
    AccountSid,
    |s| is_sid("AC", s),
    "an account SID",
    "^AC[0-9a-f]{32}$"
);

id_type!(
    /// A partner id: `PN` + 32 lowercase hex.
    PartnerId,
    |s| is_sid("PN", s),
    "a partner id",
    "^PN[0-9a-f]{32}$"
);

id_type!(
    /// An OAuth client id (RFC 6749 §2.2): 1 to 255 visible ASCII characters or
    /// inner spaces.
    ClientId,
    is_client_id,
    "a client id",
    "^[!-~](?:[ -~]{0,253}[!-~])?$"
);

impl AccountSid {
    /// A new SID drawn from `rng`.
    pub fn new(rng: &dyn Entropy) -> Self {
        Self(format!("AC{}", rng.hex16()))
    }
}

impl PartnerId {
    /// A new id drawn from `rng`.
    pub fn new(rng: &dyn Entropy) -> Self {
        Self(format!("PN{}", rng.hex16()))
    }
}

impl ClientId {
    /// A new id drawn from `rng` (22 base64url characters).
    pub fn new(rng: &dyn Entropy) -> Self {
        Self(rng.token(16))
    }
}

impl From<&PartnerId> for ClientId {
    /// A partner acting as a client goes by its partner id.
    fn from(p: &PartnerId) -> Self {
        Self(p.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemEntropy;

    #[test]
    fn ids_parse_only_their_form() {
        let sid = AccountSid::new(&SystemEntropy);
        assert_eq!(AccountSid::parse(sid.as_str()), Some(sid.clone()));
        assert!(AccountSid::parse(&sid.to_uppercase()).is_none());
        assert!(AccountSid::parse(&sid[..33]).is_none());
        assert!(PartnerId::parse(sid.as_str()).is_none());
        assert!(PartnerId::parse(PartnerId::new(&SystemEntropy).as_str()).is_some());
        for ok in ["c1", "PN0123456789abcdef0123456789abcdef", "my app", "~"] {
            assert!(ClientId::parse(ok).is_some(), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in ["", " c1", "c1 ", "c\u{e9}", "c\n1", long.as_str()] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
        let err = serde_json::from_str::<AccountSid>("\"AC1\"").unwrap_err();
        assert!(err.to_string().contains("not an account SID"));
    }
}
