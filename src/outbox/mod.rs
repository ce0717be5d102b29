//! The durable outbox: messages Surety owes someone else (an app's deauthorize callback,
//! an e-mail alert to a verified entity), written to the database by the code that raises them and
//! delivered by a background [`worker`] running on every node.
//!
//! Delivery is at least once: an event is leased by one node at a time (so two nodes never
//! deliver it concurrently), retried with exponential backoff until it succeeds or runs
//! out of attempts, and survives restarts. Webhooks are signed with HMAC-SHA256 over the
//! timestamp and body and carry the event id for deduplication ([`signing`],
//! `docs/webhooks.md`); e-mail goes through the configured SMTP server ([`email`]). Logout tokens
//! (OpenID Connect Back-Channel Logout) are JWTs signed at each attempt ([`jwt_post`]). Each
//! row names its transport (`kind`), and a worker only claims the kinds it can send. Delivery state per event is visible through the admin API
//! (`/admin/outbox`).

pub mod email;
pub mod jwt_post;
pub mod signing;
pub mod webhook;
pub mod worker;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretSlice;

use crate::clock::{Entropy, Timestamp};
use crate::keys::{KeyError, KeyRing};
use crate::store::{OutboxEvent, OutboxStore, StoreError};

pub use webhook::WebhookUrl;

/// The kind of an event delivered as a signed HTTP POST.
pub const KIND_WEBHOOK: &str = "webhook";

/// The kind of an event delivered as an e-mail through SMTP.
pub const KIND_EMAIL: &str = "email";

/// Largest payload accepted (receivers should not have to take more).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("invalid destination: {0}")]
    Destination(&'static str),
    #[error("invalid payload: {0}")]
    Payload(&'static str),
    #[error("a webhook needs a signing secret of at least 16 bytes")]
    WeakSecret,
    #[error("invalid outbox settings: {0}")]
    Config(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// An event id: `EV` + 32 lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventId(String);

impl EventId {
    /// A fresh id drawn from `rng`.
    pub fn new(rng: &dyn Entropy) -> Self {
        Self(format!("EV{}", rng.hex16()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix("EV")?;
        let ok = hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Associated data binding a sealed signing secret to its event row, so a sealed secret
/// copied into another row does not open.
fn secret_aad(event_id: &str) -> Vec<u8> {
    format!("outbox:{event_id}").into_bytes()
}

/// Where the worker finds the secret an event carries: a webhook's signing secret, the
/// text of an e-mail holding a single-use link.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret of `event`; `None` if the event carries none.
    async fn sealed_secret(&self, event: &OutboxEvent)
    -> Result<Option<SecretSlice<u8>>, KeyError>;
}

/// The secret sealed (under the key-encryption key) into the event row itself, so the
/// worker needs nothing else and a later change of the app's secret does not alter an
/// event already queued; the database never holds it in the clear.
pub struct SealedInRow(pub Arc<KeyRing>);

#[async_trait]
impl SecretSource for SealedInRow {
    async fn sealed_secret(
        &self,
        event: &OutboxEvent,
    ) -> Result<Option<SecretSlice<u8>>, KeyError> {
        let Some(sealed) = &event.secret_sealed else {
            return Ok(None);
        };
        let plain = self.0.open_secret(&secret_aad(&event.id), sealed)?;
        Ok(Some(SecretSlice::from(plain)))
    }
}

/// Queues a signed webhook: `payload` is POSTed to `url` as JSON, signed with `secret`
/// (the receiver's webhook signing secret), by the delivery worker of whichever node
/// claims it first. Returns the event id (also sent as `Surety-Event-Id`).
pub async fn enqueue_webhook(
    outbox: &dyn OutboxStore,
    keys: &KeyRing,
    rng: &dyn Entropy,
    now: Timestamp,
    url: &str,
    payload: &serde_json::Value,
    secret: &[u8],
) -> Result<EventId, OutboxError> {
    let event = webhook_event(keys, rng, now, url, payload, secret)?;
    outbox.enqueue(&event).await?;
    tracing::info!(event_id = %event.id, kind = KIND_WEBHOOK, "outbox event queued");
    Ok(EventId(event.id))
}

/// The event [`enqueue_webhook`] would store, for a caller that stores it in a transaction
/// of its own (see `AppStore::revoke_authorization`). Checks the URL, the secret's length
/// and the payload's size; seals the secret into the row under `keys`.
pub fn webhook_event(
    keys: &KeyRing,
    rng: &dyn Entropy,
    now: Timestamp,
    url: &str,
    payload: &serde_json::Value,
    secret: &[u8],
) -> Result<OutboxEvent, OutboxError> {
    let url = WebhookUrl::parse(url)?;
    if secret.len() < 16 {
        return Err(OutboxError::WeakSecret);
    }
    let body = serde_json::to_string(payload).map_err(|_| OutboxError::Payload("not JSON"))?;
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(OutboxError::Payload("larger than 64 KiB"));
    }
    let id = EventId::new(rng);
    let sealed = keys.seal_secret(&secret_aad(id.as_str()), secret)?;
    Ok(new_event(
        &id,
        KIND_WEBHOOK,
        url.as_str(),
        body,
        Some(sealed),
        now,
    ))
}

/// A new `pending` event, due at once.
pub(crate) fn new_event(
    id: &EventId,
    kind: &str,
    destination: &str,
    payload: String,
    secret_sealed: Option<Vec<u8>>,
    now: Timestamp,
) -> OutboxEvent {
    OutboxEvent {
        id: id.as_str().to_owned(),
        kind: kind.to_owned(),
        destination: destination.to_owned(),
        payload,
        secret_sealed,
        created_at: now,
        next_attempt_at: now,
        attempts: 0,
        status: crate::store::OutboxStatus::Pending,
        last_error: None,
        last_attempt_at: None,
        delivered_at: None,
        locked_until: None,
        locked_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_parse() {
        let id = EventId::new(&crate::clock::SystemEntropy);
        assert_eq!(EventId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.as_str().len(), 34);
        assert!(EventId::parse("EV0123").is_none());
        assert!(EventId::parse("XX0123456789abcdef0123456789abcdef").is_none());
        assert!(EventId::parse("EV0123456789ABCDEF0123456789ABCDEF").is_none());
        assert!(EventId::parse("EV0123456789abcdef0123456789abcdeg").is_none());
    }
}
