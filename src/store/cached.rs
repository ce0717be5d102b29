//! A read-through cache in front of the client store: the token endpoint looks a client
//! up on every request, and clients change rarely. [`TtlMap`] is the shared building block
//! (see also `cached_partners.rs`). Entries live `ttl` seconds; writes
//! through this node invalidate at once, other nodes see a change within `ttl`. Unknown
//! ids are not cached (a stranger cannot fill memory), and the cache is bounded.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{ClientRecord, ClientStore, StoreResult};
use crate::clock::{SharedClock, Timestamp};

/// Most entries held at once; past this the cache is emptied and refills.
const MAX_ENTRIES: usize = 10_000;

/// A bounded map whose entries live `ttl` seconds: the building block of the
/// read-through caches in front of rarely changing records (clients, partners, accounts).
/// A `ttl` of 0 or less caches nothing. A read that raced a write cannot put the old
/// record back: [`TtlMap::put`] takes the [`TtlMap::stamp`] seen before the read and is
/// dropped if anything was forgotten since.
pub struct TtlMap<V> {
    clock: SharedClock,
    ttl: i64,
    entries: Mutex<Entries<V>>,
}

struct Entries<V> {
    map: HashMap<String, (Timestamp, V)>,
    /// Bumped by every `forget`.
    generation: u64,
}

impl<V: Clone> TtlMap<V> {
    pub fn new(clock: SharedClock, ttl: i64) -> Self {
        Self {
            clock,
            ttl,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// Take before reading the record to [`put`](Self::put).
    pub fn stamp(&self) -> u64 {
        self.entries.lock().map_or(0, |m| m.generation)
    }

    /// The entry for `key` if it is younger than the TTL.
    pub fn get(&self, key: &str) -> Option<V> {
        let now = self.clock.now();
        let m = self.entries.lock().ok()?;
        m.map
            .get(key)
            .filter(|(at, _)| now - at < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Caches `v`, unless something was forgotten since `stamp` was taken.
    pub fn put(&self, key: &str, v: V, stamp: u64) {
        if self.ttl <= 0 {
            return;
        }
        let now = self.clock.now();
        if let Ok(mut m) = self.entries.lock() {
            if m.generation != stamp {
                return;
            }
            if m.map.len() >= MAX_ENTRIES {
                m.map.clear();
            }
            m.map.insert(key.to_owned(), (now, v));
        }
    }

    /// The cached entry, or `load`'s answer (cached; an error is not).
    pub async fn get_or_load<F>(&self, key: &str, load: F) -> StoreResult<V>
    where
        F: Future<Output = StoreResult<V>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let stamp = self.stamp();
        let v = load.await?;
        self.put(key, v.clone(), stamp);
        Ok(v)
    }

    /// Runs a write of `key`'s record, forgetting the entry before and after it.
    pub async fn write<T, F>(&self, key: &str, write: F) -> StoreResult<T>
    where
        F: Future<Output = StoreResult<T>>,
    {
        self.forget(key);
        let r = write.await;
        self.forget(key);
        r
    }

    pub fn forget(&self, key: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.map.remove(key);
            m.generation = m.generation.wrapping_add(1);
        }
    }
}

pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    entries: TtlMap<ClientRecord>,
}

impl CachedClients {
    pub fn new(inner: Arc<dyn ClientStore>, clock: SharedClock, ttl: i64) -> Self {
        Self {
            inner,
            entries: TtlMap::new(clock, ttl),
        }
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.inner.insert_client(c).await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<ClientRecord> {
        self.entries
            .get_or_load(client_id, self.inner.get_client(client_id))
            .await
    }

    async fn update_client(&self, c: &ClientRecord) -> StoreResult<()> {
        let id = &c.client_id;
        self.entries.write(id, self.inner.update_client(c)).await
    }

    async fn delete_client(&self, client_id: &str, now: Timestamp) -> StoreResult<()> {
        self.entries
            .write(client_id, self.inner.delete_client(client_id, now))
            .await
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        self.inner.list_clients().await
    }

    fn forget_cached(&self, client_id: &str) {
        self.entries.forget(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::store::{ClientMetadata, StoreError};

    /// A client store that counts reads (the real stores are covered by the contract suite).
    #[derive(Default)]
    struct Counting {
        reads: std::sync::atomic::AtomicUsize,
        rec: Mutex<Option<ClientRecord>>,
    }

    #[async_trait]
    impl ClientStore for Counting {
        async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
            *self.rec.lock().unwrap() = Some(c.clone());
            Ok(())
        }
        async fn get_client(&self, _: &str) -> StoreResult<ClientRecord> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.rec.lock().unwrap().clone().ok_or(StoreError::NotFound)
        }
        async fn update_client(&self, c: &ClientRecord) -> StoreResult<()> {
            self.insert_client(c).await
        }
        async fn delete_client(&self, _: &str, _: Timestamp) -> StoreResult<()> {
            *self.rec.lock().unwrap() = None;
            Ok(())
        }
        async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
            Ok(vec![])
        }
    }

    fn rec() -> ClientRecord {
        ClientRecord {
            client_id: crate::store::ClientId::parse("c").unwrap(),
            secret_hash: None,
            metadata: ClientMetadata::default(),
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn reads_through_expires_and_invalidates_on_write() {
        let inner = Arc::new(Counting::default());
        let clock = FixedClock::at(100);
        let cache = CachedClients::new(inner.clone(), Arc::new(clock.clone()), 10);
        let reads = || inner.reads.load(std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            cache.get_client("c").await,
            Err(StoreError::NotFound)
        ));
        cache.insert_client(&rec()).await.unwrap();
        cache.get_client("c").await.unwrap();
        cache.get_client("c").await.unwrap();
        assert_eq!(
            reads(),
            2,
            "second read served from cache; misses are not cached"
        );
        clock.advance(10);
        cache.get_client("c").await.unwrap();
        assert_eq!(reads(), 3, "expired after ttl");
        cache.delete_client("c", 0).await.unwrap();
        assert!(
            matches!(cache.get_client("c").await, Err(StoreError::NotFound)),
            "deletion is seen at once"
        );
    }
}
