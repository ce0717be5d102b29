//! The RFC 7523 JWT bearer grant for partners: valid assertions, each invalid case
//! separately, replay across concurrent requests and across nodes, and scope limits.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};
use surety::store::AuditStore;

use crate::helpers::*;

pub(crate) const GT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) struct Partner {
    pub(crate) id: String,
    pub(crate) signer: Signer,
    pub(crate) account: String,
}

pub(crate) async fn partner(srv: &TestServer, extra: Value) -> Partner {
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("p1");
    let mut body = json!({"name": "Acme Telecom", "jwks": {"keys": [jwk]}, "allowed_cidrs": ["127.0.0.0/8", "::1/128"]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "Customer 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert!(a["auth_token"].as_str().unwrap().len() >= 32);
    Partner {
        id,
        signer,
        account: a["account_sid"].as_str().unwrap().to_owned(),
    }
}

fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
}

fn claims(srv: &TestServer, p: &Partner) -> Value {
    json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": now() + 120, "iat": now(), "jti": random_hex16()})
}

pub(crate) fn sign(p: &Partner, c: &Value) -> String {
    jws::sign(&p.signer, Alg::ES256, "p1", "JWT", c).unwrap()
}

pub(crate) async fn exchange(
    srv: &TestServer,
    assertion: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", GT), ("assertion", assertion)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    srv.api
        .post(srv.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn refused(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v}");
    v["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_assertion_yields_a_token_that_names_who_vouched() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let r = exchange(&srv, &sign(&p, &claims(&srv, &p)), Some("read")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["account_sid"], p.account.as_str());
    assert!(t.get("refresh_token").is_none());
    let (_, c) = jws::peek(t["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(c["act"], json!({"sub": p.id}));
    assert_eq!(c["account_sid"], p.account.as_str());
    assert_eq!(c["sub"], p.account.as_str());
    assert_eq!(c["scope"], "read");
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for(&p.account, 10)
        .await
        .unwrap();
    assert_eq!(audit[0].outcome, "ok");
    assert_eq!(audit[0].actor, p.id);
    srv.shutdown().await;
}

#[tokio::test]
async fn each_invalid_assertion_is_refused_with_a_reason() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let other = partner(&srv, json!({"name": "Other"})).await;
    let with = |k: &str, v: Value| {
        let mut c = claims(&srv, &p);
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        sign(&p, &c)
    };
    let b64 = surety::util::b64;
    let cases: Vec<(String, &str)> = vec![
        (
            with("iss", json!("PN00000000000000000000000000000000")),
            "not a known partner",
        ),
        (
            with("sub", json!(other.account)),
            "not an account of this partner",
        ),
        (
            with("sub", json!("AC00000000000000000000000000000000")),
            "not an account of this partner",
        ),
        (with("aud", json!("https://elsewhere.example")), "aud"),
        (with("exp", json!(now() - 600)), "expired"),
        (with("exp", json!(now() + 3600)), "too far"),
        (with("exp", Value::Null), "no exp"),
        (with("jti", Value::Null), "no jti"),
        (with("nbf", json!(now() + 600)), "not yet valid"),
        (with("iat", json!(now() + 600)), "iat"),
        (sign(&other, &claims(&srv, &p)), "signature"),
        (
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none"}"#),
                b64(claims(&srv, &p).to_string().as_bytes())
            ),
            "signature",
        ),
        (
            jws::sign_hs256(
                p.signer.public_jwk().to_string().as_bytes(),
                Some("p1"),
                &claims(&srv, &p),
            ),
            "signature",
        ),
        ("not-a-jwt".into(), "well-formed"),
    ];
    for (assertion, why) in cases {
        let d = refused(exchange(&srv, &assertion, None).await).await;
        assert!(d.contains(why), "expected '{why}' in '{d}'");
    }
    let a = sign(&p, &claims(&srv, &p));
    assert_eq!(exchange(&srv, &a, None).await.status(), StatusCode::OK);
    assert!(
        refused(exchange(&srv, &a, None).await)
            .await
            .contains("already used")
    );
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for("-", 50)
        .await
        .unwrap();
    assert!(audit.len() >= 14, "refusals are audited");
    srv.shutdown().await;
}

#[tokio::test]
async fn suspended_partners_and_accounts_and_denied_scopes_are_refused() {
    let srv = TestServer::start().await;
    let p = partner(
        &srv,
        json!({"limits": {"denied_scopes": ["numbers:manage"]}}),
    )
    .await;
    let r = exchange(&srv, &sign(&p, &claims(&srv, &p)), Some("numbers:manage")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    let store = srv.provider().stores.accounts.clone();
    let mut acct = store.get_account(&p.account).await.unwrap();
    acct.status = surety::store::AccountStatus::Suspended;
    store.update_account(&acct).await.unwrap();
    assert!(
        refused(exchange(&srv, &sign(&p, &claims(&srv, &p)), None).await)
            .await
            .contains("not active")
    );
    let mut jwk = p.signer.public_jwk();
    jwk["kid"] = json!("p1");
    let r = srv
        .api
        .put(srv.url(&format!("/admin/partners/{}", p.id)))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Acme", "status": "suspended", "jwks": {"keys": [jwk]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        refused(exchange(&srv, &sign(&p, &claims(&srv, &p)), None).await)
            .await
            .contains("suspended")
    );
    // An update without key material keeps the keys; an integral float is an integer.
    let r = srv
        .api
        .put(srv.url(&format!("/admin/partners/{}", p.id)))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Acme again", "limits": {"max_assertion_lifetime": 300.0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["jwks"]["keys"][0]["kid"], "p1", "{v}");
    assert_eq!(v["limits"]["max_assertion_lifetime"], 300);
    acct.status = surety::store::AccountStatus::Active;
    store.update_account(&acct).await.unwrap();
    let r = exchange(&srv, &sign(&p, &claims(&srv, &p)), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}

#[tokio::test]
async fn an_hs256_partner_secret_works_and_is_never_returned() {
    let srv = TestServer::start().await;
    let secret = "a-shared-secret-of-at-least-thirty-two-bytes";
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Legacy", "secret": secret}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(!v.to_string().contains(secret));
    assert_eq!(v["has_secret"], true);
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let a: Value = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "C"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = json!({"iss": id, "sub": a["account_sid"], "aud": srv.url("/token"), "exp": now() + 60, "jti": "h1"});
    assert_eq!(
        exchange(&srv, &jws::sign_hs256(secret.as_bytes(), None, &c), None)
            .await
            .status(),
        StatusCode::OK
    );
    let c2 = json!({"iss": id, "sub": a["account_sid"], "aud": srv.url("/token"), "exp": now() + 60, "jti": "h2"});
    assert!(
        refused(
            exchange(
                &srv,
                &jws::sign_hs256(b"another-secret-of-at-least-thirty-two-bytes", None, &c2),
                None
            )
            .await
        )
        .await
        .contains("signature")
    );
    srv.shutdown().await;
}

/// A grant request that can be spawned (owns what it sends).
async fn post_assertion(api: reqwest::Client, url: String, a: String) -> StatusCode {
    api.post(url)
        .form(&[("grant_type", GT), ("assertion", a.as_str())])
        .send()
        .await
        .unwrap()
        .status()
}

async fn race(servers: &[&TestServer], assertion: &str, n: usize) -> usize {
    let futures = (0..n).map(|i| {
        let srv = servers[i % servers.len()];
        post_assertion(srv.api.clone(), srv.url("/token"), assertion.to_owned())
    });
    futures_join(futures)
        .await
        .into_iter()
        .filter(|s| *s == StatusCode::OK)
        .count()
}

async fn futures_join<F: std::future::Future<Output = StatusCode> + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_uses_of_one_assertion_yield_exactly_one_token() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let p = partner(&srv, json!({})).await;
        assert_eq!(
            race(&[&srv], &sign(&p, &claims(&srv, &p)), 50).await,
            1,
            "{backend:?}"
        );
        srv.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_assertion_raced_across_two_nodes_yields_exactly_one_token() {
    let Some(backend) = shared_backend().await else {
        return;
    };
    let a = TestServer::start_on(&backend).await;
    let mut s2 = settings_for(&backend);
    s2.issuer = Some(a.running.issuer.clone());
    let b = TestServer::start_with(s2).await;
    let p = partner(&a, json!({})).await;
    assert_eq!(race(&[&a, &b], &sign(&p, &claims(&a, &p)), 50).await, 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_written_off_the_request_path_are_all_stored_at_shutdown() {
    let settings = settings_for(&default_backend().await);
    let srv = TestServer::start_with(settings.clone()).await;
    let p = partner(&srv, json!({})).await;
    let sends = (0..40).map(|i| {
        let a = if i % 4 == 0 {
            "not-a-jwt".to_owned()
        } else {
            sign(&p, &claims(&srv, &p))
        };
        post_assertion(srv.api.clone(), srv.url("/token"), a)
    });
    let statuses = futures_join(sends).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        30
    );
    srv.shutdown().await;
    // Read the database directly, not through the server's (now stopped) audit writer.
    let store = surety::app::open_store(&settings).await.unwrap();
    let ok = store.events_for(&p.account, 100).await.unwrap();
    assert_eq!(ok.iter().filter(|e| e.action == "jwt-bearer").count(), 30);
    let refused = store.events_for("-", 1000).await.unwrap();
    let malformed = refused
        .iter()
        .filter(|e| e.outcome == "the assertion is not a well-formed JWT" && e.actor == "unknown")
        .count();
    assert!(malformed >= 10, "{malformed}");
}

async fn scope_error(srv: &TestServer, p: &Partner, scope: &str) -> Option<String> {
    let r = exchange(srv, &sign(p, &claims(srv, p)), Some(scope)).await;
    if r.status() == StatusCode::OK {
        let t: Value = r.json().await.unwrap();
        let mut got: Vec<&str> = t["scope"].as_str().unwrap().split(' ').collect();
        let mut asked: Vec<&str> = scope.split(' ').collect();
        got.sort();
        asked.sort();
        assert_eq!(got, asked);
        return None;
    }
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    Some(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn only_scopes_that_exist_and_the_partner_may_delegate_are_issued() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let p = partner(&srv, json!({})).await;
        // Internal scopes, unknown ones and OIDC's: never through an assertion.
        for bad in [
            "partner:api",
            "surety:impersonate",
            "verify",
            "admin",
            "anything:at-all",
            "read anything:at-all",
            "openid",
        ] {
            assert_eq!(
                scope_error(&srv, &p, bad).await.as_deref(),
                Some("invalid_scope"),
                "{backend:?} {bad}"
            );
        }
        // Permissions of the registry are the default ceiling.
        assert_eq!(scope_error(&srv, &p, "read calls:write").await, None);
        // A partner's allow-list is the ceiling; an account's narrows it further.
        let q = partner(
            &srv,
            json!({"limits": {"allowed_scopes": ["read", "messages:send"]}}),
        )
        .await;
        assert_eq!(scope_error(&srv, &q, "read messages:send").await, None);
        assert_eq!(
            scope_error(&srv, &q, "calls:write").await.as_deref(),
            Some("invalid_scope")
        );
        let store = srv.provider().stores.accounts.clone();
        let mut acct = store.get_account(&q.account).await.unwrap();
        acct.limits = serde_json::from_value(json!({"allowed_scopes": ["read"]})).unwrap();
        store.update_account(&acct).await.unwrap();
        assert_eq!(scope_error(&srv, &q, "read").await, None);
        assert_eq!(
            scope_error(&srv, &q, "messages:send").await.as_deref(),
            Some("invalid_scope"),
            "{backend:?}: the account narrows the partner's list"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_allow_list_names_permissions_only() {
    let srv = TestServer::start().await;
    for bad in [json!(["partner:api"]), json!(["verify"]), json!(["nope"])] {
        let r = srv
            .api
            .post(srv.url("/admin/partners"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "X", "secret": "0123456789abcdef0123456789abcdef", "limits": {"allowed_scopes": bad}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    srv.shutdown().await;
}
