//! The accounts product's authentication steps (OpenID Connect Core §2; levels in
//! [`super::assurance`]): the login at `/login` (a password, or a passkey alone), which
//! every signed-in session holds; and the stronger factors at `/authenticate`
//! (`web::routes::authenticate`) — a one-time code, a recovery code or a passkey for
//! multi-factor, a passkey for phishing-resistant. A session holds a factor's level when
//! it proved it itself (its own `acr`); `max_age` is kept by the login (`auth_time`
//! is the time of the last step passed).

use async_trait::async_trait;

use super::assurance::{MFA, PHISHING_RESISTANT};
use crate::oauth::authorize::acr::Level;
use crate::oauth::authorize::steps::AuthnStep;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::oauth::session::Session;

/// The page of the second-factor and passkey steps.
pub const AUTHENTICATE: &str = "/authenticate";

/// Registered first in `app.rs`.
pub struct PasswordLogin;

#[async_trait]
impl AuthnStep for PasswordLogin {
    fn proves(&self) -> Level {
        Level::BASE
    }
    fn page(&self) -> &'static str {
        paths::LOGIN
    }
    async fn holds(&self, _: &Provider, _: &Session, _: Option<i64>) -> Result<bool, OAuthError> {
        Ok(true)
    }
}

/// A factor beyond the login, proving `level` (registered after the login in `app.rs`).
pub struct Factor(pub Level);

impl Factor {
    /// Multi-factor: a one-time code, a recovery code or a passkey.
    pub const MULTI: Factor = Factor(MFA);
    /// Phishing-resistant: a passkey with user verification.
    pub const PASSKEY: Factor = Factor(PHISHING_RESISTANT);
}

#[async_trait]
impl AuthnStep for Factor {
    fn proves(&self) -> Level {
        self.0
    }
    fn page(&self) -> &'static str {
        AUTHENTICATE
    }
    async fn holds(&self, p: &Provider, s: &Session, _: Option<i64>) -> Result<bool, OAuthError> {
        Ok(p.ext
            .authn
            .levels()
            .parse(&s.acr)
            .is_some_and(|own| own.meets(self.0)))
    }
}
