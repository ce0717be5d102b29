//! Signed-JWT POSTs (kind `backchannel_logout`): an event whose payload is a JWT to
//! sign — its claims, header `typ`, algorithm and lifetime — and the form parameter to
//! carry it in. The JWT is signed with the server's keys at each attempt, with fresh
//! `iat`, `exp` and `jti`, so a retry minutes later still carries a short-lived token
//! (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.5: `logout_token` as
//! `application/x-www-form-urlencoded`). The rules of [`super::webhook`] apply: 2xx is
//! success, no redirects, a five-second timeout, the answer's body is never read.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::webhook::{TIMEOUT, WebhookUrl, describe};
use super::worker::{DeliveryError, Transport};
use super::{EventId, MAX_PAYLOAD_BYTES, OutboxError, new_event};
use crate::clock::{Entropy, SharedClock, SharedEntropy, Timestamp};
use crate::keys::KeyRing;
use crate::keys::jws::Alg;
use crate::store::OutboxEvent;

/// The kind of a signed-JWT POST (today only logout tokens are sent this way).
pub const KIND_BACKCHANNEL_LOGOUT: &str = "backchannel_logout";

/// Longest lifetime a queued JWT may ask for (seconds).
const MAX_TTL: i64 = 600;

/// What the worker signs and sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JwtPost {
    /// The form parameter carrying the JWT (`logout_token`).
    pub param: String,
    /// The JWS header `typ` (`logout+jwt`).
    pub typ: String,
    /// The JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub alg: String,
    /// Seconds from `iat` to `exp`.
    pub ttl: i64,
    /// The claims besides `iat`, `exp` and `jti`.
    pub claims: Map<String, Value>,
}

/// The `pending` event that POSTs `post` to `url` (checked as webhook URLs are).
pub fn jwt_post_event(
    rng: &dyn Entropy,
    now: Timestamp,
    url: &str,
    post: &JwtPost,
) -> Result<OutboxEvent, OutboxError> {
    let url = WebhookUrl::parse(url)?;
    if Alg::parse(&post.alg).is_none() || !(1..=MAX_TTL).contains(&post.ttl) {
        return Err(OutboxError::Payload("unsupported algorithm or lifetime"));
    }
    let body = serde_json::to_string(post).map_err(|_| OutboxError::Payload("not JSON"))?;
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(OutboxError::Payload("larger than 64 KiB"));
    }
    let id = EventId::new(rng);
    Ok(new_event(
        &id,
        KIND_BACKCHANNEL_LOGOUT,
        url.as_str(),
        body,
        None,
        now,
    ))
}

/// Sends `backchannel_logout` events.
pub struct JwtPostTransport {
    http: reqwest::Client,
    keys: Arc<KeyRing>,
    clock: SharedClock,
    entropy: SharedEntropy,
}

impl JwtPostTransport {
    pub fn new(keys: Arc<KeyRing>, clock: SharedClock, entropy: SharedEntropy) -> Self {
        let http = crate::util::http_client()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Surety-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            keys,
            clock,
            entropy,
        }
    }

    /// The JWT for this attempt.
    fn sign(&self, post: &JwtPost) -> Result<String, DeliveryError> {
        let alg = Alg::parse(&post.alg)
            .ok_or_else(|| DeliveryError::Permanent("unsupported algorithm".into()))?;
        let now = self.clock.now();
        let mut claims = post.claims.clone();
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(now + post.ttl.clamp(1, MAX_TTL)));
        claims.insert("jti".into(), Value::from(self.entropy.token(16)));
        // No active key may be a node still loading keys: let a later attempt sign.
        self.keys
            .sign(alg, &post.typ, &Value::Object(claims), now)
            .map_err(|_| DeliveryError::Retry("no signing key".into()))
    }
}

#[async_trait]
impl Transport for JwtPostTransport {
    fn kind(&self) -> &'static str {
        KIND_BACKCHANNEL_LOGOUT
    }

    async fn deliver(&self, event: &OutboxEvent) -> Result<(), DeliveryError> {
        let url = WebhookUrl::parse(&event.destination)
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let post: JwtPost = serde_json::from_str(&event.payload)
            .map_err(|_| DeliveryError::Permanent("unreadable payload".into()))?;
        let jwt = self.sign(&post)?;
        let form = [(post.param.as_str(), jwt.as_str())];
        let sent = self
            .http
            .post(url.as_str())
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&form)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> JwtPost {
        JwtPost {
            param: "logout_token".into(),
            typ: "logout+jwt".into(),
            alg: "RS256".into(),
            ttl: 120,
            claims: Map::new(),
        }
    }

    #[test]
    fn events_are_checked() {
        let rng = crate::clock::SystemEntropy;
        let e = jwt_post_event(&rng, 5, "https://rp.example/bcl", &post()).unwrap();
        assert_eq!(e.kind, KIND_BACKCHANNEL_LOGOUT);
        assert!(e.secret_sealed.is_none());
        assert_eq!(serde_json::from_str::<JwtPost>(&e.payload).unwrap(), post());
        assert!(jwt_post_event(&rng, 5, "ftp://rp.example/", &post()).is_err());
        let mut bad = post();
        bad.alg = "none".into();
        assert!(jwt_post_event(&rng, 5, "https://rp.example/", &bad).is_err());
        bad = post();
        bad.ttl = 0;
        assert!(jwt_post_event(&rng, 5, "https://rp.example/", &bad).is_err());
    }
}
