//! Audit records off the request path: [`BatchedAudit`] hands each event to a background
//! task through a bounded channel, and the task writes what has queued up as multi-row
//! inserts (waiting [`LINGER`] after the first event of a batch so that rows gather).
//! Nothing is dropped: when the channel is full the event is written inline, as before;
//! [`AuditStore::flush`] (called when the server shuts down gracefully) returns
//! once everything queued before it is stored; and a read through this store
//! ([`AuditStore::events_for`]) flushes first, so this node reads its own writes.
//! Events still queued when the process dies without a graceful shutdown are lost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{AuditEvent, AuditStore, StoreResult};

/// Events waiting at most; past this, callers write inline.
const QUEUE: usize = 4096;
/// Events per write (one multi-row insert on the SQL store).
const MAX_BATCH: usize = 200;
/// How long the writer lets events gather after the first one of a batch: under load a
/// write carries many rows, and the writer is not woken for every event.
const LINGER: Duration = Duration::from_millis(20);

enum Msg {
    Event(AuditEvent),
    /// Answered once every event sent before it is written.
    Flush(oneshot::Sender<()>),
}

pub struct BatchedAudit {
    inner: Arc<dyn AuditStore>,
    tx: mpsc::Sender<Msg>,
}

impl BatchedAudit {
    /// Starts the writer task on the current Tokio runtime. It ends when the last
    /// handle to this store is dropped, after writing what is queued.
    pub fn spawn(inner: Arc<dyn AuditStore>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(inner.clone(), rx));
        Self { inner, tx }
    }
}

async fn write_batches(inner: Arc<dyn AuditStore>, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        if matches!(first, Msg::Event(_)) && rx.len() < MAX_BATCH {
            tokio::time::sleep(LINGER).await;
        }
        let mut next = Some(first);
        while let Some(m) = next {
            match m {
                Msg::Event(e) => batch.push(e),
                Msg::Flush(w) => waiters.push(w),
            }
            next = if batch.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            if let Err(e) = inner.record_many(&batch).await {
                tracing::warn!(error = %e, events = batch.len(), "audit records failed");
            }
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

#[async_trait]
impl AuditStore for BatchedAudit {
    async fn record(&self, e: &AuditEvent) -> StoreResult<()> {
        match self.tx.try_send(Msg::Event(e.clone())) {
            Ok(()) => Ok(()),
            // Full (or the writer is gone): write it now rather than lose it.
            Err(_) => self.inner.record(e).await,
        }
    }

    async fn record_many(&self, es: &[AuditEvent]) -> StoreResult<()> {
        self.inner.record_many(es).await
    }

    async fn flush(&self) -> StoreResult<()> {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
        self.inner.flush().await
    }

    async fn events_for(&self, subject: &str, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        self.flush().await?;
        self.inner.events_for(subject, limit).await
    }
}
