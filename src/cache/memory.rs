//! [`MemoryCache`]: the in-process [`Ephemeral`] store for single-node deployments. One
//! mutex guards a map; every operation is a single critical section (never held across
//! an `.await`), which makes `take`, `consume`, `put_new` and `incr` atomic. Expiry reads
//! the injected clock; expired entries count as absent and are swept every
//! [`SWEEP_EVERY`] writes (at most once per second).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{CacheError, CacheResult, Consumed, Ephemeral};
use crate::clock::{SharedClock, Timestamp};

/// Writes between two sweeps of expired entries.
pub const SWEEP_EVERY: u64 = 256;

struct Entry {
    value: Vec<u8>,
    expires_at: Timestamp,
    /// Set by the first `consume`.
    used: bool,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    writes: u64,
    /// When the last sweep ran.
    swept_at: Option<Timestamp>,
}

impl Inner {
    /// The entry under `key` if it has not expired (an expired one is dropped).
    fn live(&mut self, key: &str, now: Timestamp) -> Option<&mut Entry> {
        let expired = self.map.get(key).is_some_and(|e| e.expires_at <= now);
        if expired {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// Counts a write and sweeps expired entries every [`SWEEP_EVERY`] writes, at most
    /// once per clock second: under a high write rate (say, a `jti` per token request)
    /// the map is large and a sweep costs in proportion, so it is not done more often
    /// than anything can expire.
    fn wrote(&mut self, now: Timestamp) {
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) && self.swept_at.is_none_or(|t| t < now) {
            self.map.retain(|_, e| e.expires_at > now);
            self.swept_at = Some(now);
        }
    }

    fn insert(&mut self, key: &str, value: &[u8], ttl: u64, now: Timestamp) {
        let entry = Entry {
            value: value.to_vec(),
            expires_at: expiry(now, ttl),
            used: false,
        };
        self.map.insert(key.to_owned(), entry);
        self.wrote(now);
    }
}

/// `now + ttl` (at least one second), saturating.
fn expiry(now: Timestamp, ttl: u64) -> Timestamp {
    let ttl = i64::try_from(ttl.max(1)).unwrap_or(i64::MAX);
    now.saturating_add(ttl)
}

/// In-process ephemeral state.
pub struct MemoryCache {
    clock: SharedClock,
    inner: Mutex<Inner>,
}

impl MemoryCache {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Locks the map with the current time. A poisoned lock is recovered: every critical
    /// section leaves the map consistent, so a panic elsewhere cannot corrupt it.
    fn lock(&self) -> (MutexGuard<'_, Inner>, Timestamp) {
        let now = self.clock.now();
        let guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (guard, now)
    }

    /// Number of entries held, expired or not (tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().0.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the values: they are codes and sessions.
        f.debug_struct("MemoryCache")
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl Ephemeral for MemoryCache {
    async fn put(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<()> {
        let (mut inner, now) = self.lock();
        inner.insert(key, value, ttl, now);
        Ok(())
    }

    async fn put_new(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<bool> {
        let (mut inner, now) = self.lock();
        if inner.live(key, now).is_some() {
            return Ok(false);
        }
        inner.insert(key, value, ttl, now);
        Ok(true)
    }

    async fn contents(&self, now: Timestamp) -> CacheResult<String> {
        let (mut inner, t) = self.lock();
        if let Some(e) = inner.live(super::EPOCH_KEY, t) {
            return Ok(String::from_utf8_lossy(&e.value).into_owned());
        }
        let marker = super::new_contents(now);
        // Kept for as long as the process lives (a century, in effect).
        inner.insert(super::EPOCH_KEY, marker.as_bytes(), 100 * 365 * 86_400, t);
        Ok(marker)
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let (mut inner, now) = self.lock();
        Ok(inner.live(key, now).map(|e| e.value.clone()))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let (mut inner, now) = self.lock();
        let entry = inner.map.remove(key);
        Ok(entry.filter(|e| e.expires_at > now).map(|e| e.value))
    }

    async fn consume(&self, key: &str) -> CacheResult<Option<Consumed>> {
        let (mut inner, now) = self.lock();
        Ok(inner.live(key, now).map(|e| {
            let first = !e.used;
            e.used = true;
            Consumed {
                first,
                value: e.value.clone(),
            }
        }))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let (mut inner, _) = self.lock();
        inner.map.remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: u64) -> CacheResult<u64> {
        let (mut inner, now) = self.lock();
        if let Some(e) = inner.live(key, now) {
            // Stored as decimal text, like Redis, so `get` reads the same on both.
            let n = std::str::from_utf8(&e.value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| CacheError("value is not an integer".into()))?
                .saturating_add(1);
            e.value = n.to_string().into_bytes();
            return Ok(n);
        }
        inner.insert(key, b"1", ttl, now);
        Ok(1)
    }

    async fn decr(&self, key: &str) -> CacheResult<()> {
        let (mut inner, now) = self.lock();
        if let Some(e) = inner.live(key, now) {
            let n = std::str::from_utf8(&e.value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| CacheError("value is not an integer".into()))?;
            e.value = n.saturating_sub(1).to_string().into_bytes();
        }
        Ok(())
    }

    async fn ping(&self) -> CacheResult<()> {
        Ok(())
    }
}
