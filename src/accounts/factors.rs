//! What the second factors share: the attempt limit (the login lockout's atomic counters:
//! each attempt reserved in the shared cache *before* the code is checked, at most
//! `SURETY_LOGIN_MAX_FAILURES` per user per `SURETY_LOGIN_LOCKOUT`, across nodes), the
//! session a passed factor leaves (its `acr` raised on the ladder, `amr` per RFC 8176,
//! `auth_time` the pass), and what a user has enrolled.

use super::assurance::amr;
use crate::oauth::authorize::acr::Level;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::session::Session;
use crate::store::StoreError;

/// The outcome of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Passed,
    /// Wrong, or already used.
    Invalid,
    /// Too many attempts: wait for the window to pass.
    Locked,
}

fn key(sub: &str) -> String {
    format!("factorfail:{}", crate::util::secret_hash(sub))
}

/// Reserves one attempt for `sub`; `false` when the limit is reached.
pub async fn reserve_attempt(p: &Provider, sub: &str) -> Result<bool, OAuthError> {
    let n = p.cache.incr(&key(sub), p.settings.login_lockout).await?;
    Ok(n <= p.settings.login_max_failures)
}

/// A passed factor gives its attempt back (the count starts over).
pub async fn attempt_passed(p: &Provider, sub: &str) -> Result<(), OAuthError> {
    Ok(p.cache.delete(&key(sub)).await?)
}

/// Seconds after a session's last authentication during which it may change the user's
/// authenticators (after that, it authenticates again first).
pub const MANAGE_FRESH: i64 = 900;

/// The session after passing a factor that proves `proven` with `methods` (`amr`).
pub fn raised(p: &Provider, s: &Session, proven: Level, methods: &[&str]) -> Session {
    Session {
        sub: s.sub.clone(),
        auth_time: p.now(),
        acr: p.ext.authn.raised_acr(s, proven),
        amr: super::assurance::amr_with(&s.amr, methods),
        sid: s.sid.clone(),
    }
}

/// The name authenticators show for the user: their username.
pub async fn account_name(p: &Provider, sub: &str) -> Result<String, OAuthError> {
    Ok(p.stores.users.get_user(sub).await?.username)
}

/// What a user has enrolled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrolled {
    pub totp: bool,
    pub passkeys: usize,
    /// Unspent recovery codes.
    pub recovery_codes: i64,
}

impl Enrolled {
    /// Anything beyond the password.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// After one of `sub`'s factors was removed: with none left, their recovery codes go too
/// (they stand in for a second factor, and there is none to stand in for).
pub async fn removed(p: &Provider, sub: &str) -> Result<(), OAuthError> {
    if !enrolled(p, sub).await?.any() {
        p.stores.recovery_codes.delete_recovery_codes(sub).await?;
    }
    Ok(())
}

/// What `sub` has enrolled.
pub async fn enrolled(p: &Provider, sub: &str) -> Result<Enrolled, OAuthError> {
    let totp = match p.stores.totp.get_totp(sub).await {
        Ok(_) => true,
        Err(StoreError::NotFound) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(Enrolled {
        totp,
        passkeys: p.stores.passkeys.user_passkeys(sub).await?.len(),
        recovery_codes: p.stores.recovery_codes.recovery_codes_left(sub).await?,
    })
}

/// The `amr` of a one-time code (TOTP or recovery code).
pub const OTP_METHODS: [&str; 1] = [amr::OTP];
