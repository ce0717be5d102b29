//! Errors are protocol errors, always (RFC 6749 §5.2, RFC 6750 §3.1): no plain-text
//! framework rejection reaches a client of the protocol endpoints or the JSON APIs, and a
//! bearer token sent two ways, or in the URI, is a 400 `invalid_request`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

/// The status and `error` of a JSON error answer; fails on any other shape.
async fn json_error(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{status}: {ct}");
    let v: Value = r.json().await.unwrap();
    assert!(v["error_description"].is_string(), "{v}");
    (status, v["error"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn framework_rejections_answer_in_the_json_error_shape() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let big = format!("grant_type={}", "a".repeat(1024 * 1024));
        for path in [
            "/token",
            "/introspect",
            "/par",
            "/admin/clients",
            "/verify/v1/verifications",
        ] {
            let r = srv
                .api
                .post(srv.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(big.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                json_error(r).await,
                (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request".into()),
                "{path}"
            );
        }
        // Methods a route does not take.
        for (m, path) in [
            (Method::PUT, "/token"),
            (Method::DELETE, "/userinfo"),
            (Method::PATCH, "/admin/clients"),
            (Method::GET, "/introspect"),
        ] {
            let r = srv
                .api
                .request(m.clone(), srv.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            let (status, code) = json_error(r).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            assert_eq!(code, "invalid_request");
        }
        // Malformed JSON and the wrong Content-Type on a JSON API.
        for (ct, body, want) in [
            ("application/json", "{not json", StatusCode::BAD_REQUEST),
            ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ] {
            let r = srv
                .api
                .post(srv.url("/admin/clients"))
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            // The one body rejection of every JSON API (web::json).
            let (status, code) = json_error(r).await;
            assert_eq!(status, want, "{ct}");
            assert_eq!(code, "invalid_request", "{ct}");
        }
        // An unknown route under an API prefix.
        let r = srv
            .api
            .get(srv.url("/admin/nothing-here"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(json_error(r).await.0, StatusCode::NOT_FOUND);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_bearer_token_sent_two_ways_or_in_the_uri_is_refused() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let c = srv.web_client().await;
        let t = tokens(&srv, &c, "alice").await;
        let at = t["access_token"].as_str().unwrap();
        // The header alone works.
        let r = srv
            .api
            .get(srv.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // Header + query, query alone, header + form.
        let both_query = srv
            .api
            .get(srv.url(&format!("/userinfo?access_token={at}")))
            .bearer_auth(at);
        let query_only = srv
            .api
            .get(srv.url(&format!("/userinfo?access_token={at}")));
        let both_form = srv
            .api
            .post(srv.url("/userinfo"))
            .bearer_auth(at)
            .form(&[("access_token", at)]);
        for rb in [both_query, query_only, both_form] {
            let r = rb.send().await.unwrap();
            assert!(
                r.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("invalid_request")
            );
            assert_eq!(
                json_error(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into())
            );
        }
        // The resource API behind the guard: the same rule.
        let r = srv
            .api
            .get(srv.url(&format!(
                "/api/v1/Accounts/AC0123456789abcdef0123456789abcdef/Messages?access_token={at}"
            )))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_error(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_nul_byte_anywhere_in_an_identifier_is_a_400_never_a_503() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let c = srv.web_client().await;
        let admin =
            |m: Method, path: &str| srv.api.request(m, srv.url(path)).bearer_auth(ADMIN_TOKEN);
        let requests = vec![
            srv.api.get(srv.url("/authorize?client_id=a%00b&response_type=code")),
            srv.api
                .post(srv.url("/token"))
                .form(&[("grant_type", "client_credentials"), ("client_id", "a\0b")]),
            srv.api
                .post(srv.url("/token"))
                .basic_auth(&c.0, Some(&c.1))
                .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", "x\0y")]),
            admin(Method::GET, "/admin/clients/a%00b"),
            admin(Method::GET, "/admin/users/a%00b"),
            admin(Method::GET, "/admin/partners/PN%00"),
            admin(Method::POST, "/admin/partners").json(&serde_json::json!({"name": "A\u{0}B", "secret": "0123456789abcdef0123456789abcdef"})),
            srv.api.get(srv.url("/partner/v1/accounts/AC%00")),
            srv.api.get(srv.url("/developer/v1/apps/x%00")),
            srv.api.get(srv.url("/api/v1/Accounts/AC%00/Messages")),
        ];
        for rb in requests {
            let r = rb.send().await.unwrap();
            let url = r.url().to_string();
            assert_eq!(
                json_error(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into()),
                "{backend:?} {url}"
            );
        }
        srv.shutdown().await;
    }
}

/// Every JSON API refuses in the one shape (`web::api::error::ApiError`): JSON with
/// `error` and `error_description`, `field` a string when present (never `null`), never
/// cached, with each API's own challenge.
#[tokio::test]
async fn every_json_api_refuses_in_the_one_shape() {
    let srv = TestServer::start().await;
    let sid = "AC0123456789abcdef0123456789abcdef";
    let cases = [
        (
            srv.api
                .get(srv.url("/admin/clients/nope"))
                .bearer_auth(ADMIN_TOKEN),
            None,
        ),
        (srv.api.get(srv.url("/admin/clients/nope")), Some("Bearer")),
        (
            srv.api.get(srv.url("/developer/v1/apps")),
            Some("Basic realm=\"surety\""),
        ),
        (
            srv.api.get(srv.url("/partner/v1/accounts")),
            Some("Bearer error=\"invalid_token\""),
        ),
        (
            srv.api
                .get(srv.url(&format!("/api/v1/Accounts/{sid}/Messages"))),
            Some("Bearer"),
        ),
        (
            srv.api.get(srv.url("/verify/v1/promotions")),
            Some("Bearer"),
        ),
        (
            srv.api
                .post(srv.url("/verify/v1/verifications"))
                .json(&serde_json::json!({})),
            Some("Bearer"),
        ),
    ];
    for (rb, challenge) in cases {
        let r = rb.send().await.unwrap();
        let url = r.url().to_string();
        assert_eq!(r.headers()["cache-control"], "no-store", "{url}");
        let got = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(got.as_deref(), challenge, "{url}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"].is_string() && v["error_description"].is_string(),
            "{url}: {v}"
        );
        assert!(v.get("field").is_none_or(Value::is_string), "{url}: {v}");
    }
    srv.shutdown().await;
}
