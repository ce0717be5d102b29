//! Refresh-token families (RFC 6749 §6, RFC 9700 §4.14.2) under concurrency, with the
//! default settings and with an operator's grace window: of N concurrent presentations
//! of one token exactly one succeeds, and a family never has more than one live token.
//! On the shared backend the presentations are spread over two nodes.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// One node on the embedded backend; two nodes on one PostgreSQL + Redis otherwise.
async fn nodes(backend: &Backend, grace: Option<i64>) -> Vec<TestServer> {
    let mut s1 = settings_for(backend);
    if let Some(g) = grace {
        s1.refresh_grace = g;
    }
    let a = TestServer::start_with(s1).await;
    let mut out = vec![];
    if matches!(backend, Backend::Shared { .. }) {
        let mut s2 = settings_for(backend);
        s2.refresh_grace = a.running.provider.settings.refresh_grace;
        s2.issuer = Some(a.running.issuer.clone());
        out.push(TestServer::start_with(s2).await);
    }
    out.insert(0, a);
    out
}

async fn refresh(srv: &TestServer, c: &(String, String), token: &str) -> reqwest::Response {
    token_request(
        srv,
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// Presents `token` `n` times at once, round-robin over `nodes`; returns the new refresh
/// tokens of the successes and how many were refused with `invalid_grant`.
async fn race(
    nodes: &[TestServer],
    c: &(String, String),
    token: &str,
    n: usize,
) -> (Vec<String>, usize) {
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..n {
        let (http, url) = (
            nodes[i % nodes.len()].api.clone(),
            nodes[i % nodes.len()].url("/token"),
        );
        let (c, token) = (c.clone(), token.to_owned());
        calls.spawn(async move {
            http.post(url)
                .basic_auth(&c.0, Some(&c.1))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                .send()
                .await
                .unwrap()
        });
    }
    let (mut won, mut refused) = (vec![], 0);
    for r in calls.join_all().await {
        match r.status() {
            StatusCode::OK => {
                let t: Value = r.json().await.unwrap();
                won.push(t["refresh_token"].as_str().unwrap().to_owned());
            }
            StatusCode::BAD_REQUEST => {
                assert_eq!(error_of(r).await.1, "invalid_grant");
                refused += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    (won, refused)
}

#[tokio::test]
async fn concurrent_presentations_with_the_defaults_have_one_winner_and_reuse_kills_the_family() {
    for backend in all_backends().await {
        let nodes = nodes(&backend, None).await;
        let srv = &nodes[0];
        assert_eq!(
            srv.running.provider.settings.refresh_grace, 0,
            "the default grace"
        );
        srv.user("alice").await;
        let c = srv.web_client().await;
        let t = tokens(srv, &c, "alice").await;
        let r1 = t["refresh_token"].as_str().unwrap().to_owned();
        let access = t["access_token"].as_str().unwrap().to_owned();
        let (won, refused) = race(&nodes, &c, &r1, 20).await;
        assert_eq!((won.len(), refused), (1, 19), "{backend:?}");
        // The 19 others were reuse of a rotated token: the whole family is revoked,
        // the winner's successor and the access tokens included.
        assert_eq!(
            error_of(refresh(srv, &c, &won[0]).await).await.1,
            "invalid_grant"
        );
        assert!(
            !active(srv, &c, &access).await,
            "access token of a revoked family"
        );
        for n in nodes {
            n.shutdown().await;
        }
    }
}

#[tokio::test]
async fn with_a_grace_window_concurrency_and_quick_replays_never_fork_the_family() {
    for backend in all_backends().await {
        let nodes = nodes(&backend, Some(60)).await;
        let srv = &nodes[0];
        srv.user("alice").await;
        let c = srv.web_client().await;
        let r1 = tokens(srv, &c, "alice").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (won, refused) = race(&nodes, &c, &r1, 20).await;
        assert_eq!((won.len(), refused), (1, 19), "{backend:?}");
        // Presented again straight away, one after another: refused each time.
        for i in 0..20 {
            let r = refresh(&nodes[i % nodes.len()], &c, &r1).await;
            assert_eq!(error_of(r).await.1, "invalid_grant");
        }
        // The winner's token is the family's one live token, and it still works.
        let r = refresh(srv, &c, &won[0]).await;
        assert_eq!(r.status(), StatusCode::OK, "{backend:?}");
        for n in nodes {
            n.shutdown().await;
        }
    }
}
