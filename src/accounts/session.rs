//! Browser sessions, stored in the ephemeral cache under the hash of the cookie value, and
//! the `acr` values of Surety's authentication steps (OpenID Connect Core §2).

use crate::cache::Ephemeral;
use crate::clock::Entropy;
use crate::oauth::error::OAuthError;
use crate::util::secret_hash;

/// The engine's view of a signed-in user, stored here as JSON.
pub use crate::oauth::session::Session;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "surety_session";
/// The `acr` of a password login.
pub const ACR_PASSWORD: &str = "urn:surety:acr:password";
/// The `acr` of a session whose user also passed a verified-entity challenge (step-up,
/// `amr` `["pwd", "kba"]`).
pub const ACR_VERIFIED: &str = "urn:surety:acr:verified";
/// The `acr` of a session a partner opened with a signed login link (portal only).
pub const ACR_PARTNER: &str = "urn:surety:acr:partner";

fn key(cookie: &str) -> String {
    format!("sess:{}", secret_hash(cookie))
}

/// Starts a session (its id drawn from `rng`); returns the cookie value.
pub async fn create(
    cache: &dyn Ephemeral,
    rng: &dyn Entropy,
    s: &Session,
    ttl: u64,
) -> Result<String, OAuthError> {
    let id = rng.token(32);
    let v = serde_json::to_vec(s).map_err(OAuthError::server_error)?;
    cache.put(&key(&id), &v, ttl).await?;
    Ok(id)
}

/// The session a cookie names, if it is live.
pub async fn load(
    cache: &dyn Ephemeral,
    cookie: Option<&str>,
) -> Result<Option<Session>, OAuthError> {
    let Some(c) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(None);
    };
    Ok(cache
        .get(&key(c))
        .await?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// A session for the OpenID Connect flow: partner-opened portal sessions never count,
/// even if their cookie value is presented as the OIDC session cookie.
pub async fn load_oidc(
    cache: &dyn Ephemeral,
    cookie: Option<&str>,
) -> Result<Option<Session>, OAuthError> {
    Ok(load(cache, cookie).await?.filter(|s| s.acr != ACR_PARTNER))
}

pub async fn end(cache: &dyn Ephemeral, cookie: &str) -> Result<(), OAuthError> {
    Ok(cache.delete(&key(cookie)).await?)
}
