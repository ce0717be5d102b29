//! The end user's authentication as the engine sees it (OpenID Connect Core §2: `sub`,
//! `auth_time`, `acr`, `amr`): what the login and any later authentication step
//! produced. Where a session is kept (a cookie naming a cache entry) is
//! `accounts::session`'s business; the engine only reads one and, after a step, is
//! handed the raised one. Sessions also have a durable record (`store::SessionStore`)
//! naming their cache entry, which [`super::backchannel`] ends.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub sub: String,
    /// The time of the last authentication event (Core §2 `auth_time`).
    pub auth_time: Timestamp,
    /// The level the last step established (an [`AuthnStep`] `acr`).
    ///
    /// [`AuthnStep`]: super::authorize::steps::AuthnStep
    pub acr: String,
    pub amr: Vec<String>,
    /// The session id (Back-Channel Logout 1.0 §2.1 `sid`): the same for the whole
    /// browser session, across re-authentications and step-ups; `None` for sessions
    /// opened before sessions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The ephemeral cache's key of the session whose cookie hashes to `cookie_hash`.
pub fn cache_key(cookie_hash: &str) -> String {
    format!("sess:{cookie_hash}")
}
