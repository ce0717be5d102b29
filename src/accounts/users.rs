//! Creating users and checking their passwords, with per-username lockout and
//! per-address rate limits on failures (counters in the ephemeral cache).

use crate::cache::Ephemeral;
use crate::clock::{Timestamp, random_hex16};
use crate::oauth::error::OAuthError;
use crate::store::{StoreError, UserRecord, UserStore};

use super::password;

#[derive(Debug, thiserror::Error)]
pub enum NewUserError {
    #[error("{0}: {1}")]
    Invalid(&'static str, &'static str),
    #[error("username already taken")]
    Taken,
    #[error(transparent)]
    Store(StoreError),
}

/// Validates and stores a new user; the password is hashed with argon2id.
pub async fn create(
    store: &dyn UserStore,
    username: &str,
    pw: String,
    email: Option<String>,
    name: Option<String>,
    now: Timestamp,
) -> Result<UserRecord, NewUserError> {
    let uname = username.trim();
    if uname.is_empty()
        || uname.len() > 64
        || uname.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(NewUserError::Invalid(
            "username",
            "1 to 64 characters, no spaces",
        ));
    }
    if let Some(e) = &email {
        if e.len() > 254 || !e.contains('@') || e.starts_with('@') || e.ends_with('@') {
            return Err(NewUserError::Invalid("email", "not an email address"));
        }
    }
    if name.as_ref().is_some_and(|n| n.len() > 256) {
        return Err(NewUserError::Invalid("name", "at most 256 characters"));
    }
    let hash = password::hash(pw)
        .await
        .map_err(|_| NewUserError::Invalid("password", "8 to 1024 bytes"))?;
    let user = UserRecord {
        sub: random_hex16(),
        username: uname.to_owned(),
        password_hash: hash,
        email,
        name,
        created_at: now,
    };
    match store.insert_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(NewUserError::Taken),
        Err(e) => Err(NewUserError::Store(e)),
    }
}

/// Why a login failed (the page says only "invalid username or password" or "locked").
#[derive(Debug, PartialEq, Eq)]
pub enum LoginFailure {
    Invalid,
    Locked,
}

/// Limits for [`login`].
pub struct LoginLimits {
    pub max_failures: u64,
    pub window: u64,
}

/// Checks a username and password. Attempts count per username (lockout after
/// `max_failures` within `window`) and per client address (10× that). Each attempt is
/// reserved with the cache's atomic `INCR` *before* the password is checked, so however
/// many guesses arrive at once, on however many nodes, at most the limit is ever
/// evaluated per window; a success resets the username's count and gives the address
/// its unit back.
pub async fn login(
    store: &dyn UserStore,
    cache: &dyn Ephemeral,
    username: &str,
    pw: String,
    addr: &str,
    l: &LoginLimits,
) -> Result<Result<UserRecord, LoginFailure>, OAuthError> {
    let user_key = format!(
        "loginfail:u:{}",
        crate::util::secret_hash(&username.to_lowercase())
    );
    let addr_key = format!("loginfail:a:{addr}");
    let user_attempts = cache.incr(&user_key, l.window).await?;
    let addr_attempts = cache.incr(&addr_key, l.window).await?;
    if user_attempts > l.max_failures || addr_attempts > l.max_failures.saturating_mul(10) {
        metrics::counter!("surety_failed_logins_total", "reason" => "locked").increment(1);
        return Ok(Err(LoginFailure::Locked));
    }
    let user = match store.find_user_by_username(username).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user
        .as_ref()
        .map_or(password::DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    if password::verify(pw, phc).await {
        if let Some(u) = user {
            cache.delete(&user_key).await?;
            cache.decr(&addr_key).await?;
            return Ok(Ok(u));
        }
    }
    metrics::counter!("surety_failed_logins_total", "reason" => "invalid").increment(1);
    Ok(Err(LoginFailure::Invalid))
}
