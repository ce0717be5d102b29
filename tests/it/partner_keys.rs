//! Partner keys: adding and retiring keys, keys fetched from a `jwks_uri` (cached,
//! re-fetched on an unknown `kid`, bounded in size and time), and a replay race against
//! a second `surety serve` process.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

const GT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
}

fn keypair(kid: &str) -> (Signer, Value) {
    let (s, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = s.public_jwk();
    jwk["kid"] = json!(kid);
    (s, jwk)
}

async fn account(srv: &TestServer, partner: &str) -> String {
    let a: Value = srv
        .api
        .post(srv.url(&format!("/admin/partners/{partner}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "C"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    a["account_sid"].as_str().unwrap().to_owned()
}

async fn exchange(
    srv: &TestServer,
    signer: &Signer,
    kid: &str,
    iss: &str,
    sub: &str,
) -> StatusCode {
    let c = json!({"iss": iss, "sub": sub, "aud": srv.running.issuer, "exp": now() + 60, "jti": random_hex16()});
    let a = jws::sign(signer, Alg::ES256, kid, "JWT", &c).unwrap();
    srv.api
        .post(srv.url("/token"))
        .form(&[("grant_type", GT), ("assertion", a.as_str())])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn keys_are_added_and_retired() {
    let srv = TestServer::start().await;
    let (k1, j1) = keypair("k1");
    let v: Value = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "P", "jwks": {"keys": [j1]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let sid = account(&srv, &id).await;
    let (k2, j2) = keypair("k2");
    assert_eq!(
        exchange(&srv, &k2, "k2", &id, &sid).await,
        StatusCode::BAD_REQUEST
    );
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/keys")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&j2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(exchange(&srv, &k2, "k2", &id, &sid).await, StatusCode::OK);
    let dup = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/keys")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&j2)
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let r = srv
        .api
        .delete(srv.url(&format!("/admin/partners/{id}/keys/k1")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        exchange(&srv, &k1, "k1", &id, &sid).await,
        StatusCode::BAD_REQUEST,
        "a retired key no longer verifies"
    );
    assert_eq!(exchange(&srv, &k2, "k2", &id, &sid).await, StatusCode::OK);
    let r = srv
        .api
        .delete(srv.url(&format!("/admin/partners/{id}/keys/nope")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    srv.shutdown().await;
}

/// A partner's JWKS endpoint the test controls.
async fn jwks_server(body: Arc<Mutex<String>>, hits: Arc<Mutex<u32>>) -> String {
    let app = Router::new()
        .route(
            "/jwks",
            get(move || {
                let (body, hits) = (body.clone(), hits.clone());
                async move {
                    *hits.lock().unwrap() += 1;
                    body.lock().unwrap().clone()
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                "{}"
            }),
        )
        .route(
            "/huge",
            get(|| async { format!("{{\"keys\":[],\"pad\":\"{}\"}}", "a".repeat(200_000)) }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn keys_come_from_the_jwks_uri_and_an_unknown_kid_refetches() {
    let mut s = settings_for(&default_backend().await);
    s.jwks_min_refetch = 0;
    let srv = TestServer::start_with(s).await;
    let (k1, j1) = keypair("k1");
    let body = Arc::new(Mutex::new(json!({"keys": [j1.clone()]}).to_string()));
    let hits = Arc::new(Mutex::new(0));
    let base = jwks_server(body.clone(), hits.clone()).await;
    let v: Value = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Remote", "jwks_uri": format!("{base}/jwks")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let sid = account(&srv, &id).await;
    assert_eq!(exchange(&srv, &k1, "k1", &id, &sid).await, StatusCode::OK);
    assert_eq!(exchange(&srv, &k1, "k1", &id, &sid).await, StatusCode::OK);
    assert_eq!(*hits.lock().unwrap(), 1, "cached between uses");
    let (k2, j2) = keypair("k2");
    *body.lock().unwrap() = json!({"keys": [j1, j2]}).to_string();
    assert_eq!(
        exchange(&srv, &k2, "k2", &id, &sid).await,
        StatusCode::OK,
        "an unknown kid triggers a refetch"
    );
    assert_eq!(*hits.lock().unwrap(), 2);
    for path in ["slow", "huge"] {
        let v: Value = srv
            .api
            .post(srv.url("/admin/partners"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": path, "jwks_uri": format!("{base}/{path}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pid = v["partner_id"].as_str().unwrap().to_owned();
        let psid = account(&srv, &pid).await;
        let started = std::time::Instant::now();
        assert_eq!(
            exchange(&srv, &k1, "k1", &pid, &psid).await,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{path} is bounded in time"
        );
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_assertion_raced_against_a_second_surety_process_yields_one_token() {
    let Some(backend) = shared_backend().await else {
        return;
    };
    let a = TestServer::start_on(&backend).await;
    let Backend::Shared {
        database_url,
        redis_url,
        prefix,
    } = &backend
    else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_surety"))
        .arg("serve")
        .env("SURETY_LISTEN", format!("127.0.0.1:{port}"))
        .env("SURETY_ISSUER", &a.running.issuer)
        .env("SURETY_DATABASE_URL", database_url)
        .env("SURETY_REDIS_URL", redis_url)
        .env("SURETY_REDIS_PREFIX", prefix)
        .env("SURETY_KEY_ENCRYPTION_KEY", KEK)
        .env("SURETY_DATA_DIR", temp_dir())
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    let other = format!("http://127.0.0.1:{port}");
    let up = within(std::time::Duration::from_secs(10), || async {
        a.api
            .get(format!("{other}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
            .then_some(())
    })
    .await;
    assert!(up.is_some(), "the second process started");
    let (k, j) = keypair("k");
    let v: Value = a
        .api
        .post(a.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "P", "jwks": {"keys": [j]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let sid = account(&a, &id).await;
    let c =
        json!({"iss": id, "sub": sid, "aud": a.running.issuer, "exp": now() + 60, "jti": "race"});
    let assertion = jws::sign(&k, Alg::ES256, "k", "JWT", &c).unwrap();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let url = if i % 2 == 0 {
                a.url("/token")
            } else {
                format!("{other}/token")
            };
            let (api, assertion) = (a.api.clone(), assertion.clone());
            tokio::spawn(async move {
                api.post(url)
                    .form(&[("grant_type", GT), ("assertion", assertion.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        if h.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "exactly one token across both processes");
    a.shutdown().await;
}

/// Stops the second process however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
