//! The Device Authorization Grant (RFC 8628), the engine's side. A device without a
//! browser (or a keyboard) asks the device authorization endpoint (§3.1, [`authorize`])
//! for a `device_code` and a short `user_code` (§3.2); the user opens the verification
//! page on another device, signs in and answers through the authorization endpoint's own
//! pipeline — login, step-up, the consent screen and its policies
//! ([`verification`], §3.3); meanwhile the device polls the token endpoint
//! (`grants::device_code`, §3.4–§3.5). The device code is stored only as its hash; the
//! state lives in the database (`store::DeviceStore`), the polling pace in the cache.
//! Requests to the device authorization endpoint are counted per client address before
//! anything else is done ([`admit`], §5.2), as typed user codes are (`verification`).

pub mod user_code;
pub mod verification;

use serde::Serialize;

use super::authorize::request::{self, AuthRequest};
use super::client_auth::{self, Credentials};
use super::error::OAuthError;
use super::grants::Params;
use super::grants::device_code::GRANT_TYPE;
use super::provider::{Provider, paths};
use super::resource;
use crate::store::{ClientRecord, DeviceAuthorization, DeviceStatus, StoreError};
use crate::util::secret_hash;
use user_code::UserCode;

/// Attempts at drawing a user code no stored row holds.
const USER_CODE_DRAWS: usize = 4;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Whether a device authorization request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// The address spent its budget for this minute: retry after so many seconds.
    Limited {
        retry_after: u64,
    },
}

/// Counts one device authorization request from client address `addr` against its
/// budget for the current minute (`SURETY_DEVICE_AUTHORIZATION_RATE`; RFC 8628 §5.2):
/// an atomic increment in the shared cache, made before the request is looked at, so
/// every node counts together and a refused request costs nothing more.
pub async fn admit(p: &Provider, addr: &str) -> Result<Admission, OAuthError> {
    let limit = p.settings.device_authorization_rate;
    if limit == 0 {
        return Ok(Admission::Allowed);
    }
    let now = p.now();
    let key = format!("devauth:{addr}:{}", now.div_euclid(60));
    if p.cache.incr(&key, 120).await? <= limit {
        return Ok(Admission::Allowed);
    }
    metrics::counter!("surety_device_authorizations_limited_total").increment(1);
    let retry_after = u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60);
    Ok(Admission::Limited { retry_after })
}

/// `POST /device_authorization` (RFC 8628 §3.1): authenticates the client as the token
/// endpoint does (a public client identifies with `client_id`), checks it is registered
/// for the grant, checks the scope (and `resource`, `acr_values`) as the authorization
/// endpoint does, and stores a pending authorization.
pub async fn authorize(
    p: &Provider,
    creds: &Credentials,
    params: &Params,
) -> Result<DeviceResponse, OAuthError> {
    let endpoint = p.url(paths::DEVICE_AUTHORIZATION);
    let client = client_auth::authenticate(p, creds, &endpoint, true)
        .await?
        .client;
    if !client.metadata.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::unauthorized_client(
            "the client is not registered for the device authorization grant",
        ));
    }
    let mut req = device_request(p, &client, params).await?;
    let device_code = p.entropy.token(32);
    let device_code_hash = secret_hash(&device_code);
    req.device = Some(device_code_hash.clone());
    let now = p.now();
    let mut row = DeviceAuthorization {
        device_code_hash,
        user_code_hash: String::new(),
        client_id: client.client_id.to_string(),
        scope: req.scope.to_string(),
        request: serde_json::to_string(&req).map_err(OAuthError::server_error)?,
        poll_interval: p.settings.device_poll_interval.max(1),
        status: DeviceStatus::Pending,
        approval: None,
        created_at: now,
        expires_at: now + p.settings.device_code_ttl.max(1),
    };
    let user_code = store_with_fresh_user_code(p, &mut row).await?;
    let verification_uri = p.url(paths::DEVICE);
    let verification_uri_complete = crate::oauth::authorize::with_query(
        &verification_uri,
        &[("user_code", &user_code.to_string())],
    );
    Ok(DeviceResponse {
        device_code,
        user_code: user_code.to_string(),
        verification_uri,
        verification_uri_complete,
        expires_in: row.expires_at - now,
        interval: row.poll_interval,
    })
}

/// Stores `row` under a user code no stored row holds (drawn again on a clash).
async fn store_with_fresh_user_code(
    p: &Provider,
    row: &mut DeviceAuthorization,
) -> Result<UserCode, OAuthError> {
    for _ in 0..USER_CODE_DRAWS {
        let code = UserCode::generate(p.entropy.as_ref());
        row.user_code_hash = secret_hash(code.normalized());
        match p.stores.devices.insert_device(row).await {
            Ok(()) => return Ok(code),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::server_error(
        "no free user code after several draws",
    ))
}

/// The request the user will answer, checked as an authorization request is: the scope
/// (the client's registered scope when none is given, RFC 6749 §3.3), the resources
/// (RFC 8707) and `acr_values`. The consent screen is always shown (`prompt=consent`):
/// the user must see which client the code they typed belongs to (RFC 8628 §5.4).
async fn device_request(
    p: &Provider,
    client: &ClientRecord,
    params: &Params,
) -> Result<AuthRequest, OAuthError> {
    let get = |k: &str| params.get(k).map(String::as_str);
    let resources = resource::requested(p, params).await?;
    let asked = get("scope").or(client.metadata.scope.as_deref());
    let scope = request::check_scope(&p.scopes, client, asked, &resources)
        .map_err(|(code, d)| OAuthError::new(code, d))?;
    if get("acr_values").is_some_and(|v| v.len() > 512) {
        return Err(OAuthError::invalid_request("acr_values is too long"));
    }
    let acr = request::check_acr(p.ext.authn.levels(), get("acr_values"), None)
        .map_err(|(code, d)| OAuthError::new(code, d))?;
    let acr = crate::oauth::authorize::acr_policy::apply(p, client, acr).await?;
    Ok(AuthRequest {
        client_id: client.client_id.to_string(),
        // Never a client's: a refusal the pipeline did not foresee ends on our own page.
        redirect_uri: p.url(paths::DEVICE),
        scope,
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: vec!["consent".to_owned()],
        max_age: None,
        acr_values: get("acr_values").map(str::to_owned),
        login_hint: None,
        acr,
        claims: None,
        resources: resources.uris,
        // RFC 9449 defines no `dpop_jkt` for the device flow: the token request's proof
        // binds the tokens.
        dpop_jkt: None,
        response_mode: Default::default(),
        device: None,
    })
}
