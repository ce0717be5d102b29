//! DPoP at resources (RFC 9449 §7, §9): UserInfo and the reference resource API accept
//! `Authorization: DPoP` with a proof of the token's key for the request and the token
//! (`ath`), refuse a bound token presented as `Bearer` with a DPoP challenge, and keep
//! RFC 9470 step-up challenges (under the DPoP scheme); with `SURETY_DPOP_NONCE=always`
//! a resource asks every proof for a nonce first, and by default it asks those presenting
//! tokens of clients registered with `dpop_bound_access_tokens`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::config::DpopNonce;
use surety::keys::jws::Alg;

use super::{DpopKey, code, public_client, redeem, token_with};
use crate::helpers::*;

/// A DPoP-bound access token of a public client for alice, and its key.
async fn bound_token(srv: &TestServer) -> (String, DpopKey) {
    srv.user("alice").await;
    let client = public_client(srv).await;
    let key = DpopKey::new(Alg::ES256);
    let (c, v) = code(srv, &client, &[]).await;
    let r = redeem(srv, &client, &c, &v, Some(&key.token_proof(srv, None))).await;
    let t: Value = r.json().await.unwrap();
    (t["access_token"].as_str().unwrap().to_owned(), key)
}

async fn get(srv: &TestServer, path: &str, auth: &str, proof: Option<&str>) -> reqwest::Response {
    let mut rb = srv.api.get(srv.url(path)).header("authorization", auth);
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_a_proof_of_its_key() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let (at, key) = bound_token(&srv).await;
        let htu = format!("{}/userinfo", srv.running.issuer);
        let dpop = format!("DPoP {at}");
        let r = get(
            &srv,
            "/userinfo",
            &dpop,
            Some(&key.proof("GET", &htu, Some(&at), None)),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert!(v["sub"].is_string());
        // As a bearer token: refused, with a DPoP challenge.
        let r = get(&srv, "/userinfo", &format!("Bearer {at}"), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let ch = challenge(&r);
        assert!(ch.starts_with("DPoP error=\"invalid_token\""), "{ch}");
        assert!(ch.contains("algs=\"ES256 EdDSA PS256 RS256\""), "{ch}");
        // Without a proof, without ath, with another key's proof, for another URI.
        let other = DpopKey::new(Alg::ES256);
        for proof in [
            None,
            Some(key.proof("GET", &htu, None, None)),
            Some(other.proof("GET", &htu, Some(&at), None)),
            Some(key.proof(
                "GET",
                &format!("{}/token", srv.running.issuer),
                Some(&at),
                None,
            )),
        ] {
            let r = get(&srv, "/userinfo", &dpop, proof.as_deref()).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            let ch = challenge(&r);
            assert!(ch.starts_with("DPoP error=\"invalid_dpop_proof\""), "{ch}");
        }
        // An unbound token under the DPoP scheme.
        let plain = tokens(&srv, &srv.web_client().await, "alice").await;
        let plain = plain["access_token"].as_str().unwrap();
        let r = get(
            &srv,
            "/userinfo",
            &format!("DPoP {plain}"),
            Some(&key.proof("GET", &htu, Some(plain), None)),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&r).starts_with("DPoP error=\"invalid_token\""));
        // No token at all: both schemes are challenged.
        let r = srv.api.get(srv.url("/userinfo")).send().await.unwrap();
        assert_eq!(
            challenge(&r),
            "Bearer | DPoP algs=\"ES256 EdDSA PS256 RS256\""
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn with_nonces_always_on_userinfo_asks_for_one_first() {
    let mut s = settings_for(&default_backend().await);
    s.dpop_nonce = DpopNonce::Always;
    let srv = TestServer::start_with(s).await;
    srv.user("alice").await;
    let client = public_client(&srv).await;
    let key = DpopKey::new(Alg::ES256);
    let (c, v) = code(&srv, &client, &[]).await;
    let r = redeem(&srv, &client, &c, &v, Some(&key.token_proof(&srv, None))).await;
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(error_of(r).await.1, "use_dpop_nonce");
    let r = redeem(
        &srv,
        &client,
        &c,
        &v,
        Some(&key.token_proof(&srv, Some(&nonce))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let at = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let htu = format!("{}/userinfo", srv.running.issuer);
    let dpop = format!("DPoP {at}");
    let r = get(
        &srv,
        "/userinfo",
        &dpop,
        Some(&key.proof("GET", &htu, Some(&at), None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = key.proof("GET", &htu, Some(&at), Some(&nonce));
    let r = get(&srv, "/userinfo", &dpop, Some(&proof)).await;
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}

#[tokio::test]
async fn the_resource_api_takes_dpop_and_step_up_challenges_use_its_scheme() {
    use crate::jwt_bearer::{GT, partner, sign};
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    let assertion = sign(
        &p,
        &json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": now + 120, "iat": now, "jti": random_hex16()}),
    );
    let key = DpopKey::new(Alg::ES256);
    let form = [
        ("grant_type", GT),
        ("assertion", assertion.as_str()),
        ("scope", "read"),
    ];
    let r = token_with(&srv, None, Some(&key.token_proof(&srv, None)), &form).await;
    let at = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/Accounts/{}/Messages", p.account);
    let htu = format!("{}{path}", srv.running.issuer);
    let dpop = format!("DPoP {at}");
    let r = get(
        &srv,
        &path,
        &dpop,
        Some(&key.proof("GET", &htu, Some(&at), None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&srv, &path, &format!("Bearer {at}"), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).starts_with("DPoP error=\"invalid_token\""));
    let r = get(
        &srv,
        &path,
        &dpop,
        Some(&key.proof("POST", &htu, Some(&at), None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).starts_with("DPoP error=\"invalid_dpop_proof\""));
    // RFC 9470 step-up keeps working: a token without a verified user is challenged
    // with acr_values and max_age, under the DPoP scheme.
    let path = format!("/api/v1/Accounts/{}/Verified", p.account);
    let htu = format!("{}{path}", srv.running.issuer);
    let r = get(
        &srv,
        &path,
        &dpop,
        Some(&key.proof("GET", &htu, Some(&at), None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let ch = challenge(&r);
    assert!(
        ch.starts_with("DPoP error=\"insufficient_user_authentication\""),
        "{ch}"
    );
    assert!(
        ch.contains("acr_values=\"urn:surety:acr:verified\", max_age=3600"),
        "{ch}"
    );
    assert!(ch.ends_with("algs=\"ES256 EdDSA PS256 RS256\""), "{ch}");
    srv.shutdown().await;
}

#[tokio::test]
async fn by_default_tokens_of_clients_that_must_use_dpop_need_a_nonce_at_userinfo() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let (client, _) = srv
            .client(json!({
                "redirect_uris": ["http://127.0.0.1:9/cb"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"],
                "dpop_bound_access_tokens": true,
            }))
            .await;
        let key = DpopKey::new(Alg::ES256);
        let (c, v) = code(&srv, &client, &[]).await;
        let r = redeem(&srv, &client, &c, &v, Some(&key.token_proof(&srv, None))).await;
        let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_eq!(error_of(r).await.1, "use_dpop_nonce");
        let proof = key.token_proof(&srv, Some(&nonce));
        let r = redeem(&srv, &client, &c, &v, Some(&proof)).await;
        let at = r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // UserInfo asks this client's token for a nonce too (RFC 9449 §9), then answers.
        let htu = format!("{}/userinfo", srv.running.issuer);
        let dpop = format!("DPoP {at}");
        let r = get(
            &srv,
            "/userinfo",
            &dpop,
            Some(&key.proof("GET", &htu, Some(&at), None)),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&r).starts_with("DPoP error=\"use_dpop_nonce\""));
        let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        let proof = key.proof("GET", &htu, Some(&at), Some(&nonce));
        let r = get(&srv, "/userinfo", &dpop, Some(&proof)).await;
        assert_eq!(r.status(), StatusCode::OK);
        srv.shutdown().await;
    }
}
