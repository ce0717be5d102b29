//! A user's browser sessions as the user (account pages) and an operator (admin API) see
//! and end them (OpenID Connect Back-Channel Logout 1.0: each ending notifies the
//! clients the session signed in to, through `oauth::backchannel`). A user ending one
//! session of theirs keeps `offline_access` grants; "sign out everywhere" and an
//! operator's ending revoke them too.

use crate::oauth::backchannel::{self, Ending, SessionView};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::StoreError;

/// Why listing or ending sessions failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such user, or no such live session of theirs.
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Failed(#[from] OAuthError),
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => SessionError::NotFound,
            e => SessionError::Failed(e.into()),
        }
    }
}

type Result<T> = std::result::Result<T, SessionError>;

/// A client's registered name for the sessions page, else its id (also for a client
/// deleted since).
pub async fn client_name(p: &Provider, client_id: &str) -> std::result::Result<String, OAuthError> {
    match p.stores.clients.get_client(client_id).await {
        Ok(c) => Ok(c
            .metadata
            .client_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| client_id.to_owned())),
        Err(StoreError::NotFound) => Ok(client_id.to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// The live sessions of user `sub`, newest first; `NotFound` if there is no such user.
pub async fn list(p: &Provider, sub: &str) -> Result<Vec<SessionView>> {
    p.stores.users.get_user(sub).await?;
    Ok(backchannel::sessions_of(p, sub).await?)
}

/// Ends session `sid` of user `sub`; `NotFound` unless it is one of `sub`'s live sessions.
pub async fn end_one(p: &Provider, sub: &str, sid: &str, why: Ending) -> Result<()> {
    if !crate::accounts::session::is_sid(sid) {
        return Err(SessionError::NotFound);
    }
    let s = p.stores.sessions.get_session(sid).await?;
    if s.sub != sub || s.ended_at.is_some() || s.expires_at <= p.now() {
        return Err(SessionError::NotFound);
    }
    backchannel::end_session(p, sid, why).await?;
    Ok(())
}

/// Ends every live session of user `sub`; returns how many ended. `NotFound` if there
/// is no such user.
pub async fn end_all(p: &Provider, sub: &str, why: Ending) -> Result<u64> {
    p.stores.users.get_user(sub).await?;
    Ok(backchannel::end_user_sessions(p, sub, why).await?)
}

/// Ends every live session of user `sub` but `keep` (the session of the browser asking);
/// returns how many ended.
pub async fn end_others(p: &Provider, sub: &str, keep: &str, why: Ending) -> Result<u64> {
    Ok(backchannel::end_other_sessions(p, sub, keep, why).await?)
}
