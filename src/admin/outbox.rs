//! The durable outbox as an operator sees it (`/admin/outbox`): events by destination
//! and state, one event's delivery state, and the redelivery of a failed event once its
//! receiver is fixed. Payloads and signing secrets are never shown.

use super::FieldError;
use crate::clock::Timestamp;
use crate::outbox::EventId;
use crate::store::{OutboxEvent, OutboxFilter, OutboxStatus, StoreError, Stores};

/// Events listed when no limit is given, and the most one list holds.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Why an outbox request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("no such event")]
    NotFound,
    #[error(transparent)]
    Field(#[from] FieldError),
    /// Only a `failed` event can be redelivered.
    #[error("only a failed event can be retried")]
    NotFailed,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OutboxError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => OutboxError::NotFound,
            e => OutboxError::Store(e),
        }
    }
}

/// Events to `destination` (exact; empty: any) in state `status` (`pending`,
/// `delivered` or `failed`), at most `limit` (1 to 500, default 50), newest first.
pub async fn list(
    stores: &Stores,
    destination: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
) -> Result<Vec<OutboxEvent>, OutboxError> {
    let status = match status.as_deref() {
        None => None,
        Some(st) => Some(OutboxStatus::parse(st).ok_or_else(|| {
            FieldError::invalid("status", "status must be pending, delivered or failed")
        })?),
    };
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(FieldError::invalid("limit", "limit must be between 1 and 500").into());
    }
    let filter = OutboxFilter {
        destination: destination.filter(|d| !d.is_empty()),
        status,
    };
    Ok(stores.outbox.list_events(&filter, limit).await?)
}

/// One event (an id that is no event id is not found).
pub async fn get(stores: &Stores, id: &str) -> Result<OutboxEvent, OutboxError> {
    let id = EventId::parse(id).ok_or(OutboxError::NotFound)?;
    Ok(stores.outbox.get_event(id.as_str()).await?)
}

/// Puts a `failed` event back to `pending`, due now, with a fresh attempt count.
pub async fn retry(stores: &Stores, id: &str, now: Timestamp) -> Result<OutboxEvent, OutboxError> {
    let id = EventId::parse(id).ok_or(OutboxError::NotFound)?;
    let retried = stores.outbox.retry_failed(id.as_str(), now).await?;
    // Not retried: unknown (404), or not failed (409).
    let e = stores.outbox.get_event(id.as_str()).await?;
    if !retried {
        return Err(OutboxError::NotFailed);
    }
    tracing::info!(event_id = %e.id, "outbox event put back for redelivery by an operator");
    Ok(e)
}
