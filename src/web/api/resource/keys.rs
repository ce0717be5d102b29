//! Scoped API keys: `POST …/Keys` creates one (its secret is shown once),
//! `GET …/Keys` lists them (never a secret), `DELETE …/Keys/{key_sid}` revokes one at once.
//!
//! A key authenticates the resource API with HTTP Basic `<KeySid>:<KeySecret>` (see
//! [`super::AccountAuth`]) and acts as its account with exactly its permissions. Keys are
//! managed only with an account's own credentials (account SID + auth token) or an
//! ancestor account's: a key or an access token gets 403, whatever account it names.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{caller, created};
use crate::resource::permissions::Permission;
use crate::resource::{Caller, ResourceError, service};
use crate::store::{ApiKeyRecord, AuditEvent, GrantStatus};
use crate::util::secret_hash;
use crate::web::AppState;
use crate::web::api::error::{ApiError, ErrorBody};
use crate::web::guard::{Grants, Principal, Scheme};
use crate::web::json::JsonBody;

/// The two letters every key SID starts with.
const PREFIX: &str = "SK";

/// Longest friendly name (characters).
const MAX_NAME_CHARS: usize = 128;

/// Whether `s` is a key SID: `SK` + 32 lowercase hex.
pub fn is_key_sid(s: &str) -> bool {
    s.len() == 34
        && s.starts_with(PREFIX)
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 403: keys are managed only with an account's own credentials.
fn not_account_credentials() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "account_credentials_required",
        "API keys are managed only with the account's own credentials (account SID + auth token) or a parent account's",
    )
}

/// The caller, when it authenticated with an account's own credentials.
pub struct Manager {
    principal: Principal,
    caller: Caller,
}

impl<S: Send + Sync> FromRequestParts<S> for Manager {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, s).await?;
        if principal.scheme != Scheme::Basic || principal.grants != Grants::All {
            return Err(not_account_credentials());
        }
        Ok(Self {
            caller: caller(&principal),
            principal,
        })
    }
}

impl Manager {
    fn refused(&self) -> impl Fn(ResourceError) -> ApiError + '_ {
        move |e| ApiError::from((e, self.principal.scheme))
    }
}

/// A key to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    /// 1 to 128 characters.
    friendly_name: Option<String>,
    /// At least one permission of the registry: `read`, `calls:write`, `messages:send`,
    /// `numbers:manage`, `callerids:all`.
    permissions: Option<Vec<String>>,
}

/// A key's request, parsed: a trimmed name and a sorted, duplicate-free permission set.
#[derive(Debug, PartialEq)]
struct NewKey {
    friendly_name: String,
    permissions: Vec<Permission>,
}

fn malformed(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_request(message).field(field)
}

fn registry() -> String {
    Permission::ALL.map(Permission::as_str).join(", ")
}

impl NewKey {
    fn parse(k: KeyIn) -> Result<Self, ApiError> {
        let name = k.friendly_name.unwrap_or_default();
        let name = name.trim();
        let n = name.chars().count();
        if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(malformed("friendly_name", "1 to 128 characters"));
        }
        let names = k.permissions.unwrap_or_default();
        if names.is_empty() {
            let msg = format!("at least one permission of: {}", registry());
            return Err(malformed("permissions", msg));
        }
        let mut permissions = Vec::with_capacity(names.len());
        for s in &names {
            let Some(p) = Permission::parse(s) else {
                let shown: String = s.chars().take(40).collect();
                let msg = format!("unknown permission {shown:?}; one of: {}", registry());
                return Err(malformed("permissions", msg));
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

/// A key, without its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyOut {
    /// `SK` + 32 hex: the username of HTTP Basic.
    sid: String,
    account_sid: String,
    friendly_name: String,
    permissions: Vec<String>,
    status: GrantStatus,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl From<ApiKeyRecord> for KeyOut {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            sid: k.sid,
            account_sid: k.account_sid,
            friendly_name: k.friendly_name,
            permissions: k
                .permissions
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            status: k.status,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key and its secret: the password of HTTP Basic, shown this once only.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyCreated {
    #[serde(flatten)]
    key: KeyOut,
    secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyList {
    keys: Vec<KeyOut>,
}

async fn audit(s: &AppState, m: &Manager, action: &str, account_sid: &str, key_sid: &str) {
    let e = AuditEvent {
        at: s.provider.now(),
        actor: m.principal.subject.clone().unwrap_or_default(),
        action: action.into(),
        subject: account_sid.into(),
        outcome: "ok".into(),
        detail: key_sid.into(),
    };
    if let Err(err) = s.provider.stores.audit.record(&e).await {
        tracing::warn!(error = %err, "audit record failed");
    }
}

/// Creates a key with its own permission set; the secret is in this response only.
#[utoipa::path(post, path = "/api/v1/Accounts/{account_sid}/Keys", params(("account_sid" = String, Path)), request_body = KeyIn,
    responses((status = 201, body = KeyCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_key(
    m: Manager,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(k): JsonBody<KeyIn>,
) -> Result<Response, ApiError> {
    let stores = &s.provider.stores;
    service::resolve(stores, &m.caller, &sid, true)
        .await
        .map_err(m.refused())?;
    let new = NewKey::parse(k)?;
    let rng = s.provider.entropy.as_ref();
    let secret = rng.token(32);
    let permissions: Vec<&str> = new.permissions.iter().map(|p| p.as_str()).collect();
    let rec = ApiKeyRecord {
        sid: format!("{PREFIX}{}", rng.hex16()),
        account_sid: sid.clone(),
        friendly_name: new.friendly_name,
        secret_hash: secret_hash(&secret),
        permissions: permissions.join(" "),
        status: GrantStatus::Active,
        created_at: s.provider.now(),
        revoked_at: None,
    };
    stores
        .api_keys
        .insert_api_key(&rec)
        .await
        .map_err(|e| m.refused()(ResourceError::Store(e)))?;
    audit(&s, &m, "api_key.create", &sid, &rec.sid).await;
    Ok(created(KeyCreated {
        key: rec.into(),
        secret,
    }))
}

/// Lists the account's keys, active and revoked (never their secrets).
#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/Keys", params(("account_sid" = String, Path)),
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_keys(
    m: Manager,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<KeyList>, ApiError> {
    let stores = &s.provider.stores;
    service::resolve(stores, &m.caller, &sid, false)
        .await
        .map_err(m.refused())?;
    let keys = stores
        .api_keys
        .list_api_keys(&sid)
        .await
        .map_err(|e| m.refused()(ResourceError::Store(e)))?;
    Ok(Json(KeyList {
        keys: keys.into_iter().map(KeyOut::from).collect(),
    }))
}

/// Revokes a key: it stops authenticating at once (401).
#[utoipa::path(delete, path = "/api/v1/Accounts/{account_sid}/Keys/{key_sid}", params(("account_sid" = String, Path), ("key_sid" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    m: Manager,
    State(s): State<AppState>,
    Path((sid, key_sid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let stores = &s.provider.stores;
    service::resolve(stores, &m.caller, &sid, false)
        .await
        .map_err(m.refused())?;
    if !is_key_sid(&key_sid) {
        return Err(m.refused()(ResourceError::NotFound));
    }
    let now = s.provider.now();
    stores
        .api_keys
        .revoke_api_key(&sid, &key_sid, now)
        .await
        .map_err(|e| m.refused()(e.into()))?;
    audit(&s, &m, "api_key.revoke", &sid, &key_sid).await;
    Ok(StatusCode::NO_CONTENT)
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

    fn field(r: Result<NewKey, ApiError>) -> String {
        match r {
            Err(e) => e.body().field.clone().unwrap_or_default(),
            _ => "accepted".into(),
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
