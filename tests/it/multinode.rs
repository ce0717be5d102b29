//! Two Surety processes on one PostgreSQL and one Redis behave as one server.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn pair() -> Option<(TestServer, TestServer)> {
    let backend = shared_backend().await?;
    let a = TestServer::start_with(settings_for(&backend)).await;
    let mut s2 = settings_for(&backend);
    s2.issuer = Some(a.running.issuer.clone());
    let b = TestServer::start_with(s2).await;
    Some((a, b))
}

async fn redeem(
    srv: &TestServer,
    c: &(String, String),
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    token_request(
        srv,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn codes_refresh_tokens_and_keys_are_shared_across_nodes() {
    let Some((a, b)) = pair().await else { return };
    a.user("alice").await;
    let c = a.web_client().await;
    let jwks_a: Value = a
        .api
        .get(a.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks_b: Value = b
        .api
        .get(b.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_a, jwks_b, "both nodes publish the same JWKS");

    // A code issued by A is redeemed at B …
    let (url, verifier) = authorize_url(&a, &c.0, &[]);
    let code = query_param(&authorize(&a, &a.browser, &url, "alice").await, "code").unwrap();
    let r = redeem(&b, &c, &code, &verifier).await;
    let status = r.status();
    let t: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{t}");
    // … and then refused at A.
    assert_eq!(
        redeem(&a, &c, &code, &verifier).await.status(),
        StatusCode::BAD_REQUEST
    );
    // The reuse revoked B's tokens everywhere.
    let r = a
        .api
        .get(a.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A refresh token rotated on A is refused as reuse on B, and the family dies.
    let (url, verifier) = authorize_url(&a, &c.0, &[]);
    let code = query_param(&authorize(&a, &a.browser, &url, "alice").await, "code").unwrap();
    let t: Value = redeem(&a, &c, &code, &verifier).await.json().await.unwrap();
    let r1 = t["refresh_token"].as_str().unwrap();
    let rotated = token_request(
        &a,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", r1)],
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let r2: Value = rotated.json().await.unwrap();
    let reuse = token_request(
        &b,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", r1)],
    )
    .await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    let after = token_request(
        &a,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", r2["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        after.status(),
        StatusCode::BAD_REQUEST,
        "reuse on B revoked the family on A"
    );
    // Tokens signed on one node validate on the other.
    let t = tokens(&a, &c, "alice").await;
    let r = b
        .api
        .get(b.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    a.shutdown().await;
    b.shutdown().await;
}
