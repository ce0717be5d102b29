//! Contract cases for [`AuditStore`] (multi-row inserts) and the batching writer in
//! front of it, on a fresh SQLite file and (when configured) a fresh PostgreSQL database.

use super::super::audit_batch::BatchedAudit;
use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db};

contract!(
    audit_many_rows_in_order,
    audit_batched_writes_everything_and_reads_its_own_writes
);

fn event(subject: &str, i: usize) -> AuditEvent {
    AuditEvent {
        at: 1000 + i as i64,
        actor: "PN1".into(),
        action: "jwt-bearer".into(),
        subject: subject.into(),
        outcome: if i.is_multiple_of(2) {
            "ok"
        } else {
            "the assertion has expired"
        }
        .into(),
        detail: format!("n={i}"),
    }
}

async fn audit_many_rows_in_order(s: &SqlStore) {
    // More rows than one statement carries, so the insert is split.
    let es: Vec<_> = (0..450).map(|i| event("AC1", i)).collect();
    s.record_many(&es).await.unwrap();
    s.record(&event("AC2", 7)).await.unwrap();
    s.record_many(&[]).await.unwrap();
    let got = s.events_for("AC1", 1000).await.unwrap();
    assert_eq!(got.len(), 450);
    assert_eq!(got[0], es[449], "newest first");
    assert_eq!(got[449], es[0]);
    assert_eq!(
        s.events_for("AC2", 10).await.unwrap(),
        vec![event("AC2", 7)]
    );
}

async fn audit_batched_writes_everything_and_reads_its_own_writes(s: &SqlStore) {
    let inner: Arc<dyn AuditStore> = Arc::new(s.clone());
    let audit = Arc::new(BatchedAudit::spawn(inner.clone()));
    audit.record(&event("AC1", 0)).await.unwrap();
    assert_eq!(
        audit.events_for("AC1", 10).await.unwrap(),
        vec![event("AC1", 0)],
        "a read through the batcher sees what was recorded before it"
    );
    // Many writers at once: more than the queue holds, so some are written inline.
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let audit = audit.clone();
            tokio::spawn(async move {
                for i in 0..700 {
                    audit.record(&event("AC2", t * 1000 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    audit.flush().await.unwrap();
    let stored = inner.events_for("AC2", 10_000).await.unwrap();
    assert_eq!(stored.len(), 8 * 700, "nothing lost");
}
