//! When Redis or PostgreSQL is unreachable, requests that need them fail with 503 /
//! `temporarily_unavailable` (never by accepting something unchecked), and the server
//! recovers by itself when they come back. A TCP proxy in the test cuts the link.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;

/// A TCP proxy that can be cut (closing every connection) and restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, rx) = watch::channel(0u64);
        let up2 = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let target = target.clone();
                let mut rx = rx.clone();
                rx.mark_unchanged(); // only cuts after this connection opened close it
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Self { addr, up, cut }
    }
    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|v| *v += 1);
    }
    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn ready_within(srv: &TestServer, want: StatusCode) -> bool {
    within(std::time::Duration::from_secs(10), || async {
        let r = srv.api.get(srv.url("/readyz")).send().await.unwrap();
        if r.status() == want {
            return Some(());
        }
        eprintln!("readyz: {}", r.text().await.unwrap_or_default());
        None
    })
    .await
    .is_some()
}

#[tokio::test]
async fn redis_outage_is_503_and_recovers() {
    let Some(Backend::Shared {
        database_url,
        redis_url,
        prefix,
    }) = shared_backend().await
    else {
        return;
    };
    let host = url::Url::parse(&redis_url).unwrap();
    let proxy = Proxy::start(format!(
        "{}:{}",
        host.host_str().unwrap(),
        host.port().unwrap_or(6379)
    ))
    .await;
    let backend = Backend::Shared {
        database_url,
        redis_url: format!("redis://{}", proxy.addr),
        prefix,
    };
    let srv = TestServer::start_on(&backend).await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    proxy.down();
    assert!(ready_within(&srv, StatusCode::SERVICE_UNAVAILABLE).await);
    let r = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", "anything"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    let (url, _) = authorize_url(&srv, &c.0, &[]);
    assert_eq!(
        srv.browser.get(&url).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    proxy.restore();
    assert!(
        ready_within(&srv, StatusCode::OK).await,
        "recovers without a restart"
    );
    let t = tokens(&srv, &c, "alice").await;
    assert!(t["access_token"].is_string());
    srv.shutdown().await;
}

#[tokio::test]
async fn postgres_outage_is_503_and_recovers() {
    let Some(Backend::Shared {
        database_url,
        redis_url,
        prefix,
    }) = shared_backend().await
    else {
        return;
    };
    let mut u = url::Url::parse(&database_url).unwrap();
    let proxy = Proxy::start(format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port().unwrap_or(5432)
    ))
    .await;
    u.set_port(Some(proxy.addr.port())).unwrap();
    let backend = Backend::Shared {
        database_url: u.to_string(),
        redis_url,
        prefix,
    };
    let srv = TestServer::start_on(&backend).await;
    let (id, secret) = srv
        .client(serde_json::json!({"grant_types": ["client_credentials"]}))
        .await;
    let c = (id, secret.unwrap());
    proxy.down();
    assert!(ready_within(&srv, StatusCode::SERVICE_UNAVAILABLE).await);
    let r = token_request(&srv, &c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    proxy.restore();
    assert!(
        ready_within(&srv, StatusCode::OK).await,
        "recovers without a restart"
    );
    assert_eq!(
        token_request(&srv, &c, &[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );
    srv.shutdown().await;
}
