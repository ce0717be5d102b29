//! `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–§3.5): the device
//! polls with its device code. While the user has not answered: `authorization_pending`,
//! or `slow_down` when it polls sooner than its interval — which then grows by 5 s for
//! that code (the last poll and the interval live in the shared cache, so every node
//! paces it alike). A refusal is `access_denied`, an expired code `expired_token`. An
//! approved code is redeemed by one conditional update in the database: of concurrent
//! polls on any nodes exactly one gets tokens — issued as for an authorization code
//! (ID token with `openid`, refresh token with the refresh grant), under a new grant;
//! every other poll, then and later, gets `invalid_grant`. Public clients need no PKCE
//! (the device code never leaves the device).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::authorization_code::{grant_record, issue};
use super::{ClientAuthPolicy, Grant, TokenRequest};
use crate::oauth::authorize::CodeRecord;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::tokens::TokenResponse;
use crate::store::{DeviceAuthorization, DeviceStatus, StoreError};
use crate::util::{ct_eq, secret_hash};

/// RFC 8628 §7.2's grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Seconds `slow_down` adds to the interval (§3.5).
const SLOW_DOWN_STEP: i64 = 5;
/// Seconds of clock difference between nodes tolerated when judging a poll's pace.
const PACE_SKEW: i64 = 1;

pub struct DeviceCode;

#[async_trait]
impl Grant for DeviceCode {
    fn grant_type(&self) -> &'static str {
        GRANT_TYPE
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::PublicAllowed
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let params = req.params;
        let client = &client
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
            .client;
        let code = params
            .get("device_code")
            .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let invalid = || OAuthError::invalid_grant("the device code is invalid or already used");
        if code.len() > 256 {
            return Err(invalid());
        }
        let hash = secret_hash(code);
        let row = match p.stores.devices.device_by_code(&hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        if !ct_eq(row.client_id.as_bytes(), client.client_id.as_bytes()) {
            return Err(OAuthError::invalid_grant(
                "the device code was issued to another client",
            ));
        }
        let now = p.now();
        match row.status {
            DeviceStatus::Redeemed => Err(invalid()),
            _ if row.expires_at <= now => Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code expired; start again",
            )),
            DeviceStatus::Denied => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Pending => Err(pending(p, &row, now).await?),
            DeviceStatus::Approved => redeem(p, client, &row, &req, now).await,
        }
    }
}

/// The pace of one device code's polls, kept in the cache.
#[derive(Debug, Serialize, Deserialize)]
struct Pace {
    last: i64,
    interval: i64,
}

fn pace_key(device_code_hash: &str) -> String {
    format!("devpoll:{device_code_hash}")
}

/// A poll of a pending code: `slow_down` (and 5 s more) when it came sooner than the
/// interval after the previous poll, `authorization_pending` otherwise. Two polls racing
/// on two nodes may both count as paced: only the pace is at stake, never a grant.
async fn pending(
    p: &Provider,
    row: &DeviceAuthorization,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    let key = pace_key(&row.device_code_hash);
    let before: Option<Pace> = p
        .cache
        .get(&key)
        .await?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let mut pace = before.unwrap_or(Pace {
        last: i64::MIN,
        interval: row.poll_interval,
    });
    let too_fast = pace.last != i64::MIN && now - pace.last < pace.interval - PACE_SKEW;
    if too_fast {
        pace.interval += SLOW_DOWN_STEP;
    }
    pace.last = now;
    let v = serde_json::to_vec(&pace).map_err(OAuthError::server_error)?;
    let ttl = u64::try_from(row.expires_at - now).unwrap_or(0).max(1);
    p.cache.put(&key, &v, ttl).await?;
    Ok(if too_fast {
        OAuthError::new(
            ErrorCode::SlowDown,
            format!(
                "polling too fast; wait {} seconds between polls",
                pace.interval
            ),
        )
    } else {
        OAuthError::new(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        )
    })
}

/// Redeems an approved code: one winner, a new grant, tokens as for a code.
async fn redeem(
    p: &Provider,
    client: &crate::store::ClientRecord,
    row: &DeviceAuthorization,
    req: &TokenRequest<'_>,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let params = req.params;
    let approval = row
        .approval
        .as_ref()
        .ok_or_else(|| OAuthError::server_error("an approved device row without approval"))?;
    let rec: CodeRecord =
        serde_json::from_str(&approval.grant).map_err(OAuthError::server_error)?;
    // RFC 8707 §2.2: a token for one or more of the resources authorized (checked before
    // the code is spent).
    let audience = crate::oauth::resource::narrowed(&rec.resources, params)?;
    p.stores
        .devices
        .redeem_device(&row.device_code_hash, &client.client_id, now)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the device code is invalid or already used"))?;
    let grant = grant_record(&rec, now);
    p.stores.grants.insert_grant(&grant).await?;
    let _ = p.cache.delete(&pace_key(&row.device_code_hash)).await;
    issue(p, client, &rec, &grant, audience, req.cnf).await
}
