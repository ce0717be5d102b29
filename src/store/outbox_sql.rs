//! SQL for the durable outbox (`crate::outbox`), on the same `Any` pool as the rest.
//! Claiming is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` statement that
//! takes a lease; on PostgreSQL the inner select is `FOR UPDATE SKIP LOCKED`, so nodes
//! polling together split the due events instead of queueing on each other's rows; on
//! SQLite the statement runs under this process's write gate (one writer anyway).

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::sql::{Backend, SqlStore, map_err};
use super::{StoreError, StoreResult};
use crate::clock::Timestamp;

/// One event in the durable outbox (see `crate::outbox`): a message to deliver to a
/// destination, with its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// `EV` + 32 lowercase hex; receivers deduplicate on it.
    pub id: String,
    /// How it is delivered: `webhook` (an HTTP POST) or `email` (SMTP).
    pub kind: String,
    /// Where to: a URL for `webhook`, an address for `email`.
    pub destination: String,
    /// The exact body sent (JSON text).
    pub payload: String,
    /// The signing secret, sealed under the key-encryption key (`None`: unsigned kinds).
    pub secret_sealed: Option<Vec<u8>>,
    pub created_at: Timestamp,
    /// Not delivered before this time.
    pub next_attempt_at: Timestamp,
    /// Delivery attempts started so far (counted when an attempt is claimed).
    pub attempts: i64,
    pub status: super::OutboxStatus,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    /// While a node is delivering it: the lease expiry and the node's id.
    pub locked_until: Option<Timestamp>,
    pub locked_by: Option<String>,
}

/// Which outbox events to list (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxFilter {
    pub destination: Option<String>,
    pub status: Option<super::OutboxStatus>,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores a new `pending` event; a duplicate id is a `Conflict`.
    async fn enqueue(&self, e: &OutboxEvent) -> StoreResult<()>;
    /// Atomically leases up to `limit` due `pending` events of `kind` to `node_id` for
    /// `lease_secs` and counts the attempt: an event leased by one node is not handed to
    /// another until the lease expires (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    async fn claim_due(
        &self,
        kind: &str,
        now: Timestamp,
        limit: i64,
        node_id: &str,
        lease_secs: i64,
    ) -> StoreResult<Vec<OutboxEvent>>;
    /// The `mark_*` calls settle an attempt; they only apply while `node_id` still holds
    /// the lease (`NotFound` otherwise).
    async fn mark_delivered(&self, id: &str, node_id: &str, now: Timestamp) -> StoreResult<()>;
    async fn mark_retry(
        &self,
        id: &str,
        node_id: &str,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<()>;
    async fn mark_failed(&self, id: &str, node_id: &str, error: &str) -> StoreResult<()>;
    async fn get_event(&self, id: &str) -> StoreResult<OutboxEvent>;
    async fn list_events(&self, f: &OutboxFilter, limit: i64) -> StoreResult<Vec<OutboxEvent>>;
    /// Puts a `failed` event back to `pending`, due at `now`, with a fresh attempt count
    /// (an operator's redelivery once the receiver is fixed). `false` when the event is not
    /// `failed` (or does not exist).
    async fn retry_failed(&self, id: &str, now: Timestamp) -> StoreResult<bool>;
}

const COLS: &str = "id, kind, destination, payload, secret_sealed, created_at, \
    next_attempt_at, attempts, status, last_error, last_attempt_at, delivered_at, \
    locked_until, locked_by";

const INSERT: &str = "INSERT INTO outbox (id, kind, destination, payload, secret_sealed, \
    created_at, next_attempt_at, attempts, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'pending')";

/// The due events of one kind, oldest due first: pending, due, and not leased (or the
/// lease has run out: the node holding it died or stalled).
const DUE: &str = "SELECT id FROM outbox WHERE status = 'pending' AND kind = $4 \
    AND next_attempt_at <= $3 AND (locked_until IS NULL OR locked_until <= $3) \
    ORDER BY next_attempt_at, id LIMIT $5";

/// `$1` node, `$2` lease expiry, `$3` now, `$4` kind, `$5` limit.
fn claim_sql(backend: Backend) -> String {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2, last_attempt_at = $3, \
         attempts = attempts + 1 WHERE status = 'pending' AND id IN ({DUE}{lock}) RETURNING {COLS}"
    )
}

/// Only the node holding the lease settles an attempt.
const HELD: &str = "WHERE id = $1 AND locked_by = $2 AND status = 'pending'";

fn col<T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    r: &AnyRow,
    c: &str,
) -> StoreResult<T> {
    r.try_get(c)
        .map_err(|e| StoreError::Corrupt(format!("column {c}: {e}")))
}

fn event_from(r: &AnyRow) -> StoreResult<OutboxEvent> {
    Ok(OutboxEvent {
        id: col(r, "id")?,
        kind: col(r, "kind")?,
        destination: col(r, "destination")?,
        payload: col(r, "payload")?,
        secret_sealed: col(r, "secret_sealed")?,
        created_at: col(r, "created_at")?,
        next_attempt_at: col(r, "next_attempt_at")?,
        attempts: col(r, "attempts")?,
        status: super::sql::text_col(r, "status")?,
        last_error: col(r, "last_error")?,
        last_attempt_at: col(r, "last_attempt_at")?,
        delivered_at: col(r, "delivered_at")?,
        locked_until: col(r, "locked_until")?,
        locked_by: col(r, "locked_by")?,
    })
}

fn touched(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The statement that stores a new `pending` event, bound; run on the pool or inside a
/// caller's transaction (a revocation queues its callback in the same one).
pub(crate) fn insert(e: &OutboxEvent) -> Query<'_, Any, AnyArguments> {
    sqlx::query(INSERT)
        .bind(&e.id)
        .bind(&e.kind)
        .bind(&e.destination)
        .bind(&e.payload)
        .bind(e.secret_sealed.clone())
        .bind(e.created_at)
        .bind(e.next_attempt_at)
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn enqueue(&self, e: &OutboxEvent) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        insert(e).execute(self.pool()).await.map_err(map_err)?;
        Ok(())
    }

    async fn claim_due(
        &self,
        kind: &str,
        now: Timestamp,
        limit: i64,
        node_id: &str,
        lease_secs: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let sql = claim_sql(self.backend());
        let _gate = self.write_gate().await;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(node_id)
            .bind(now.saturating_add(lease_secs.max(1)))
            .bind(now)
            .bind(kind)
            .bind(limit.max(1))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        let mut events = rows
            .iter()
            .map(event_from)
            .collect::<StoreResult<Vec<_>>>()?;
        events.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        Ok(events)
    }

    async fn mark_delivered(&self, id: &str, node_id: &str, now: Timestamp) -> StoreResult<()> {
        let sql = format!(
            "UPDATE outbox SET status = 'delivered', delivered_at = $3, last_error = NULL, \
             locked_until = NULL {HELD}"
        );
        let _gate = self.write_gate().await;
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(node_id)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        touched(r.rows_affected())
    }

    async fn mark_retry(
        &self,
        id: &str,
        node_id: &str,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE outbox SET next_attempt_at = $3, last_error = $4, locked_until = NULL {HELD}"
        );
        let _gate = self.write_gate().await;
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(node_id)
            .bind(next_attempt_at)
            .bind(error)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        touched(r.rows_affected())
    }

    async fn mark_failed(&self, id: &str, node_id: &str, error: &str) -> StoreResult<()> {
        let sql = format!(
            "UPDATE outbox SET status = 'failed', last_error = $3, locked_until = NULL {HELD}"
        );
        let _gate = self.write_gate().await;
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(node_id)
            .bind(error)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        touched(r.rows_affected())
    }

    async fn get_event(&self, id: &str) -> StoreResult<OutboxEvent> {
        let sql = format!("SELECT {COLS} FROM outbox WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        event_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn retry_failed(&self, id: &str, now: Timestamp) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2, \
             locked_until = NULL, locked_by = NULL WHERE id = $1 AND status = 'failed'",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn list_events(&self, f: &OutboxFilter, limit: i64) -> StoreResult<Vec<OutboxEvent>> {
        // An empty string never matches a real destination or status, so `$n = ''`
        // switches a filter off without building SQL from input.
        let sql = format!(
            "SELECT {COLS} FROM outbox WHERE ($1 = '' OR destination = $1) \
             AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(f.destination.as_deref().unwrap_or(""))
            .bind(f.status.map_or("", |s| s.as_str()))
            .bind(limit.max(1))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(event_from).collect()
    }
}

/// A pending webhook event due at `at` (store tests).
#[cfg(test)]
pub(crate) fn test_event(id: &str, dest: &str, at: Timestamp) -> OutboxEvent {
    OutboxEvent {
        id: id.into(),
        kind: "webhook".into(),
        destination: dest.into(),
        payload: r#"{"a":1}"#.into(),
        secret_sealed: Some(vec![1, 2, 3]),
        created_at: at,
        next_attempt_at: at,
        attempts: 0,
        status: super::OutboxStatus::Pending,
        last_error: None,
        last_attempt_at: None,
        delivered_at: None,
        locked_until: None,
        locked_by: None,
    }
}

#[cfg(test)]
mod tests {
    //! The outbox's store contract, on a fresh SQLite file and (when
    //! `SURETY_TEST_DATABASE_URL` is set) a fresh PostgreSQL database.

    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Entropy, SystemEntropy};

    struct Db {
        store: SqlStore,
        drop_pg: Option<(SqlStore, String)>,
        dir: Option<std::path::PathBuf>,
    }

    impl Db {
        async fn finish(self) {
            self.store.pool().close().await;
            if let Some((admin, name)) = self.drop_pg {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(admin.pool())
                    .await;
                admin.pool().close().await;
            }
            if let Some(dir) = self.dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    async fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(format!("surety-outbox-{}", SystemEntropy.hex16()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("surety.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Db {
            store,
            drop_pg: None,
            dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Db> {
        let Some(base) = std::env::var("SURETY_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true requires SURETY_TEST_DATABASE_URL"
            );
            return None;
        };
        let admin = SqlStore::connect(&base).await.unwrap();
        let name = format!("surety_ob_{}", SystemEntropy.hex16());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await
            .unwrap();
        let mut url = url::Url::parse(&base).unwrap();
        url.set_path(&format!("/{name}"));
        let store = SqlStore::connect(url.as_str()).await.unwrap();
        store.migrate().await.unwrap();
        Some(Db {
            store,
            drop_pg: Some((admin, name)),
            dir: None,
        })
    }

    macro_rules! on_both {
        ($($case:ident),* $(,)?) => {
            mod sqlite_cases { $(
                #[tokio::test]
                async fn $case() {
                    let db = super::sqlite().await;
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )* }
            mod postgres_cases { $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = super::postgres().await else { return };
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )* }
        };
    }

    on_both!(
        enqueue_get_and_list,
        claim_leases_and_counts_attempts,
        settling_needs_the_lease,
        retry_waits_and_failed_is_final,
        concurrent_claims_never_share_an_event,
    );

    use super::test_event as event;

    async fn enqueue_get_and_list(s: &SqlStore) {
        let a = event("EVa", "https://a.example/cb", 100);
        let b = event("EVb", "https://b.example/cb", 101);
        s.enqueue(&a).await.unwrap();
        s.enqueue(&b).await.unwrap();
        assert!(matches!(s.enqueue(&a).await, Err(StoreError::Conflict(_))));
        assert_eq!(s.get_event("EVa").await.unwrap(), a);
        assert!(matches!(
            s.get_event("EVx").await,
            Err(StoreError::NotFound)
        ));
        let all = s.list_events(&OutboxFilter::default(), 10).await.unwrap();
        assert_eq!(all, vec![b.clone(), a.clone()], "newest first");
        let only_a = OutboxFilter {
            destination: Some(a.destination.clone()),
            status: None,
        };
        assert_eq!(s.list_events(&only_a, 10).await.unwrap(), vec![a]);
        let delivered = OutboxFilter {
            destination: None,
            status: Some(crate::store::OutboxStatus::Delivered),
        };
        assert!(s.list_events(&delivered, 10).await.unwrap().is_empty());
        assert_eq!(
            s.list_events(&OutboxFilter::default(), 1)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    async fn claim_leases_and_counts_attempts(s: &SqlStore) {
        s.enqueue(&event("EV1", "https://a.example/", 100))
            .await
            .unwrap();
        s.enqueue(&event("EV2", "https://a.example/", 1000))
            .await
            .unwrap();
        let mut other_kind = event("EV3", "ops@example.com", 100);
        other_kind.kind = "email".into();
        s.enqueue(&other_kind).await.unwrap();

        assert!(
            s.claim_due("webhook", 99, 10, "n1", 60)
                .await
                .unwrap()
                .is_empty()
        );
        let got = s.claim_due("webhook", 150, 10, "n1", 60).await.unwrap();
        assert_eq!(got.len(), 1, "only the due event of that kind");
        let e = &got[0];
        assert_eq!((e.id.as_str(), e.attempts), ("EV1", 1));
        assert_eq!(e.locked_by.as_deref(), Some("n1"));
        assert_eq!((e.locked_until, e.last_attempt_at), (Some(210), Some(150)));
        // Leased: nobody else gets it until the lease runs out …
        assert!(
            s.claim_due("webhook", 209, 10, "n2", 60)
                .await
                .unwrap()
                .is_empty()
        );
        // … then another node does (the first one died), and the attempt counts.
        let again = s.claim_due("webhook", 210, 1, "n2", 60).await.unwrap();
        assert_eq!((again[0].id.as_str(), again[0].attempts), ("EV1", 2));
        assert_eq!(again[0].locked_by.as_deref(), Some("n2"));
    }

    async fn settling_needs_the_lease(s: &SqlStore) {
        s.enqueue(&event("EV1", "https://a.example/", 100))
            .await
            .unwrap();
        s.claim_due("webhook", 100, 10, "n1", 30).await.unwrap();
        // n1 stalled; n2 took over after the lease.
        s.claim_due("webhook", 130, 10, "n2", 30).await.unwrap();
        assert!(matches!(
            s.mark_retry("EV1", "n1", 500, "late").await,
            Err(StoreError::NotFound)
        ));
        s.mark_delivered("EV1", "n2", 131).await.unwrap();
        let e = s.get_event("EV1").await.unwrap();
        assert_eq!(
            (e.status.as_str(), e.delivered_at),
            ("delivered", Some(131))
        );
        assert_eq!((e.attempts, e.locked_until), (2, None));
        // Delivered is final.
        assert!(matches!(
            s.mark_failed("EV1", "n2", "x").await,
            Err(StoreError::NotFound)
        ));
        assert!(
            s.claim_due("webhook", 10_000, 10, "n1", 30)
                .await
                .unwrap()
                .is_empty()
        );
        // Upkeep deletes delivered events past their retention, never pending ones.
        use crate::store::Health;
        s.enqueue(&event("EV2", "https://a.example/", 100))
            .await
            .unwrap();
        assert_eq!(s.purge(10_000, 0, 131, 0).await.unwrap(), 0);
        assert_eq!(s.purge(10_000, 0, 132, 0).await.unwrap(), 1);
        assert!(matches!(
            s.get_event("EV1").await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(s.get_event("EV2").await.unwrap().status.as_str(), "pending");
    }

    async fn retry_waits_and_failed_is_final(s: &SqlStore) {
        s.enqueue(&event("EV1", "https://a.example/", 100))
            .await
            .unwrap();
        s.claim_due("webhook", 100, 10, "n1", 30).await.unwrap();
        s.mark_retry("EV1", "n1", 160, "HTTP 500").await.unwrap();
        let e = s.get_event("EV1").await.unwrap();
        assert_eq!(e.last_error.as_deref(), Some("HTTP 500"));
        assert_eq!((e.status.as_str(), e.next_attempt_at), ("pending", 160));
        assert_eq!(e.locked_until, None, "the lease is released at once");
        assert!(
            s.claim_due("webhook", 159, 10, "n1", 30)
                .await
                .unwrap()
                .is_empty()
        );
        let e = s.claim_due("webhook", 160, 10, "n1", 30).await.unwrap();
        assert_eq!(e[0].attempts, 2);
        s.mark_failed("EV1", "n1", "HTTP 502").await.unwrap();
        let e = s.get_event("EV1").await.unwrap();
        assert_eq!(
            (e.status.as_str(), e.last_error.as_deref()),
            ("failed", Some("HTTP 502"))
        );
        assert!(
            s.claim_due("webhook", 10_000, 10, "n1", 30)
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn concurrent_claims_never_share_an_event(s: &SqlStore) {
        for i in 0..40 {
            s.enqueue(&event(&format!("EV{i:02}"), "https://a.example/", 100))
                .await
                .unwrap();
        }
        let s = Arc::new(s.clone());
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..8 {
            let s = s.clone();
            tasks.spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = s
                        .claim_due("webhook", 100, 3, &format!("n{n}"), 60)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|e| e.id));
                }
            });
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        while let Some(ids) = tasks.join_next().await {
            for id in ids.unwrap() {
                total += 1;
                assert!(seen.insert(id), "an event was claimed twice");
            }
        }
        assert_eq!((total, seen.len()), (40, 40));
    }
}
