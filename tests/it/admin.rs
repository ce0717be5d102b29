//! The admin API: authentication, RFC 7591 registration, field-named errors, CRUD, OpenAPI.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn admin_api_needs_the_token_and_is_absent_without_one() {
    let srv = TestServer::start().await;
    let r = srv
        .api
        .post(srv.url("/admin/clients"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = srv
        .api
        .post(srv.url("/admin/clients"))
        .bearer_auth("wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
    let mut s = settings_for(&Backend::Embedded);
    s.admin_token = None;
    let srv = TestServer::start_with(s).await;
    let r = srv
        .api
        .post(srv.url("/admin/clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    srv.shutdown().await;
}

#[tokio::test]
async fn clients_are_registered_read_replaced_and_deleted() {
    let srv = TestServer::start().await;
    let admin =
        |m: reqwest::Method, path: &str| srv.api.request(m, srv.url(path)).bearer_auth(ADMIN_TOKEN);
    let r = admin(reqwest::Method::POST, "/admin/clients").json(&json!({"client_name": "A", "redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code", "refresh_token"]})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let id = v["client_id"].as_str().unwrap().to_owned();
    assert!(v["client_secret"].as_str().unwrap().len() >= 32);
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(v["client_secret_expires_at"], 0);
    let got: Value = admin(reqwest::Method::GET, &format!("/admin/clients/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(got.get("client_secret").is_none(), "secret shown only once");
    assert_eq!(got["redirect_uris"], json!(["https://a.example/cb"]));
    let r = admin(reqwest::Method::PUT, &format!("/admin/clients/{id}"))
        .json(&json!({"client_name": "B", "redirect_uris": ["https://b.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["client_name"], "B");
    assert_eq!(
        admin(reqwest::Method::DELETE, &format!("/admin/clients/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(reqwest::Method::GET, &format!("/admin/clients/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn invalid_metadata_names_the_field_and_creates_nothing() {
    let srv = TestServer::start().await;
    let cases = [
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a/cb"], "grant_types": ["password"]}),
            "grant_types",
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "jwks",
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a/cb"], "surprise": 1}),
            "body",
            "invalid_request",
        ),
        (
            json!({"redirect_uris": "not-a-list"}),
            "body",
            "invalid_request",
        ),
    ];
    for (body, field, code) in cases {
        let r = srv
            .api
            .post(srv.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["field"].as_str(), v["error"].as_str()),
            (Some(field), Some(code)),
            "{body}"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn users_are_created_read_and_deleted() {
    let srv = TestServer::start().await;
    let sub = srv.user("bob").await;
    let r = srv
        .api
        .get(srv.url(&format!("/admin/users/{sub}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["username"], "bob");
    assert!(v.get("password_hash").is_none() && v.get("password").is_none());
    let dup = srv
        .api
        .post(srv.url("/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let short = srv
        .api
        .post(srv.url("/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"username": "carol", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(short.json::<Value>().await.unwrap()["field"], "password");
    let r = srv
        .api
        .delete(srv.url(&format!("/admin/users/{sub}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    srv.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_admin_route() {
    let srv = TestServer::start().await;
    let v: Value = srv
        .api
        .get(srv.url("/admin/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/admin/clients",
        "/admin/clients/{client_id}",
        "/admin/users",
        "/admin/users/{sub}",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn credentials_come_from_the_injected_entropy_source() {
    // A seeded source makes the same client id and secret on two servers; another
    // seed (or the system CSPRNG, the default) makes others.
    let mut made = Vec::new();
    for seed in [7, 7, 8] {
        let deps = surety::app::Deps::default().entropy(surety::clock::SeededEntropy::new(seed));
        let srv = TestServer::start_with_deps(settings_for(&Backend::Embedded), deps).await;
        made.push(
            srv.client(json!({"grant_types": ["client_credentials"]}))
                .await,
        );
        srv.shutdown().await;
    }
    assert_eq!(made[0], made[1]);
    assert_ne!(made[0].0, made[2].0);
    assert_ne!(made[0].1, made[2].1);
}
