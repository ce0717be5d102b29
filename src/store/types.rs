//! The typed values records hold: statuses as enums stored as their text, limits and
//! permission profiles as structs stored as JSON. A stored value that does not parse
//! is [`StoreError::Corrupt`](super::StoreError::Corrupt) (logged, answered as a server
//! error), never a silent default.

use serde::{Deserialize, Serialize};

/// A status enum stored as text: `as_str` writes it, `parse` reads it back.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $v),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some($name::$v),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl super::sql::TextEnum for $name {
            fn from_text(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }
    };
}

text_enum! {
    /// An account's lifecycle: active ⇄ suspended, either → closed (final).
    AccountStatus {
        Active => "active",
        Suspended => "suspended",
        Closed => "closed",
    }
}

text_enum! {
    /// A partner's standing: a suspended partner's assertions and accounts are refused.
    PartnerStatus {
        Active => "active",
        Suspended => "suspended",
    }
}

text_enum! {
    /// A user's authorization of an app (and, alike, an API key): active until revoked.
    GrantStatus {
        Active => "active",
        Revoked => "revoked",
    }
}

text_enum! {
    /// What a single-use link e-mailed to a user is for (`accounts::links`).
    LinkPurpose {
        /// Proves the address is the user's (`email_verified`).
        VerifyEmail => "verify_email",
        /// Lets the holder set a new password.
        ResetPassword => "reset_password",
    }
}

text_enum! {
    /// An outbox event: pending until delivered, or failed after its last attempt.
    OutboxStatus {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

/// What a partner's (or one account's) tokens may never do. On an account it narrows
/// its partner's. (Its OpenAPI schema is `partners::limits`: it names the resource
/// registry's permissions.)
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartnerLimits {
    /// Scopes no token for these accounts may carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_scopes: Vec<String>,
    /// The most a token for these accounts may carry (permissions of the registry);
    /// unset: every permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_scopes: Option<Vec<String>>,
    /// Longest assertion lifetime accepted, seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_assertion_lifetime: Option<i64>,
    /// Metered resource-API calls per calendar month (UTC); on a partner, the default for
    /// its accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_monthly_api_calls: Option<u64>,
    /// Partner only: the least level (`acr`) of every sign-in at the apps of the
    /// partner's developer accounts, and of every delegated session it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_acr: Option<String>,
    /// Partner only: the highest level the partner may vouch for in an assertion's
    /// `acr` claim (unset: the password level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_acr: Option<String>,
}

/// What an app asks of the accounts it acts on, and what an authorization grants.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageLimits {
    /// Metered resource-API calls per calendar month (UTC), at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub max_monthly_api_calls: Option<u64>,
}

impl From<&UsageLimits> for PartnerLimits {
    /// An app's subaccount is limited as the app asked.
    fn from(u: &UsageLimits) -> Self {
        PartnerLimits {
            max_monthly_api_calls: u.max_monthly_api_calls,
            ..PartnerLimits::default()
        }
    }
}

/// One permission of an app's profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AppPermission {
    pub name: String,
    /// The user may decline it on the consent page.
    #[serde(default)]
    pub optional: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_the_stored_text() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(OutboxStatus::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["pending", "delivered", "failed"])
        );
    }

    #[test]
    fn text_round_trips_and_unknown_text_is_none() {
        for s in [
            AccountStatus::Active,
            AccountStatus::Suspended,
            AccountStatus::Closed,
        ] {
            assert_eq!(AccountStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [
            OutboxStatus::Pending,
            OutboxStatus::Delivered,
            OutboxStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(AccountStatus::parse("Active"), None);
        assert_eq!(PartnerStatus::parse("closed"), None);
        assert_eq!(OutboxStatus::parse("failed"), Some(OutboxStatus::Failed));
    }

    #[test]
    fn limits_refuse_unknown_members() {
        let l: PartnerLimits = serde_json::from_str(r#"{"max_monthly_api_calls": 5}"#).unwrap();
        assert_eq!(l.max_monthly_api_calls, Some(5));
        assert!(serde_json::from_str::<PartnerLimits>(r#"{"max_calls": 5}"#).is_err());
        assert!(serde_json::from_str::<UsageLimits>(r#"{"denied_scopes": []}"#).is_err());
        assert_eq!(
            serde_json::to_string(&PartnerLimits::default()).unwrap(),
            "{}"
        );
    }
}
