//! Creating users and checking their passwords, with per-username lockout and
//! per-address rate limits on failures (counters in the ephemeral cache), and device
//! cookies so a browser that signed in as a user before is not locked out by strangers.

use crate::cache::Ephemeral;
use crate::clock::{Entropy, Timestamp};
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

/// Validates and stores a new user (its `sub` drawn from `rng`); the password is hashed
/// with argon2id.
pub async fn create(
    store: &dyn UserStore,
    rng: &dyn Entropy,
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
    if let Some(e) = &email
        && !is_email(e)
    {
        return Err(NewUserError::Invalid("email", "not an email address"));
    }
    if name.as_ref().is_some_and(|n| n.len() > 256) {
        return Err(NewUserError::Invalid("name", "at most 256 characters"));
    }
    let hash = password::hash(pw)
        .await
        .map_err(|_| NewUserError::Invalid("password", "8 to 1024 bytes"))?;
    let user = UserRecord {
        sub: rng.hex16(),
        username: uname.to_owned(),
        password_hash: hash,
        email,
        email_verified_at: None,
        name,
        created_at: now,
    };
    match store.insert_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(NewUserError::Taken),
        Err(e) => Err(NewUserError::Store(e)),
    }
}

/// Whether `e` has the shape of an e-mail address (at most 254 bytes, an `@` neither
/// first nor last), as users' addresses are checked.
pub fn is_email(e: &str) -> bool {
    e.len() <= 254 && e.contains('@') && !e.starts_with('@') && !e.ends_with('@')
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

/// How long a browser that signed in as a user stays trusted for that user (seconds).
pub const DEVICE_TTL: u64 = 180 * 86_400;

/// Where a login attempt comes from, for the lockout.
pub struct Origin<'a> {
    /// The client's address (`web::client_ip`).
    pub addr: &'a str,
    /// The browser's device cookie, if it sent one.
    pub device: Option<&'a str>,
}

fn device_key(token: &str) -> String {
    format!("device:{}", crate::util::secret_hash(token))
}

/// The user `sub` (the admin API's and the CLI's lookup).
pub async fn get(store: &dyn UserStore, sub: &str) -> Result<UserRecord, StoreError> {
    store.get_user(sub).await
}

/// The user `sub`, if there is one (the account pages' lookup).
pub async fn find(
    p: &crate::oauth::provider::Provider,
    sub: &str,
) -> Result<Option<UserRecord>, OAuthError> {
    match p.stores.users.get_user(sub).await {
        Ok(u) => Ok(Some(u)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the user `sub` (the admin API's and the CLI's removal).
pub async fn remove(store: &dyn UserStore, sub: &str) -> Result<(), StoreError> {
    store.delete_user(sub).await
}

/// Remembers that the browser holding a new device token signed in as `username`
/// (OWASP's device cookies): its later attempts for that user count on their own, so
/// strangers locking the username or the address out do not lock it out. Returns the
/// token for the cookie.
pub async fn remember_device(
    cache: &dyn Ephemeral,
    rng: &dyn Entropy,
    username: &str,
) -> Result<String, OAuthError> {
    let token = rng.token(24);
    let user = crate::util::secret_hash(&username.to_lowercase());
    cache
        .put(&device_key(&token), user.as_bytes(), DEVICE_TTL)
        .await?;
    Ok(token)
}

/// Checks a username and password. Attempts count per username (lockout after
/// `max_failures` within `window`) and per client address (10× that) — or, from a
/// browser that signed in as this user before (its device cookie), on that device alone.
/// Each attempt is reserved with the cache's atomic `INCR` *before* the password is
/// checked, so however many guesses arrive at once, on however many nodes, at most the
/// limit is ever evaluated per window; a success resets the count and gives the address
/// its unit back.
pub async fn login(
    store: &dyn UserStore,
    cache: &dyn Ephemeral,
    username: &str,
    pw: String,
    from: &Origin<'_>,
    l: &LoginLimits,
) -> Result<Result<UserRecord, LoginFailure>, OAuthError> {
    let user_hash = crate::util::secret_hash(&username.to_lowercase());
    let trusted = match from.device {
        Some(d) => cache.get(&device_key(d)).await?.as_deref() == Some(user_hash.as_bytes()),
        None => false,
    };
    let (user_key, addr_key) = match (trusted, from.device) {
        (true, Some(d)) => (format!("loginfail:d:{}", crate::util::secret_hash(d)), None),
        _ => (
            format!("loginfail:u:{user_hash}"),
            Some(format!("loginfail:a:{}", from.addr)),
        ),
    };
    let user_attempts = cache.incr(&user_key, l.window).await?;
    let addr_attempts = match &addr_key {
        Some(k) => cache.incr(k, l.window).await?,
        None => 0,
    };
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
    if password::verify(pw, phc).await
        && let Some(u) = user
    {
        cache.delete(&user_key).await?;
        if let Some(k) = &addr_key {
            cache.decr(k).await?;
        }
        return Ok(Ok(u));
    }
    metrics::counter!("surety_failed_logins_total", "reason" => "invalid").increment(1);
    Ok(Err(LoginFailure::Invalid))
}
