//! Browser sessions, stored in the ephemeral cache under the hash of the cookie value, and
//! the `acr` of partner-opened sessions. Each
//! session also has a durable record (`store::SessionStore`) holding its id (`sid`,
//! OpenID Connect Back-Channel Logout 1.0 §2.1) and its cache entry, so that it can be
//! listed and ended from elsewhere (`oauth::backchannel`).

use crate::cache::Ephemeral;
use crate::oauth::backchannel::{Ending, end_session};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::session::cache_key;
use crate::store::SessionRecord;
use crate::util::secret_hash;

/// The engine's view of a signed-in user, stored here as JSON.
pub use crate::oauth::session::Session;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "surety_session";
/// The ladder's `acr` values of Surety's own sign-ins (see [`super::assurance`]).
pub use super::assurance::{ACR_PASSWORD, ACR_VERIFIED};
/// The `acr` of a session a partner opened with a signed login link (portal only).
pub const ACR_PARTNER: &str = "urn:surety:acr:partner";

fn key(cookie: &str) -> String {
    cache_key(&secret_hash(cookie))
}

/// A new session id: `SE` + 32 hex characters.
fn new_sid(p: &Provider) -> String {
    format!("SE{}", p.entropy.hex16())
}

/// Whether `s` has the shape of a session id (what a form or a path may name).
pub fn is_sid(s: &str) -> bool {
    s.len() == 34
        && s.starts_with("SE")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Stores `s` under a new cookie (drawn from the provider's entropy); returns the cookie
/// value. A session that already has an id (a step-up or re-authentication of the same
/// browser session) keeps it, its record pointing at the new cookie; otherwise it gets
/// a new id and record. A session whose record has ended meanwhile starts afresh.
pub async fn create(p: &Provider, s: &Session, ttl: u64) -> Result<String, OAuthError> {
    let cookie = p.entropy.token(32);
    let hash = secret_hash(&cookie);
    let now = p.now();
    let expires_at = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let sessions = p.stores.sessions.as_ref();
    let kept = match &s.sid {
        Some(sid) => sessions
            .rekey_session(sid, &cache_key(&hash), &s.acr, expires_at)
            .await?
            .then(|| sid.clone()),
        None => None,
    };
    let sid = match kept {
        Some(sid) => sid,
        None => {
            let sid = new_sid(p);
            let rec = SessionRecord {
                sid: sid.clone(),
                sub: s.sub.clone(),
                cache_key: cache_key(&hash),
                acr: s.acr.clone(),
                created_at: now,
                expires_at,
                ended_at: None,
            };
            sessions.insert_session(&rec).await?;
            sid
        }
    };
    let stored = Session {
        sid: Some(sid),
        ..s.clone()
    };
    let v = serde_json::to_vec(&stored).map_err(OAuthError::server_error)?;
    p.cache.put(&cache_key(&hash), &v, ttl).await?;
    Ok(cookie)
}

/// Stores `s` under a new cookie in place of the browser's session `old` (its cookie):
/// the same user keeps the session id (a re-authentication or step-up of one browser
/// session); another user's session ends, with its logout tokens
/// (`oauth::backchannel`, [`Ending::Session`]). Returns the new cookie value.
pub async fn replace(
    p: &Provider,
    old: Option<&str>,
    s: &Session,
    ttl: u64,
) -> Result<String, OAuthError> {
    let previous = load(p.cache.as_ref(), old).await?;
    let mut s = s.clone();
    let kept = previous
        .as_ref()
        .filter(|o| o.sub == s.sub && o.acr != ACR_PARTNER && s.sid.is_none());
    if let Some(o) = kept {
        s.sid = o.sid.clone();
    }
    let cookie = create(p, &s, ttl).await?;
    if let Some(c) = old {
        let _ = end(p.cache.as_ref(), c).await;
    }
    let replaced = previous
        .and_then(|o| o.sid)
        .filter(|sid| s.sid.as_ref() != Some(sid));
    if let Some(sid) = replaced
        && let Err(e) = end_session(p, &sid, Ending::Session).await
    {
        tracing::warn!(error = %e, "the replaced session could not be ended");
    }
    Ok(cookie)
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

/// Forgets the cookie's cache entry (the session's record, if any, is ended by
/// `oauth::backchannel`).
pub async fn end(cache: &dyn Ephemeral, cookie: &str) -> Result<(), OAuthError> {
    Ok(cache.delete(&key(cookie)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_have_one_shape() {
        assert!(is_sid("SE0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "SE0123",
            "XX0123456789abcdef0123456789abcdef",
            "SE0123456789ABCDEF0123456789abcdef",
            "SE0123456789abcdef0123456789abcdeg",
        ] {
            assert!(!is_sid(bad), "{bad}");
        }
    }
}
