//! Levels required by policy rather than by the request: the server's minimum
//! (`SURETY_MINIMUM_ACR`), the client's own registration (`minimum_acr`, and
//! `default_acr_values` — OpenID Connect Dynamic Client Registration 1.0 §2 — for a
//! request that names no level), and what products require of the clients they govern
//! ([`AcrPolicy`]: a partner's minimum for its developers' apps). The minimums combine
//! (a client needing multi-factor under a server needing verified identity needs both),
//! and the request becomes essential for the result ([`AcrRequest::with_minimum`]).

use async_trait::async_trait;

use super::acr::{AcrRequest, Level};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::ClientRecord;

/// A product's minimum level for sign-ins at the clients it governs.
#[async_trait]
pub trait AcrPolicy: Send + Sync {
    /// The least level every sign-in at `client` must reach ([`Level::BASE`]: none).
    async fn minimum(&self, p: &Provider, client: &ClientRecord) -> Result<Level, OAuthError>;
}

/// The least level every sign-in at `client` must reach, by every policy together.
pub async fn minimum(p: &Provider, client: &ClientRecord) -> Result<Level, OAuthError> {
    let levels = p.ext.authn.levels();
    let named = |acr: Option<&str>| acr.and_then(|a| levels.parse(a)).unwrap_or(Level::BASE);
    let mut min =
        named(p.settings.minimum_acr.as_deref()).and(named(client.metadata.minimum_acr.as_deref()));
    for policy in &p.ext.acr_policies {
        min = min.and(policy.minimum(p, client).await?);
    }
    Ok(min)
}

/// `acr` with the client's `default_acr_values` when the request named no level, and
/// every policy's minimum applied.
pub async fn apply(
    p: &Provider,
    client: &ClientRecord,
    acr: AcrRequest,
) -> Result<AcrRequest, OAuthError> {
    let acr = match acr.values.is_empty() {
        true if !client.metadata.default_acr_values.is_empty() => AcrRequest {
            values: client.metadata.default_acr_values.clone(),
            essential: false,
        },
        _ => acr,
    };
    Ok(acr.with_minimum(p.ext.authn.levels(), minimum(p, client).await?))
}
