//! Partners (docs/product.md §1): companies that own accounts and vouch for them with signed
//! assertions (RFC 7523). This module holds partner and account creation with their
//! validation, the partner's limits, and assertion verification shared by the
//! jwt-bearer grant and the signed login link. What partners plug into the engine:
//! the jwt-bearer grant ([`jwt_bearer`]), partners as clients ([`client`]) and token
//! exchange on accounts ([`exchange`], RFC 8693).

pub mod assertion;
pub mod branding;
pub mod cidr;
pub mod client;
pub mod exchange;
pub mod jwt_bearer;
pub mod keys;
pub mod limits;

// The services the admin API, the Partner API, the portal and the CLI share: partners'
// accounts over their lifetime, and partners themselves.
pub mod accounts;
pub mod manage;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::admin::FieldError;
use crate::clock::{Entropy, Timestamp};
use crate::keys::jws::VerifyKey;
use crate::store::{
    AccountRecord, AccountSid, AccountStatus, PartnerId, PartnerRecord, PartnerStatus,
};
use crate::util::secret_hash;
pub use limits::{PartnerLimits, scope_ceiling};

/// Longest assertion lifetime a partner may use unless its limits say less (seconds).
pub const DEFAULT_ASSERTION_LIFETIME: i64 = 300;

/// A new partner as submitted to `POST /admin/partners`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    /// Not blank; at most 128 characters once trimmed.
    #[schema(
        min_length = 1,
        pattern = r"^\s*[^\s\u0000](?:[^\u0000]{0,126}[^\s\u0000])?\s*$"
    )]
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// An https URL (http only for `localhost` and `127.0.0.1`).
    #[schema(value_type = Option<crate::uri::WebUrl>)]
    pub jwks_uri: Option<String>,
    /// HS256 shared secret (at least 32 bytes); stored sealed, never returned.
    #[schema(min_length = 32)]
    pub secret: Option<String>,
    /// Addresses the partner's assertions may come from (IPv4 or IPv6, with an
    /// optional prefix length); empty: anywhere.
    #[serde(default)]
    #[schema(value_type = Vec<cidr::CidrText>)]
    pub allowed_cidrs: Vec<String>,
    pub limits: Option<PartnerLimits>,
    #[schema(value_type = Option<branding::BrandingInput>)]
    pub branding: Option<Value>,
    /// `active` (default) or `suspended`.
    #[schema(pattern = "^(active|suspended)$")]
    pub status: Option<String>,
}

/// A partner as returned by the admin API (never the secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartnerOutput {
    pub partner_id: PartnerId,
    pub name: String,
    pub status: PartnerStatus,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub has_secret: bool,
    pub allowed_cidrs: Vec<String>,
    pub limits: PartnerLimits,
    #[schema(value_type = Object)]
    pub branding: Value,
    pub created_at: Timestamp,
}

impl From<&PartnerRecord> for PartnerOutput {
    fn from(p: &PartnerRecord) -> Self {
        Self {
            partner_id: p.id.clone(),
            name: p.name.clone(),
            status: p.status,
            jwks: p.jwks.clone(),
            jwks_uri: p.jwks_uri.clone(),
            has_secret: p.sealed_secret.is_some(),
            allowed_cidrs: p.allowed_cidrs.clone(),
            limits: p.limits.clone(),
            branding: p.branding.clone(),
            created_at: p.created_at,
        }
    }
}

/// Validates a partner; a new one's id is drawn from `rng`; `seal` seals the HS256 secret
/// for partner `id`. An update (`old`) keeps the sealed secret when it gives no new one,
/// and keeps the keys too (`jwks`, `jwks_uri`) when it gives no key material at all.
pub fn build_partner(
    rng: &dyn Entropy,
    id: Option<PartnerId>,
    mut input: PartnerInput,
    now: Timestamp,
    old: Option<&PartnerRecord>,
    seal: impl Fn(&str, &[u8]) -> Option<Vec<u8>>,
) -> Result<PartnerRecord, FieldError> {
    if let Some(old) = old
        && input.jwks.is_none()
        && input.jwks_uri.is_none()
        && input.secret.is_none()
    {
        input.jwks = old.jwks.clone();
        input.jwks_uri = old.jwks_uri.clone();
    }
    let kept_secret = old.and_then(|o| o.sealed_secret.clone());
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(FieldError::invalid("name", "1 to 128 characters"));
    }
    let status = match input.status.as_deref() {
        None => PartnerStatus::Active,
        Some(s) => PartnerStatus::parse(s)
            .ok_or_else(|| FieldError::invalid("status", "active or suspended"))?,
    };
    if let Some(j) = &input.jwks
        && VerifyKey::from_jwks(j).is_empty()
    {
        return Err(FieldError::invalid(
            "jwks",
            "no usable key (RSA ≥ 2048 bits, P-256 or Ed25519)",
        ));
    }
    if let Some(u) = &input.jwks_uri {
        crate::uri::check_web_url(u).map_err(|m| FieldError::invalid("jwks_uri", m))?;
    }
    if input.secret.as_ref().is_some_and(|s| s.len() < 32) {
        return Err(FieldError::invalid("secret", "at least 32 bytes"));
    }
    if input.jwks.is_none()
        && input.jwks_uri.is_none()
        && input.secret.is_none()
        && kept_secret.is_none()
    {
        return Err(FieldError::invalid("jwks", "give jwks, jwks_uri or secret"));
    }
    for c in &input.allowed_cidrs {
        cidr::Cidr::parse(c)
            .ok_or_else(|| FieldError::invalid("allowed_cidrs", format!("not a CIDR: {c}")))?;
    }
    if let Some(b) = &input.branding {
        branding::validate(b)?;
    }
    let limits = input.limits.unwrap_or_default();
    limits::check(&limits)?;
    let id = id.unwrap_or_else(|| PartnerId::new(rng));
    let sealed_secret = match &input.secret {
        Some(s) => Some(
            seal(&id, s.as_bytes())
                .ok_or_else(|| FieldError::invalid("secret", "could not be stored"))?,
        ),
        None => kept_secret,
    };
    Ok(PartnerRecord {
        id,
        name: name.to_owned(),
        status,
        jwks: input.jwks,
        jwks_uri: input.jwks_uri,
        sealed_secret,
        allowed_cidrs: input.allowed_cidrs,
        limits,
        branding: input.branding.unwrap_or_else(|| json!({})),
        created_at: now,
    })
}

/// A new account as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Not blank; at most 128 characters once trimmed.
    #[schema(
        min_length = 1,
        pattern = r"^\s*[^\s\u0000](?:[^\u0000]{0,126}[^\s\u0000])?\s*$"
    )]
    pub friendly_name: String,
    #[schema(value_type = Option<PartnerLimits>)]
    pub limits: Option<Value>,
}

/// An account as returned (the auth token only once, at creation or rotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountOutput {
    pub account_sid: AccountSid,
    pub friendly_name: String,
    pub status: AccountStatus,
    pub partner_id: Option<PartnerId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    pub limits: PartnerLimits,
    pub created_at: Timestamp,
}

impl AccountOutput {
    pub fn of(a: &AccountRecord, auth_token: Option<String>) -> Self {
        Self {
            account_sid: a.sid.clone(),
            friendly_name: a.friendly_name.clone(),
            status: a.status,
            partner_id: a.partner_id.clone(),
            auth_token,
            limits: a.limits.clone(),
            created_at: a.created_at,
        }
    }
}

/// Validates a new account for `partner_id`; returns it with its auth token (its sid and
/// token drawn from `rng`).
pub fn build_account(
    rng: &dyn Entropy,
    partner_id: &PartnerId,
    input: AccountInput,
    now: Timestamp,
) -> Result<(AccountRecord, String), FieldError> {
    let name = accounts::friendly_name(&input.friendly_name)?;
    let limits = limits::parse(input.limits.as_ref())?;
    let token = rng.token(32);
    let rec = AccountRecord {
        sid: AccountSid::new(rng),
        partner_id: Some(partner_id.clone()),
        parent_sid: None,
        friendly_name: name.to_owned(),
        status: AccountStatus::Active,
        limits,
        auth_token_hash: secret_hash(&token),
        created_at: now,
    };
    Ok((rec, token))
}

/// The scope of a partner's own token for the Partner API.
pub const PARTNER_API_SCOPE: &str = "partner:api";

/// Whether `s` is a partner id: `PN` + 32 lowercase hex.
pub fn is_partner_id(s: &str) -> bool {
    s.len() == 34
        && s.starts_with("PN")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` is an account SID: `AC` + 32 lowercase hex.
pub fn is_account_sid(s: &str) -> bool {
    AccountSid::parse(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemEntropy;

    #[test]
    fn sids_are_checked() {
        assert!(is_account_sid("AC0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC0123456789ABCDEF0123456789abcdef"));
        assert!(!is_account_sid("PN0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC01"));
    }

    #[test]
    fn partner_fields_are_validated() {
        let seal = |_: &str, b: &[u8]| Some(b.to_vec());
        let base = || PartnerInput {
            name: "P".into(),
            secret: Some("s".repeat(32)),
            ..Default::default()
        };
        assert!(build_partner(&SystemEntropy, None, base(), 0, None, seal).is_ok());
        let cases = [
            (
                PartnerInput {
                    name: " ".into(),
                    ..base()
                },
                "name",
            ),
            (
                PartnerInput {
                    secret: Some("short".into()),
                    ..base()
                },
                "secret",
            ),
            (
                PartnerInput {
                    secret: None,
                    ..base()
                },
                "jwks",
            ),
            (
                PartnerInput {
                    allowed_cidrs: vec!["10.0.0.0/33".into()],
                    ..base()
                },
                "allowed_cidrs",
            ),
            (
                PartnerInput {
                    jwks: Some(json!({"keys": []})),
                    ..base()
                },
                "jwks",
            ),
            (
                PartnerInput {
                    status: Some("gone".into()),
                    ..base()
                },
                "status",
            ),
            (
                PartnerInput {
                    branding: Some(json!({"primary_color": "red;}"})),
                    ..base()
                },
                "branding",
            ),
            (
                PartnerInput {
                    branding: Some(json!({"frame_origins": ["https://a.example/path"]})),
                    ..base()
                },
                "branding",
            ),
            (
                PartnerInput {
                    branding: Some(json!({"surprise": 1})),
                    ..base()
                },
                "branding",
            ),
        ];
        let good = json!({"display_name": "Acme", "primary_color": "#0a7", "frame_origins": ["https://acme.example"], "hidden_sections": ["apps"]});
        assert!(
            build_partner(
                &SystemEntropy,
                None,
                PartnerInput {
                    branding: Some(good),
                    ..base()
                },
                0,
                None,
                seal
            )
            .is_ok()
        );
        for (input, field) in cases {
            assert_eq!(
                build_partner(&SystemEntropy, None, input, 0, None, seal)
                    .unwrap_err()
                    .field,
                field
            );
        }
    }
}
