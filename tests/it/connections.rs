//! Connection limits: slow-header and idle sockets are closed within
//! the header timeout, and a flood of sockets from one address leaves the server
//! answering other addresses; past a cap a connection gets a 503 and is closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

/// Reads until the server closes the socket; returns what it sent and when it closed.
async fn until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

fn addr(srv: &TestServer) -> SocketAddr {
    srv.running.addr
}

#[tokio::test]
async fn slow_header_and_idle_keep_alive_sockets_are_closed_within_the_timeout() {
    assert_eq!(surety::config::Settings::default().header_timeout, 10);
    let mut s = settings_for(&Backend::Embedded);
    s.header_timeout = 1;
    let srv = TestServer::start_with(s).await;
    // Half a header, then nothing.
    let mut slow = TcpStream::connect(addr(&srv)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, after) = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(after < Duration::from_secs(3), "slow header kept {after:?}");
    // A header trickled a byte at a time does not restart the clock.
    let mut trickle = TcpStream::connect(addr(&srv)).await.unwrap();
    let start = Instant::now();
    let mut cut = false;
    for b in b"GET /healthz HTTP/1.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if trickle.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut, "a trickled header was never cut off");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // One full request, then idle: closed after the same timeout.
    let mut idle = TcpStream::connect(addr(&srv)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, after) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(
        after < Duration::from_secs(3),
        "idle keep-alive kept {after:?}"
    );
    srv.shutdown().await;
}

/// A client bound to another loopback address (127.0.0.2).
fn other_address() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_flood_from_one_address_leaves_other_addresses_answered() {
    let srv = TestServer::start().await;
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "read"}))
        .await;
    // 1,100 idle sockets from 127.0.0.1, the default limits.
    let mut flood = Vec::new();
    for _ in 0..1100 {
        let sock = TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        flood.push(sock.connect(addr(&srv)).await.unwrap());
    }
    let other = other_address();
    let start = Instant::now();
    let r = other.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = other
        .post(srv.url("/token"))
        .basic_auth(&id, secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The sockets past the address's cap were told to retry and closed.
    let (said, _) = until_closed(flood.last_mut().unwrap(), Duration::from_secs(5)).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("Retry-After") && said.contains("temporarily_unavailable"));
    drop(flood);
    srv.shutdown().await;
}

#[tokio::test]
async fn past_the_total_cap_connections_are_refused_and_slots_come_back() {
    let mut s = settings_for(&Backend::Embedded);
    s.max_connections = 20;
    let srv = TestServer::start_with(s).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(addr(&srv)).await.unwrap());
    }
    // Let the server admit them before the 21st arrives.
    let healthz = |c: reqwest::Client| {
        let url = srv.url("/healthz");
        async move { c.get(url).send().await.map(|r| r.status()) }
    };
    let mut extra = TcpStream::connect(addr(&srv)).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (said, _) = until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    drop(held);
    // The slots come back once those sockets close.
    let ok = within(Duration::from_secs(2), || async {
        (healthz(other_address()).await.ok() == Some(StatusCode::OK)).then_some(())
    })
    .await;
    assert!(ok.is_some(), "slots were not given back");
    srv.shutdown().await;
}
