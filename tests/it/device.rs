//! The Device Authorization Grant (RFC 8628): the device authorization endpoint, the
//! verification page driven through login and consent, and the token endpoint's
//! answers while polling — pending, slow_down, access_denied, expired_token — with one
//! redemption under concurrency, on every backend (and across two nodes when shared).

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::clock::FixedClock;
use surety::keys::jws;

use crate::helpers::*;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client registered for the device grant (and refresh tokens).
pub async fn tv_client(srv: &TestServer) -> String {
    srv.client(json!({
        "client_name": "Living-room TV",
        "token_endpoint_auth_method": "none",
        "grant_types": [DEVICE_GRANT, "refresh_token"],
    }))
    .await
    .0
}

/// `POST /device_authorization` as the public client `client_id`.
pub async fn device_request(srv: &TestServer, client_id: &str, scope: &str) -> reqwest::Response {
    srv.api
        .post(srv.url("/device_authorization"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

/// A device authorization for `client_id`: the response's JSON.
pub async fn start(srv: &TestServer, client_id: &str, scope: &str) -> Value {
    let r = device_request(srv, client_id, scope).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

/// One poll of the token endpoint by the public client.
pub async fn poll(srv: &TestServer, client_id: &str, device_code: &str) -> reqwest::Response {
    srv.api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
}

/// The `error` of a poll that did not yield tokens.
pub async fn poll_error(srv: &TestServer, client_id: &str, device_code: &str) -> String {
    let (status, error) = error_of(poll(srv, client_id, device_code).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    error
}

/// Absolute URL of a location on Surety.
fn on(srv: &TestServer, loc: &str) -> String {
    if loc.starts_with('/') {
        srv.url(loc)
    } else {
        loc.to_owned()
    }
}

/// Types `typed` on the verification page of `browser`: the answer to the form post.
pub async fn type_code(
    srv: &TestServer,
    browser: &reqwest::Client,
    typed: &str,
) -> reqwest::Response {
    let page = browser
        .get(srv.url("/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    browser
        .post(srv.url("/device"))
        .form(&[("csrf", csrf.as_str()), ("user_code", typed)])
        .send()
        .await
        .unwrap()
}

/// The user types `typed`, signs in as `username` if asked and answers the consent page
/// with `decision` (ticking `ticked`); returns the consent page and the page the request
/// ended on (`/device?result=…`).
pub async fn answer(
    srv: &TestServer,
    browser: &reqwest::Client,
    typed: &str,
    username: &str,
    decision: &str,
    ticked: &[&str],
) -> (String, String) {
    let r = type_code(srv, browser, typed).await;
    assert!(r.status().is_redirection(), "code refused: {}", r.status());
    let mut next = on(srv, &location(&r));
    for _ in 0..10 {
        if next.contains("/device?result=") {
            panic!("ended without a consent page: {next}");
        }
        let r = browser.get(&next).send().await.unwrap();
        if r.status().is_redirection() {
            next = on(srv, &location(&r));
            continue;
        }
        let page = r.text().await.unwrap();
        let (tx, csrf) = (hidden(&page, "tx"), hidden(&page, "csrf"));
        if next.contains("/login") {
            let form = [
                ("tx", tx.as_str()),
                ("csrf", &csrf),
                ("username", username),
                ("password", PASSWORD),
            ];
            let r = browser
                .post(srv.url("/login"))
                .form(&form)
                .send()
                .await
                .unwrap();
            next = on(srv, &location(&r));
            continue;
        }
        assert!(next.contains("/consent"), "unexpected page {next}");
        let mut form = vec![
            ("tx".to_owned(), tx),
            ("csrf".to_owned(), csrf),
            ("decision".to_owned(), decision.to_owned()),
        ];
        form.extend(
            ticked
                .iter()
                .map(|t| (format!("perm:{t}"), "on".to_owned())),
        );
        let r = browser
            .post(srv.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection());
        return (page, on(srv, &location(&r)));
    }
    panic!("too many redirects")
}

/// The text of the page at `url` (the end of a device request).
pub async fn page_text(browser: &reqwest::Client, url: &str) -> String {
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// How a person types a code: lower case, without the dash.
fn sloppy(user_code: &str) -> String {
    user_code.replace('-', "").to_lowercase()
}

async fn server(backend: &Backend, clock: &FixedClock) -> TestServer {
    TestServer::start_with_clock(settings_for(backend), clock.clone()).await
}

/// The ID token's claims, its signature checked against the published JWKS.
async fn verified_id_token(srv: &TestServer, t: &Value) -> Value {
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
    let (_, claims) = jws::verify(t["id_token"].as_str().unwrap(), &keys).expect("signature");
    Value::Object(claims)
}

/// The device authorization response of RFC 8628 §3.2, with this server's settings.
fn check_response(srv: &TestServer, d: &Value) {
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .replace('-', "")
            .chars()
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
    );
    assert_eq!(d["verification_uri"], srv.url("/device"));
    let complete = d["verification_uri_complete"].as_str().unwrap();
    assert_eq!(
        query_param(complete, "user_code").as_deref(),
        Some(user_code)
    );
    assert_eq!(
        (d["expires_in"].as_i64(), d["interval"].as_i64()),
        (Some(600), Some(5))
    );
}

/// The tokens of an approved device request for `sub`: an ID token signed by a key of
/// the JWKS, an access token UserInfo accepts, a refresh token that refreshes.
async fn check_tokens(srv: &TestServer, t: &Value, tv: &str, sub: &str) {
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "offline_access openid profile");
    assert!(t["refresh_token"].is_string());
    let id = verified_id_token(srv, t).await;
    assert_eq!(
        (id["iss"].as_str(), id["aud"].as_str()),
        (Some(srv.base.as_str()), Some(tv))
    );
    assert_eq!(id["sub"], sub);
    assert_eq!(id["acr"], "urn:surety:acr:password");
    assert!(id["auth_time"].is_i64() && id["at_hash"].is_string());
    assert_eq!(id["preferred_username"], "alice");
    let me: Value = srv
        .api
        .get(srv.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], sub);
    // The refresh token works like any other.
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", tv),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_public_device_gets_tokens_after_the_user_approves_its_code() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = server(&backend, &clock).await;
        let alice = srv.user("alice").await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid profile offline_access").await;
        check_response(&srv, &d);
        let user_code = d["user_code"].as_str().unwrap();
        let complete = d["verification_uri_complete"].as_str().unwrap();
        let device_code = d["device_code"].as_str().unwrap();
        assert!(device_code.len() >= 43, "high entropy");
        assert_eq!(
            poll_error(&srv, &tv, device_code).await,
            "authorization_pending"
        );

        // The link shows the code for the user to confirm.
        let confirm = page_text(&srv.browser, complete).await;
        assert!(confirm.contains(&format!("value=\"{user_code}\"")));
        assert!(confirm.contains("Check that this code"));
        // Typed in lower case without the dash; sign in; the consent page names the TV.
        let (consent, end) = answer(
            &srv,
            &srv.browser,
            &sloppy(user_code),
            "alice",
            "approve",
            &[],
        )
        .await;
        assert!(consent.contains("Living-room TV"), "{consent}");
        assert!(end.ends_with("/device?result=approved"), "{end}");
        assert!(
            page_text(&srv.browser, &end)
                .await
                .contains("Device connected")
        );

        clock.advance(5);
        let r = poll(&srv, &tv, device_code).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let t: Value = r.json().await.unwrap();
        check_tokens(&srv, &t, &tv, &alice).await;

        // The code works once: the device code and the user code are spent.
        clock.advance(5);
        assert_eq!(poll_error(&srv, &tv, device_code).await, "invalid_grant");
        let again = type_code(&srv, &srv.browser, user_code).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_denial_answers_access_denied() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = server(&backend, &clock).await;
        srv.user("alice").await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid").await;
        let code = d["device_code"].as_str().unwrap();
        let (_, end) = answer(
            &srv,
            &srv.browser,
            d["user_code"].as_str().unwrap(),
            "alice",
            "deny",
            &[],
        )
        .await;
        assert!(end.ends_with("/device?result=denied"), "{end}");
        assert!(
            page_text(&srv.browser, &end)
                .await
                .contains("did not allow")
        );
        assert_eq!(poll_error(&srv, &tv, code).await, "access_denied");
        clock.advance(5);
        assert_eq!(poll_error(&srv, &tv, code).await, "access_denied");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_expired_code_answers_expired_token_and_cannot_be_typed() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = server(&backend, &clock).await;
        srv.user("alice").await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid").await;
        let code = d["device_code"].as_str().unwrap();
        clock.advance(600);
        assert_eq!(poll_error(&srv, &tv, code).await, "expired_token");
        let r = type_code(&srv, &srv.browser, d["user_code"].as_str().unwrap()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("expired"));
        srv.shutdown().await;
    }
}

/// An approval begun before the expiry and finished after it is not recorded.
#[tokio::test]
async fn an_approval_finished_after_the_expiry_is_not_recorded() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = server(&backend, &clock).await;
        srv.user("alice").await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid").await;
        let r = type_code(&srv, &srv.browser, d["user_code"].as_str().unwrap()).await;
        assert!(r.status().is_redirection());
        clock.advance(600);
        let login = srv
            .browser
            .get(on(&srv, &location(&r)))
            .send()
            .await
            .unwrap();
        let page = login.text().await.unwrap();
        let form = [
            ("tx", hidden(&page, "tx")),
            ("csrf", hidden(&page, "csrf")),
            ("username", "alice".into()),
            ("password", PASSWORD.into()),
        ];
        let r = srv
            .browser
            .post(srv.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let mut next = on(&srv, &location(&r));
        while !next.contains("/consent") {
            next = on(
                &srv,
                &location(&srv.browser.get(&next).send().await.unwrap()),
            );
        }
        let page = page_text(&srv.browser, &next).await;
        let form = [
            ("tx", hidden(&page, "tx")),
            ("csrf", hidden(&page, "csrf")),
            ("decision", "approve".into()),
        ];
        let r = srv
            .browser
            .post(srv.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            location(&r).ends_with("/device?result=gone"),
            "{}",
            location(&r)
        );
        assert_eq!(
            poll_error(&srv, &tv, d["device_code"].as_str().unwrap()).await,
            "expired_token"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn polling_faster_than_the_interval_slows_the_device_down() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = server(&backend, &clock).await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid").await;
        let code = d["device_code"].as_str().unwrap();
        assert_eq!(poll_error(&srv, &tv, code).await, "authorization_pending");
        clock.advance(2);
        let v: Value = poll(&srv, &tv, code).await.json().await.unwrap();
        assert_eq!(v["error"], "slow_down");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("10 seconds"),
            "{v}"
        );
        // The interval is now 10 s: 5 s is too soon, 10 s is fine.
        clock.advance(5);
        assert_eq!(poll_error(&srv, &tv, code).await, "slow_down");
        clock.advance(15);
        assert_eq!(poll_error(&srv, &tv, code).await, "authorization_pending");
        clock.advance(15);
        assert_eq!(poll_error(&srv, &tv, code).await, "authorization_pending");
        srv.shutdown().await;
    }
}

/// Twenty polls at once after approval (split over two nodes when the backend is
/// shared): exactly one gets tokens.
#[tokio::test]
async fn twenty_concurrent_redemptions_yield_one_token_response() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let a = server(&backend, &clock).await;
        let b = match backend {
            Backend::Shared { .. } => {
                let mut s = settings_for(&backend);
                s.issuer = Some(a.running.issuer.clone());
                Some(TestServer::start_with_clock(s, clock.clone()).await)
            }
            Backend::Embedded => None,
        };
        a.user("alice").await;
        let tv = tv_client(&a).await;
        let d = start(&a, &tv, "openid").await;
        let code = d["device_code"].as_str().unwrap().to_owned();
        if let Some(b) = &b {
            // The pace is shared: a poll at B right after one at A is too fast.
            assert_eq!(poll_error(&a, &tv, &code).await, "authorization_pending");
            assert_eq!(poll_error(b, &tv, &code).await, "slow_down");
        }
        let (_, end) = answer(
            &a,
            &a.browser,
            d["user_code"].as_str().unwrap(),
            "alice",
            "approve",
            &[],
        )
        .await;
        assert!(end.ends_with("result=approved"));
        clock.advance(30);
        let nodes: Vec<String> = std::iter::once(&a)
            .chain(b.as_ref())
            .map(|n| n.url("/token"))
            .collect();
        let polls: Vec<_> = (0..20)
            .map(|i| {
                let (http, url) = (a.api.clone(), nodes[i % nodes.len()].clone());
                let form = [
                    ("grant_type", DEVICE_GRANT.to_owned()),
                    ("device_code", code.clone()),
                    ("client_id", tv.clone()),
                ];
                tokio::spawn(async move { http.post(url).form(&form).send().await.unwrap() })
            })
            .collect();
        let mut ok = 0;
        for p in polls {
            let r = p.await.unwrap();
            if r.status() == StatusCode::OK {
                ok += 1;
            } else {
                assert_eq!(
                    error_of(r).await,
                    (StatusCode::BAD_REQUEST, "invalid_grant".into())
                );
            }
        }
        assert_eq!(ok, 1, "exactly one redemption");
        if let Some(b) = b {
            b.shutdown().await;
        }
        a.shutdown().await;
    }
}
