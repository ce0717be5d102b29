//! OpenID Connect Back-Channel Logout 1.0: `sid` in ID tokens; a logout token (signed,
//! `typ: logout+jwt`, verified against `/jwks`) POSTed through the outbox to each client
//! of an ended session; the session's refresh tokens revoked. Session ends: RP-initiated
//! logout, "sign out everywhere" on the account page, the admin API. A local receiver
//! (axum on port 0) records the logout tokens and can be told to fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode as AxStatus;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::helpers::*;

#[derive(Default)]
pub(crate) struct Seen {
    tokens: Mutex<Vec<String>>,
    fail: AtomicBool,
}

/// A receiver; returns its state and its URL.
pub(crate) async fn receiver(fail: bool) -> (Arc<Seen>, String) {
    let seen = Arc::new(Seen::default());
    seen.fail.store(fail, Ordering::SeqCst);
    let app = axum::Router::new()
        .route("/bcl", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bcl", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (seen, url)
}

async fn receive(
    State(s): State<Arc<Seen>>,
    headers: axum::http::HeaderMap,
    body: String,
) -> AxStatus {
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    for (k, v) in form {
        if k == "logout_token" {
            s.tokens.lock().unwrap().push(v);
        }
    }
    if s.fail.load(Ordering::SeqCst) {
        AxStatus::INTERNAL_SERVER_ERROR
    } else {
        AxStatus::OK
    }
}

async fn server(backend: &Backend) -> TestServer {
    let mut s = settings_for(backend);
    s.outbox_poll_interval = 25;
    s.outbox_retry_base = 0;
    s.outbox_max_attempts = 3;
    TestServer::start_with(s).await
}

/// A confidential web client with a back-channel logout URI.
pub(crate) async fn rp(srv: &TestServer, bcl: &str) -> (String, String) {
    let (id, secret) = srv
        .client(json!({
            "client_name": "Logout RP",
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
            "grant_types": ["authorization_code", "refresh_token"],
            "backchannel_logout_uri": bcl,
            "backchannel_logout_session_required": true,
        }))
        .await;
    (id, secret.unwrap())
}

/// A JWT's header and claims, its signature checked against the published JWKS.
pub(crate) async fn verified(srv: &TestServer, jwt: &str) -> (Value, Value) {
    let jwks: Value = srv
        .api
        .get(srv.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jws::VerifyKey::from_jwks(&jwks);
    let (header, claims) = jws::verify(jwt, &keys).expect("signature");
    (
        json!({"typ": header.typ, "alg": header.alg}),
        Value::Object(claims),
    )
}

pub(crate) async fn logout_tokens(seen: &Seen, n: usize) -> Vec<String> {
    eventually(&format!("{n} logout tokens"), || async {
        let t = seen.tokens.lock().unwrap().clone();
        (t.len() >= n).then_some(t)
    })
    .await
}

pub(crate) async fn refresh_works(srv: &TestServer, c: &(String, String), t: &Value) -> bool {
    let rt = t["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    token_request(srv, c, &form).await.status() == StatusCode::OK
}

fn check_claims(srv: &TestServer, claims: &Value, client_id: &str, sid: &str, sub: &str) {
    assert_eq!(claims["iss"], srv.base.as_str());
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], sub);
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 120);
}

#[tokio::test]
async fn rp_initiated_logout_sends_a_verifiable_logout_token_and_revokes_refresh() {
    for backend in all_backends().await {
        let srv = server(&backend).await;
        let (seen, url) = receiver(false).await;
        let sub = srv.user("alice").await;
        let c = rp(&srv, &url).await;
        let t = tokens(&srv, &c, "alice").await;
        let (_, id) = verified(&srv, t["id_token"].as_str().unwrap()).await;
        let sid = id["sid"].as_str().expect("sid in the ID token").to_owned();
        assert!(refresh_works(&srv, &c, &t).await);
        let t = {
            // The rotated refresh token (the first one was used above).
            let (url, verifier) = authorize_url(&srv, &c.0, &[]);
            let cb = authorize(&srv, &srv.browser, &url, "alice").await;
            let code = query_param(&cb, "code").unwrap();
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", verifier.as_str()),
            ];
            let t: Value = token_request(&srv, &c, &form).await.json().await.unwrap();
            let (_, again) = verified(&srv, t["id_token"].as_str().unwrap()).await;
            assert_eq!(again["sid"], sid.as_str(), "one browser session, one sid");
            t
        };
        let hint = t["id_token"].as_str().unwrap();
        let r = srv
            .browser
            .get(srv.url("/logout"))
            .query(&[("id_token_hint", hint)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let got = logout_tokens(&seen, 1).await;
        assert_eq!(got.len(), 1, "one token per client, not per grant");
        let (header, claims) = verified(&srv, &got[0]).await;
        assert_eq!(header["typ"], "logout+jwt");
        check_claims(&srv, &claims, &c.0, &sid, &sub);
        assert!(!refresh_works(&srv, &c, &t).await, "refresh token revoked");
        srv.shutdown().await;
    }
}

/// Signs `browser` in as `username` through client `c`; returns the token response.
pub(crate) async fn sign_in(
    srv: &TestServer,
    browser: &reqwest::Client,
    c: &(String, String),
    username: &str,
) -> Value {
    let (url, verifier) = authorize_url(srv, &c.0, &[]);
    let cb = authorize(srv, browser, &url, username).await;
    let code = query_param(&cb, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", verifier.as_str()),
    ];
    token_request(srv, c, &form).await.json().await.unwrap()
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    for backend in all_backends().await {
        let srv = server(&backend).await;
        let (seen, url) = receiver(false).await;
        srv.user("alice").await;
        let c = rp(&srv, &url).await;
        let other = browser();
        let t1 = sign_in(&srv, &srv.browser, &c, "alice").await;
        let t2 = sign_in(&srv, &other, &c, "alice").await;
        let page = srv
            .browser
            .get(srv.url("/account/sessions"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(page.matches("class=\"session\"").count(), 2);
        assert!(page.contains("Logout RP") && page.contains("(this browser)"));
        let csrf = hidden(&page, "csrf");
        let r = srv
            .browser
            .post(srv.url("/account/sessions/end-all"))
            .form(&[("csrf", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = srv
            .browser
            .post(srv.url("/account/sessions/end-all"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let got = logout_tokens(&seen, 2).await;
        let mut sids = Vec::new();
        for jwt in &got {
            sids.push(verified(&srv, jwt).await.1["sid"].clone());
        }
        sids.dedup();
        assert_eq!(sids.len(), 2, "one token per session");
        assert!(!refresh_works(&srv, &c, &t1).await);
        assert!(!refresh_works(&srv, &c, &t2).await);
        for b in [&srv.browser, &other] {
            let r = b.get(srv.url("/account/sessions")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "signed out");
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_admin_lists_and_ends_a_users_sessions() {
    for backend in all_backends().await {
        let srv = server(&backend).await;
        let (seen, url) = receiver(false).await;
        let sub = srv.user("alice").await;
        let c = rp(&srv, &url).await;
        let t = sign_in(&srv, &srv.browser, &c, "alice").await;
        let list = |path: String| {
            let srv = &srv;
            async move {
                let r = srv
                    .api
                    .get(srv.url(&path))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            }
        };
        let path = format!("/admin/users/{sub}/sessions");
        let (status, v) = list(path.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
        assert_eq!(v["sessions"][0]["clients"], json!([c.0]));
        let sid = v["sessions"][0]["sid"].as_str().unwrap().to_owned();
        let del = |path: String| {
            let srv = &srv;
            async move {
                srv.api
                    .delete(srv.url(&path))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        let missing = format!("{path}/SE0123456789abcdef0123456789abcdef");
        assert_eq!(del(missing).await, StatusCode::NOT_FOUND);
        assert_eq!(
            del("/admin/users/nobody/sessions".to_owned()).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(del(format!("{path}/{sid}")).await, StatusCode::NO_CONTENT);
        assert_eq!(del(format!("{path}/{sid}")).await, StatusCode::NOT_FOUND);
        let (_, v) = list(path.clone()).await;
        assert_eq!(v["sessions"], json!([]));
        let got = logout_tokens(&seen, 1).await;
        assert_eq!(verified(&srv, &got[0]).await.1["sid"], sid.as_str());
        assert!(!refresh_works(&srv, &c, &t).await);
        // Ending all of them when none is left ends none.
        let r = srv
            .api
            .delete(srv.url(&path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"ended": 0}));
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_failing_receiver_shows_retries_in_the_admin_outbox() {
    for backend in all_backends().await {
        let srv = server(&backend).await;
        let (seen, url) = receiver(true).await;
        srv.user("alice").await;
        let c = rp(&srv, &url).await;
        sign_in(&srv, &srv.browser, &c, "alice").await;
        let r = srv.browser.get(srv.url("/logout")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let e = eventually("the logout token to fail", || async {
            let r = srv
                .api
                .get(srv.url("/admin/outbox"))
                .query(&[("destination", url.as_str()), ("status", "failed")])
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["events"].as_array().and_then(|a| a.first().cloned())
        })
        .await;
        assert_eq!(e["kind"], "backchannel_logout");
        assert_eq!(e["attempts"], 3);
        assert_eq!(e["last_error"], "HTTP 500");
        let got = seen.tokens.lock().unwrap().clone();
        assert_eq!(got.len(), 3);
        let jtis: std::collections::HashSet<String> = {
            let mut s = std::collections::HashSet::new();
            for t in &got {
                s.insert(
                    verified(&srv, t).await.1["jti"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            s
        };
        assert_eq!(jtis.len(), 3, "each attempt signs a fresh token");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn backchannel_logout_metadata_is_validated_and_advertised() {
    let srv = TestServer::start().await;
    let d: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    for bad in [
        "http://rp.example/bcl",
        "https://rp.example/bcl#x",
        "not a url",
    ] {
        let r = srv
            .api
            .post(srv.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(
                &json!({"redirect_uris": ["https://rp.example/cb"], "backchannel_logout_uri": bad}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["field"], "backchannel_logout_uri");
    }
    srv.shutdown().await;
}
