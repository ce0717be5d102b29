//! The Device Authorization Grant's rules beyond the happy path (RFC 8628): who may ask
//! (a client registered for the grant, authenticated as at the token endpoint), what it
//! may ask (scope, resources), how often it may ask (per address) and codes may be
//! guessed (per address and in total), discovery, and the verification page going through the same pipeline as an
//! authorization request — a developer app's subaccount consent, and step-up.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::apps::{developer, register_app};
use crate::device::{
    DEVICE_GRANT, answer, device_request, poll, poll_error, start, tv_client, type_code,
};
use crate::helpers::*;

/// Types `typed` on the verification page as the client at `from` (behind a trusted
/// proxy); the status of the answer.
async fn guess(srv: &TestServer, typed: &str, from: &str) -> StatusCode {
    let page = srv.browser.get(srv.url("/device")).send().await.unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    srv.browser
        .post(srv.url("/device"))
        .header("x-forwarded-for", from)
        .form(&[("csrf", csrf.as_str()), ("user_code", typed)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn guessing_user_codes_is_limited_per_address_and_in_total() {
    for backend in all_backends().await {
        let mut s = settings_for(&backend);
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.user_code_max_attempts = 3;
        s.user_code_max_total = 5;
        let srv = TestServer::start_with(s).await;
        let tv = tv_client(&srv).await;
        let d = start(&srv, &tv, "openid").await;
        let right = d["user_code"].as_str().unwrap();
        let wrong = if right == "BCDF-GHJK" {
            "BCDF-GHJL"
        } else {
            "BCDF-GHJK"
        };
        // A right code gives its unit back: it does not count.
        assert!(guess(&srv, right, "10.0.0.1").await.is_redirection());
        for typed in [wrong, "not a code", wrong] {
            assert_eq!(
                guess(&srv, typed, "10.0.0.1").await,
                StatusCode::BAD_REQUEST
            );
        }
        // The address has had its three: even the right code is refused now.
        assert_eq!(
            guess(&srv, right, "10.0.0.1").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        // Another address tries once more within the total (5), then the total is spent.
        assert_eq!(
            guess(&srv, wrong, "10.0.0.2").await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            guess(&srv, right, "10.0.0.3").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        srv.shutdown().await;
    }
}

/// `POST /device_authorization` from `from` (behind a trusted proxy).
async fn ask_from(srv: &TestServer, client_id: &str, from: &str) -> reqwest::Response {
    srv.api
        .post(srv.url("/device_authorization"))
        .header("x-forwarded-for", from)
        .form(&[("client_id", client_id), ("scope", "openid")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn device_authorization_requests_are_limited_per_address() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let mut s = settings_for(&backend);
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.device_authorization_rate = 3;
        let srv = TestServer::start_with_clock(s, clock.clone()).await;
        // The minute starts now, so the window cannot roll over during the test.
        clock.advance(60 - srv.provider().now().rem_euclid(60));
        let tv = tv_client(&srv).await;
        // Every request counts, a refused one too (counted before it is looked at).
        assert_eq!(
            ask_from(&srv, "nobody", "10.0.0.1").await.status(),
            StatusCode::UNAUTHORIZED
        );
        for _ in 0..2 {
            assert_eq!(
                ask_from(&srv, &tv, "10.0.0.1").await.status(),
                StatusCode::OK
            );
        }
        let r = ask_from(&srv, &tv, "10.0.0.1").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "60");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "slow_down");
        // Another address has its own budget; the next minute, a new one.
        assert_eq!(
            ask_from(&srv, &tv, "10.0.0.2").await.status(),
            StatusCode::OK
        );
        clock.advance(60);
        assert_eq!(
            ask_from(&srv, &tv, "10.0.0.1").await.status(),
            StatusCode::OK
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_verification_form_needs_its_csrf_token() {
    let srv = TestServer::start().await;
    let tv = tv_client(&srv).await;
    let d = start(&srv, &tv, "openid").await;
    let code = d["user_code"].as_str().unwrap();
    // No binding cookie, or a token from another browser: refused.
    let other = browser();
    let page = other.get(srv.url("/device")).send().await.unwrap();
    let foreign = hidden(&page.text().await.unwrap(), "csrf");
    for form in [
        vec![("user_code", code)],
        vec![("user_code", code), ("csrf", &foreign)],
    ] {
        let r = srv
            .browser
            .post(srv.url("/device"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    assert!(
        type_code(&srv, &srv.browser, code)
            .await
            .status()
            .is_redirection()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn only_a_client_registered_for_the_grant_may_ask() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let web = srv.web_client().await;
        let r = srv
            .api
            .post(srv.url("/device_authorization"))
            .basic_auth(&web.0, Some(&web.1))
            .form(&[("scope", "openid")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "unauthorized_client".into())
        );
        let r = token_request(
            &srv,
            &web,
            &[("grant_type", DEVICE_GRANT), ("device_code", "x")],
        )
        .await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "unauthorized_client".into())
        );
        // An unknown client, and a confidential one that does not authenticate.
        let r = device_request(&srv, "nobody", "openid").await;
        assert_eq!(error_of(r).await.0, StatusCode::UNAUTHORIZED);
        let (id, secret) = srv
            .client(json!({"grant_types": [DEVICE_GRANT], "scope": "openid profile"}))
            .await;
        let r = device_request(&srv, &id, "openid").await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "invalid_client".into())
        );
        let r = srv
            .api
            .post(srv.url("/device_authorization"))
            .basic_auth(&id, secret.as_deref())
            .form(&Vec::<(String, String)>::new())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "no redirect URI needed; scope defaults"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_request_and_the_polls_are_checked() {
    let srv = TestServer::start().await;
    let tv = tv_client(&srv).await;
    let other = tv_client(&srv).await;
    for (scope, error) in [
        ("openid verify", "invalid_scope"),
        ("openid no-such-scope", "invalid_scope"),
        ("", "invalid_scope"),
    ] {
        let r = device_request(&srv, &tv, scope).await;
        assert_eq!(error_of(r).await.1, error, "{scope}");
    }
    let r = srv
        .api
        .post(srv.url("/device_authorization"))
        .form(&[
            ("client_id", tv.as_str()),
            ("scope", "openid"),
            ("resource", "https://unknown.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_target");
    let d = start(&srv, &tv, "openid").await;
    let code = d["device_code"].as_str().unwrap();
    assert_eq!(poll_error(&srv, &other, code).await, "invalid_grant");
    assert_eq!(
        poll_error(&srv, &tv, "not-a-device-code").await,
        "invalid_grant"
    );
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[("grant_type", DEVICE_GRANT), ("client_id", tv.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    srv.shutdown().await;
}

#[tokio::test]
async fn discovery_names_the_device_endpoint_and_grant() {
    let srv = TestServer::start().await;
    let v: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["device_authorization_endpoint"],
        srv.url("/device_authorization")
    );
    let grants = v["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&DEVICE_GRANT.into()));
    srv.shutdown().await;
}

/// A developer app on a device: the consent screen is the app's, and approval creates
/// the subaccount whose `account_sid` the token response carries.
#[tokio::test]
async fn a_developer_app_on_a_device_gets_its_subaccount_through_consent() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let dev = developer(&srv, "Dialer Inc").await;
        let app = register_app(&srv, &dev).await;
        let client: Value = srv
            .api
            .get(srv.url(&format!("/admin/clients/{}", app.0)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut grants = client["grant_types"].as_array().unwrap().clone();
        grants.push(DEVICE_GRANT.into());
        let r = srv
            .api
            .put(srv.url(&format!("/admin/clients/{}", app.0)))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({
                "client_name": client["client_name"], "redirect_uris": client["redirect_uris"],
                "grant_types": grants, "scope": client["scope"],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let secret = r.json::<Value>().await.unwrap()["client_secret"]
            .as_str()
            .map_or(app.1.clone(), str::to_owned);
        let r = srv
            .api
            .post(srv.url("/device_authorization"))
            .basic_auth(&app.0, Some(&secret))
            .form(&[("scope", "openid read calls:write callerids:all")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let d: Value = r.json().await.unwrap();
        // Beyond the app's profile: refused as at the authorization endpoint.
        let r = srv
            .api
            .post(srv.url("/device_authorization"))
            .basic_auth(&app.0, Some(&secret))
            .form(&[("scope", "openid numbers:manage")])
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.1, "invalid_scope");
        let user_code = d["user_code"].as_str().unwrap();
        let (page, end) = answer(
            &srv,
            &srv.browser,
            user_code,
            "alice",
            "approve",
            &["callerids:all"],
        )
        .await;
        assert!(
            page.contains("Dialer Pro") && page.contains("Dialer Inc"),
            "{page}"
        );
        assert!(
            is_ticked(&page, "perm:calls:write"),
            "optional lines offered ticked"
        );
        assert!(end.ends_with("result=approved"), "{end}");
        let r = token_request(
            &srv,
            &(app.0.clone(), secret.clone()),
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", d["device_code"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(
            t["scope"], "callerids:all openid read",
            "calls:write was unticked"
        );
        let sub = t["account_sid"].as_str().expect("account_sid");
        assert!(sub.starts_with("AC") && sub != dev.0);
        srv.shutdown().await;
    }
}

/// A device request asking for the verified level: the user passes the challenge page
/// between login and consent, and the ID token says so.
#[tokio::test]
async fn a_device_request_steps_up_when_it_asks_for_the_verified_level() {
    use crate::step_up::driver::{RIGHT, drive, seeded};
    let srv = seeded(&default_backend().await).await;
    let tv = tv_client(&srv).await;
    let r = srv
        .api
        .post(srv.url("/device_authorization"))
        .form(&[
            ("client_id", tv.as_str()),
            ("scope", "openid"),
            ("acr_values", "urn:surety:acr:verified"),
        ])
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    let r = type_code(&srv, &srv.browser, d["user_code"].as_str().unwrap()).await;
    let run = drive(&srv, &location(&r), RIGHT).await;
    assert_eq!(run.challenges, 1, "the challenge page ran");
    assert!(
        run.callback.ends_with("/device?result=approved"),
        "{}",
        run.callback
    );
    let r = poll(&srv, &tv, d["device_code"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    let id = crate::step_up::driver::payload(t["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "urn:surety:acr:verified");
    assert_eq!(id["amr"], json!(["pwd", "kba"]));
    srv.shutdown().await;
}
