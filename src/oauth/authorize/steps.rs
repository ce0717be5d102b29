//! Authentication steps: the ways a user proves who they are, each establishing one level
//! (`acr`, OpenID Connect Core §2) — node-oidc-provider's interaction prompts. Products
//! register theirs when the provider is built, weakest first: the first is the login
//! (accounts' password), a stronger one runs when a request prefers its level
//! (`acr_values`, Core §3.1.2.1; see [`super::step_up`]) — today verify's
//! verified-entity challenge; passkeys or TOTP would register here as peers. Each step
//! names the page that runs it and says whether a session holds its level now.

use std::sync::Arc;

use async_trait::async_trait;

use super::acr::{Level, Levels};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::session::Session;

/// One way to authenticate, at one level.
#[async_trait]
pub trait AuthnStep: Send + Sync {
    /// The `acr` a session that passed this step holds.
    fn acr(&self) -> &'static str;
    /// The page (a path under the issuer) that runs the step for a transaction
    /// (`?tx=…`).
    fn page(&self) -> &'static str;
    /// Whether `session` is at this step's level now, for a request with `max_age`.
    async fn holds(
        &self,
        p: &Provider,
        session: &Session,
        max_age: Option<i64>,
    ) -> Result<bool, OAuthError>;
}

/// The registered steps, weakest first, and the levels they define.
#[derive(Clone, Default)]
pub struct AuthnSteps {
    steps: Vec<Arc<dyn AuthnStep>>,
    levels: Levels,
}

impl AuthnSteps {
    /// Adds a step stronger than those registered before it.
    pub fn register(&mut self, step: Arc<dyn AuthnStep>) {
        self.levels.push(step.acr());
        self.steps.push(step);
    }

    pub fn levels(&self) -> &Levels {
        &self.levels
    }

    /// The page of the step that establishes `level`.
    pub fn page(&self, level: Level) -> Option<&'static str> {
        let acr = self.levels.name(level)?;
        self.steps.iter().find(|s| s.acr() == acr).map(|s| s.page())
    }

    /// The highest level `session` holds now for a request with `max_age`; the login's
    /// when no stronger step holds.
    pub async fn level_of(
        &self,
        p: &Provider,
        session: &Session,
        max_age: Option<i64>,
    ) -> Result<Level, OAuthError> {
        for step in self.steps.iter().rev() {
            if step.holds(p, session, max_age).await? {
                return Ok(self.levels.parse(step.acr()).unwrap_or(Level::BASE));
            }
        }
        Ok(Level::BASE)
    }
}
