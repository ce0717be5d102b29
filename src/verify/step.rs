//! The verified-entity challenge as an authentication step of the OpenID Connect flow
//! (`acr` `urn:surety:acr:verified`, OpenID
//! Connect Core §2): its page is `/challenge` (`web::routes::challenge`, a thin caller of
//! [`super::engine::Verifier`]); a pass binds the user to the entity and raises the
//! session ([`passed`]). The engine runs it when a request prefers its level
//! (`oauth::authorize::step_up`).
//!
//! Levels and time (the choices this step makes):
//! - A session is at `urn:surety:acr:verified` when it passed a challenge itself (its
//!   `acr`) and the user's entity binding is within `verified_policy_age`.
//! - Universal credentials: a password session of a user whose binding is within
//!   `verified_policy_age` is at the verified level too, at every relying party and in
//!   every new session, without answering again — unless the request's `max_age` is
//!   shorter than the binding's age (or is 0): then the user answers again, straight
//!   away from the bound entity. Such a session's `amr` stays `["pwd"]` (no knowledge
//!   check ran in this authentication) and its `auth_time` the login's; the
//!   verification's own time is in `verified_claims.verification.time`.
//! - `auth_time` stays "the time of the last authentication event": a passed challenge is
//!   one, so the raised session's `auth_time` is the time of the pass. `max_age` is
//!   therefore measured from the challenge for a session that passed one; when it is
//!   exceeded the user logs in again.

use async_trait::async_trait;

use crate::accounts::assurance::{VERIFIED, amr};
use crate::oauth::authorize::acr::Level;
use crate::oauth::authorize::steps::{AuthnStep, AuthnSteps};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::oauth::session::Session;
use crate::store::{EntityBinding, StoreError};

/// Registered after the password login in `app.rs`.
pub struct Challenge;

#[async_trait]
impl AuthnStep for Challenge {
    fn proves(&self) -> Level {
        VERIFIED
    }
    fn page(&self) -> &'static str {
        paths::CHALLENGE
    }
    /// Verified while the binding is within policy age, either because the session
    /// passed a challenge or, for a password session, because the user did within
    /// `max_age` (universal credentials; see the module notes).
    async fn holds(
        &self,
        p: &Provider,
        s: &Session,
        max_age: Option<i64>,
    ) -> Result<bool, OAuthError> {
        // Only sessions of the ladder (never a partner's portal session).
        let Some(own) = p.ext.authn.levels().parse(&s.acr) else {
            return Ok(false);
        };
        let raised = own.meets(VERIFIED);
        let Some(b) = fresh_binding(p, &s.sub).await? else {
            return Ok(false);
        };
        let within_max_age = match max_age {
            None => true,
            Some(m) => m > 0 && p.now() - b.verified_at <= m,
        };
        Ok(raised || within_max_age)
    }
}

/// The user's binding, if it is within the policy age.
pub async fn fresh_binding(p: &Provider, sub: &str) -> Result<Option<EntityBinding>, OAuthError> {
    match p.stores.entity_bindings.entity_binding(sub).await {
        Ok(b) if p.now() - b.verified_at <= p.settings.verified_policy_age => Ok(Some(b)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The challenge passed: binds the user to the entity and returns the raised session
/// (the caller stores it under a new cookie). `method` is the engine's (`kba`,
/// `network`, `region+kba` …); `amr` gains `kba` when questions were answered.
pub async fn passed(
    p: &Provider,
    session: &Session,
    entity_id: &str,
    method: &str,
) -> Result<Session, OAuthError> {
    let now = p.now();
    p.stores
        .entity_bindings
        .bind_entity(&EntityBinding {
            user_id: session.sub.clone(),
            entity_id: entity_id.to_owned(),
            verified_at: now,
            method: method.to_owned(),
        })
        .await?;
    Ok(raised(&p.ext.authn, session, now, method))
}

/// The session after a pass at `now`: verified, with what it had proven itself before.
fn raised(steps: &AuthnSteps, session: &Session, now: i64, method: &str) -> Session {
    let mut amr: Vec<String> = session
        .amr
        .iter()
        .filter(|m| *m != amr::KBA)
        .cloned()
        .collect();
    if method.split('+').any(|m| m == amr::KBA) {
        amr.push(amr::KBA.to_owned());
    }
    Session {
        sub: session.sub.clone(),
        auth_time: now,
        acr: steps.raised_acr(session, VERIFIED),
        amr,
        sid: session.sid.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::assurance::{
        ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_VERIFIED, ACR_VERIFIED_PHISHING_RESISTANT,
    };

    #[test]
    fn a_pass_raises_the_session_and_its_auth_time() {
        let mut steps = AuthnSteps::default();
        crate::accounts::assurance::define(&mut steps);
        let s = Session {
            sub: "u".into(),
            auth_time: 100,
            acr: ACR_PASSWORD.into(),
            amr: vec!["pwd".into()],
            sid: Some("SE1".into()),
        };
        let r = raised(&steps, &s, 500, "kba");
        assert_eq!(r.sid.as_deref(), Some("SE1"));
        assert_eq!(r.acr, ACR_VERIFIED);
        assert_eq!(r.amr, vec!["pwd", "kba"]);
        assert_eq!(r.auth_time, 500);
        assert_eq!(
            raised(&steps, &r, 900, "region+kba").amr,
            vec!["pwd", "kba"]
        );
        assert_eq!(raised(&steps, &s, 900, "network").amr, vec!["pwd"]);
        // A passkey session keeps what it proved.
        let pk = Session {
            acr: ACR_PHISHING_RESISTANT.into(),
            amr: vec!["hwk".into(), "user".into(), "mfa".into()],
            ..s.clone()
        };
        assert_eq!(
            raised(&steps, &pk, 900, "kba").acr,
            ACR_VERIFIED_PHISHING_RESISTANT
        );
    }
}
