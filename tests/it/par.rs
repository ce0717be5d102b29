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

/// Pushes `form` for `c` (Basic auth); returns the `request_uri`.
async fn push(srv: &TestServer, c: &(String, String), form: &[(&str, &str)]) -> String {
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A client that must push is refused at the front door, and served once it pushes.
async fn front_door_refused_and_par_accepted(srv: &TestServer, c: &(String, String)) {
    let (url, _) = authorize_url(srv, &c.0, &[]);
    let r = srv.browser.get(&url).send().await.unwrap();
    let loc = location(&r);
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    let (_, challenge) = pkce();
    let uri = push(
        srv,
        c,
        &[
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[("client_id", c.0.as_str()), ("request_uri", &uri)],
    );
    let r = srv.browser.get(&url).send().await.unwrap();
    assert!(location(&r).starts_with("/login"), "pushed: accepted");
}

#[tokio::test]
async fn a_client_registered_to_push_must_push() {
    let srv = TestServer::start().await;
    let (id, secret) = srv
        .client(serde_json::json!({
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "require_pushed_authorization_requests": true,
        }))
        .await;
    let got: Value = srv
        .api
        .get(srv.url(&format!("/admin/clients/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["require_pushed_authorization_requests"], true);
    front_door_refused_and_par_accepted(&srv, &(id, secret.unwrap())).await;
    // Another client still may use the front door.
    let other = srv.web_client().await;
    let (url, _) = authorize_url(&srv, &other.0, &[]);
    let r = srv.browser.get(&url).send().await.unwrap();
    assert!(location(&r).starts_with("/login"));
    srv.shutdown().await;
}

#[tokio::test]
async fn par_required_server_wide_is_enforced_and_advertised() {
    for backend in all_backends().await {
        let mut s = settings_for(&backend);
        s.require_par = true;
        let srv = TestServer::start_with(s).await;
        let d: Value = srv
            .api
            .get(srv.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["require_pushed_authorization_requests"], true);
        let c = srv.web_client().await;
        front_door_refused_and_par_accepted(&srv, &c).await;
        srv.shutdown().await;
    }
}
