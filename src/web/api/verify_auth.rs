//! How `/verify/v1` authenticates: a Surety access token the relying party got with the
//! `client_credentials` grant (RFC 6749 §4.4: its `sub` is the client itself) holding the
//! [`SCOPE`] scope. Checked with Surety's key ring and revocation list like every
//! Surety token; refusals are RFC 6750 §3 errors with their `WWW-Authenticate`
//! challenges (401 `invalid_token`, 403 `insufficient_scope`).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::store::StoreError;
use crate::web::AppState;
use crate::web::guard::{GuardError, Principal, SuretyTokens, VerifyToken};

/// The scope a relying party's token needs for `/verify/v1`.
pub const SCOPE: &str = "verify";

/// The relying party calling `/verify/v1`.
#[derive(Debug, Clone)]
pub struct VerifyClient {
    pub client_id: String,
    /// The client's registered name (its id when it has none), named in the entity's
    /// history and alerts.
    pub client_name: String,
}

impl FromRequestParts<AppState> for VerifyClient {
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, GuardError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(GuardError::Missing { basic: false })?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(GuardError::Missing { basic: false });
        }
        let claims = SuretyTokens(s.provider.clone())
            .verify(token.trim())
            .await?;
        let p = Principal::from_claims(claims);
        let client_id = p
            .claims
            .get("client_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let Some(client_id) = client_id.filter(|c| p.subject.as_deref() == Some(c.as_str())) else {
            return Err(GuardError::InvalidToken(
                "use an access token from the client_credentials grant".into(),
            ));
        };
        if !p.allows(SCOPE) {
            return Err(GuardError::insufficient_scope(SCOPE));
        }
        let client = match s.provider.stores.clients.get_client(&client_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(GuardError::InvalidToken(
                    "the client no longer exists".into(),
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "client lookup failed");
                return Err(GuardError::Unavailable);
            }
        };
        Ok(VerifyClient {
            client_name: client
                .metadata
                .client_name
                .unwrap_or_else(|| client_id.clone()),
            client_id,
        })
    }
}
