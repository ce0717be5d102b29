//! Scoped API keys and the resource API's Basic credentials (no HTTP here).
//!
//! A key (`SK` + 32 hex) acts as its account with exactly its permissions while it is
//! active; it is created, listed and revoked only by its account or an ancestor (the
//! web layer checks the caller used account credentials), each change audited. Basic
//! credentials are an account SID and its auth token, or a key SID and its secret, both
//! compared as SHA-256 in constant time.

use serde::Deserialize;

use super::permissions::Permission;
use super::{Caller, ResourceError, service};
use crate::clock::{Entropy, Timestamp};
use crate::oauth::scope::Scope;
use crate::store::{
    AccountSid, AccountStatus, ApiKeyRecord, AuditEvent, GrantStatus, StoreError, Stores,
};
use crate::util::{ct_eq, secret_hash};

/// The two letters every key SID starts with.
pub const PREFIX: &str = "SK";

/// Longest friendly name (characters).
pub const MAX_NAME_CHARS: usize = 128;

/// Whether `s` is a key SID: `SK` + 32 lowercase hex.
pub fn is_key_sid(s: &str) -> bool {
    s.len() == 34
        && s.starts_with(PREFIX)
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A key to create.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    /// 1 to 128 characters.
    pub friendly_name: Option<String>,
    /// At least one permission of the registry: `read`, `calls:write`, `messages:send`,
    /// `numbers:manage`, `callerids:all`.
    pub permissions: Option<Vec<String>>,
}

/// A key's request, parsed: a trimmed name and a sorted, duplicate-free permission set.
#[derive(Debug, PartialEq)]
pub struct NewKey {
    pub friendly_name: String,
    pub permissions: Vec<Permission>,
}

fn registry() -> String {
    Permission::ALL.map(Permission::as_str).join(", ")
}

fn invalid(field: &'static str, message: impl Into<String>) -> ResourceError {
    ResourceError::Invalid {
        field,
        message: message.into().into(),
    }
}

impl NewKey {
    pub fn parse(k: KeyIn) -> Result<Self, ResourceError> {
        let name = k.friendly_name.unwrap_or_default();
        let name = name.trim();
        let n = name.chars().count();
        if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(invalid("friendly_name", "1 to 128 characters"));
        }
        let names = k.permissions.unwrap_or_default();
        if names.is_empty() {
            let msg = format!("at least one permission of: {}", registry());
            return Err(invalid("permissions", msg));
        }
        let mut permissions = Vec::with_capacity(names.len());
        for s in &names {
            let Some(p) = Permission::parse(s) else {
                let shown: String = s.chars().take(40).collect();
                let msg = format!("unknown permission {shown:?}; one of: {}", registry());
                return Err(invalid("permissions", msg));
            };
            permissions.push(p);
        }
        permissions.sort();
        permissions.dedup();
        Ok(Self {
            friendly_name: name.to_owned(),
            permissions,
        })
    }
}

/// Who manages keys: the caller (its account credentials) and the name audited.
pub struct Manager<'a> {
    pub caller: &'a Caller,
    pub actor: &'a str,
}

async fn audit(
    stores: &Stores,
    by: &Manager<'_>,
    action: &str,
    account: &str,
    key: &str,
    at: Timestamp,
) {
    let e = AuditEvent {
        at,
        actor: by.actor.to_owned(),
        action: action.into(),
        subject: account.into(),
        outcome: "ok".into(),
        detail: key.into(),
    };
    if let Err(err) = stores.audit.record(&e).await {
        tracing::warn!(error = %err, "audit record failed");
    }
}

/// Creates a key of account `sid` (the caller's or a descendant's); returns it with its
/// secret, which is shown this once.
pub async fn create(
    stores: &Stores,
    rng: &dyn Entropy,
    by: &Manager<'_>,
    sid: &str,
    input: KeyIn,
    now: Timestamp,
) -> Result<(ApiKeyRecord, String), ResourceError> {
    service::resolve(stores, by.caller, sid, true).await?;
    let new = NewKey::parse(input)?;
    let secret = rng.token(32);
    let names: Vec<&str> = new.permissions.iter().map(|p| p.as_str()).collect();
    let permissions = Scope::parse(&names.join(" ")).ok_or(ResourceError::Invalid {
        field: "permissions",
        message: "permissions of the registry".into(),
    })?;
    let rec = ApiKeyRecord {
        sid: format!("{PREFIX}{}", rng.hex16()),
        account_sid: sid.to_owned(),
        friendly_name: new.friendly_name,
        secret_hash: secret_hash(&secret),
        permissions,
        status: GrantStatus::Active,
        created_at: now,
        revoked_at: None,
    };
    stores.api_keys.insert_api_key(&rec).await?;
    audit(stores, by, "api_key.create", sid, &rec.sid, now).await;
    Ok((rec, secret))
}

/// The keys of account `sid`, active and revoked.
pub async fn list(
    stores: &Stores,
    caller: &Caller,
    sid: &str,
) -> Result<Vec<ApiKeyRecord>, ResourceError> {
    service::resolve(stores, caller, sid, false).await?;
    Ok(stores.api_keys.list_api_keys(sid).await?)
}

/// Revokes key `key_sid` of account `sid`: it stops authenticating at once.
pub async fn revoke(
    stores: &Stores,
    by: &Manager<'_>,
    sid: &str,
    key_sid: &str,
    now: Timestamp,
) -> Result<(), ResourceError> {
    service::resolve(stores, by.caller, sid, false).await?;
    if !is_key_sid(key_sid) {
        return Err(ResourceError::NotFound);
    }
    stores.api_keys.revoke_api_key(sid, key_sid, now).await?;
    audit(stores, by, "api_key.revoke", sid, key_sid, now).await;
    Ok(())
}

/// What Basic credentials prove.
#[derive(Debug, Clone, PartialEq)]
pub enum BasicCredential {
    /// An account's own credentials: every permission of the account.
    Account(AccountSid),
    /// A key: its account, its permissions.
    Key {
        sid: String,
        account_sid: String,
        permissions: Scope,
    },
}

/// Why Basic credentials were refused.
#[derive(Debug)]
pub enum CredentialError {
    /// Unknown, wrong, revoked, or of a closed account.
    Invalid,
    Store(StoreError),
}

impl From<StoreError> for CredentialError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CredentialError::Invalid,
            e => CredentialError::Store(e),
        }
    }
}

/// Checks Basic credentials: `user` is an account SID or a key SID. The status of a
/// key's account is checked by the domain on every operation, as for the account's own.
pub async fn authenticate(
    stores: &Stores,
    user: &str,
    secret: &str,
) -> Result<BasicCredential, CredentialError> {
    let presented = secret_hash(secret);
    if is_key_sid(user) {
        let key = stores.api_keys.get_api_key(user).await?;
        if !ct_eq(presented.as_bytes(), key.secret_hash.as_bytes())
            || key.status != GrantStatus::Active
        {
            return Err(CredentialError::Invalid);
        }
        return Ok(BasicCredential::Key {
            sid: key.sid,
            account_sid: key.account_sid,
            permissions: key.permissions,
        });
    }
    let sid = AccountSid::parse(user).ok_or(CredentialError::Invalid)?;
    let account = stores.accounts.get_account(&sid).await?;
    if !ct_eq(presented.as_bytes(), account.auth_token_hash.as_bytes())
        || account.status == AccountStatus::Closed
    {
        return Err(CredentialError::Invalid);
    }
    Ok(BasicCredential::Account(sid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: Option<&str>, perms: Option<&[&str]>) -> KeyIn {
        KeyIn {
            friendly_name: name.map(str::to_owned),
            permissions: perms.map(|p| p.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn field(r: Result<NewKey, ResourceError>) -> String {
        match r {
            Err(ResourceError::Invalid { field, .. }) => field.to_owned(),
            Err(e) => format!("{e}"),
            Ok(_) => "accepted".into(),
        }
    }

    #[test]
    fn key_sids_are_sk_and_lowercase_hex() {
        assert!(is_key_sid("SK0123456789abcdef0123456789abcdef"));
        assert!(!is_key_sid("SK0123456789ABCDEF0123456789abcdef"));
        assert!(!is_key_sid("AC0123456789abcdef0123456789abcdef"));
        assert!(!is_key_sid("SK01"));
        assert!(is_key_sid(&format!(
            "{PREFIX}{}",
            crate::clock::Entropy::hex16(&crate::clock::SystemEntropy)
        )));
    }

    #[test]
    fn new_keys_need_a_name_and_registry_permissions() {
        let ok = NewKey::parse(input(
            Some("  CI  "),
            Some(&["messages:send", "read", "read"]),
        ));
        assert!(matches!(ok, Ok(ref k) if k.friendly_name == "CI"
            && k.permissions == [Permission::Read, Permission::MessagesSend]));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        for bad in [
            None,
            Some(""),
            Some("  "),
            Some("a\u{7}b"),
            Some(long.as_str()),
        ] {
            assert_eq!(
                field(NewKey::parse(input(bad, Some(&["read"])))),
                "friendly_name"
            );
        }
        for bad in [
            None,
            Some(&[][..]),
            Some(&["read", "calls:read"][..]),
            Some(&["READ"][..]),
        ] {
            assert_eq!(field(NewKey::parse(input(Some("k"), bad))), "permissions");
        }
    }
}
