//! The authorization endpoint: request validation before any redirect, errors with `iss`,
//! PKCE, prompt, max_age, consent memory, login CSRF and lockout.

use reqwest::StatusCode;

use crate::helpers::*;

async fn setup() -> (TestServer, (String, String)) {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    (srv, c)
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let (srv, (id, _)) = setup().await;
    let cases = [
        authorize_url(&srv, "no-such-client", &[]).0,
        authorize_url(&srv, &id, &[("redirect_uri", "http://127.0.0.1:9/other")]).0,
        authorize_url(&srv, &id, &[("redirect_uri", "https://evil.example/cb")]).0,
        format!("{}&state=again", authorize_url(&srv, &id, &[]).0),
    ];
    for url in cases {
        let r = srv.browser.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("<!doctype html>"));
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_redirect_with_error_state_and_iss() {
    let (srv, (id, _)) = setup().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("scope", "openid bad\"scope")], "invalid_scope"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("max_age", "-5")], "invalid_request"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "invalid_request_object",
        ),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (
            vec![("request_uri", "https://rp.example/request.jwt")],
            "request_uri_not_supported",
        ),
    ];
    for (extra, code) in cases {
        let (url, _) = authorize_url(&srv, &id, &extra);
        let r = srv.browser.get(&url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{extra:?}");
        let loc = location(&r);
        assert!(loc.starts_with("http://127.0.0.1:9/cb?"), "{loc}");
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some(code),
            "{extra:?}"
        );
        assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
        assert_eq!(query_param(&loc, "iss").as_deref(), Some(srv.base.as_str()));
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn public_clients_must_use_pkce() {
    let srv = TestServer::start().await;
    let (id, secret) = srv.client(serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})).await;
    assert!(secret.is_none());
    let (url, _) = authorize_url(
        &srv,
        &id,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn prompt_none_without_session_answers_login_required() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[("prompt", "none")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(srv.base.as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn consent_is_remembered_and_asked_again_when_scope_grows() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[("scope", "openid")]);
    let cb = authorize(&srv, &srv.browser, &url, "alice").await;
    assert!(query_param(&cb, "code").is_some());
    // Same scope with a session: straight back with a code, even with prompt=none.
    let (url, _) = authorize_url(&srv, &id, &[("scope", "openid"), ("prompt", "none")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert!(query_param(&loc, "code").is_some(), "{loc}");
    // A wider scope needs consent: prompt=none says so.
    let (url, _) = authorize_url(&srv, &id, &[("scope", "openid email"), ("prompt", "none")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("consent_required")
    );
    // Without prompt=none it shows the consent page.
    let (url, _) = authorize_url(&srv, &id, &[("scope", "openid email")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert!(loc.starts_with("/consent?tx="), "{loc}");
    srv.shutdown().await;
}

#[tokio::test]
async fn deny_returns_access_denied() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[]);
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv
        .browser
        .get(srv.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let consent = location(
        &srv.browser
            .get(srv.url(&location(&r)))
            .send()
            .await
            .unwrap(),
    );
    let page = srv
        .browser
        .get(srv.url(&consent))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Test RP") && page.contains("email"));
    let r = srv
        .browser
        .post(srv.url("/consent"))
        .form(&[
            ("tx", hidden(&page, "tx")),
            ("csrf", hidden(&page, "csrf")),
            ("decision", "deny".into()),
        ])
        .send()
        .await
        .unwrap();
    let loc = location(&r);
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(srv.base.as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_login() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[]);
    authorize(&srv, &srv.browser, &url, "alice").await;
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let (url, _) = authorize_url(&srv, &id, &[extra]);
        let loc = location(&srv.browser.get(&url).send().await.unwrap());
        assert!(loc.starts_with("/login?tx="), "{extra:?} → {loc}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn login_form_needs_its_csrf_token_and_the_starting_browser() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[]);
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv
        .browser
        .get(srv.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tx = hidden(&page, "tx");
    let bad = [
        ("tx", tx.as_str()),
        ("csrf", "forged"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let r = srv
        .browser
        .post(srv.url("/login"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Another browser (no binding cookie) cannot use the transaction, even with the token.
    let csrf = hidden(&page, "csrf");
    let other = browser();
    let stolen = [
        ("tx", tx.as_str()),
        ("csrf", csrf.as_str()),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let r = other
        .post(srv.url("/login"))
        .form(&stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    srv.shutdown().await;
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_username() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[]);
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv
        .browser
        .get(srv.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (tx, csrf) = (hidden(&page, "tx"), hidden(&page, "csrf"));
    for _ in 0..5 {
        let r = srv
            .browser
            .post(srv.url("/login"))
            .form(&[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", &"alice".to_owned()),
                ("password", &"wrong password".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Invalid username or password")
        );
    }
    // Locked: even the right password is refused now.
    let r = srv
        .browser
        .post(srv.url("/login"))
        .form(&[
            ("tx", &tx),
            ("csrf", &csrf),
            ("username", &"alice".to_owned()),
            ("password", &PASSWORD.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    srv.shutdown().await;
}

#[tokio::test]
async fn login_and_consent_pages_refuse_framing_and_set_safe_cookies() {
    let (srv, (id, _)) = setup().await;
    let (url, _) = authorize_url(&srv, &id, &[]);
    let r = srv.browser.get(&url).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let page = srv
        .browser
        .get(srv.url(&location(&r)))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    srv.shutdown().await;
}

#[tokio::test]
async fn internal_and_unknown_scopes_are_refused_at_the_authorization_endpoint() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let (id, _) = srv.web_client().await;
        for bad in [
            "openid verify",
            "openid partner:api",
            "openid surety:impersonate",
            "openid admin",
            "openid anything:at-all",
        ] {
            let (url, _) = authorize_url(&srv, &id, &[("scope", bad)]);
            let loc = location(&srv.browser.get(&url).send().await.unwrap());
            assert_eq!(
                query_param(&loc, "error").as_deref(),
                Some("invalid_scope"),
                "{bad}: {loc}"
            );
        }
        // A client registered with `verify` still cannot get it from a user.
        let (vid, _) = srv
            .client(serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "scope": "openid verify"}))
            .await;
        let (url, _) = authorize_url(&srv, &vid, &[("scope", "openid verify")]);
        let loc = location(&srv.browser.get(&url).send().await.unwrap());
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some("invalid_scope"),
            "{loc}"
        );
        srv.shutdown().await;
    }
}
