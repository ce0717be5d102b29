//! Read-through caches in front of the partner and account stores, for the jwt-bearer
//! grant and the signed login link, which read both on every request. Only the
//! `get_*_cached` reads use them; every other read goes to the database.
//!
//! Entries live `ttl` seconds (`SURETY_PARTNER_CACHE_TTL`). A write through this node
//! (suspension, new keys, closing an account) forgets the entry at once; a write through
//! another node sharing the database is seen here within `ttl`. So a partner or account
//! suspended on node A may still have assertions accepted on node B for up to `ttl`
//! seconds. Unknown ids are not cached, and the caches are bounded ([`TtlMap`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::cached::TtlMap;
use super::{
    AccountChange, AccountRecord, AccountStore, PartnerRecord, PartnerStore, StoreResult, Stores,
};
use crate::clock::SharedClock;

pub struct CachedPartners {
    inner: Arc<dyn PartnerStore>,
    entries: TtlMap<Arc<PartnerRecord>>,
}

impl CachedPartners {
    pub fn new(inner: Arc<dyn PartnerStore>, clock: SharedClock, ttl: i64) -> Self {
        Self {
            inner,
            entries: TtlMap::new(clock, ttl),
        }
    }
}

#[async_trait]
impl PartnerStore for CachedPartners {
    async fn insert_partner(&self, p: &PartnerRecord) -> StoreResult<()> {
        self.inner.insert_partner(p).await
    }

    async fn get_partner(&self, id: &str) -> StoreResult<PartnerRecord> {
        self.inner.get_partner(id).await
    }

    async fn get_partner_cached(&self, id: &str) -> StoreResult<Arc<PartnerRecord>> {
        let load = async { self.inner.get_partner(id).await.map(Arc::new) };
        self.entries.get_or_load(id, load).await
    }

    async fn update_partner(&self, p: &PartnerRecord) -> StoreResult<()> {
        self.entries
            .write(&p.id, self.inner.update_partner(p))
            .await
    }

    async fn delete_partner(&self, id: &str) -> StoreResult<()> {
        self.entries.write(id, self.inner.delete_partner(id)).await
    }
}

pub struct CachedAccounts {
    inner: Arc<dyn AccountStore>,
    entries: TtlMap<Arc<AccountRecord>>,
}

impl CachedAccounts {
    pub fn new(inner: Arc<dyn AccountStore>, clock: SharedClock, ttl: i64) -> Self {
        Self {
            inner,
            entries: TtlMap::new(clock, ttl),
        }
    }
}

#[async_trait]
impl AccountStore for CachedAccounts {
    async fn insert_account(&self, a: &AccountRecord) -> StoreResult<()> {
        self.inner.insert_account(a).await
    }

    async fn get_account(&self, sid: &str) -> StoreResult<AccountRecord> {
        self.inner.get_account(sid).await
    }

    async fn get_account_cached(&self, sid: &str) -> StoreResult<Arc<AccountRecord>> {
        let load = async { self.inner.get_account(sid).await.map(Arc::new) };
        self.entries.get_or_load(sid, load).await
    }

    async fn update_account(&self, a: &AccountRecord) -> StoreResult<()> {
        self.entries
            .write(&a.sid, self.inner.update_account(a))
            .await
    }

    async fn change_account(
        &self,
        sid: &str,
        change: AccountChange<'_>,
    ) -> StoreResult<Option<AccountRecord>> {
        self.entries
            .write(sid, self.inner.change_account(sid, change))
            .await
    }

    async fn list_accounts(
        &self,
        partner_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<AccountRecord>> {
        self.inner.list_accounts(partner_id, after, limit).await
    }

    fn forget_cached(&self, sid: &str) {
        self.entries.forget(sid);
    }
}

impl Stores {
    /// Puts the partner and account caches in front of this node's stores.
    pub fn with_partner_cache(mut self, clock: SharedClock, ttl: i64) -> Self {
        self.partners = Arc::new(CachedPartners::new(self.partners, clock.clone(), ttl));
        self.accounts = Arc::new(CachedAccounts::new(self.accounts, clock, ttl));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::store::sql::SqlStore;

    fn account(sid: &str, status: &str) -> AccountRecord {
        AccountRecord {
            sid: crate::store::AccountSid::parse(sid).unwrap(),
            partner_id: None,
            parent_sid: None,
            friendly_name: "A".into(),
            status: crate::store::AccountStatus::parse(status).unwrap(),
            limits: Default::default(),
            auth_token_hash: "h".into(),
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn cached_reads_expire_and_local_writes_show_at_once() {
        let db = Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap());
        db.migrate().await.unwrap();
        let clock = FixedClock::at(100);
        let cached = CachedAccounts::new(db.clone(), Arc::new(clock.clone()), 10);
        let sid = "AC0123456789abcdef0123456789abcdef";
        assert!(cached.get_account_cached(sid).await.is_err(), "unknown");
        cached
            .insert_account(&account(sid, "active"))
            .await
            .unwrap();
        assert_eq!(
            cached
                .get_account_cached(sid)
                .await
                .unwrap()
                .status
                .as_str(),
            "active"
        );
        // A write through another node (straight to the database) shows after the TTL.
        db.update_account(&account(sid, "suspended")).await.unwrap();
        assert_eq!(
            cached
                .get_account_cached(sid)
                .await
                .unwrap()
                .status
                .as_str(),
            "active"
        );
        assert_eq!(
            cached.get_account(sid).await.unwrap().status.as_str(),
            "suspended"
        );
        clock.advance(10);
        assert_eq!(
            cached
                .get_account_cached(sid)
                .await
                .unwrap()
                .status
                .as_str(),
            "suspended"
        );
        // A write through this node shows at once.
        cached
            .update_account(&account(sid, "active"))
            .await
            .unwrap();
        assert_eq!(
            cached
                .get_account_cached(sid)
                .await
                .unwrap()
                .status
                .as_str(),
            "active"
        );
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_cached() {
        let m = TtlMap::new(Arc::new(FixedClock::at(0)), 10);
        let stamp = m.stamp();
        m.forget("k");
        m.put("k", 1, stamp);
        assert_eq!(m.get("k"), None);
        m.put("k", 2, m.stamp());
        assert_eq!(m.get("k"), Some(2));
    }
}
