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
use serde::Serialize;

use super::{caller, created};
use crate::resource::keys;
pub use crate::resource::keys::KeyIn;
use crate::resource::permissions::Permission;
use crate::resource::{Caller, ResourceError};
use crate::store::{ApiKeyRecord, GrantStatus};
use crate::web::AppState;
use crate::web::api::error::{ApiError, ErrorBody};
use crate::web::guard::{Grants, Principal, Scheme};
use crate::web::json::JsonBody;

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
            // In the registry's order, as created.
            permissions: {
                let mut held: Vec<Permission> =
                    k.permissions.iter().filter_map(Permission::parse).collect();
                held.sort();
                held.into_iter().map(|p| p.as_str().to_owned()).collect()
            },
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

impl Manager {
    fn by(&self) -> keys::Manager<'_> {
        keys::Manager {
            caller: &self.caller,
            actor: self.principal.subject.as_deref().unwrap_or_default(),
        }
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
    let p = &s.provider;
    let (rec, secret) = keys::create(&p.stores, p.entropy.as_ref(), &m.by(), &sid, k, p.now())
        .await
        .map_err(m.refused())?;
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
    let keys = keys::list(&s.provider.stores, &m.caller, &sid)
        .await
        .map_err(m.refused())?;
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
    let p = &s.provider;
    keys::revoke(&p.stores, &m.by(), &sid, &key_sid, p.now())
        .await
        .map_err(m.refused())?;
    Ok(StatusCode::NO_CONTENT)
}
