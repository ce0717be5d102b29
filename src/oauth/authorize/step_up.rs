//! The challenge step of an authorization request (issue 5, "Step-up inside OpenID
//! Connect"): after login and before consent, a session whose level is below the level
//! the request prefers goes through the verified-entity challenge page
//! (`web::routes::challenge`); a pass binds the user to the entity and raises the
//! session, a failure continues at the lower level — or, when the `acr` was essential,
//! ends in `unmet_authentication_requirements` at the client's redirect URI.
//!
//! Levels and time (the choices this module makes):
//! - A session is at `urn:surety:acr:verified` when it passed a challenge itself (its
//!   `acr`) and the user's entity binding is within `verified_policy_age`. Sessions are
//!   per browser, not per client, so a second relying party asking for the verified
//!   level within the same session gets it without questions ("universal credentials").
//!   A new session (a new password login) answers again, straight away from the bound
//!   entity; `verified_claims` need only the binding (see `oauth::verified_claims`).
//! - `auth_time` stays "the time of the last authentication event": a passed challenge is
//!   one, so the raised session's `auth_time` is the time of the pass. `max_age` is
//!   therefore measured from the challenge for a verified session; when it is exceeded
//!   the user logs in again and, the fresh session being at the password level, answers
//!   the challenge again.

use super::acr::Level;
use super::{
    AuthRequest, AuthorizeError, Outcome, Progress, Tx, error_redirect, new_tx_value, save_tx,
    store_tx, tx_key,
};
use crate::accounts::session::{ACR_VERIFIED, Session};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::verified_claims::fresh_binding;
use crate::store::EntityBinding;
use crate::util::secret_hash;

/// Seconds the "this challenge locked" note of a transaction is kept (as long as a
/// transaction itself).
const LOCK_NOTE_TTL: u64 = 900;

/// The level a session holds now: verified only while its binding is within policy age.
pub async fn session_level(p: &Provider, s: &Session) -> Result<Level, AuthorizeError> {
    if Level::parse(&s.acr) != Some(Level::Verified) {
        return Ok(Level::Password);
    }
    match fresh_binding(p, &s.sub).await? {
        Some(_) => Ok(Level::Verified),
        None => Ok(Level::Password),
    }
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
    let level = session_level(p, session).await?;
    let met = req.acr.issued(level).is_ok();
    if req.acr.wants_step_up(level) && !progress.step_up_failed {
        if !req.has_prompt("none") {
            let mut tx = new_tx_value(req.clone(), binding, p.now());
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
    if !noted || tx.req.acr.issued(session_level(p, session).await?).is_ok() {
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
    use crate::accounts::session::ACR_PASSWORD;

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
