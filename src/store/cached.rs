//! A read-through cache in front of the client store: the token endpoint looks a client
//! up on every request, and clients change rarely. Entries live `ttl` seconds; writes
//! through this node invalidate at once, other nodes see a change within `ttl`. Unknown
//! ids are not cached (a stranger cannot fill memory), and the cache is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{ClientRecord, ClientStore, StoreResult};
use crate::clock::{SharedClock, Timestamp};

/// Most clients held at once; past this the cache is emptied and refills.
const MAX_ENTRIES: usize = 10_000;

pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    clock: SharedClock,
    ttl: i64,
    entries: Mutex<HashMap<String, (Timestamp, ClientRecord)>>,
}

impl CachedClients {
    pub fn new(inner: Arc<dyn ClientStore>, clock: SharedClock, ttl: i64) -> Self {
        Self {
            inner,
            clock,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn forget(&self, client_id: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.remove(client_id);
        }
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.inner.insert_client(c).await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<ClientRecord> {
        let now = self.clock.now();
        if let Some((at, c)) = self
            .entries
            .lock()
            .ok()
            .and_then(|m| m.get(client_id).cloned())
        {
            if now - at < self.ttl {
                return Ok(c);
            }
        }
        let c = self.inner.get_client(client_id).await?;
        if self.ttl > 0 {
            if let Ok(mut m) = self.entries.lock() {
                if m.len() >= MAX_ENTRIES {
                    m.clear();
                }
                m.insert(client_id.to_owned(), (now, c.clone()));
            }
        }
        Ok(c)
    }

    async fn update_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.forget(&c.client_id);
        let r = self.inner.update_client(c).await;
        self.forget(&c.client_id);
        r
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        self.forget(client_id);
        let r = self.inner.delete_client(client_id).await;
        self.forget(client_id);
        r
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        self.inner.list_clients().await
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
        async fn delete_client(&self, _: &str) -> StoreResult<()> {
            *self.rec.lock().unwrap() = None;
            Ok(())
        }
        async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
            Ok(vec![])
        }
    }

    fn rec() -> ClientRecord {
        ClientRecord {
            client_id: "c".into(),
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
        cache.delete_client("c").await.unwrap();
        assert!(
            matches!(cache.get_client("c").await, Err(StoreError::NotFound)),
            "deletion is seen at once"
        );
    }
}
