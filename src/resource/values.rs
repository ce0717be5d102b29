//! The resource API's values, parsed once at the edge (house rule 6): E.164 phone
//! numbers, record SIDs (`SM` messages, `CA` calls, `PH` phone numbers, each + 32
//! lowercase hex) and message bodies.

use std::fmt;

use crate::clock::Entropy;

/// A phone number in E.164 form: `+`, then 2 to 15 digits, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(s: &str) -> Option<Self> {
        let digits = s.strip_prefix('+')?;
        let ok = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a record SID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidKind {
    Message,
    Call,
    PhoneNumber,
}

impl SidKind {
    /// The two-letter prefix (`PH`, not `PN`, which names partners).
    pub fn prefix(self) -> &'static str {
        match self {
            SidKind::Message => "SM",
            SidKind::Call => "CA",
            SidKind::PhoneNumber => "PH",
        }
    }

    /// A fresh random SID of this kind, drawn from `rng`.
    pub fn new_sid(self, rng: &dyn Entropy) -> String {
        format!("{}{}", self.prefix(), rng.hex16())
    }

    /// Whether `s` is a SID of this kind.
    pub fn is_sid(self, s: &str) -> bool {
        s.len() == 34
            && s.starts_with(self.prefix())
            && s[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

/// Longest message body accepted (characters).
pub const MAX_BODY_CHARS: usize = 1600;

/// A message body: 1 to 1600 characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.trim().is_empty() && s.chars().count() <= MAX_BODY_CHARS;
        ok.then(|| Self(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164() {
        for good in ["+15005550006", "+447700900123", "+12", "+123456789012345"] {
            assert!(PhoneNumber::parse(good).is_some(), "{good}");
        }
        for bad in [
            "15005550006",
            "+0123456",
            "+1",
            "+1234567890123456",
            "+1 500 555",
            "+1-500",
            "",
            "+",
            "+１２３",
        ] {
            assert!(PhoneNumber::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sids_have_their_prefix_and_hex() {
        for k in [SidKind::Message, SidKind::Call, SidKind::PhoneNumber] {
            let s = k.new_sid(&crate::clock::SystemEntropy);
            assert!(k.is_sid(&s));
            assert!(!k.is_sid(&s.to_uppercase()));
        }
        assert!(!SidKind::PhoneNumber.is_sid("PN0123456789abcdef0123456789abcdef"));
        assert!(SidKind::PhoneNumber.is_sid("PH0123456789abcdef0123456789abcdef"));
        assert!(!SidKind::Call.is_sid("CA0123"));
    }

    #[test]
    fn bodies_are_bounded() {
        assert!(MessageBody::parse("hi").is_some());
        assert!(MessageBody::parse("  ").is_none());
        assert!(MessageBody::parse(&"é".repeat(MAX_BODY_CHARS)).is_some());
        assert!(MessageBody::parse(&"a".repeat(MAX_BODY_CHARS + 1)).is_none());
    }
}
