//! The login lockout under concurrency: every attempt is reserved
//! atomically before the password is checked, so 100 simultaneous guesses, spread over
//! two nodes on the shared backend, get at most `login_max_failures` evaluated, and the
//! right password sent after them is refused as locked.

use reqwest::StatusCode;

use crate::helpers::*;

/// A server, and on the shared backend a second node with the same issuer.
async fn one_or_two_nodes(backend: &Backend) -> (TestServer, Option<TestServer>) {
    let a = TestServer::start_on(backend).await;
    if !matches!(backend, Backend::Shared { .. }) {
        return (a, None);
    }
    let mut s = settings_for(backend);
    s.issuer = Some(a.running.issuer.clone());
    let b = TestServer::start_with(s).await;
    (a, Some(b))
}

/// The login form's `tx` and `csrf` for a fresh authorization request in `srv.browser`.
async fn login_form(srv: &TestServer, client_id: &str) -> (String, String) {
    let (url, _) = authorize_url(srv, client_id, &[]);
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv.browser.get(srv.url(&login)).send().await.unwrap();
    let page = page.text().await.unwrap();
    (hidden(&page, "tx"), hidden(&page, "csrf"))
}

#[tokio::test]
async fn a_hundred_concurrent_guesses_cannot_outrun_the_lockout() {
    for backend in all_backends().await {
        let (a, second) = one_or_two_nodes(&backend).await;
        let mut nodes = vec![a.base.clone()];
        nodes.extend(second.as_ref().map(|b| b.base.clone()));
        a.user("alice").await;
        let (id, _) = a.web_client().await;
        let (tx, csrf) = login_form(&a, &id).await;
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..100 {
            let req = a
                .browser
                .post(format!("{}/login", nodes[i % nodes.len()]))
                .form(&[
                    ("tx", tx.as_str()),
                    ("csrf", csrf.as_str()),
                    ("username", "alice"),
                    ("password", "wrong password"),
                ]);
            calls.spawn(async move { req.send().await.unwrap().status() });
        }
        let statuses = calls.join_all().await;
        let evaluated = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let locked = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!((evaluated, locked), (5, 95), "{backend:?}");
        // The right password, last: refused, the username is locked.
        let r = a
            .browser
            .post(a.url("/login"))
            .form(&[
                ("tx", tx.as_str()),
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend:?}");
        a.shutdown().await;
        if let Some(b) = second {
            b.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_successful_login_does_not_count_against_its_address() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let (id, _) = srv.web_client().await;
    // 55 sign-ins from one address: more than its 10 × 5 attempts, all fine.
    for _ in 0..55 {
        let browser = browser();
        let (url, _) = authorize_url(&srv, &id, &[]);
        let cb = authorize(&srv, &browser, &url, "alice").await;
        assert!(query_param(&cb, "code").is_some(), "{cb}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn admin_token_guessing_is_rate_limited_per_address_across_nodes() {
    for backend in all_backends().await {
        let (a, second) = one_or_two_nodes(&backend).await;
        let mut nodes = vec![a.base.clone()];
        nodes.extend(second.as_ref().map(|b| b.base.clone()));
        // Three waves of 50 simultaneous guesses (below the per-address connection cap).
        let mut answers = Vec::new();
        for wave in 0..3 {
            let mut calls = tokio::task::JoinSet::new();
            for i in 0..50 {
                let req = a
                    .api
                    .get(format!("{}/admin/clients/x", nodes[i % nodes.len()]))
                    .bearer_auth(format!("wrong-{wave}-{i}"));
                calls.spawn(async move {
                    let r = req.send().await.unwrap();
                    (r.status(), r.headers().contains_key("retry-after"))
                });
            }
            answers.extend(calls.join_all().await);
        }
        let evaluated = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
            .count();
        let limited = answers
            .iter()
            .filter(|(s, ra)| *s == StatusCode::TOO_MANY_REQUESTS && *ra)
            .count();
        assert_eq!((evaluated, limited), (100, 50), "{backend:?}");
        // The right token from that address waits too; another address is served.
        let r = a
            .api
            .get(a.url("/admin/resource-servers"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let other = reqwest::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let r = other
            .get(a.url("/admin/resource-servers"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        a.shutdown().await;
        if let Some(b) = second {
            b.shutdown().await;
        }
    }
}

/// Signs `username` in from `b`; the final redirect.
async fn sign_in(srv: &TestServer, b: &reqwest::Client, client_id: &str, username: &str) -> String {
    let (url, _) = authorize_url(srv, client_id, &[]);
    authorize(srv, b, &url, username).await
}

/// One login attempt from `b` with `password`; the status.
async fn attempt(
    srv: &TestServer,
    b: &reqwest::Client,
    client_id: &str,
    username: &str,
    password: &str,
) -> StatusCode {
    let (url, _) = authorize_url(srv, client_id, &[("prompt", "login")]);
    let login = location(&b.get(&url).send().await.unwrap());
    let page = b
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
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    let r = b.post(srv.url("/login")).form(&form).send().await.unwrap();
    if r.status().is_redirection() {
        StatusCode::OK
    } else {
        r.status()
    }
}

#[tokio::test]
async fn a_browser_that_signed_in_before_is_not_locked_out_by_strangers() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let (id, _) = srv.web_client().await;
    // Alice's own browser signs in once: it gets a device cookie.
    let alice = browser();
    assert!(query_param(&sign_in(&srv, &alice, &id, "alice").await, "code").is_some());
    // A stranger fails until the username is locked; then the address too (other names).
    let stranger = browser();
    for _ in 0..5 {
        assert_eq!(
            attempt(&srv, &stranger, &id, "alice", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&srv, &stranger, &id, "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    for i in 0..50 {
        attempt(&srv, &stranger, &id, &format!("user{i}"), "guess").await;
    }
    // A new browser, right password: refused (username and address locked).
    assert_eq!(
        attempt(&srv, &browser(), &id, "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Alice's browser, right password: signed in.
    assert_eq!(
        attempt(&srv, &alice, &id, "alice", PASSWORD).await,
        StatusCode::OK
    );
    srv.shutdown().await;
}
