//! The step-up of an authorization request:
//! after login and before consent, a session whose level is below the level the request
//! prefers goes through the page of the step that proves the most of what is missing
//! (see [`super::steps`]: accounts' second factor or passkey at `/authenticate`, verify's
//! verified-entity challenge at `/challenge`), then the next, until the level is
//! met. A pass raises
//! the session (the step's page stores the raised one), a failure continues at the lower
//! level — or, when the `acr` was essential, ends in `unmet_authentication_requirements`
//! at the client's redirect URI (OpenID Connect Core §3.1.2.6). Which level a session
//! holds, and for how long, is each step's own rule (`AuthnStep::holds`).

use super::acr::Level;
use super::{
    AuthRequest, AuthorizeError, Outcome, Progress, Tx, error_response, new_tx_value, refuse,
    save_tx, store_tx, tx_key,
};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::session::Session;
use crate::util::secret_hash;

/// Seconds the "this challenge locked" note of a transaction is kept (as long as a
/// transaction itself).
const LOCK_NOTE_TTL: u64 = 900;

/// The level a session holds now for a request with `max_age` (the strongest step
/// that says it holds).
pub async fn session_level(
    p: &Provider,
    s: &Session,
    max_age: Option<i64>,
) -> Result<Level, AuthorizeError> {
    Ok(p.ext.authn.level_of(p, s, max_age).await?)
}

/// The end of a request whose essential `acr` cannot be met.
pub async fn unmet(p: &Provider, req: &AuthRequest) -> Result<Outcome, AuthorizeError> {
    unmet_because(
        p,
        req,
        "the requested authentication level could not be reached",
    )
    .await
}

async fn unmet_because(
    p: &Provider,
    req: &AuthRequest,
    description: &str,
) -> Result<Outcome, AuthorizeError> {
    let e = OAuthError::new(ErrorCode::UnmetAuthenticationRequirements, description);
    refuse(p, req, e).await
}

/// Runs after login: `Some` when the request stops here (to a stronger step's page, or
/// back to the client with an error), `None` to go on to consent.
pub async fn check(
    p: &Provider,
    req: &AuthRequest,
    session: &Session,
    progress: Progress,
    binding: &str,
) -> Result<Option<Outcome>, AuthorizeError> {
    let levels = p.ext.authn.levels();
    let level = session_level(p, session, req.max_age).await?;
    let met = req.acr.issued(levels, level).is_ok();
    let page = req
        .acr
        .target(levels)
        .filter(|t| !level.meets(*t))
        .and_then(|t| p.ext.authn.page_towards(level, t));
    if let Some(page) = page.filter(|_| !progress.step_up_failed) {
        if !req.has_prompt("none") {
            let mut tx = new_tx_value(p.entropy.as_ref(), req.clone(), binding, p.now());
            tx.login_done = progress.login_done;
            tx.subject = Some(session.sub.clone());
            return Ok(Some(Outcome::Step {
                page,
                tx: store_tx(p, &tx).await?,
            }));
        }
        if !met {
            let e = OAuthError::new(
                ErrorCode::InteractionRequired,
                "the user must authenticate further",
            );
            return Ok(Some(Outcome::Client(error_response(p, req, &e))));
        }
    }
    if met {
        return Ok(None);
    }
    Ok(Some(unmet(p, req).await?))
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
            .issued(
                p.ext.authn.levels(),
                session_level(p, session, tx.req.max_age).await?,
            )
            .is_ok()
    {
        return Ok(None);
    }
    p.cache
        .delete(&tx_key(tx_id))
        .await
        .map_err(OAuthError::from)?;
    Ok(Some(
        unmet_because(
            p,
            &tx.req,
            "the identity verification is locked after too many failed attempts; try again later",
        )
        .await?,
    ))
}
