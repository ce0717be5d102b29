//! RP-initiated logout.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn logout_ends_the_session_and_returns_to_a_registered_uri_with_state() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let hint = t["id_token"].as_str().unwrap();
    let r = srv
        .browser
        .get(srv.url("/logout"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "http://127.0.0.1:9/bye?state=s1");
    // The session is gone: prompt=none now needs a login.
    let (url, _) = authorize_url(&srv, &c.0, &[("prompt", "none")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn logout_refuses_unregistered_redirects_and_forged_hints() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let hint = t["id_token"].as_str().unwrap();
    let r = srv
        .browser
        .get(srv.url("/logout"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let r = srv
        .browser
        .get(srv.url("/logout"))
        .query(&[
            ("id_token_hint", "a.b.c"),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = srv.browser.get(srv.url("/logout")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}
