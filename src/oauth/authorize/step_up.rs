//! The challenge step of an authorization request (issue 5, "Step-up inside OpenID
//! Connect"): after login and before consent, a session whose level is below the level
//! the request prefers goes through the verified-entity challenge page
//! (`web::routes::challenge`); a pass binds the user to the entity and raises the
//! session, a failure continues at the lower level — or, when the `acr` was essential,
//! ends in `unmet_authentication_requirements` at the client's redirect URI.
//!
//! Levels and time (the choices this module makes):
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

use super::acr::Level;
use super::{
    AuthRequest, AuthorizeError, Outcome, Progress, Tx, error_redirect, new_tx_value, save_tx,
    store_tx, tx_key,
};
use crate::accounts::session::{ACR_PASSWORD, ACR_VERIFIED, Session};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::verified_claims::fresh_binding;
use crate::store::EntityBinding;
use crate::util::secret_hash;

/// Seconds the "this challenge locked" note of a transaction is kept (as long as a
/// transaction itself).
const LOCK_NOTE_TTL: u64 = 900;

/// The level a session holds now for a request with `max_age`: verified while its
/// binding is within policy age, either because the session passed a challenge or,
/// for a password session, because the user did within `max_age` (universal
/// credentials; see the module notes).
pub async fn session_level(
    p: &Provider,
    s: &Session,
    max_age: Option<i64>,
) -> Result<Level, AuthorizeError> {
    let raised = Level::parse(&s.acr) == Some(Level::Verified);
    if !raised && s.acr != ACR_PASSWORD {
        return Ok(Level::Password);
    }
    let Some(b) = fresh_binding(p, &s.sub).await? else {
        return Ok(Level::Password);
    };
    let within_max_age = match max_age {
        None => true,
        Some(m) => m > 0 && p.now() - b.verified_at <= m,
    };
    Ok(if raised || within_max_age {
        Level::Verified
    } else {
        Level::Password
    })
}

/// The redirect for an essential `acr` that cannot be met.
pub fn unmet(p: &Provider, req: &AuthRequest) -> Outcome {
    unmet_because(
        p,
        req,
        "the requested authentication level could not be reached",
    )
}

fn unmet_because(p: &Provider, req: &AuthRequest, description: &str) -> Outcome {
    let e = OAuthError::new(ErrorCode::UnmetAuthenticationRequirements, description);
    Outcome::Redirect(error_redirect(
        p,
        &req.redirect_uri,
        req.state.as_deref(),
        &e,
    ))
}

/// Runs after login: `Some` when the request stops here (to the challenge page, or back
/// to the client with an error), `None` to go on to consent.
pub async fn check(
    p: &Provider,
    req: &AuthRequest,
    session: &Session,
    progress: Progress,
    binding: &str,
) -> Result<Option<Outcome>, AuthorizeError> {
    let level = session_level(p, session, req.max_age).await?;
    let met = req.acr.issued(level).is_ok();
    if req.acr.wants_step_up(level) && !progress.step_up_failed {
        if !req.has_prompt("none") {
            let mut tx = new_tx_value(p.entropy.as_ref(), req.clone(), binding, p.now());
            tx.login_done = progress.login_done;
            tx.subject = Some(session.sub.clone());
            return Ok(Some(Outcome::Challenge {
                tx: store_tx(p, &tx).await?,
            }));
        }
        if !met {
            let e = OAuthError::new(
                ErrorCode::InteractionRequired,
                "the user must pass a verification challenge",
            );
            return Ok(Some(Outcome::Redirect(error_redirect(
                p,
                &req.redirect_uri,
                req.state.as_deref(),
                &e,
            ))));
        }
    }
    Ok((!met).then(|| unmet(p, req)))
}

/// Remembers the verification the challenge page runs for transaction `tx_id`.
pub async fn remember_verification(
    p: &Provider,
    tx_id: &str,
    mut tx: Tx,
    verification_id: &str,
) -> Result<Tx, AuthorizeError> {
    tx.verification = Some(verification_id.to_owned());
    save_tx(p, tx_id, &tx).await?;
    Ok(tx)
}

/// The challenge failed, locked or was skipped: the transaction continues without it.
pub async fn failed(p: &Provider, tx_id: &str, mut tx: Tx) -> Result<(), AuthorizeError> {
    tx.step_up_failed = true;
    tx.verification = None;
    save_tx(p, tx_id, &tx).await
}

fn lock_note_key(tx_id: &str) -> String {
    format!("stepup_locked:{}", secret_hash(tx_id))
}

/// Notes that the challenge of transaction `tx_id` ended in a lock (the page then says so
/// and waits for the user to continue; [`end_locked`] reads the note).
pub async fn note_locked(p: &Provider, tx_id: &str) -> Result<(), AuthorizeError> {
    p.cache
        .put(&lock_note_key(tx_id), b"1", LOCK_NOTE_TTL)
        .await
        .map_err(OAuthError::from)?;
    Ok(())
}

/// The user continues after the challenge ended without a pass. When it ended in a lock
/// (see [`note_locked`]; the note is consumed) and the session's level does not meet
/// the request's essential `acr`, the transaction ends here with
/// `unmet_authentication_requirements` saying the verification is locked. `None`: go on
/// as after any other failure ([`failed`], then resume).
pub async fn end_locked(
    p: &Provider,
    tx_id: &str,
    tx: &Tx,
    session: &Session,
) -> Result<Option<Outcome>, AuthorizeError> {
    let noted = p
        .cache
        .take(&lock_note_key(tx_id))
        .await
        .map_err(OAuthError::from)?
        .is_some();
    if !noted
        || tx
            .req
            .acr
            .issued(session_level(p, session, tx.req.max_age).await?)
            .is_ok()
    {
        return Ok(None);
    }
    p.cache
        .delete(&tx_key(tx_id))
        .await
        .map_err(OAuthError::from)?;
    Ok(Some(unmet_because(
        p,
        &tx.req,
        "the identity verification is locked after too many failed attempts; try again later",
    )))
}

/// The challenge passed: binds the user to the entity and returns the raised session
/// (the caller stores it under a new cookie). `method` is the engine's (`kba`,
/// `network`, `region+kba` …); `amr` gains `kba` when questions were answered.
pub async fn passed(
    p: &Provider,
    session: &Session,
    entity_id: &str,
    method: &str,
) -> Result<Session, AuthorizeError> {
    let now = p.now();
    p.stores
        .entity_bindings
        .bind_entity(&EntityBinding {
            user_id: session.sub.clone(),
            entity_id: entity_id.to_owned(),
            verified_at: now,
            method: method.to_owned(),
        })
        .await
        .map_err(OAuthError::from)?;
    Ok(raised(session, now, method))
}

/// The session after a pass at `now`.
fn raised(session: &Session, now: i64, method: &str) -> Session {
    let mut amr: Vec<String> = session
        .amr
        .iter()
        .filter(|m| *m != "kba")
        .cloned()
        .collect();
    if method.split('+').any(|m| m == "kba") {
        amr.push("kba".to_owned());
    }
    Session {
        sub: session.sub.clone(),
        auth_time: now,
        acr: ACR_VERIFIED.to_owned(),
        amr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_raises_the_session_and_its_auth_time() {
        let s = Session {
            sub: "u".into(),
            auth_time: 100,
            acr: ACR_PASSWORD.into(),
            amr: vec!["pwd".into()],
        };
        let r = raised(&s, 500, "kba");
        assert_eq!(r.acr, ACR_VERIFIED);
        assert_eq!(r.amr, vec!["pwd", "kba"]);
        assert_eq!(r.auth_time, 500);
        assert_eq!(raised(&r, 900, "region+kba").amr, vec!["pwd", "kba"]);
        assert_eq!(raised(&s, 900, "network").amr, vec!["pwd"]);
    }
}
