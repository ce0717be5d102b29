//! Short-lived and single-use state (authorization codes, PAR requests, login
//! transactions, assertion `jti`s, rate-limit counters, browser sessions) behind one
//! trait. In-process by default ([`memory::MemoryCache`]); Redis when `SURETY_REDIS_URL`
//! is set ([`redis::RedisCache`]), so several nodes share it. Every single-use operation
//! is atomic on both (house rule 9); both pass the contract suite in `contract.rs`.

#[cfg(test)]
mod contract;
pub mod memory;
pub mod redis;

use async_trait::async_trait;

use crate::clock::Timestamp;

/// The cache is unreachable or answered nonsense; callers refuse with 503.
#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

pub type CacheResult<T> = Result<T, CacheError>;

/// What [`Ephemeral::consume`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// `true` for exactly one caller: the first to consume this key.
    pub first: bool,
    pub value: Vec<u8>,
}

/// What [`Ephemeral::mark_first`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// This call marked the key: nobody marked it since `since`.
    pub first: bool,
    /// When the cache's present contents began: a marker the cache keeps (no TTL),
    /// created on first use. A cache emptied or replaced (a Redis restart without
    /// persistence, an in-process cache after a restart) starts a new one, so a mark made
    /// before then is known to be lost.
    pub since: Timestamp,
    /// The marker itself (`<since>.<random>`): names these contents, even when two
    /// begin within one second.
    pub contents: String,
}

/// A new contents marker begun at `now`. Its random part always comes from the system
/// CSPRNG, never an injected source: it must differ between every two contents, across
/// processes and restarts, which a seeded test source does not promise.
pub fn new_contents(now: Timestamp) -> String {
    use crate::clock::Entropy;
    format!("{now}.{}", crate::clock::SystemEntropy.hex16())
}

/// The time a contents marker names (0 for a malformed one: nothing proves unused).
pub fn contents_time(marker: &str) -> Timestamp {
    marker
        .split('.')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

impl Marked {
    /// Whether a single-use thing that cannot have been first used before
    /// `earliest_first_use` is proven unused: marked first now, and any earlier use would
    /// have been marked in these contents, not in lost ones.
    pub fn proves_unused(&self, earliest_first_use: Timestamp) -> bool {
        // Strictly later: marks of lost contents may share the second they ended in.
        self.first && earliest_first_use > self.since
    }
}

/// The earliest time an assertion can first have been accepted: its `exp` was at most
/// `max_lifetime` (+ `skew`) ahead then, and its `iat` (if any) at most `skew` ahead.
pub fn earliest_first_use(
    exp: Timestamp,
    iat: Option<Timestamp>,
    max_lifetime: i64,
    skew: i64,
) -> Timestamp {
    let by_exp = exp.saturating_sub(max_lifetime).saturating_sub(skew);
    iat.map_or(by_exp, |i| by_exp.max(i.saturating_sub(skew)))
}

/// The key of the contents marker behind [`Marked::since`].
pub const EPOCH_KEY: &str = "epoch";

/// Ephemeral key/value state with atomic single-use operations. TTLs are in seconds and
/// always positive; keys are namespaced by the caller (`code:`, `par:`, `sess:` …).
#[async_trait]
pub trait Ephemeral: Send + Sync {
    /// Stores `value` under `key` for `ttl` seconds, replacing what was there.
    async fn put(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<()>;
    /// Stores only if absent (`SET NX`); `true` if this call stored it. Replay caches.
    async fn put_new(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<bool>;
    /// Marks `key` seen for `ttl` seconds unless it already is (`SET key 1 NX EX ttl`);
    /// `true` if this call marked it. For replay caches (`jti`s) whose keys are never
    /// `consume`d: unlike [`Ephemeral::put_new`] it leaves no consume marker to clear, so on
    /// Redis it is one plain command rather than a script.
    async fn mark_once(&self, key: &str, ttl: u64) -> CacheResult<bool> {
        self.put_new(key, b"1", ttl).await
    }
    /// [`Ephemeral::mark_once`], and the marker of the cache's present contents (see
    /// [`Marked`]), created as [`new_contents`]`(now)` when missing. One round trip on
    /// Redis.
    async fn mark_first(&self, key: &str, ttl: u64, now: Timestamp) -> CacheResult<Marked> {
        let first = self.mark_once(key, ttl).await?;
        let contents = self.contents(now).await?;
        Ok(Marked {
            first,
            since: contents_time(&contents),
            contents,
        })
    }
    /// The marker of the cache's present contents, created with `now` if missing.
    async fn contents(&self, now: Timestamp) -> CacheResult<String>;
    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>>;
    /// Returns and deletes atomically (`GETDEL`): at most one caller gets the value.
    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>>;
    /// Returns the value and marks it used, atomically, keeping it until its TTL ends so a
    /// second use can be recognised (authorization-code reuse detection, RFC 6749 §4.1.2).
    async fn consume(&self, key: &str) -> CacheResult<Option<Consumed>>;
    async fn delete(&self, key: &str) -> CacheResult<()>;
    /// Increments a counter, creating it with `ttl` if new; returns the new count.
    async fn incr(&self, key: &str, ttl: u64) -> CacheResult<u64>;
    /// Gives back one unit of a counter raised by [`Ephemeral::incr`] (an attempt that was
    /// reserved and turned out not to count): never below zero, never creates the key,
    /// keeps its TTL.
    async fn decr(&self, key: &str) -> CacheResult<()>;
    async fn ping(&self) -> CacheResult<()>;
}
