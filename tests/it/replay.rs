//! Single use survives the loss of the cache: an assertion used once,
//! then replayed after Redis restarted empty or after an embedded node restarted (its
//! in-process cache gone), is refused; fresh assertions work again once the window of
//! marks that may have been lost has passed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::clock::{Clock, FixedClock, SystemClock};

use crate::helpers::*;
use crate::jwt_bearer::{Partner, exchange, partner, sign};

/// Assertion claims for `p` at the time `at`.
fn claims_at(srv: &TestServer, p: &Partner, at: i64) -> Value {
    json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": at + 120,
        "iat": at, "jti": random_hex16()})
}

async fn refusal(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v}");
    v["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_replay_after_an_embedded_node_restarts_is_refused() {
    let settings = settings_for(&Backend::Embedded);
    let start = SystemClock.now();
    let clock = FixedClock::at(start);
    let srv = TestServer::start_with_clock(settings.clone(), clock.clone()).await;
    let p = partner(&srv, json!({})).await;
    let used = sign(&p, &claims_at(&srv, &p, start));
    assert_eq!(exchange(&srv, &used, None).await.status(), StatusCode::OK);
    srv.shutdown().await;
    // The same data directory, a new process: the in-process cache is empty.
    clock.advance(5);
    let srv = TestServer::start_with_clock(settings, clock.clone()).await;
    let p = Partner {
        id: p.id,
        signer: p.signer,
        account: p.account,
    };
    // The issuer follows the port, so the assertion is re-signed for it, same jti.
    let mut replay = Value::Object(surety::keys::jws::peek(&used).unwrap().1);
    replay["aud"] = json!(srv.running.issuer);
    let d = refusal(exchange(&srv, &sign(&p, &replay), None).await).await;
    assert!(d.contains("cannot be proven unused"), "{d}");
    // Past the window (lifetime + skew) fresh assertions are accepted again.
    clock.advance(300 + 2 * 60);
    let now = clock.now();
    let fresh = sign(&p, &claims_at(&srv, &p, now));
    assert_eq!(exchange(&srv, &fresh, None).await.status(), StatusCode::OK);
    srv.shutdown().await;
}

/// A private Redis on a free port, restartable (never the shared one).
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    async fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let up = within(Duration::from_secs(2), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(drop)
        })
        .await;
        up.map(|()| Self { port, child })
    }
    async fn restart(mut self) -> Self {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Self::start(self.port).await.expect("redis-server restarts")
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_replay_after_redis_restarts_empty_is_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(redis) = PrivateRedis::start(port).await else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs redis-server"
        );
        eprintln!("redis-server not found: Redis restart test SKIPPED");
        return;
    };
    let mut settings = settings_for(&default_backend().await);
    settings.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    settings.redis_prefix = "replay:".into();
    let srv = TestServer::start_with(settings).await;
    let p = partner(&srv, json!({})).await;
    let used = sign(&p, &claims_at(&srv, &p, SystemClock.now()));
    assert_eq!(exchange(&srv, &used, None).await.status(), StatusCode::OK);
    let redis = redis.restart().await;
    // The server reconnects by itself; then the replay is refused, not answered.
    let r = within(Duration::from_secs(5), || async {
        let r = exchange(&srv, &used, None).await;
        (r.status() != StatusCode::SERVICE_UNAVAILABLE).then_some(r)
    })
    .await;
    let d = refusal(r.expect("Redis came back")).await;
    assert!(d.contains("cannot be proven unused"), "{d}");
    srv.shutdown().await;
    drop(redis);
}
