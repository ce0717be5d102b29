//! `GET …/Accounts/{AccountSid}/Verified`: the reference route that needs a verified user
//! (RFC 9470). It stands for the actions a platform keeps for people whose identity
//! Surety checked (releasing a number to a new owner, raising a limit): the caller's
//! token must come from a session at `urn:surety:acr:verified` authenticated within the
//! last [`MAX_AGE`] seconds; otherwise the guard answers 401
//! `insufficient_user_authentication` with `acr_values` and `max_age`, and the client
//! re-runs authorization with them. Account credentials and API keys carry no user
//! authentication and never pass. The answer says who was verified and when.

use axum::Json;
use axum::extract::Path;
use serde::Serialize;

use crate::accounts::session::ACR_VERIFIED;
use crate::clock::SharedClock;
use crate::resource::ResourceError;
use crate::web::api::error::{ApiError, ErrorBody};
use crate::web::guard::{Principal, RequireAcr};

/// Seconds since the user's last authentication this route accepts.
pub const MAX_AGE: i64 = 3600;

/// The requirement of the route, judging `auth_time` by the server's `clock`.
pub fn requirement(clock: SharedClock) -> RequireAcr {
    RequireAcr::new(ACR_VERIFIED).max_age(MAX_AGE).clock(clock)
}

/// The verified user behind the token.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifiedOut {
    account_sid: String,
    /// The token's subject (the user).
    sub: String,
    acr: String,
    /// When the user last authenticated (Unix time).
    auth_time: i64,
}

/// The verified user acting on the account (needs `read` and a verified, recent user
/// authentication).
#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/Verified", params(("account_sid" = String, Path)),
    responses((status = 200, body = VerifiedOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verified(
    p: Principal,
    Path(sid): Path<String>,
) -> Result<Json<VerifiedOut>, ApiError> {
    if p.account_sid.as_deref() != Some(sid.as_str()) {
        return Err((ResourceError::NotFound, p.scheme).into());
    }
    let s = |k: &str| {
        p.claims
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Json(VerifiedOut {
        account_sid: sid,
        sub: s("sub"),
        acr: s("acr"),
        auth_time: p
            .claims
            .get("auth_time")
            .and_then(|v| v.as_i64())
            .unwrap_or_default(),
    }))
}
