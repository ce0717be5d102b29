//! Recovery codes: ten single-use codes (80 bits each, `xxxx-xxxx-xxxx-xxxx` in a
//! lower-case base32 alphabet) shown once when made, stored only as SHA-256 digests
//! salted with the user id; a new set replaces the old one at once. A code stands in for
//! the second factor (`amr` `otp`, multi-factor; never phishing-resistant). Using one is
//! audited and e-mailed to the user's address through the durable outbox, queued in the
//! same transaction that spends the code. Attempts count toward the factor limit.

use super::factors::{self, Checked};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::outbox::email::{EmailMessage, email_event};
use crate::store::{AuditEvent, OutboxEvent, StoreError};

/// Codes per set.
pub const SET_SIZE: usize = 10;
/// Characters per code (5 bits each), shown in groups of four.
const CODE_CHARS: usize = 16;
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The audit action of a used recovery code.
pub const AUDIT_ACTION: &str = "recovery_code_used";

/// A code as typed, normalised: lower case, without spaces and dashes.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn digest(sub: &str, code: &str) -> String {
    crate::util::secret_hash(&format!("{sub}:{}", normalise(code)))
}

fn new_code(p: &Provider) -> String {
    let mut raw = [0u8; CODE_CHARS];
    p.entropy.fill(&mut raw);
    let chars: Vec<char> = raw
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Makes a new set for `sub` (the old one stops at once) and returns it, to be shown
/// this once.
pub async fn new_set(p: &Provider, sub: &str) -> Result<Vec<String>, OAuthError> {
    let codes: Vec<String> = (0..SET_SIZE).map(|_| new_code(p)).collect();
    let hashes: Vec<String> = codes.iter().map(|c| digest(sub, c)).collect();
    p.stores
        .recovery_codes
        .replace_recovery_codes(sub, &hashes, p.now())
        .await?;
    Ok(codes)
}

/// Unspent codes `sub` has left.
pub async fn left(p: &Provider, sub: &str) -> Result<i64, OAuthError> {
    Ok(p.stores.recovery_codes.recovery_codes_left(sub).await?)
}

/// A first set for `sub` (with their first second factor), shown once; `None` when they
/// have codes already.
pub async fn first_set(p: &Provider, sub: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match left(p, sub).await? {
        0 => Ok(Some(new_set(p, sub).await?)),
        _ => Ok(None),
    }
}

/// The e-mail telling the user a code was used, if they have an address.
async fn notice(p: &Provider, sub: &str, left: i64) -> Result<Option<OutboxEvent>, OAuthError> {
    let user = match p.stores.users.get_user(sub).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(to) = user.email.filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let message = EmailMessage {
        subject: "A recovery code was used to sign in".to_owned(),
        text: format!(
            "Hello {},\n\nOne of your recovery codes was just used to sign in to {} in place of \
             your second factor. You have {left} recovery codes left.\n\nIf this was not you, \
             sign in, make a new set of recovery codes at {}/account/security/recovery and \
             change your password.\n",
            user.username, p.issuer, p.issuer
        ),
    };
    match email_event(None, p.entropy.as_ref(), p.now(), &to, &message) {
        Ok(ev) => Ok(Some(ev)),
        Err(e) => {
            tracing::warn!(error = %e, "no recovery notice: the address is unusable");
            Ok(None)
        }
    }
}

/// Spends one of `sub`'s codes: unspent, within the attempt limit. A pass is audited and
/// e-mailed (the notice queued with the spending).
pub async fn verify(p: &Provider, sub: &str, code: &str) -> Result<Checked, OAuthError> {
    let left = p.stores.recovery_codes.recovery_codes_left(sub).await?;
    // A code stands in for a second factor the user has; without one it proves nothing
    // more than the password (codes left over from removed factors are deleted with the
    // last one, [`super::factors::removed`], but may predate that rule).
    if left == 0 || !super::factors::enrolled(p, sub).await?.any() {
        return Ok(Checked::Invalid);
    }
    if !factors::reserve_attempt(p, sub).await? {
        return Ok(Checked::Locked);
    }
    let ev = notice(p, sub, left - 1).await?;
    let spent = p
        .stores
        .recovery_codes
        .use_recovery_code(sub, &digest(sub, code), p.now(), ev.as_ref())
        .await?;
    if !spent {
        return Ok(Checked::Invalid);
    }
    factors::attempt_passed(p, sub).await?;
    p.stores
        .audit
        .record(&AuditEvent {
            at: p.now(),
            actor: sub.to_owned(),
            action: AUDIT_ACTION.to_owned(),
            subject: sub.to_owned(),
            outcome: "ok".to_owned(),
            detail: format!("{} left", left - 1),
        })
        .await?;
    tracing::info!(notified = ev.is_some(), "a recovery code was used");
    Ok(Checked::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_compared_as_typed_loosely() {
        assert_eq!(normalise(" ABCD-efgh ijkl-MNOP "), "abcdefghijklmnop");
        assert_eq!(digest("u", "abcd-efgh"), digest("u", "ABCDEFGH"));
        assert_ne!(digest("u", "abcd"), digest("v", "abcd"));
    }
}
