//! RFC 8693 token exchange for support impersonation: operators act on any account,
//! partners on their own; `act` names the actor with earlier actors nested; scopes are
//! capped; refusals of the subject token are `invalid_request` (§2.2.2); every use is
//! audited.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

const GT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const SID: &str = "urn:surety:params:token-type:account_sid";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A confidential client allowed to impersonate any account.
async fn operator(srv: &TestServer) -> (String, String) {
    let (id, secret) = srv
        .client(json!({
            "client_name": "Support console",
            "grant_types": ["client_credentials", GT],
            "scope": "surety:impersonate read messages:send",
        }))
        .await;
    (id, secret.expect("secret"))
}

struct Partner {
    id: String,
    signer: Signer,
    account: String,
}

async fn partner(srv: &TestServer, extra: Value) -> Partner {
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("p1");
    let mut body = json!({"name": "Acme Telecom", "jwks": {"keys": [jwk]}});
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
    let id = r.json::<Value>().await.unwrap()["partner_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = account(srv, &id).await;
    Partner {
        id,
        signer,
        account,
    }
}

async fn account(srv: &TestServer, partner_id: &str) -> String {
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{partner_id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "Customer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["account_sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An access token for the partner's account (and a user at it) through the jwt-bearer
/// grant.
async fn partner_token(srv: &TestServer, p: &Partner, scope: &str) -> String {
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    let c = json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": now + 120, "iat": now, "jti": random_hex16(), "user": "agent-7"});
    let assertion = jws::sign(&p.signer, Alg::ES256, "p1", "JWT", &c).unwrap();
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", &assertion),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn exchange(
    srv: &TestServer,
    client: &(String, String),
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", GT),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    form.extend_from_slice(extra);
    token_request(srv, client, &form).await
}

/// Asserts a 200 token-exchange response; returns it and the issued token's claims.
async fn issued(r: reqwest::Response) -> (Value, Value) {
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["issued_token_type"], AT);
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["expires_in"].as_i64().unwrap() > 0);
    assert!(t.get("refresh_token").is_none());
    let (_, c) = jws::peek(t["access_token"].as_str().unwrap()).unwrap();
    (t, Value::Object(c))
}

/// Asserts a 400 with `error`; returns the description.
async fn refused(r: reqwest::Response, error: &str) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], error, "{v}");
    v["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn introspect(srv: &TestServer, c: &(String, String), token: &str) -> Value {
    let r = srv
        .api
        .post(srv.url("/introspect"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn an_operator_exchanges_an_account_sid_for_a_token_naming_itself_as_actor() {
    let srv = TestServer::start().await;
    let op = operator(&srv).await;
    let p = partner(&srv, json!({})).await;
    let (t, c) = issued(exchange(&srv, &op, &p.account, SID, &[]).await).await;
    assert_eq!(t["account_sid"], p.account.as_str());
    assert_eq!(
        t["scope"], "messages:send read",
        "impersonation is not delegated"
    );
    assert_eq!(c["act"], json!({"sub": op.0}));
    assert_eq!(c["sub"], p.account.as_str());
    assert_eq!(c["account_sid"], p.account.as_str());
    assert_eq!(c["client_id"], op.0.as_str());
    let v = introspect(&srv, &op, t["access_token"].as_str().unwrap()).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["act"], json!({"sub": op.0}));
    assert_eq!(v["account_sid"], p.account.as_str());
    let r = exchange(
        &srv,
        &op,
        &p.account,
        SID,
        &[("scope", "read"), ("requested_token_type", AT)],
    )
    .await;
    let (t, _) = issued(r).await;
    assert_eq!(t["scope"], "read");
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for(&p.account, 10)
        .await
        .unwrap();
    let ok: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "token-exchange" && e.outcome == "ok")
        .collect();
    assert_eq!(ok.len(), 2, "{audit:?}");
    assert_eq!(ok[0].actor, op.0);
    srv.shutdown().await;
}

#[tokio::test]
async fn exchanging_a_partner_token_nests_the_partner_as_prior_actor() {
    let srv = TestServer::start().await;
    let op = operator(&srv).await;
    let p = partner(&srv, json!({})).await;
    let subject = partner_token(&srv, &p, "read").await;
    let (t, c) = issued(exchange(&srv, &op, &subject, AT, &[]).await).await;
    assert_eq!(c["act"], json!({"sub": op.0, "act": {"sub": p.id}}));
    assert_eq!(c["act"]["act"]["sub"], p.id.as_str());
    assert_eq!(c["account_sid"], p.account.as_str());
    assert_eq!(c["sub"], p.account.as_str());
    assert_eq!(c["partner_user"], "agent-7", "kept from the subject token");
    assert_eq!(t["scope"], "read", "capped by the subject token");
    let v = introspect(&srv, &op, t["access_token"].as_str().unwrap()).await;
    assert_eq!(v["act"]["act"]["sub"], p.id.as_str());
    // A second exchange nests the chain one level deeper.
    let again = t["access_token"].as_str().unwrap();
    let (_, c2) = issued(exchange(&srv, &op, again, AT, &[]).await).await;
    assert_eq!(
        c2["act"],
        json!({"sub": op.0, "act": {"sub": op.0, "act": {"sub": p.id}}})
    );
    // The subject token's scope caps what may be asked for.
    let d = refused(
        exchange(&srv, &op, &subject, AT, &[("scope", "messages:send")]).await,
        "invalid_scope",
    )
    .await;
    assert!(d.contains("exceeds"), "{d}");
    srv.shutdown().await;
}

#[tokio::test]
async fn scopes_beyond_the_allowed_or_denied_for_the_account_are_refused() {
    let srv = TestServer::start().await;
    let op = operator(&srv).await;
    let p = partner(
        &srv,
        json!({"limits": {"denied_scopes": ["messages:send"]}}),
    )
    .await;
    for scope in [
        "numbers:manage",
        "surety:impersonate",
        "messages:send",
        "read messages:send",
    ] {
        let r = exchange(&srv, &op, &p.account, SID, &[("scope", scope)]).await;
        refused(r, "invalid_scope").await;
    }
    let r = exchange(&srv, &op, &p.account, SID, &[("scope", "bad\"scope")]).await;
    refused(r, "invalid_scope").await;
    // With no scope asked for, the denied scope is left out.
    let (t, _) = issued(exchange(&srv, &op, &p.account, SID, &[]).await).await;
    assert_eq!(t["scope"], "read");
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_suspended_or_invalid_subjects_are_refused_as_invalid_request() {
    let srv = TestServer::start().await;
    let op = operator(&srv).await;
    let p = partner(&srv, json!({})).await;
    let unknown = "AC00000000000000000000000000000000";
    let d = refused(
        exchange(&srv, &op, unknown, SID, &[]).await,
        "invalid_request",
    )
    .await;
    assert!(d.contains("may act on"), "{d}");
    refused(
        exchange(&srv, &op, "not-a-sid", SID, &[]).await,
        "invalid_request",
    )
    .await;
    for junk in ["not-a-token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let d = refused(exchange(&srv, &op, junk, AT, &[]).await, "invalid_request").await;
        assert!(d.contains("invalid, expired or revoked"), "{d}");
    }
    // An access token that is not about an account (the operator's own): the general
    // exchange, which this client's registration does not allow.
    let r = token_request(&srv, &op, &[("grant_type", "client_credentials")]).await;
    let own: Value = r.json().await.unwrap();
    let d = refused(
        exchange(&srv, &op, own["access_token"].as_str().unwrap(), AT, &[]).await,
        "unauthorized_client",
    )
    .await;
    assert!(d.contains("may not exchange end users' tokens"), "{d}");
    // A suspended account, by SID and through a token issued before the suspension.
    let subject = partner_token(&srv, &p, "read").await;
    let store = srv.provider().stores.accounts.clone();
    let mut acct = store.get_account(&p.account).await.unwrap();
    acct.status = surety::store::AccountStatus::Suspended;
    store.update_account(&acct).await.unwrap();
    for (token, ty) in [(p.account.as_str(), SID), (subject.as_str(), AT)] {
        let d = refused(exchange(&srv, &op, token, ty, &[]).await, "invalid_request").await;
        assert!(d.contains("not active"), "{d}");
    }
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for(&p.account, 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "token-exchange" && e.outcome.contains("not active")),
        "{audit:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn clients_without_impersonation_rights_are_unauthorized() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials", GT], "scope": "read"}))
        .await;
    let plain = (id, secret.unwrap());
    let d = refused(
        exchange(&srv, &plain, &p.account, SID, &[]).await,
        "unauthorized_client",
    )
    .await;
    assert!(d.contains("may not act"), "{d}");
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "surety:impersonate read"}))
        .await;
    let unregistered = (id, secret.unwrap());
    refused(
        exchange(&srv, &unregistered, &p.account, SID, &[]).await,
        "unauthorized_client",
    )
    .await;
    // Client authentication is required.
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", GT),
            ("subject_token", p.account.as_str()),
            ("subject_token_type", SID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for("-", 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "token-exchange" && e.actor == plain.0),
        "{audit:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let srv = TestServer::start().await;
    let op = operator(&srv).await;
    let p = partner(&srv, json!({})).await;
    let d = refused(
        exchange(
            &srv,
            &op,
            &p.account,
            "urn:ietf:params:oauth:token-type:jwt",
            &[],
        )
        .await,
        "invalid_request",
    )
    .await;
    assert_eq!(d, "unsupported subject_token_type");
    let cases: [&[(&str, &str)]; 3] = [
        &[("actor_token", "x"), ("actor_token_type", AT)],
        &[("actor_token_type", AT)],
        &[(
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:refresh_token",
        )],
    ];
    for extra in cases {
        let r = exchange(&srv, &op, &p.account, SID, extra).await;
        refused(r, "invalid_request").await;
    }
    let r = token_request(
        &srv,
        &op,
        &[("grant_type", GT), ("subject_token_type", SID)],
    )
    .await;
    assert!(
        refused(r, "invalid_request")
            .await
            .contains("subject_token")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partner_acts_only_on_its_own_accounts() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let other = partner(&srv, json!({"name": "Other"})).await;
    // The partner as a client, registered under its own id with a secret.
    let secret = "partner-client-secret-0123456789abcdef";
    srv.provider()
        .stores
        .clients
        .insert_client(&surety::store::ClientRecord {
            client_id: surety::store::ClientId::parse(&p.id).unwrap(),
            secret_hash: Some(surety::util::secret_hash(secret)),
            metadata: surety::store::ClientMetadata {
                grant_types: vec![GT.into()],
                token_endpoint_auth_method: "client_secret_basic".into(),
                scope: Some("read messages:send".into()),
                ..Default::default()
            },
            created_at: 0,
        })
        .await
        .unwrap();
    let me = (p.id.clone(), secret.to_owned());
    let (t, c) = issued(exchange(&srv, &me, &p.account, SID, &[]).await).await;
    assert_eq!(c["act"], json!({"sub": p.id}));
    assert_eq!(t["account_sid"], p.account.as_str());
    let (_, c) =
        issued(exchange(&srv, &me, &partner_token(&srv, &p, "read").await, AT, &[]).await).await;
    assert_eq!(c["act"], json!({"sub": p.id, "act": {"sub": p.id}}));
    // Another partner's account reads exactly like an unknown one.
    let foreign = refused(
        exchange(&srv, &me, &other.account, SID, &[]).await,
        "invalid_request",
    )
    .await;
    let unknown = refused(
        exchange(&srv, &me, "AC00000000000000000000000000000000", SID, &[]).await,
        "invalid_request",
    )
    .await;
    assert_eq!(foreign, unknown);
    let foreign_token = partner_token(&srv, &other, "read").await;
    let d = refused(
        exchange(&srv, &me, &foreign_token, AT, &[]).await,
        "invalid_request",
    )
    .await;
    assert_eq!(d, unknown);
    let audit = srv
        .provider()
        .stores
        .audit
        .events_for(&other.account, 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor == p.id && e.detail.contains("another partner")),
        "{audit:?}"
    );
    // Accounts created later are the partner's too.
    let second = account(&srv, &p.id).await;
    issued(exchange(&srv, &me, &second, SID, &[]).await).await;
    srv.shutdown().await;
}

/// Exchanges as the partner itself, authenticating with its own key (`private_key_jwt`).
async fn exchange_as_partner(
    srv: &TestServer,
    p: &Partner,
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    let c = json!({"iss": p.id, "sub": p.id, "aud": srv.url("/token"), "exp": now + 60, "jti": random_hex16()});
    let assertion = jws::sign(&p.signer, Alg::ES256, "p1", "JWT", &c).unwrap();
    let mut form = vec![
        ("grant_type", GT),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &assertion),
    ];
    form.extend_from_slice(extra);
    srv.api
        .post(srv.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partner_authenticating_with_its_own_key_exchanges_for_its_accounts() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let other = partner(&srv, json!({"name": "Other"})).await;
    let subject = partner_token(&srv, &p, "read").await;
    let (t, c) = issued(exchange_as_partner(&srv, &p, &subject, AT, &[]).await).await;
    assert_eq!(c["act"], json!({"sub": p.id, "act": {"sub": p.id}}));
    assert_eq!(t["scope"], "read");
    let (t, _) = issued(exchange_as_partner(&srv, &p, &p.account, SID, &[]).await).await;
    assert!(
        !t["scope"].as_str().unwrap().contains("partner:api"),
        "the Partner API scope is never delegated to an account"
    );
    let d = refused(
        exchange_as_partner(&srv, &p, &other.account, SID, &[]).await,
        "invalid_request",
    )
    .await;
    assert!(d.contains("may act on"), "{d}");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partner_naming_a_bare_account_sid_gets_the_permissions_its_limits_allow() {
    let srv = TestServer::start().await;
    let p = partner(
        &srv,
        json!({"limits": {"denied_scopes": ["numbers:manage"]}}),
    )
    .await;
    let (t, c) = issued(exchange_as_partner(&srv, &p, &p.account, SID, &[]).await).await;
    assert_eq!(t["scope"], "callerids:all calls:write messages:send read");
    assert_eq!(c["scope"], t["scope"]);
    let (t, _) =
        issued(exchange_as_partner(&srv, &p, &p.account, SID, &[("scope", "read")]).await).await;
    assert_eq!(t["scope"], "read");
    for beyond in [
        "numbers:manage",
        "read partner:api",
        "read admin:everything",
    ] {
        let r = exchange_as_partner(&srv, &p, &p.account, SID, &[("scope", beyond)]).await;
        refused(r, "invalid_scope").await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn discovery_lists_the_token_exchange_grant() {
    let srv = TestServer::start().await;
    let v: Value = srv
        .api
        .get(srv.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = v["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&GT.into()), "{grants:?}");
    srv.shutdown().await;
}
