//! The delivery worker, one per node (started by `app::spawn`). Every poll interval it
//! leases the due events of each kind it has a [`Transport`] for, delivers them
//! concurrently, and settles each: delivered; retried after an exponential, jittered
//! backoff; or, after the last attempt, failed. A node that dies mid-delivery loses its
//! lease after [`LEASE_SECS`] and another node retries the event (at least once delivery;
//! receivers deduplicate on the event id). Logs name the event id, attempt and outcome,
//! never the payload or the secret.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::email::EmailTransport;
use super::jwt_post::JwtPostTransport;
use super::webhook::WebhookTransport;
use super::{OutboxError, SealedInRow};
use crate::clock::{SharedClock, SharedEntropy, Timestamp};
use crate::config::Settings;
use crate::keys::KeyRing;
use crate::store::{OutboxEvent, OutboxStatus, OutboxStore};

/// How long a claimed event stays leased to the node delivering it: well beyond one
/// delivery (at most [`super::webhook::TIMEOUT`]; a batch is delivered concurrently).
pub const LEASE_SECS: i64 = 60;

/// Backoff never exceeds this.
pub const MAX_BACKOFF_SECS: i64 = 3600;

/// Events leased per kind and poll.
const BATCH: i64 = 32;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Try again later (non-2xx answer, timeout, connection error).
    Retry(String),
    /// Retrying cannot help (e.g. the stored destination is not a valid URL).
    Permanent(String),
}

/// Delivers events of one kind (`webhook`, `email`).
#[async_trait]
pub trait Transport: Send + Sync {
    fn kind(&self) -> &'static str;
    async fn deliver(&self, event: &OutboxEvent) -> Result<(), DeliveryError>;
}

/// When to retry and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt, in seconds; doubled after each further one.
    pub base_secs: i64,
    /// Attempts before an event is marked `failed` (at least 1).
    pub max_attempts: i64,
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1, 2, …): `base × 2^(attempts-1)`
    /// capped at [`MAX_BACKOFF_SECS`], less up to a quarter at random (`jitter` is a
    /// random number), so nodes retrying a failed receiver spread out.
    pub fn backoff(&self, attempts: i64, jitter: u64) -> i64 {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
        let full = self
            .base_secs
            .max(0)
            .saturating_mul(2_i64.saturating_pow(exp))
            .min(MAX_BACKOFF_SECS);
        let spread = u64::try_from(full / 4).unwrap_or(0) + 1;
        full - i64::try_from(jitter % spread).unwrap_or(0)
    }
}

/// What to do with an event after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Retry { at: Timestamp, error: String },
    Failed { error: String },
}

/// Decides the outcome of attempt number `event.attempts` (counted at claim).
pub fn settle(
    policy: &RetryPolicy,
    attempts: i64,
    result: Result<(), DeliveryError>,
    now: Timestamp,
    jitter: u64,
) -> Outcome {
    match result {
        Ok(()) => Outcome::Delivered,
        Err(DeliveryError::Permanent(error)) => Outcome::Failed { error },
        Err(DeliveryError::Retry(error)) if attempts >= policy.max_attempts.max(1) => {
            Outcome::Failed { error }
        }
        Err(DeliveryError::Retry(error)) => Outcome::Retry {
            at: now + policy.backoff(attempts, jitter),
            error,
        },
    }
}

/// One node's delivery worker.
pub struct Worker {
    store: Arc<dyn OutboxStore>,
    transports: Vec<Arc<dyn Transport>>,
    clock: SharedClock,
    /// Retry jitter.
    entropy: SharedEntropy,
    node_id: String,
    policy: RetryPolicy,
    poll: Duration,
}

impl Worker {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        transports: Vec<Arc<dyn Transport>>,
        clock: SharedClock,
        entropy: SharedEntropy,
        policy: RetryPolicy,
        poll: Duration,
    ) -> Self {
        Self {
            store,
            transports,
            clock,
            node_id: format!("ND{}", entropy.hex16()),
            entropy,
            policy,
            poll,
        }
    }

    /// The worker the settings describe, sending webhooks signed with secrets sealed in
    /// the event rows (under `keys`) and, when an SMTP server is configured, e-mail
    /// (greeting with the issuer's host). Fails on SMTP settings that cannot work.
    pub fn from_settings(
        s: &Settings,
        issuer: &str,
        keys: Arc<KeyRing>,
        store: Arc<dyn OutboxStore>,
        clock: SharedClock,
        entropy: SharedEntropy,
    ) -> Result<Self, OutboxError> {
        let secrets: Arc<dyn super::SecretSource> = Arc::new(SealedInRow(keys.clone()));
        let webhook: Arc<dyn Transport> =
            Arc::new(WebhookTransport::new(secrets.clone(), clock.clone()));
        let logout: Arc<dyn Transport> =
            Arc::new(JwtPostTransport::new(keys, clock.clone(), entropy.clone()));
        let mut transports = vec![webhook, logout];
        let hello = url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        if let Some(email) = EmailTransport::from_settings(s, &hello, secrets)? {
            transports.push(Arc::new(email));
        }
        let policy = RetryPolicy {
            base_secs: i64::try_from(s.outbox_retry_base).unwrap_or(MAX_BACKOFF_SECS),
            max_attempts: i64::from(s.outbox_max_attempts.max(1)),
        };
        let poll = Duration::from_millis(s.outbox_poll_interval.max(10));
        Ok(Self::new(store, transports, clock, entropy, policy, poll))
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Polls every interval (the first poll one interval after start) until `shutdown`
    /// turns true or its sender is dropped. A poll under way is finished first, so its
    /// leases are settled rather than left to expire.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        tracing::debug!(node = %self.node_id, "outbox worker started");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() {
                        break;
                    }
                    continue;
                }
            }
            if *shutdown.borrow() {
                break;
            }
            self.poll_once().await;
        }
        tracing::debug!(node = %self.node_id, "outbox worker stopped");
    }

    /// One poll: claims and delivers the due events of every kind. Returns how many
    /// events it attempted.
    pub async fn poll_once(self: &Arc<Self>) -> usize {
        let mut attempted = 0;
        for t in &self.transports {
            let now = self.clock.now();
            let claimed = self
                .store
                .claim_due(t.kind(), now, BATCH, &self.node_id, LEASE_SECS)
                .await;
            let events = match claimed {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, kind = t.kind(), "outbox claim failed; retrying next poll");
                    continue;
                }
            };
            attempted += events.len();
            let mut running = tokio::task::JoinSet::new();
            for event in events {
                let (me, t) = (self.clone(), t.clone());
                running.spawn(async move { me.attempt(t.as_ref(), event).await });
            }
            while running.join_next().await.is_some() {}
        }
        attempted
    }

    async fn attempt(&self, t: &dyn Transport, event: OutboxEvent) {
        let result = t.deliver(&event).await;
        let outcome = settle(
            &self.policy,
            event.attempts,
            result,
            self.clock.now(),
            self.entropy.next_u64(),
        );
        self.record(&event, outcome).await;
    }

    async fn record(&self, event: &OutboxEvent, outcome: Outcome) {
        let (id, node, attempt) = (event.id.as_str(), self.node_id.as_str(), event.attempts);
        let (label, stored) = match &outcome {
            Outcome::Delivered => {
                tracing::info!(event_id = id, attempt, "outbox event delivered");
                let now = self.clock.now();
                (
                    OutboxStatus::Delivered.as_str(),
                    self.store.mark_delivered(id, node, now).await,
                )
            }
            Outcome::Retry { at, error } => {
                tracing::warn!(event_id = id, attempt, %error, retry_at = at, "outbox delivery failed; will retry");
                ("retry", self.store.mark_retry(id, node, *at, error).await)
            }
            Outcome::Failed { error } => {
                tracing::warn!(event_id = id, attempt, %error, "outbox delivery failed; giving up");
                (
                    OutboxStatus::Failed.as_str(),
                    self.store.mark_failed(id, node, error).await,
                )
            }
        };
        metrics::counter!("surety_outbox_attempts_total", "kind" => event.kind.clone(), "outcome" => label)
            .increment(1);
        if let Err(e) = stored {
            // The lease ran out and another node took the event over, or the database
            // is down: the event is retried after its lease either way.
            tracing::warn!(event_id = id, error = %e, "could not record an outbox attempt");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        base_secs: 5,
        max_attempts: 8,
    };

    #[test]
    fn backoff_doubles_and_is_capped() {
        let full: Vec<i64> = (1..=12).map(|n| P.backoff(n, 0)).collect();
        assert_eq!(
            full,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(P.backoff(1_000_000, 0), MAX_BACKOFF_SECS);
        for jitter in [1, 7, 12345, u64::MAX] {
            let d = P.backoff(4, jitter);
            assert!((30..=40).contains(&d), "{d}");
            assert!(P.backoff(40, jitter) <= MAX_BACKOFF_SECS);
        }
        let zero = RetryPolicy {
            base_secs: 0,
            max_attempts: 3,
        };
        assert_eq!(zero.backoff(5, 99), 0);
    }

    #[test]
    fn settles_by_result_and_attempt() {
        let retry = || Err(DeliveryError::Retry("HTTP 500".into()));
        assert_eq!(settle(&P, 1, Ok(()), 100, 0), Outcome::Delivered);
        assert_eq!(
            settle(&P, 2, retry(), 100, 0),
            Outcome::Retry {
                at: 110,
                error: "HTTP 500".into()
            }
        );
        assert_eq!(
            settle(&P, 8, retry(), 100, 0),
            Outcome::Failed {
                error: "HTTP 500".into()
            }
        );
        let bad = Err(DeliveryError::Permanent("bad url".into()));
        assert_eq!(
            settle(&P, 1, bad, 100, 0),
            Outcome::Failed {
                error: "bad url".into()
            }
        );
    }
}
