//! Dynamic client registration (RFC 7591): off by default; initial access tokens and
//! their policies; open registration; software statements; redirect URI rules; unknown
//! metadata; the per-address and body-size limits. Managing a registration (RFC 7592):
//! `registration_management`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::config::{RegistrationMode, Settings, TrustedIssuer};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

pub(crate) const CB: &str = "http://127.0.0.1:9/cb";

pub(crate) fn with_registration(backend: &Backend, mode: RegistrationMode) -> Settings {
    let mut s = settings_for(backend);
    s.registration = mode;
    s
}

/// Mints an initial access token with `policy` through the admin API; its JSON.
pub(crate) async fn mint(srv: &TestServer, policy: Value) -> Value {
    let r = srv
        .api
        .post(srv.url("/admin/initial-access-tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{policy}");
    r.json().await.unwrap()
}

pub(crate) async fn register(
    srv: &TestServer,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = srv.api.post(srv.url("/register")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// A registration that must succeed: the client information response.
pub(crate) async fn registered(srv: &TestServer, token: Option<&str>, body: Value) -> Value {
    let r = register(srv, token, body.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{body}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

/// The status and `error` of a refusal.
pub(crate) async fn refusal(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    (status, v["error"].as_str().unwrap_or_default().to_owned())
}

async fn discovery(srv: &TestServer) -> Value {
    let r = srv.api.get(srv.url("/.well-known/openid-configuration"));
    r.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn registration_is_off_by_default_and_not_advertised() {
    let srv = TestServer::start().await;
    let d = discovery(&srv).await;
    assert!(d.get("registration_endpoint").is_none());
    assert!(d.get("client_id_metadata_document_supported").is_none());
    let r = register(&srv, None, json!({"redirect_uris": [CB]})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    srv.shutdown().await;
}

#[tokio::test]
async fn without_open_registration_an_initial_access_token_is_needed() {
    for backend in all_backends().await {
        let srv =
            TestServer::start_with(with_registration(&backend, RegistrationMode::Token)).await;
        assert_eq!(
            discovery(&srv).await["registration_endpoint"],
            srv.url("/register")
        );
        for token in [None, Some("not-a-token")] {
            let r = register(&srv, token, json!({"redirect_uris": [CB]})).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\""),
                "{challenge}"
            );
            assert_eq!(refusal(r).await.1, "invalid_token");
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_initial_access_token_policy_allows_and_refuses() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = TestServer::start_with_clock(
            with_registration(&backend, RegistrationMode::Token),
            clock.clone(),
        )
        .await;
        let t = mint(
            &srv,
            json!({
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid profile",
                "redirect_uris": ["https://*.rp.example/cb", "http://127.0.0.1:*/cb"],
                "expires_in": 600,
                "description": "onboarding"
            }),
        )
        .await;
        let token = t["token"].as_str().unwrap().to_owned();
        assert!(t["id"].as_str().unwrap().starts_with("iat_"));

        let c = registered(
            &srv,
            Some(&token),
            json!({
                "client_name": "Shop", "redirect_uris": ["https://shop.rp.example/cb", CB],
                "grant_types": ["authorization_code", "refresh_token"]
            }),
        )
        .await;
        assert!(c["client_secret"].as_str().unwrap().len() >= 32);
        assert_eq!(c["client_secret_expires_at"], 0);
        assert!(c["client_id_issued_at"].as_i64().unwrap() > 0);
        assert_eq!(
            c["scope"], "openid profile",
            "the policy's scope by default"
        );
        assert_eq!(c["token_endpoint_auth_method"], "client_secret_basic");
        let id = c["client_id"].as_str().unwrap();
        assert_eq!(
            c["registration_client_uri"],
            srv.url(&format!("/register/{id}"))
        );
        assert!(c["registration_access_token"].as_str().unwrap().len() >= 32);

        let refused = [
            (
                json!({"redirect_uris": [CB], "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": [CB], "scope": "openid email"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://evil.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://a.b.rp.example/cb"]}),
                "invalid_redirect_uri",
            ),
        ];
        for (body, code) in refused {
            let r = register(&srv, Some(&token), body.clone()).await;
            assert_eq!(
                refusal(r).await,
                (StatusCode::BAD_REQUEST, code.to_owned()),
                "{body}"
            );
        }

        // Listed without the token itself; revoked and expired tokens are refused.
        let list: Value = srv
            .api
            .get(srv.url("/admin/initial-access-tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["tokens"][0]["id"], t["id"]);
        assert!(list["tokens"][0].get("token").is_none());
        assert_eq!(
            list["tokens"][0]["redirect_uris"][0],
            "https://*.rp.example/cb"
        );
        let other = mint(&srv, json!({"expires_in": 60})).await;
        let r = srv
            .api
            .delete(srv.url(&format!(
                "/admin/initial-access-tokens/{}",
                other["id"].as_str().unwrap()
            )))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = register(
            &srv,
            other["token"].as_str(),
            json!({"redirect_uris": [CB]}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked");
        clock.advance(601);
        let r = register(&srv, Some(&token), json!({"redirect_uris": [CB]})).await;
        assert_eq!(
            refusal(r).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "expired"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn minting_checks_the_policy() {
    let srv = TestServer::start().await;
    for (body, field) in [
        (json!({"grant_types": ["password"]}), "grant_types"),
        (
            json!({"redirect_uris": ["ftp://*.example/cb"]}),
            "redirect_uris",
        ),
        (json!({"expires_in": 10}), "expires_in"),
        (json!({"scope": "a\"b"}), "scope"),
    ] {
        let r = srv
            .api
            .post(srv.url("/admin/initial-access-tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["field"], field, "{body}");
    }
    let r = srv
        .api
        .post(srv.url("/admin/initial-access-tokens"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let doc: Value = srv
        .api
        .get(srv.url("/admin/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/admin/initial-access-tokens",
        "/admin/initial-access-tokens/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn open_registration_by_configuration_keeps_to_the_open_policy() {
    let srv = TestServer::start_with(with_registration(
        &Backend::Embedded,
        RegistrationMode::Open,
    ))
    .await;
    let c = registered(
        &srv,
        None,
        json!({"redirect_uris": [CB], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert!(
        c.get("client_secret").is_none(),
        "a public client has no secret"
    );
    assert!(c.get("client_secret_expires_at").is_none());
    for grants in [
        json!(["client_credentials"]),
        json!(["urn:ietf:params:oauth:grant-type:token-exchange"]),
    ] {
        let r = register(
            &srv,
            None,
            json!({"redirect_uris": [CB], "grant_types": grants}),
        )
        .await;
        assert_eq!(
            refusal(r).await,
            (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
        );
    }
    // A token sent anyway must be valid, and its policy applies.
    let r = register(&srv, Some("bogus"), json!({"redirect_uris": [CB]})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
}

#[tokio::test]
async fn redirect_uris_follow_rfc8252_and_the_security_bcp() {
    let srv = TestServer::start_with(with_registration(
        &Backend::Embedded,
        RegistrationMode::Open,
    ))
    .await;
    for bad in [
        "https://rp.example/cb#frag",
        "http://rp.example/cb",
        "javascript:alert(1)",
        "myapp:/cb",
        "https://",
    ] {
        let r = register(&srv, None, json!({"redirect_uris": [bad]})).await;
        assert_eq!(
            refusal(r).await,
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri".into()),
            "{bad}"
        );
    }
    for ok in [
        "http://127.0.0.1:51004/cb",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
        "com.example.app:/oauth2redirect",
        "https://rp.example/cb",
    ] {
        registered(
            &srv,
            None,
            json!({"redirect_uris": [ok], "token_endpoint_auth_method": "none"}),
        )
        .await;
    }
    // What the server would contact must be public: no pointing it at its own network.
    for (field, url) in [
        ("jwks_uri", "https://127.0.0.1/jwks"),
        ("jwks_uri", "http://localhost:8080/jwks"),
        ("backchannel_logout_uri", "https://169.254.169.254/latest"),
    ] {
        let r = register(&srv, None, json!({"redirect_uris": [CB], field: url})).await;
        assert_eq!(
            refusal(r).await,
            (StatusCode::BAD_REQUEST, "invalid_client_metadata".into()),
            "{field} {url}"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_metadata_is_ignored_at_registration_and_named_at_the_admin_api() {
    let srv = TestServer::start_with(with_registration(
        &Backend::Embedded,
        RegistrationMode::Open,
    ))
    .await;
    let c = registered(&srv, None, json!({
        "redirect_uris": [CB], "logo_uri": "https://rp.example/logo.png",
        "application_type": "web", "x_vendor_extension": {"a": [1, 2]},
        "software_id": "4NRB1-0XZABZI9E6-5SM3R", "software_version": "2.1",
        "backchannel_logout_uri": "https://rp.example/bc", "request_object_signing_alg": "ES256",
        "require_pushed_authorization_requests": true, "subject_type": "pairwise"
    }))
    .await;
    assert_eq!(c["subject_type"], "pairwise");
    // The pairwise rule holds here too: redirect URIs on two hosts need a sector.
    let r = register(
        &srv,
        None,
        json!({"redirect_uris": [CB, "https://rp.example/cb"], "subject_type": "pairwise"}),
    )
    .await;
    assert_eq!(
        refusal(r).await,
        (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
    );
    for ignored in [
        "x_vendor_extension",
        "logo_uri",
        "application_type",
        "software_id",
    ] {
        assert!(c.get(ignored).is_none(), "{ignored}");
    }
    assert_eq!(c["backchannel_logout_uri"], "https://rp.example/bc");
    assert_eq!(c["require_pushed_authorization_requests"], true);
    // A known member of the wrong type is still refused, named.
    let r = register(&srv, None, json!({"redirect_uris": CB})).await;
    assert_eq!(
        refusal(r).await,
        (StatusCode::BAD_REQUEST, "invalid_redirect_uri".into())
    );
    let r = srv
        .api
        .post(srv.url("/admin/clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"redirect_uris": [CB], "x_vendor_extension": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("unknown field `x_vendor_extension`"),
        "{v}"
    );
    // Every standard field Surety implements is accepted by the admin API too.
    let r = srv
        .api
        .post(srv.url("/admin/clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"redirect_uris": [CB], "backchannel_logout_uri": "https://rp.example/bc",
                      "require_pushed_authorization_requests": true,
                      "request_object_signing_alg": "ES256"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    srv.shutdown().await;
}

/// A software statement issuer: its key and the settings trusting it.
struct Issuer {
    signer: Signer,
    name: &'static str,
}

impl Issuer {
    fn new(name: &'static str) -> Self {
        Self {
            signer: Signer::generate(Alg::ES256).unwrap().0,
            name,
        }
    }
    fn trusted(&self) -> TrustedIssuer {
        let mut jwk = self.signer.public_jwk();
        jwk["kid"] = json!("ss1");
        TrustedIssuer {
            issuer: self.name.into(),
            jwks: Some(json!({"keys": [jwk]})),
            jwks_uri: None,
        }
    }
    fn statement(&self, claims: Value) -> String {
        let mut c = claims;
        c["iss"] = json!(self.name);
        jws::sign(&self.signer, Alg::ES256, "ss1", "JWT", &c).unwrap()
    }
}

#[tokio::test]
async fn software_statements_win_when_trusted_and_valid() {
    let ca = Issuer::new("https://ca.example");
    for backend in all_backends().await {
        let mut s = with_registration(&backend, RegistrationMode::Open);
        s.software_statement_issuers = vec![ca.trusted()];
        let srv = TestServer::start_with(s).await;
        let now = surety::clock::Clock::now(&surety::clock::SystemClock);
        let good = ca.statement(
            json!({"software_id": "acme-mail", "client_name": "Acme Mail",
                                       "redirect_uris": [CB], "iat": now, "exp": now + 600}),
        );
        let c = registered(
            &srv,
            None,
            json!({"software_statement": good, "client_name": "Spoofed",
                                               "redirect_uris": ["http://127.0.0.1:9/other"]}),
        )
        .await;
        assert_eq!(c["client_name"], "Acme Mail");
        assert_eq!(
            c["redirect_uris"],
            json!([CB]),
            "the statement's claims win"
        );
        assert_eq!(c["software_statement"], good, "returned unmodified");
        assert!(c.get("iss").is_none(), "JWT claims are not metadata");

        let rogue = Issuer::new("https://rogue.example");
        let impostor = Issuer {
            signer: Signer::generate(Alg::ES256).unwrap().0,
            name: ca.name,
        };
        let cases = [
            (
                rogue.statement(json!({"software_id": "x"})),
                "unapproved_software_statement",
            ),
            (
                impostor.statement(json!({"software_id": "x"})),
                "invalid_software_statement",
            ),
            (
                ca.statement(json!({"software_id": "x", "exp": now - 3600})),
                "invalid_software_statement",
            ),
            ("not.a.jwt".to_owned(), "invalid_software_statement"),
        ];
        for (statement, code) in cases {
            let r = register(
                &srv,
                None,
                json!({"software_statement": statement, "redirect_uris": [CB]}),
            )
            .await;
            assert_eq!(
                refusal(r).await,
                (StatusCode::BAD_REQUEST, code.to_owned()),
                "{statement}"
            );
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_in_size() {
    let mut s = with_registration(&Backend::Embedded, RegistrationMode::Open);
    s.registration_max_per_address = 2;
    let srv = TestServer::start_with(s).await;
    for _ in 0..2 {
        registered(&srv, None, json!({"redirect_uris": [CB]})).await;
    }
    let r = register(&srv, None, json!({"redirect_uris": [CB]})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    srv.shutdown().await;

    let srv = TestServer::start_with(with_registration(
        &Backend::Embedded,
        RegistrationMode::Open,
    ))
    .await;
    let big = json!({"redirect_uris": [CB], "client_name": "x".repeat(100 * 1024)});
    let r = register(&srv, None, big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = srv
        .api
        .post(srv.url("/register"))
        .body("redirect_uris=x")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refusal(r).await,
        (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
    );
    srv.shutdown().await;
}
