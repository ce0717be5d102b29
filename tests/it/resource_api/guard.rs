//! The reusable guard (`surety::web::guard`) protecting a separate resource server:
//! local validation against Surety's JWKS, and RFC 7662 introspection.

use axum::handler::Handler;
use reqwest::StatusCode;
use serde_json::json;
use surety::keys::jws;
use surety::web::guard::{Bearer, GuardLayer, Introspection, Jwks, Principal, RequirePermission};

use super::*;
use crate::helpers::*;

async fn whoami(p: Principal) -> String {
    p.account_sid.unwrap_or_default()
}

/// Serves a tiny resource server behind `guard` on port 0; returns its base URL.
async fn resource_server(guard: GuardLayer) -> String {
    use axum::routing::get;
    let app: axum::Router = axum::Router::new()
        .route(
            "/send",
            get(whoami.layer(RequirePermission("messages:send"))),
        )
        .route("/read", get(whoami.layer(RequirePermission("read"))))
        .layer(guard);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

async fn get_with(base: &str, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut rb = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.unwrap();
    let ch = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), ch, r.text().await.unwrap())
}

#[tokio::test]
async fn the_guard_checks_tokens_by_jwks_or_by_introspection() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let iss = srv.running.issuer.clone();
    let t = token(&srv, &f.partner, &f.s1.sid, "messages:send").await;
    let local = resource_server(GuardLayer::new(Bearer(Jwks::new(
        &iss,
        format!("{iss}/jwks"),
    ))))
    .await;
    let (s, _, body) = get_with(&local, "/send", Some(&t)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, f.s1.sid.as_str()));
    let (s, ch, _) = get_with(&local, "/read", Some(&t)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        ch.starts_with("Bearer error=\"insufficient_scope\", scope=\"read\""),
        "{ch}"
    );
    let (s, ch, _) = get_with(&local, "/send", None).await;
    assert_eq!((s, ch.as_str()), (StatusCode::UNAUTHORIZED, "Bearer"));
    let (s, ch, _) = get_with(&local, "/send", Some("garbage")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(ch.starts_with("Bearer error=\"invalid_token\""));
    let elsewhere = resource_server(GuardLayer::new(Bearer(
        Jwks::new(&iss, format!("{iss}/jwks")).audience("https://api.example"),
    )))
    .await;
    assert_eq!(
        get_with(&elsewhere, "/send", Some(&t)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let other_issuer = resource_server(GuardLayer::new(Bearer(Jwks::new(
        "https://other.example",
        format!("{iss}/jwks"),
    ))))
    .await;
    assert_eq!(
        get_with(&other_issuer, "/send", Some(&t)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"]}))
        .await;
    let secret = secret.unwrap();
    let introspect = format!("{iss}/introspect");
    let remote = resource_server(GuardLayer::new(Bearer(Introspection::new(
        &introspect,
        &id,
        &secret,
    ))))
    .await;
    let (s, _, body) = get_with(&remote, "/send", Some(&t)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, f.s1.sid.as_str()));
    assert_eq!(
        get_with(&remote, "/read", Some(&t)).await.0,
        StatusCode::FORBIDDEN
    );
    // Revocation: introspection sees it at once; local validation only at expiry.
    let (_, claims) = jws::peek(&t).unwrap();
    let grants = srv.provider().stores.grants.clone();
    grants
        .revoke_jti(claims["jti"].as_str().unwrap(), now() + 600)
        .await
        .unwrap();
    assert_eq!(
        get_with(&remote, "/send", Some(&t)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_with(&local, "/send", Some(&t)).await.0, StatusCode::OK);
    let misconfigured = resource_server(GuardLayer::new(Bearer(Introspection::new(
        &introspect,
        &id,
        "wrong",
    ))))
    .await;
    assert_eq!(
        get_with(&misconfigured, "/send", Some(&t)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    srv.shutdown().await;
}
