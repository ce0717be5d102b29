//! RFC 8693 token exchange on end users' tokens, for any client its registration allows:
//! impersonation (no actor_token) and delegation (`act` names the actor, nested),
//! scope only narrowing, `aud` from `audience`/`resource` among the client's audiences
//! (`invalid_target` otherwise), §2.2.2 error codes, the subject's grant revoking the
//! new token, and an audit line per exchange.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::helpers::*;

const GT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const API: &str = "https://api.example/orders";

/// A web client that may exchange its users' tokens, as `policy` says.
async fn service(srv: &TestServer, policy: Value) -> (String, String) {
    let (id, secret) = srv
        .client(json!({
            "client_name": "Orders front end",
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "grant_types": ["authorization_code", "refresh_token", GT],
            "token_exchange": policy,
        }))
        .await;
    (id, secret.unwrap())
}

async fn exchange(
    srv: &TestServer,
    c: &(String, String),
    subject: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", GT),
        ("subject_token", subject),
        ("subject_token_type", AT),
    ];
    form.extend_from_slice(extra);
    token_request(srv, c, &form).await
}

async fn issued(r: reqwest::Response) -> (Value, Value) {
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["issued_token_type"], AT);
    let c = jws::peek(t["access_token"].as_str().unwrap()).unwrap().1;
    (t, Value::Object(c))
}

async fn refused(r: reqwest::Response, code: &str) -> String {
    let (status, got) = (r.status(), r.json::<Value>().await.unwrap());
    assert_eq!(
        (status, got["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(code)),
        "{got}"
    );
    got["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// [`tokens`] in another browser (another user's session).
async fn tokens_in(
    srv: &TestServer,
    b: &reqwest::Client,
    c: &(String, String),
    username: &str,
) -> Value {
    let (url, verifier) = authorize_url(srv, &c.0, &[]);
    let code = query_param(&authorize(srv, b, &url, username).await, "code").unwrap();
    let r = token_request(
        srv,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_client_exchanges_its_users_token_for_a_narrower_one_for_another_audience() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let r = srv
            .api
            .post(srv.url("/admin/resource-servers"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"uri": API, "name": "Orders", "scopes": ["orders:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let alice = srv.user("alice").await;
        let w = service(&srv, json!({"audiences": [API], "impersonation": true})).await;
        let t = tokens(&srv, &w, "alice").await;
        let subject = t["access_token"].as_str().unwrap();
        let (resp, c) =
            issued(exchange(&srv, &w, subject, &[("scope", "openid"), ("audience", API)]).await)
                .await;
        assert_eq!(resp["scope"], "openid");
        assert_eq!(
            (c["sub"].as_str(), c["aud"].as_str()),
            (Some(alice.as_str()), Some(API))
        );
        assert_eq!(c["client_id"], w.0.as_str());
        assert!(c.get("act").is_none(), "impersonation names no actor: {c}");
        // `resource` works the same; the default audience is the issuer.
        let (_, c) = issued(exchange(&srv, &w, subject, &[("resource", API)]).await).await;
        assert_eq!(c["aud"], API);
        let (_, c) = issued(exchange(&srv, &w, subject, &[]).await).await;
        assert_eq!(c["aud"], srv.running.issuer.as_str());
        // Never wider, never elsewhere.
        refused(
            exchange(&srv, &w, subject, &[("scope", "openid offline_access")]).await,
            "invalid_scope",
        )
        .await;
        refused(
            exchange(&srv, &w, subject, &[("audience", "https://other.example/")]).await,
            "invalid_target",
        )
        .await;
        refused(
            exchange(&srv, &w, subject, &[("resource", "not a uri")]).await,
            "invalid_target",
        )
        .await;
        refused(
            exchange(&srv, &w, subject, &[("resource", "https://api.example/#x")]).await,
            "invalid_target",
        )
        .await;
        // The exchange is audited under the user.
        let audit = srv
            .provider()
            .stores
            .audit
            .events_for(&alice, 10)
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "token-exchange" && e.outcome == "ok" && e.actor == w.0)
        );
        // Revoking the user's grant revokes what was exchanged from it.
        let derived = exchange(&srv, &w, subject, &[])
            .await
            .json::<Value>()
            .await
            .unwrap();
        let derived = derived["access_token"].as_str().unwrap().to_owned();
        assert!(active(&srv, &w, &derived).await);
        let r = srv
            .api
            .post(srv.url("/revoke"))
            .basic_auth(&w.0, Some(&w.1))
            .form(&[("token", t["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!active(&srv, &w, &derived).await, "{backend:?}");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_actor_token_makes_a_delegation_with_nested_actors() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let bob = srv.user("bob").await;
        let w = service(&srv, json!({"audiences": [API], "delegation": true})).await;
        let subject = tokens(&srv, &w, "alice").await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // Impersonation is not allowed to this client.
        let d = refused(exchange(&srv, &w, &subject, &[]).await, "invalid_request").await;
        assert!(d.contains("impersonate"), "{d}");
        // A service acts for Alice: its client_credentials token is the actor token.
        let (svc, svc_secret) = srv
            .client(json!({"grant_types": ["client_credentials"], "scope": "read"}))
            .await;
        let svc = (svc, svc_secret.unwrap());
        let r = token_request(&srv, &svc, &[("grant_type", "client_credentials")]).await;
        let actor = r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, c) = issued(
            exchange(
                &srv,
                &w,
                &subject,
                &[("actor_token", &actor), ("actor_token_type", AT)],
            )
            .await,
        )
        .await;
        assert_eq!(c["act"], json!({"sub": svc.0}));
        // Exchanged again with Bob's ID token as the actor: Bob on top, the service nested.
        let bob_id = tokens_in(&srv, &browser(), &w, "bob").await["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let first = exchange(
            &srv,
            &w,
            &subject,
            &[("actor_token", &actor), ("actor_token_type", AT)],
        )
        .await;
        let first = first.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, c) = issued(
            exchange(
                &srv,
                &w,
                &first,
                &[("actor_token", &bob_id), ("actor_token_type", ID)],
            )
            .await,
        )
        .await;
        assert_eq!(c["act"], json!({"sub": bob, "act": {"sub": svc.0}}));
        // §2.2.2: bad actor tokens and half-sent pairs are invalid_request.
        for extra in [
            vec![("actor_token", "junk"), ("actor_token_type", AT)],
            vec![("actor_token", actor.as_str())],
            vec![("actor_token_type", AT)],
            vec![
                ("actor_token", actor.as_str()),
                ("actor_token_type", "urn:x"),
            ],
        ] {
            refused(
                exchange(&srv, &w, &subject, &extra).await,
                "invalid_request",
            )
            .await;
        }
        let r = token_request(&srv, &w, &[("grant_type", GT), ("subject_token", &subject)]).await;
        assert!(
            refused(r, "invalid_request")
                .await
                .contains("subject_token_type")
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn only_the_client_a_token_was_issued_to_and_that_is_allowed_may_exchange_it() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let w = service(&srv, json!({"impersonation": true})).await;
        let subject = tokens(&srv, &w, "alice").await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // Another allowed client: the token was not issued to or for it.
        let other = service(&srv, json!({"impersonation": true})).await;
        let d = refused(
            exchange(&srv, &other, &subject, &[]).await,
            "invalid_request",
        )
        .await;
        assert!(d.contains("not issued to or for this client"), "{d}");
        // A client registered for the grant without a token_exchange policy.
        let (id, secret) = srv
            .client(json!({"grant_types": ["client_credentials", GT], "scope": "read"}))
            .await;
        refused(
            exchange(&srv, &(id, secret.unwrap()), &subject, &[]).await,
            "unauthorized_client",
        )
        .await;
        // A policy needs the grant type at registration.
        let r = srv
            .api
            .post(srv.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_exchange": {"impersonation": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        srv.shutdown().await;
    }
}
