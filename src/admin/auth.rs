//! Admin-token authentication attempts: each attempt is reserved per
//! client address in the shared cache *before* the token is compared, so at most
//! [`ATTEMPTS`] guesses per address and [`WINDOW`] are evaluated, on every node together;
//! a success gives its unit back.

use crate::cache::{CacheResult, Ephemeral};

/// Attempts one client address may make per window…
pub const ATTEMPTS: u64 = 100;
/// …of this many seconds.
pub const WINDOW: u64 = 60;

fn key(ip: &str) -> String {
    format!("adminauth:{ip}")
}

/// Reserves an attempt for `ip`; `false` when the address is over its limit.
pub async fn reserve(cache: &dyn Ephemeral, ip: &str) -> CacheResult<bool> {
    Ok(cache.incr(&key(ip), WINDOW).await? <= ATTEMPTS)
}

/// The attempt succeeded: it does not count against the address.
pub async fn succeeded(cache: &dyn Ephemeral, ip: &str) -> CacheResult<()> {
    cache.decr(&key(ip)).await
}
