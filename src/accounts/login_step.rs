//! The password login as the engine's first authentication step (OpenID Connect Core §2
//! `acr` `urn:surety:acr:password`, `amr` `["pwd"]`): its page is `/login`
//! (`web::routes::login`), and every signed-in session holds its level.

use async_trait::async_trait;

use super::session::ACR_PASSWORD;
use crate::oauth::authorize::steps::AuthnStep;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::oauth::session::Session;

/// Registered first in `app.rs`.
pub struct PasswordLogin;

#[async_trait]
impl AuthnStep for PasswordLogin {
    fn acr(&self) -> &'static str {
        ACR_PASSWORD
    }
    fn page(&self) -> &'static str {
        paths::LOGIN
    }
    async fn holds(&self, _: &Provider, _: &Session, _: Option<i64>) -> Result<bool, OAuthError> {
        Ok(true)
    }
}
