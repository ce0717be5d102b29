//! The login lockout under concurrency (issue 10, item 1): every attempt is reserved
//! atomically before the password is checked, so 100 simultaneous guesses, spread over
//! two nodes on the shared backend, get at most `login_max_failures` evaluated, and the
//! right password sent after them is refused as locked.

use reqwest::StatusCode;

use crate::helpers::*;

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
        let a = TestServer::start_on(&backend).await;
        let mut nodes = vec![a.base.clone()];
        let mut second = None;
        if matches!(backend, Backend::Shared { .. }) {
            let mut s = settings_for(&backend);
            s.issuer = Some(a.running.issuer.clone());
            let b = TestServer::start_with(s).await;
            nodes.push(b.base.clone());
            second = Some(b);
        }
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
