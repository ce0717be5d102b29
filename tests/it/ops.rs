//! Health, readiness, metrics and request ids.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let srv = TestServer::start().await;
    assert_eq!(
        srv.api
            .get(srv.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = srv.api.get(srv.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["database"].as_str(), v["cache"].as_str()),
        (Some("ok"), Some("ok"))
    );
    let (id, secret) = srv
        .client(serde_json::json!({"grant_types": ["client_credentials"]}))
        .await;
    let r = token_request(
        &srv,
        &(id, secret.unwrap()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-request-id"].len(), 32);
    let m = srv
        .api
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("surety_http_requests_total"), "{m}");
    assert!(m.contains("surety_tokens_issued_total{grant=\"client_credentials\"}"));
    assert!(m.contains("surety_http_request_duration_seconds_bucket"));
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_long_uris_are_4xx() {
    let srv = TestServer::start().await;
    assert_eq!(
        srv.api.get(srv.url("/nope")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let long = format!("/authorize?x={}", "a".repeat(10_000));
    assert_eq!(
        srv.api.get(srv.url(&long)).send().await.unwrap().status(),
        StatusCode::URI_TOO_LONG
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    // A login is slow (argon2id); start one, then shut down while it runs.
    let (url, _) = authorize_url(&srv, &c.0, &[]);
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
    let pending = srv.browser.post(srv.url("/login")).form(&form).send();
    let (resp, ()) = tokio::join!(pending, async {
        tokio::task::yield_now().await;
        srv.running.trigger_shutdown();
    });
    assert!(
        resp.unwrap().status().is_redirection(),
        "the in-flight login completed"
    );
    srv.shutdown().await;
}
