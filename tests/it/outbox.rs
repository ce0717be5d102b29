//! The durable outbox: signed webhook delivery with retries, backoff, give-up, restart
//! survival, exactly-once delivery across two nodes, and the admin API that shows it.
//! Each test runs a local receiver (an axum server on port 0) that records every request
//! and can be told to fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::StatusCode as Status;
use serde_json::{Value, json};
use surety::config::Settings;
use surety::oauth::provider::Provider;
use surety::outbox::{EventId, OutboxError};

use crate::helpers::*;

/// Queues a signed webhook through the provider's outbox table, keys and clock.
async fn enqueue_webhook(
    p: &Provider,
    url: &str,
    payload: &Value,
    secret: &[u8],
) -> Result<EventId, OutboxError> {
    let outbox = p.stores.outbox.as_ref();
    surety::outbox::enqueue_webhook(
        outbox,
        &p.keys,
        p.entropy.as_ref(),
        p.now(),
        url,
        payload,
        secret,
    )
    .await
}

const SECRET: &[u8] = b"whsec-test-0123456789abcdef";

/// One request the receiver saw.
#[derive(Clone, Debug)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct ReceiverState {
    seen: Mutex<Vec<Seen>>,
    /// Requests still to answer with 500 (`usize::MAX`: always).
    fail_next: AtomicUsize,
    /// Delay before answering (widens races in the two-node test).
    delay: Duration,
}

struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(fail_first: usize, delay: Duration) -> Self {
        let state = Arc::new(ReceiverState {
            fail_next: AtomicUsize::new(fail_first),
            delay,
            ..ReceiverState::default()
        });
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn receive(
    State(s): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    tokio::time::sleep(s.delay).await;
    s.seen.lock().unwrap().push(Seen { headers, body });
    let failing = s
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
            0 => None,
            usize::MAX => Some(usize::MAX),
            n => Some(n - 1),
        })
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Settings for a fast-polling node that retries at once.
fn fast(backend: &Backend) -> Settings {
    let mut s = settings_for(backend);
    s.outbox_poll_interval = 25;
    s.outbox_retry_base = 0;
    s
}

pub(crate) async fn admin_event(srv: &TestServer, id: &str) -> Value {
    let r = srv
        .api
        .get(srv.url(&format!("/admin/outbox/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), Status::OK);
    r.json().await.unwrap()
}

/// The event as the admin API shows it once its status is `status`.
async fn event_with_status(srv: &TestServer, id: &str, status: &str) -> Value {
    eventually(&format!("{id} to be {status}"), || async {
        let e = admin_event(srv, id).await;
        (e["status"] == status).then_some(e)
    })
    .await
}

fn header<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The receiver's check, written from docs/webhooks.md without Surety's own code.
fn assert_signed(s: &Seen, id: &str) {
    assert_eq!(header(s, "surety-event-id"), id);
    assert_eq!(header(s, "content-type"), "application/json");
    let ts = header(s, "surety-timestamp");
    let sent: i64 = ts.parse().expect("numeric timestamp");
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    assert!((now - sent).abs() <= 300, "timestamp within five minutes");
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(&s.body);
    let expected = format!("v1={}", hex::encode(hmac::sign(&key, &signed).as_ref()));
    assert_eq!(header(s, "surety-signature"), expected);
}

#[tokio::test]
async fn delivers_a_signed_webhook_once() {
    let rx = Receiver::start(0, Duration::ZERO).await;
    let srv = TestServer::start_with(fast(&default_backend().await)).await;
    let payload = json!({"type": "app.deauthorized", "account_sid": "AC0123", "n": 1});
    let id = enqueue_webhook(&srv.provider(), &rx.url, &payload, SECRET)
        .await
        .unwrap();
    let e = event_with_status(&srv, id.as_str(), "delivered").await;
    assert_eq!(e["attempts"], 1);
    assert_eq!(e["kind"], "webhook");
    assert_eq!(e["destination"], rx.url.as_str());
    assert!(e["delivered_at"].as_i64().unwrap() >= e["created_at"].as_i64().unwrap());
    assert!(e.get("payload").is_none(), "payloads are not shown");
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_signed(&seen[0], id.as_str());
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body, payload);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_third_attempt() {
    let rx = Receiver::start(2, Duration::ZERO).await;
    let srv = TestServer::start_with(fast(&default_backend().await)).await;
    let id = enqueue_webhook(&srv.provider(), &rx.url, &json!({"k": "v"}), SECRET)
        .await
        .unwrap();
    let e = event_with_status(&srv, id.as_str(), "delivered").await;
    assert_eq!(e["attempts"], 3);
    assert!(e.get("last_error").is_none());
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_signed(s, id.as_str());
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_failed_attempt_is_retried_after_a_backoff() {
    let rx = Receiver::start(usize::MAX, Duration::ZERO).await;
    let mut s = fast(&default_backend().await);
    s.outbox_retry_base = 1000;
    let srv = TestServer::start_with(s).await;
    let id = enqueue_webhook(&srv.provider(), &rx.url, &json!({}), SECRET)
        .await
        .unwrap();
    let e = eventually("the first attempt to fail", || async {
        let e = admin_event(&srv, id.as_str()).await;
        (e["attempts"] == 1 && e["last_error"].is_string()).then_some(e)
    })
    .await;
    assert_eq!(e["status"], "pending");
    assert_eq!(e["last_error"], "HTTP 500");
    let wait = e["next_attempt_at"].as_i64().unwrap() - e["last_attempt_at"].as_i64().unwrap();
    assert!(
        (750..=1001).contains(&wait),
        "backoff {wait}s, base 1000 s less jitter"
    );
    assert_eq!(rx.seen().len(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_always_fails_ends_failed() {
    let rx = Receiver::start(usize::MAX, Duration::ZERO).await;
    let mut s = fast(&default_backend().await);
    s.outbox_max_attempts = 3;
    let srv = TestServer::start_with(s).await;
    let id = enqueue_webhook(&srv.provider(), &rx.url, &json!({}), SECRET)
        .await
        .unwrap();
    let e = event_with_status(&srv, id.as_str(), "failed").await;
    assert_eq!(e["attempts"], 3);
    assert_eq!(e["last_error"], "HTTP 500");
    assert_eq!(rx.seen().len(), 3);

    // The admin list shows it under its destination and status.
    let list = |q: String| {
        let srv = &srv;
        async move {
            let r = srv
                .api
                .get(srv.url(&format!("/admin/outbox?{q}")))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let dest = url::form_urlencoded::byte_serialize(rx.url.as_bytes()).collect::<String>();
    let (st, v) = list(format!("destination={dest}&status=failed")).await;
    assert_eq!(st, Status::OK);
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    assert_eq!(v["events"][0]["id"], id.as_str());
    let (_, v) = list(format!("destination={dest}&status=delivered")).await;
    assert!(v["events"].as_array().unwrap().is_empty());
    let (st, v) = list("status=lost".into()).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (Status::BAD_REQUEST, Some("status"))
    );

    // An operator redelivers it: pending again with a fresh count, then the worker makes
    // its attempts anew (the receiver still fails: three more, failed again).
    let retry = |id: String, token: Option<&'static str>| {
        let srv = &srv;
        async move {
            let mut r = srv.api.post(srv.url(&format!("/admin/outbox/{id}/retry")));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, _) = retry(id.as_str().to_owned(), None).await;
    assert_eq!(st, Status::UNAUTHORIZED);
    let (st, v) = retry(id.as_str().to_owned(), Some(ADMIN_TOKEN)).await;
    assert_eq!((st, v["status"].as_str()), (Status::OK, Some("pending")));
    assert_eq!(v["attempts"], 0);
    let e = event_with_status(&srv, id.as_str(), "failed").await;
    assert_eq!(e["attempts"], 3);
    assert_eq!(rx.seen().len(), 6);
    // Only a failed event can be retried; an unknown one is not found.
    let later = srv.provider().now() + 3600;
    let waiting = surety::store::OutboxEvent {
        id: "EVfedcba9876543210fedcba9876543210".into(),
        kind: "webhook".into(),
        destination: rx.url.clone(),
        payload: "{}".into(),
        secret_sealed: None,
        created_at: later,
        next_attempt_at: later,
        attempts: 0,
        status: surety::store::OutboxStatus::Pending,
        last_error: None,
        last_attempt_at: None,
        delivered_at: None,
        locked_until: None,
        locked_by: None,
    };
    srv.provider()
        .stores
        .outbox
        .enqueue(&waiting)
        .await
        .unwrap();
    let (st, v) = retry(waiting.id.clone(), Some(ADMIN_TOKEN)).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (Status::CONFLICT, Some("status"))
    );
    let (st, _) = retry(
        "EV0123456789abcdef0123456789abcdef".into(),
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(st, Status::NOT_FOUND);
    srv.shutdown().await;
}

#[tokio::test]
async fn admin_outbox_needs_the_token_and_is_documented() {
    let srv = TestServer::start().await;
    let r = srv.api.get(srv.url("/admin/outbox")).send().await.unwrap();
    assert_eq!(r.status(), Status::UNAUTHORIZED);
    for id in ["EV0123456789abcdef0123456789abcdef", "nonsense"] {
        let r = srv
            .api
            .get(srv.url(&format!("/admin/outbox/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), Status::NOT_FOUND);
    }
    let doc: Value = srv
        .api
        .get(srv.url("/admin/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/admin/outbox"]["get"].is_object());
    assert!(doc["paths"]["/admin/outbox/{event_id}"]["get"].is_object());
    assert!(doc["paths"]["/admin/outbox/{event_id}/retry"]["post"].is_object());
    assert!(doc["components"]["schemas"]["OutboxEventOutput"].is_object());
    // Bad input is refused before anything is queued.
    let p = srv.provider();
    assert!(
        enqueue_webhook(&p, "ftp://x.example/", &json!({}), SECRET)
            .await
            .is_err()
    );
    assert!(
        enqueue_webhook(&p, "https://x.example/", &json!({}), b"short")
            .await
            .is_err()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn delivery_survives_a_restart() {
    let rx = Receiver::start(0, Duration::ZERO).await;
    let mut idle = fast(&default_backend().await);
    // This node's first poll would come an hour after start: it never delivers.
    idle.outbox_poll_interval = 3_600_000;
    let first = TestServer::start_with(idle.clone()).await;
    let id = enqueue_webhook(&first.provider(), &rx.url, &json!({"r": 1}), SECRET)
        .await
        .unwrap();
    assert_eq!(admin_event(&first, id.as_str()).await["status"], "pending");
    first.shutdown().await;
    assert!(rx.seen().is_empty());

    let mut again = idle;
    again.outbox_poll_interval = 25;
    let second = TestServer::start_with(again).await;
    let e = event_with_status(&second, id.as_str(), "delivered").await;
    assert_eq!(e["attempts"], 1);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_signed(&seen[0], id.as_str());
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_each_event_exactly_once() {
    let Some(backend) = shared_backend().await else {
        return;
    };
    let rx = Receiver::start(0, Duration::from_millis(20)).await;
    let a = TestServer::start_with(fast(&backend)).await;
    let mut sb = fast(&backend);
    sb.issuer = Some(a.running.issuer.clone());
    let b = TestServer::start_with(sb).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { &a } else { &b };
        let id = enqueue_webhook(&node.provider(), &rx.url, &json!({"i": i}), SECRET)
            .await
            .unwrap();
        ids.push(id);
        if i % 4 == 3 {
            // Spread the events over several polls of both nodes.
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
    for id in &ids {
        let e = event_with_status(&a, id.as_str(), "delivered").await;
        assert_eq!(e["attempts"], 1, "{id:?} was attempted once");
    }
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for s in rx.seen() {
        *per_id
            .entry(header(&s, "surety-event-id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), ids.len());
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    // Which nodes delivered (informational: both usually do).
    let filter = surety::store::OutboxFilter::default();
    let events = a
        .provider()
        .stores
        .outbox
        .list_events(&filter, 100)
        .await
        .unwrap();
    let nodes: std::collections::HashSet<_> = events.iter().map(|e| e.locked_by.clone()).collect();
    eprintln!(
        "outbox: {} events delivered by {} node(s)",
        events.len(),
        nodes.len()
    );
    a.shutdown().await;
    b.shutdown().await;
}
