//! The Partner API: partner authentication (its own keys or secret), every route, the
//! cross-partner 404 matrix, network allow-lists (IPv4, IPv6, trusted proxies).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

struct Partner {
    token: String,
}

async fn new_partner(srv: &TestServer, cidrs: Value) -> Partner {
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("k");
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "P", "jwks": {"keys": [jwk]}, "allowed_cidrs": cidrs}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["partner_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    let assertion = jws::sign(&signer, Alg::ES256, "k", "JWT", &json!({"iss": id, "sub": id, "aud": srv.running.issuer.clone() + "/token", "exp": now + 60, "jti": random_hex16()})).unwrap();
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "partner:api"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "partner authenticates with its key"
    );
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Partner { token }
}

async fn call(
    srv: &TestServer,
    p: &Partner,
    m: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = srv.api.request(m, srv.url(path)).bearer_auth(&p.token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_partner_manages_its_accounts_through_every_route() {
    let srv = TestServer::start().await;
    let p = new_partner(&srv, json!(["127.0.0.0/8"])).await;
    let (s, a) = call(
        &srv,
        &p,
        Method::POST,
        "/partner/v1/accounts",
        Some(json!({"friendly_name": "One"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let sid = a["account_sid"].as_str().unwrap().to_owned();
    assert!(surety::partners::is_account_sid(&sid));
    assert!(a["auth_token"].as_str().unwrap().len() >= 32);
    for n in ["Two", "Three"] {
        call(
            &srv,
            &p,
            Method::POST,
            "/partner/v1/accounts",
            Some(json!({"friendly_name": n})),
        )
        .await;
    }
    let (_, page) = call(
        &srv,
        &p,
        Method::GET,
        "/partner/v1/accounts?page_size=2",
        None,
    )
    .await;
    assert_eq!(page["accounts"].as_array().unwrap().len(), 2);
    let next = page["next_page_token"].as_str().unwrap().to_owned();
    let (_, page2) = call(
        &srv,
        &p,
        Method::GET,
        &format!("/partner/v1/accounts?page_size=2&page_token={next}"),
        None,
    )
    .await;
    assert_eq!(page2["accounts"].as_array().unwrap().len(), 1);
    assert!(page2["next_page_token"].is_null());
    let path = |x: &str| format!("/partner/v1/accounts/{sid}{x}");
    let (s, got) = call(&srv, &p, Method::GET, &path(""), None).await;
    assert_eq!(
        (s, got["friendly_name"].as_str()),
        (StatusCode::OK, Some("One"))
    );
    assert!(got.get("auth_token").is_none() || got["auth_token"].is_null());
    let (_, up) = call(
        &srv,
        &p,
        Method::PATCH,
        &path(""),
        Some(json!({"friendly_name": "Uno"})),
    )
    .await;
    assert_eq!(up["friendly_name"], "Uno");
    assert_eq!(
        call(&srv, &p, Method::POST, &path("/suspend"), None)
            .await
            .1["status"],
        "suspended"
    );
    assert_eq!(
        call(&srv, &p, Method::POST, &path("/reactivate"), None)
            .await
            .1["status"],
        "active"
    );
    let (s, l) = call(
        &srv,
        &p,
        Method::PUT,
        &path("/limits"),
        Some(json!({"denied_scopes": ["numbers:manage"]})),
    )
    .await;
    assert_eq!(
        (s, l["limits"]["denied_scopes"][0].as_str()),
        (StatusCode::OK, Some("numbers:manage"))
    );
    let (s, t) = call(&srv, &p, Method::POST, &path("/auth-token"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(t["auth_token"], a["auth_token"]);
    let (s, u) = call(&srv, &p, Method::GET, &path("/usage"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(u["api_actions"].as_u64().unwrap() >= 5, "{u}");
    assert_eq!(
        call(&srv, &p, Method::POST, &path("/close"), None).await.1["status"],
        "closed"
    );
    assert_eq!(
        call(&srv, &p, Method::POST, &path("/reactivate"), None)
            .await
            .0,
        StatusCode::CONFLICT
    );
    srv.shutdown().await;
}

/// Whether `token` authenticates account `sid` anywhere: the resource API (HTTP Basic)
/// or the developer API.
async fn authenticates(srv: &TestServer, sid: &str, token: &str) -> bool {
    for path in [
        format!("/api/v1/Accounts/{sid}/Usage"),
        "/developer/v1/apps".into(),
    ] {
        let r = srv
            .api
            .get(srv.url(&path))
            .basic_auth(sid, Some(token))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::UNAUTHORIZED {
            return true;
        }
    }
    false
}

/// A token rotation racing a close: the account always ends closed, and a token the
/// rotation hands out never authenticates (each change is one conditional update; a
/// rotation that read the account before the close used to write `active` back).
#[tokio::test]
async fn a_rotation_racing_a_close_leaves_the_account_closed() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let p = new_partner(&srv, json!([])).await;
        for round in 0..20 {
            let body = json!({"friendly_name": format!("Round {round}")});
            let (s, a) = call(&srv, &p, Method::POST, "/partner/v1/accounts", Some(body)).await;
            assert_eq!(s, StatusCode::CREATED);
            let sid = a["account_sid"].as_str().unwrap().to_owned();
            let path = |x: &str| format!("/partner/v1/accounts/{sid}{x}");
            let (close, rotate) = (path("/close"), path("/auth-token"));
            let (closed, rotated) = tokio::join!(
                call(&srv, &p, Method::POST, &close, None),
                call(&srv, &p, Method::POST, &rotate, None),
            );
            assert_eq!(closed.0, StatusCode::OK, "round {round}: {}", closed.1);
            let (_, now) = call(&srv, &p, Method::GET, &path(""), None).await;
            assert_eq!(now["status"], "closed", "{backend:?} round {round}");
            let old = a["auth_token"].as_str().unwrap();
            assert!(!authenticates(&srv, &sid, old).await, "round {round}");
            match rotated.0 {
                StatusCode::OK => {
                    let new = rotated.1["auth_token"].as_str().unwrap();
                    assert!(!authenticates(&srv, &sid, new).await, "round {round}");
                }
                StatusCode::CONFLICT => assert_eq!(rotated.1["error"], "conflict"),
                other => panic!("round {round}: the rotation answered {other}"),
            }
        }
        // Closing is final: no change applies to a closed account any more.
        let (_, a) = call(
            &srv,
            &p,
            Method::POST,
            "/partner/v1/accounts",
            Some(json!({"friendly_name": "Last"})),
        )
        .await;
        let sid = a["account_sid"].as_str().unwrap();
        let path = |x: &str| format!("/partner/v1/accounts/{sid}{x}");
        call(&srv, &p, Method::POST, &path("/close"), None).await;
        for (m, x, body) in [
            (Method::POST, "/auth-token", None),
            (Method::PATCH, "", Some(json!({"friendly_name": "Again"}))),
            (Method::PUT, "/limits", Some(json!({"denied_scopes": []}))),
            (Method::POST, "/suspend", None),
            (Method::POST, "/close", None),
        ] {
            let (s, _) = call(&srv, &p, m.clone(), &path(x), body).await;
            assert_eq!(s, StatusCode::CONFLICT, "{m} {x}");
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn another_partners_account_is_404_on_every_route() {
    let srv = TestServer::start().await;
    let a = new_partner(&srv, json!([])).await;
    let b = new_partner(&srv, json!([])).await;
    let (_, acct) = call(
        &srv,
        &a,
        Method::POST,
        "/partner/v1/accounts",
        Some(json!({"friendly_name": "A's"})),
    )
    .await;
    let sid = acct["account_sid"].as_str().unwrap();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/partner/v1/accounts/{sid}"), None),
        (
            Method::PATCH,
            format!("/partner/v1/accounts/{sid}"),
            Some(json!({"friendly_name": "x"})),
        ),
        (
            Method::POST,
            format!("/partner/v1/accounts/{sid}/suspend"),
            None,
        ),
        (
            Method::POST,
            format!("/partner/v1/accounts/{sid}/reactivate"),
            None,
        ),
        (
            Method::POST,
            format!("/partner/v1/accounts/{sid}/close"),
            None,
        ),
        (
            Method::PUT,
            format!("/partner/v1/accounts/{sid}/limits"),
            Some(json!({"denied_scopes": []})),
        ),
        (
            Method::POST,
            format!("/partner/v1/accounts/{sid}/auth-token"),
            None,
        ),
        (
            Method::GET,
            format!("/partner/v1/accounts/{sid}/usage"),
            None,
        ),
    ];
    let missing = "AC00000000000000000000000000000000";
    for (m, path, body) in routes {
        let (s, v) = call(&srv, &b, m.clone(), &path, body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}");
        let (s2, v2) = call(&srv, &b, m.clone(), &path.replace(sid, missing), body).await;
        assert_eq!(
            (s2, &v2),
            (StatusCode::NOT_FOUND, &v),
            "a foreign account looks exactly like a missing one"
        );
    }
    let (_, page) = call(&srv, &b, Method::GET, "/partner/v1/accounts", None).await;
    assert!(page["accounts"].as_array().unwrap().is_empty());
    let (_, still) = call(
        &srv,
        &a,
        Method::GET,
        &format!("/partner/v1/accounts/{sid}"),
        None,
    )
    .await;
    assert_eq!(still["status"], "active", "B changed nothing");
    srv.shutdown().await;
}

#[tokio::test]
async fn only_partner_tokens_are_accepted() {
    let srv = TestServer::start().await;
    let r = srv
        .api
        .get(srv.url("/partner/v1/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "partner:api"}))
        .await;
    let t: Value = token_request(
        &srv,
        &(id, secret.unwrap()),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "partner:api"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let r = srv
        .api
        .get(srv.url("/partner/v1/accounts"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "an ordinary client is not a partner"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partner_with_a_shared_secret_authenticates_with_basic() {
    let srv = TestServer::start().await;
    let secret = "partner-shared-secret-0123456789abcdef";
    let v: Value = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "S", "secret": secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let r = token_request(
        &srv,
        &(id.clone(), secret.into()),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "partner:api"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = token_request(
        &srv,
        &(id, "wrong-secret-wrong-secret-wrong-secret".into()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
}

#[tokio::test]
async fn networks_outside_the_allow_list_are_refused() {
    let srv = TestServer::start().await;
    let p = new_partner(&srv, json!(["10.0.0.0/8", "2001:db8::/32"])).await;
    let (s, v) = call(&srv, &p, Method::GET, "/partner/v1/accounts", None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // X-Forwarded-For is ignored from an untrusted peer.
    let r = srv
        .api
        .get(srv.url("/partner/v1/accounts"))
        .bearer_auth(&p.token)
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    srv.shutdown().await;
    // Behind a trusted proxy (the test client on loopback), the forwarded address counts.
    let mut s = settings_for(&default_backend().await);
    s.trusted_proxies = vec!["127.0.0.1/32".into()];
    let srv = TestServer::start_with(s).await;
    let p = new_partner(&srv, json!(["10.0.0.0/8"])).await;
    let ok = srv
        .api
        .get(srv.url("/partner/v1/accounts"))
        .bearer_auth(&p.token)
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let no = srv
        .api
        .get(srv.url("/partner/v1/accounts"))
        .bearer_auth(&p.token)
        .header("x-forwarded-for", "192.0.2.1")
        .send()
        .await
        .unwrap();
    assert_eq!(no.status(), StatusCode::FORBIDDEN);
    srv.shutdown().await;
}

#[tokio::test]
async fn ipv6_sources_are_matched() {
    let mut s = settings_for(&default_backend().await);
    s.listen = "[::1]:0".parse().unwrap();
    let srv = TestServer::start_with(s).await;
    let v6 = new_partner(&srv, json!(["::1/128"])).await;
    assert_eq!(
        call(&srv, &v6, Method::GET, "/partner/v1/accounts", None)
            .await
            .0,
        StatusCode::OK
    );
    let v4 = new_partner(&srv, json!(["127.0.0.0/8"])).await;
    assert_eq!(
        call(&srv, &v4, Method::GET, "/partner/v1/accounts", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_partner_openapi_document_lists_its_routes() {
    let srv = TestServer::start().await;
    let v: Value = srv
        .api
        .get(srv.url("/partner/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/partner/v1/accounts",
        "/partner/v1/accounts/{sid}",
        "/partner/v1/accounts/{sid}/usage",
        "/partner/v1/accounts/{sid}/auth-token",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    srv.shutdown().await;
}
