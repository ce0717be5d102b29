//! Resource indicators (RFC 8707): registered resource servers (admin API, CLI), the
//! `resource` parameter at /authorize and /token for every grant, `aud` = the
//! resource(s) granted, a refresh narrowing to one of them, `invalid_target` for an
//! unregistered or malformed URI, and Surety's own endpoints refusing tokens meant for
//! another resource.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::helpers::*;
use crate::jwt_bearer::{GT, partner, sign};

const ORDERS: &str = "https://api.example/orders";
const BILLING: &str = "https://api.example/billing";

async fn register(srv: &TestServer, uri: &str, scopes: &[&str]) -> reqwest::Response {
    srv.api
        .post(srv.url("/admin/resource-servers"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"uri": uri, "name": "API", "scopes": scopes}))
        .send()
        .await
        .unwrap()
}

fn aud(token: &str) -> Value {
    jws::peek(token).unwrap().1["aud"].clone()
}

async fn body(r: reqwest::Response) -> (StatusCode, Value) {
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn resource_servers_are_registered_listed_and_removed() {
    let srv = TestServer::start().await;
    let (status, v) = body(register(&srv, ORDERS, &["orders:read", "orders:write"]).await).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["scopes"], json!(["orders:read", "orders:write"]));
    assert_eq!(
        register(&srv, ORDERS, &[]).await.status(),
        StatusCode::CONFLICT
    );
    for (uri, scopes) in [
        ("/orders", vec!["a"]),
        ("https://x.example/#f", vec!["a"]),
        (BILLING, vec!["openid"]),
        (BILLING, vec!["verify"]),
    ] {
        let (status, v) = body(register(&srv, uri, &scopes).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {scopes:?}");
        assert!(v["field"].is_string());
    }
    let path = format!("/admin/resource-servers/{}", urlencode(ORDERS));
    let get = |p: String| srv.api.get(srv.url(&p)).bearer_auth(ADMIN_TOKEN).send();
    assert_eq!(get(path.clone()).await.unwrap().status(), StatusCode::OK);
    let list: Value = get("/admin/resource-servers".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["uri"], ORDERS);
    let r = srv
        .api
        .delete(srv.url(&path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(path).await.unwrap().status(), StatusCode::NOT_FOUND);
    srv.shutdown().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn client_credentials_tokens_name_the_resources_asked_for() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        register(&srv, ORDERS, &["orders:read"]).await;
        register(&srv, BILLING, &["orders:read", "billing:read"]).await;
        let (id, secret) = srv
            .client(json!({"grant_types": ["client_credentials"], "scope": "orders:read billing:read read"}))
            .await;
        let c = (id, secret.unwrap());
        let cc = |extra: Vec<(&'static str, &'static str)>| {
            let (srv, c) = (&srv, &c);
            async move {
                let mut form = vec![("grant_type", "client_credentials")];
                form.extend(extra);
                body(token_request(srv, c, &form).await).await
            }
        };
        let (status, t) = cc(vec![("scope", "orders:read"), ("resource", ORDERS)]).await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert_eq!(aud(t["access_token"].as_str().unwrap()), ORDERS);
        // Two resources: both in aud.
        let (_, t) = cc(vec![
            ("scope", "orders:read"),
            ("resource", ORDERS),
            ("resource", BILLING),
        ])
        .await;
        assert_eq!(
            aud(t["access_token"].as_str().unwrap()),
            json!([ORDERS, BILLING])
        );
        // A scope the resource does not accept; unregistered, relative, fragment URIs.
        let (status, t) = cc(vec![("scope", "read"), ("resource", ORDERS)]).await;
        assert_eq!(
            (status, t["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope"))
        );
        for bad in [
            "https://unknown.example/",
            "/orders",
            "https://api.example/orders#x",
        ] {
            let (status, t) = cc(vec![("scope", "orders:read"), ("resource", bad)]).await;
            assert_eq!(
                (status, t["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_target")),
                "{bad}"
            );
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_code_flow_grants_resources_and_a_refresh_narrows_to_one() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        register(&srv, ORDERS, &["orders:read"]).await;
        register(&srv, BILLING, &["orders:read"]).await;
        srv.user("alice").await;
        let c = srv.web_client().await;
        let base = authorize_url(
            &srv,
            &c.0,
            &[("scope", "openid orders:read offline_access")],
        );
        let url = format!(
            "{}&resource={}&resource={}",
            base.0,
            urlencode(ORDERS),
            urlencode(BILLING)
        );
        let cb = authorize(&srv, &srv.browser, &url, "alice").await;
        let code = query_param(&cb, "code").unwrap_or_else(|| panic!("{cb}"));
        let redeem = |code: String, extra: Vec<(&'static str, &'static str)>| {
            let (srv, c, v) = (&srv, &c, base.1.clone());
            async move {
                let mut form = vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", "http://127.0.0.1:9/cb".to_owned()),
                    ("code_verifier", v),
                ];
                form.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                body(token_request(srv, c, &form).await).await
            }
        };
        let (status, t) = redeem(code, vec![]).await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert_eq!(
            aud(t["access_token"].as_str().unwrap()),
            json!([ORDERS, BILLING])
        );
        // Surety's own UserInfo refuses a token meant for other resources.
        let r = srv
            .api
            .get(srv.url("/userinfo"))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let rt = t["refresh_token"].as_str().unwrap().to_owned();
        let refresh = |rt: String, resource: &'static str| {
            let (srv, c) = (&srv, &c);
            async move {
                body(
                    token_request(
                        srv,
                        c,
                        &[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", &rt),
                            ("resource", resource),
                        ],
                    )
                    .await,
                )
                .await
            }
        };
        let (status, t) = refresh(rt, ORDERS).await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert_eq!(aud(t["access_token"].as_str().unwrap()), ORDERS);
        let (status, e) = refresh(
            t["refresh_token"].as_str().unwrap().to_owned(),
            "https://api.example/other",
        )
        .await;
        assert_eq!(
            (status, e["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target"))
        );
        // An unregistered resource at /authorize: invalid_target at the redirect URI.
        let url = format!(
            "{}&resource={}",
            authorize_url(&srv, &c.0, &[]).0,
            urlencode("https://nope.example/")
        );
        let loc = location(&srv.browser.get(&url).send().await.unwrap());
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some("invalid_target"),
            "{loc}"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_partner_token_for_another_resource_is_refused_by_the_reference_api() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        register(&srv, ORDERS, &["read"]).await;
        let p = partner(&srv, json!({})).await;
        let token_for = |resource: Option<&'static str>| {
            let (srv, p) = (&srv, &p);
            async move {
                let now = surety::clock::Clock::now(&surety::clock::SystemClock);
                let c = json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": now + 120, "iat": now, "jti": random_hex16()});
                let a = sign(p, &c);
                let mut form = vec![
                    ("grant_type", GT),
                    ("assertion", a.as_str()),
                    ("scope", "read"),
                ];
                if let Some(r) = resource {
                    form.push(("resource", r));
                }
                let r = srv
                    .api
                    .post(srv.url("/token"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let (status, t) = body(r).await;
                assert_eq!(status, StatusCode::OK, "{t}");
                t["access_token"].as_str().unwrap().to_owned()
            }
        };
        let messages = srv.url(&format!("/api/v1/Accounts/{}/Messages", p.account));
        let own = token_for(None).await;
        let r = srv
            .api
            .get(&messages)
            .bearer_auth(&own)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let elsewhere = token_for(Some(ORDERS)).await;
        assert_eq!(aud(&elsewhere), ORDERS);
        let r = srv
            .api
            .get(&messages)
            .bearer_auth(&elsewhere)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        srv.shutdown().await;
    }
}
