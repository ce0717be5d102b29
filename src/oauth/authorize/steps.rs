//! Authentication steps: the ways a user proves who they are, each proving properties of
//! a sign-in (a [`Level`], OpenID Connect Core §2 `acr`) — node-oidc-provider's
//! interaction prompts. Products register theirs when the provider is built, weakest
//! first: the first is the login (accounts' password or passkey), stronger ones run when
//! a request prefers a level the session does not meet (`acr_values`, Core §3.1.2.1; see
//! [`super::step_up`]) — accounts' second factor and passkey, verify's verified-entity
//! challenge. Each step names the page that runs it and says whether a session holds
//! what it proves; the products also name the levels relying parties may ask for
//! ([`AuthnSteps::define`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::acr::{Level, Levels};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::session::Session;

/// One way to authenticate, proving one set of properties.
#[async_trait]
pub trait AuthnStep: Send + Sync {
    /// What a session that passed this step has proven ([`Level::BASE`] for the login).
    fn proves(&self) -> Level;
    /// The page (a path under the issuer) that runs the step for a transaction
    /// (`?tx=…`).
    fn page(&self) -> &'static str;
    /// Whether `session` holds what this step proves now, for a request with `max_age`.
    async fn holds(
        &self,
        p: &Provider,
        session: &Session,
        max_age: Option<i64>,
    ) -> Result<bool, OAuthError>;
}

/// The registered steps, weakest first, and the named levels.
#[derive(Clone, Default)]
pub struct AuthnSteps {
    steps: Vec<Arc<dyn AuthnStep>>,
    levels: Levels,
}

impl AuthnSteps {
    /// Adds a step stronger than those registered before it.
    pub fn register(&mut self, step: Arc<dyn AuthnStep>) {
        self.steps.push(step);
    }

    /// Names a level relying parties may ask for (listed in discovery in this order).
    pub fn define(&mut self, acr: &'static str, level: Level) {
        self.levels.define(acr, level);
    }

    pub fn levels(&self) -> &Levels {
        &self.levels
    }

    /// The page of the step to run next for a session at `have` to reach `target`: of
    /// the steps that prove nothing beyond the target and something the session lacks,
    /// the one that proves the most of what is missing (the first registered among
    /// equals). `None`: no registered step helps.
    pub fn page_towards(&self, have: Level, target: Level) -> Option<&'static str> {
        let mut best: Option<(u32, &Arc<dyn AuthnStep>)> = None;
        for s in &self.steps {
            let gain = s.proves().beyond(have).count();
            if target.meets(s.proves()) && gain > 0 && best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, s));
            }
        }
        best.map(|(_, s)| s.page())
    }

    /// The level `session` holds now for a request with `max_age`: everything the steps
    /// that hold have proven (the login's alone when none does).
    pub async fn level_of(
        &self,
        p: &Provider,
        session: &Session,
        max_age: Option<i64>,
    ) -> Result<Level, OAuthError> {
        let mut level = Level::BASE;
        for step in &self.steps {
            if !level.meets(step.proves()) && step.holds(p, session, max_age).await? {
                level = level.and(step.proves());
            }
        }
        Ok(level)
    }

    /// The `acr` of `session` after it passed a step proving `proven`: the name of
    /// what the session had proven itself (its own `acr`) and `proven` together.
    pub fn raised_acr(&self, session: &Session, proven: Level) -> String {
        let own = self.levels.parse(&session.acr).unwrap_or(Level::BASE);
        self.levels
            .name(own.and(proven))
            .unwrap_or(session.acr.as_str())
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Step(Level, &'static str);

    #[async_trait]
    impl AuthnStep for Step {
        fn proves(&self) -> Level {
            self.0
        }
        fn page(&self) -> &'static str {
            self.1
        }
        async fn holds(
            &self,
            _: &Provider,
            _: &Session,
            _: Option<i64>,
        ) -> Result<bool, OAuthError> {
            Ok(false)
        }
    }

    #[test]
    fn the_next_page_proves_the_most_of_what_is_missing() {
        let mfa = Level::property(0);
        let phr = mfa.and(Level::property(1));
        let verified = Level::property(2);
        let mut s = AuthnSteps::default();
        s.register(Arc::new(Step(Level::BASE, "/login")));
        s.register(Arc::new(Step(mfa, "/second")));
        s.register(Arc::new(Step(phr, "/passkey")));
        s.register(Arc::new(Step(verified, "/challenge")));
        assert_eq!(s.page_towards(Level::BASE, mfa), Some("/second"));
        assert_eq!(s.page_towards(Level::BASE, phr), Some("/passkey"));
        assert_eq!(s.page_towards(mfa, phr), Some("/passkey"));
        assert_eq!(
            s.page_towards(Level::BASE, verified.and(phr)),
            Some("/passkey")
        );
        assert_eq!(s.page_towards(phr, verified.and(phr)), Some("/challenge"));
        assert_eq!(
            s.page_towards(Level::BASE, verified.and(mfa)),
            Some("/second")
        );
        assert_eq!(s.page_towards(verified, verified), None);
        assert_eq!(s.page_towards(Level::BASE, Level::property(7)), None);
    }
}
