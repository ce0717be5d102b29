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
