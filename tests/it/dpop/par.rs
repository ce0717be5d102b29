//! A `DPoP` proof sent with a pushed authorization request (RFC 9449 §10.1) binds the
//! code to the proof's key, as `dpop_jkt` does; when both are sent they must name the
//! same key. Proofs signed with PS256 work as ES256 ones do. On both backends.

use reqwest::StatusCode;
use serde_json::Value;
use surety::keys::jws::Alg;

use super::{DpopKey, token_with};
use crate::helpers::*;

/// The PKCE verifier of every pushed request here.
const VERIFIER: &str = "par-dpop-verifier-par-dpop-verifier-par-dpop-verifier";

/// Pushes a code request of `web` with `proof` as the DPoP header and `extra` parameters.
async fn push(
    srv: &TestServer,
    web: &(String, String),
    proof: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let challenge = surety::util::b64(&surety::util::sha256(VERIFIER.as_bytes()));
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    let mut rb = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&web.0, Some(&web.1))
        .form(&form);
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

/// Signs `alice` in through the pushed request `r` answered with; returns the code.
async fn code_of(srv: &TestServer, web: &(String, String), r: reqwest::Response) -> String {
    let pushed: Value = r.json().await.unwrap();
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[
            ("client_id", web.0.as_str()),
            ("request_uri", pushed["request_uri"].as_str().unwrap()),
        ],
    );
    let cb = authorize(srv, &browser(), &url, "alice").await;
    query_param(&cb, "code").expect("code")
}

async fn redeem(
    srv: &TestServer,
    web: &(String, String),
    code: &str,
    key: &DpopKey,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", VERIFIER),
    ];
    token_with(srv, Some(web), Some(&key.token_proof(srv, None)), &form).await
}

#[tokio::test]
async fn a_proof_at_par_binds_the_code_to_its_key() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let web = srv.web_client().await;
        let par_url = srv.url("/par");
        let (a, b) = (DpopKey::new(Alg::PS256), DpopKey::new(Alg::ES256));

        // A proof alone binds the code: another key's proof cannot redeem it.
        let r = push(
            &srv,
            &web,
            Some(&a.proof("POST", &par_url, None, None)),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(r.headers().contains_key("dpop-nonce"), "a fresh nonce");
        let c = code_of(&srv, &web, r).await;
        let r = redeem(&srv, &web, &c, &b).await;
        assert_eq!(error_of(r).await.1, "invalid_grant");

        // The proof's own key redeems it, and the token is bound to that key (PS256).
        let r = push(
            &srv,
            &web,
            Some(&a.proof("POST", &par_url, None, None)),
            &[],
        )
        .await;
        let c = code_of(&srv, &web, r).await;
        let r = redeem(&srv, &web, &c, &a).await;
        let status = r.status();
        let t: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{t}");
        assert_eq!(t["token_type"], "DPoP");
        let at = super::claims_of(t["access_token"].as_str().unwrap());
        assert_eq!(at["cnf"]["jkt"], a.jkt.as_str());

        // With dpop_jkt too, both must name one key.
        let proof = a.proof("POST", &par_url, None, None);
        let r = push(&srv, &web, Some(&proof), &[("dpop_jkt", b.jkt.as_str())]).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );
        let proof = a.proof("POST", &par_url, None, None);
        let r = push(&srv, &web, Some(&proof), &[("dpop_jkt", a.jkt.as_str())]).await;
        assert_eq!(r.status(), StatusCode::CREATED);

        // A proof for another endpoint, or replayed, is refused with a nonce to use.
        let r = push(&srv, &web, Some(&a.token_proof(&srv, None)), &[]).await;
        assert!(r.headers().contains_key("dpop-nonce"));
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into())
        );
        let r = push(&srv, &web, Some(&proof), &[]).await;
        assert_eq!(error_of(r).await.1, "invalid_dpop_proof", "replayed");
        srv.shutdown().await;
    }
}
