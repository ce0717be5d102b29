//! The `claims` request parameter (OpenID Connect Core §5.5, §3.1.2.2): a request naming
//! a `sub` is answered only for that user, and standard claims asked for by name are
//! released, after consent, where they were asked for and nowhere else.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::helpers::*;

async fn redeem(srv: &TestServer, c: &(String, String), cb: &str, verifier: &str) -> Value {
    let code = query_param(cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    let r = token_request(
        srv,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn id_token_claims(t: &Value) -> Value {
    Value::Object(jws::peek(t["id_token"].as_str().unwrap()).unwrap().1)
}

async fn userinfo(srv: &TestServer, access: &str) -> Value {
    let r = srv
        .api
        .get(srv.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_claims_request_naming_another_sub_is_never_answered_for_the_signed_in_user() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let bob = srv.user("bob").await;
        let c = srv.web_client().await;
        // Alice is signed in in this browser.
        let (url, _) = authorize_url(&srv, &c.0, &[]);
        let cb = authorize(&srv, &srv.browser, &url, "alice").await;
        assert!(query_param(&cb, "code").is_some());
        for member in ["id_token", "userinfo"] {
            let claims = json!({member: {"sub": {"value": bob}}}).to_string();
            let (url, _) = authorize_url(&srv, &c.0, &[("claims", &claims), ("prompt", "none")]);
            let r = srv.browser.get(&url).send().await.unwrap();
            let loc = location(&r);
            assert_eq!(
                query_param(&loc, "error").as_deref(),
                Some("login_required"),
                "{backend:?} {member}: {loc}"
            );
            assert!(query_param(&loc, "code").is_none());
        }
        let claims = json!({"id_token": {"sub": {"value": bob}}}).to_string();
        let (url, _) = authorize_url(&srv, &c.0, &[("claims", &claims)]);
        // Without prompt=none Alice's session does not count: the user must log in.
        let loc = location(&srv.browser.get(&url).send().await.unwrap());
        assert!(loc.starts_with("/login?tx="), "{loc}");
        // Logging in as Alice again does not make her Bob.
        let cb = authorize(&srv, &srv.browser, &url, "alice").await;
        assert_eq!(query_param(&cb, "error").as_deref(), Some("login_required"));
        assert!(query_param(&cb, "code").is_none(), "{cb}");
        // Bob himself gets his ID token.
        let (url, verifier) = authorize_url(&srv, &c.0, &[("claims", &claims)]);
        let cb = authorize(&srv, &srv.browser, &url, "bob").await;
        let t = redeem(&srv, &c, &cb, &verifier).await;
        assert_eq!(id_token_claims(&t)["sub"], bob.as_str());
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn standard_claims_asked_by_name_are_released_where_asked() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let c = srv.web_client().await;
        let claims = json!({
            "id_token": {"email": {"essential": true}},
            "userinfo": {"name": null, "nickname": null},
        })
        .to_string();
        let (url, verifier) =
            authorize_url(&srv, &c.0, &[("scope", "openid"), ("claims", &claims)]);
        let cb = authorize(&srv, &srv.browser, &url, "alice").await;
        let t = redeem(&srv, &c, &cb, &verifier).await;
        assert_eq!(t["scope"], "openid", "the token's scope is what was asked");
        let id = id_token_claims(&t);
        assert_eq!(id["email"], "alice@example.com", "{backend:?}: {id}");
        assert!(id.get("name").is_none() && id.get("email_verified").is_none());
        let ui = userinfo(&srv, t["access_token"].as_str().unwrap()).await;
        assert_eq!(ui["name"], "Test User", "{backend:?}: {ui}");
        assert!(ui.get("email").is_none() && ui.get("preferred_username").is_none());
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn claims_the_client_may_not_hold_are_not_released() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let (id, secret) = srv
            .client(json!({
                "redirect_uris": ["http://127.0.0.1:9/cb"],
                "scope": "openid profile",
            }))
            .await;
        let c = (id, secret.unwrap());
        let claims = json!({"id_token": {"email": null, "name": null}}).to_string();
        let (url, verifier) =
            authorize_url(&srv, &c.0, &[("scope", "openid"), ("claims", &claims)]);
        let cb = authorize(&srv, &srv.browser, &url, "alice").await;
        let id = id_token_claims(&redeem(&srv, &c, &cb, &verifier).await);
        assert_eq!(id["name"], "Test User");
        assert!(id.get("email").is_none(), "{id}");
        srv.shutdown().await;
    }
}
