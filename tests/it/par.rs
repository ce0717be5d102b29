//! Pushed authorization requests (RFC 9126).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_pushed_request_is_used_once() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let (verifier, challenge) = pkce();
    let form = [
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("scope", "openid"),
        ("state", "p4r"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let uri = v["request_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(v["expires_in"].as_u64().unwrap() > 0);
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[("client_id", &c.0), ("request_uri", &uri)],
    );
    let cb = authorize(&srv, &srv.browser, &url, "alice").await;
    assert_eq!(query_param(&cb, "state").as_deref(), Some("p4r"));
    let code = query_param(&cb, "code").unwrap();
    let r = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let again = srv.browser.get(&url).send().await.unwrap();
    assert_eq!(
        again.status(),
        StatusCode::BAD_REQUEST,
        "request_uri is single use"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn par_validates_before_storing_and_needs_client_auth() {
    let srv = TestServer::start().await;
    let c = srv.web_client().await;
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = srv
        .api
        .post(srv.url("/par"))
        .form(&[("response_type", "code"), ("client_id", &c.0)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[
            ("client_id", &c.0),
            ("request_uri", "urn:ietf:params:oauth:request_uri:forged"),
        ],
    );
    assert_eq!(
        srv.browser.get(&url).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    srv.shutdown().await;
}
