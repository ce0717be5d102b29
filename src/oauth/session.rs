//! The end user's authentication as the engine sees it (OpenID Connect Core §2: `sub`,
//! `auth_time`, `acr`, `amr`): what the login and any later authentication step
//! produced. Where a session is kept (a cookie naming a cache entry) is
//! `accounts::session`'s business; the engine only reads one and, after a step, is
//! handed the raised one.

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
}
