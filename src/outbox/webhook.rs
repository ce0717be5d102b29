//! Webhook delivery: a signed HTTP POST of the event's JSON payload (see [`super::signing`]
//! and `docs/webhooks.md`). A 2xx answer is success; anything else, a timeout or a
//! connection error is retried by the worker. Redirects are not followed (a 3xx is a
//! failure), the request times out after five seconds, and the response body is never
//! read: only the status is recorded.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use super::signing::{self, HEADER_EVENT_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use super::worker::{DeliveryError, Transport};
use super::{KIND_WEBHOOK, OutboxError, SecretSource};
use crate::clock::SharedClock;
use crate::store::OutboxEvent;

/// Per-request timeout, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A URL a webhook may be sent to: absolute `http`/`https` with a host, no credentials,
/// no fragment, at most 2048 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, OutboxError> {
        if s.len() > 2048 {
            return Err(OutboxError::Destination("longer than 2048 bytes"));
        }
        let u = url::Url::parse(s).map_err(|_| OutboxError::Destination("not a URL"))?;
        if !matches!(u.scheme(), "https" | "http") {
            return Err(OutboxError::Destination("must be http or https"));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(OutboxError::Destination("has no host"));
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(OutboxError::Destination("must not carry credentials"));
        }
        if u.fragment().is_some() {
            return Err(OutboxError::Destination("must not have a fragment"));
        }
        Ok(Self(u))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Sends `webhook` events.
pub struct WebhookTransport {
    http: reqwest::Client,
    secrets: Arc<dyn SecretSource>,
    clock: SharedClock,
}

impl WebhookTransport {
    pub fn new(secrets: Arc<dyn SecretSource>, clock: SharedClock) -> Self {
        let http = crate::util::http_client()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Surety-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            secrets,
            clock,
        }
    }
}

#[async_trait]
impl Transport for WebhookTransport {
    fn kind(&self) -> &'static str {
        KIND_WEBHOOK
    }

    async fn deliver(&self, event: &OutboxEvent) -> Result<(), DeliveryError> {
        let url = WebhookUrl::parse(&event.destination)
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let secret = match self.secrets.sealed_secret(event).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(DeliveryError::Permanent("no signing secret".into())),
            // A KEK mismatch may be a misconfigured node: let a correct one try later.
            Err(e) => return Err(DeliveryError::Retry(format!("signing secret: {e}"))),
        };
        let ts = self.clock.now();
        let sig = signing::signature(secret.expose_secret(), ts, event.payload.as_bytes());
        let sent = self
            .http
            .post(url.0)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_EVENT_ID, &event.id)
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_SIGNATURE, sig)
            .body(event.payload.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(DeliveryError::Retry(format!(
                "HTTP {}",
                r.status().as_u16()
            ))),
            Err(e) => Err(DeliveryError::Retry(describe(&e))),
        }
    }
}

/// A transport error in a few words, without the URL (it may carry a token in its query).
pub(super) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    what.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        for ok in [
            "https://app.example/deauthorize",
            "http://127.0.0.1:8080/hook?x=1",
        ] {
            assert_eq!(WebhookUrl::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "ftp://example.com/",
            "/relative",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "mailto:a@example.com",
            "",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(WebhookUrl::parse(&long).is_err());
    }
}
