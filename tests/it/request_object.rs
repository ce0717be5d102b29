//! Signed request objects by value (RFC 9101): at `/authorize` and at PAR, verified with
//! the client's registered keys; their parameters win; every defect is
//! `invalid_request_object` at the client's redirect URI; `require_signed_request_object`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

/// A client's signing key with its `kid`.
pub(crate) struct ClientKey {
    pub(crate) signer: Signer,
    pub(crate) alg: Alg,
    pub(crate) kid: String,
}

impl ClientKey {
    pub(crate) fn new(alg: Alg, kid: &str) -> Self {
        let (signer, _) = Signer::generate(alg).unwrap();
        Self {
            signer,
            alg,
            kid: kid.into(),
        }
    }

    pub(crate) fn jwk(&self) -> Value {
        let mut jwk = self.signer.public_jwk();
        jwk["kid"] = json!(self.kid);
        jwk
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        jws::sign(
            &self.signer,
            self.alg,
            &self.kid,
            "oauth-authz-req+jwt",
            claims,
        )
        .unwrap()
    }

    /// A `private_key_jwt` client assertion for `client` at `srv`, living `ttl` seconds.
    pub(crate) fn assertion(&self, srv: &TestServer, client: &str, ttl: i64) -> String {
        let now = now();
        let claims = json!({"iss": client, "sub": client, "aud": srv.base,
                            "jti": random_hex16(), "iat": now, "exp": now + ttl});
        jws::sign(&self.signer, self.alg, &self.kid, "JWT", &claims).unwrap()
    }
}

pub(crate) fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
}

/// The claims of a good request object for `client` (PKCE `challenge`).
pub(crate) fn object_claims(srv: &TestServer, client: &str, challenge: &str) -> Value {
    json!({
        "iss": client, "aud": srv.base, "exp": now() + 300, "nbf": now() - 5,
        "jti": random_hex16(), "client_id": client,
        "response_type": "code", "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid profile", "state": "inner", "nonce": "n",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
}

async fn client_with(srv: &TestServer, key: &ClientKey, extra: Value) -> (String, String) {
    let mut m = json!({
        "redirect_uris": ["http://127.0.0.1:9/cb"],
        "grant_types": ["authorization_code"],
        "jwks": {"keys": [key.jwk()]},
    });
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let (id, secret) = srv.client(m).await;
    (id, secret.unwrap())
}

/// `/authorize` with the outer `client_id`, `state=outer` and `request`.
fn with_object(srv: &TestServer, client: &str, request: &str) -> String {
    surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[
            ("client_id", client),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "outer"),
            ("request", request),
        ],
    )
}

async fn refused_with(srv: &TestServer, url: &str) -> (String, Option<String>) {
    let r = srv.browser.get(url).send().await.unwrap();
    assert!(r.status().is_redirection(), "{url}");
    let loc = location(&r);
    assert!(loc.starts_with("http://127.0.0.1:9/cb?"), "{loc}");
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(srv.base.as_str()));
    (
        query_param(&loc, "error").unwrap_or_default(),
        query_param(&loc, "state"),
    )
}

#[tokio::test]
async fn a_signed_request_objects_parameters_win_and_the_code_redeems() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    for alg in [Alg::ES256, Alg::PS256, Alg::EdDSA, Alg::RS256] {
        let key = ClientKey::new(alg, "k1");
        let c = client_with(&srv, &key, json!({})).await;
        let (verifier, challenge) = pkce();
        let object = key.sign(&object_claims(&srv, &c.0, &challenge));
        let cb = authorize(&srv, &browser(), &with_object(&srv, &c.0, &object), "alice").await;
        assert_eq!(
            query_param(&cb, "state").as_deref(),
            Some("inner"),
            "{alg:?}"
        );
        let code = query_param(&cb, "code").unwrap();
        let r = token_request(
            &srv,
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(
            t["scope"], "openid profile",
            "the object's scope, not the query's"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn defective_request_objects_are_invalid_request_object() {
    let srv = TestServer::start().await;
    let key = ClientKey::new(Alg::ES256, "k1");
    let c = client_with(&srv, &key, json!({})).await;
    let other = ClientKey::new(Alg::ES256, "k1");
    let (_, challenge) = pkce();
    let good = object_claims(&srv, &c.0, &challenge);
    let with = |k: &str, v: Value| {
        let mut claims = good.clone();
        claims[k] = v;
        key.sign(&claims)
    };
    let none = format!(
        "{}.{}.",
        surety::util::b64(br#"{"alg":"none"}"#),
        surety::util::b64(good.to_string().as_bytes())
    );
    let hs = jws::sign_hs256(&[7u8; 32], Some("k1"), &good);
    let cases = [
        ("unsigned", none),
        ("HS256", hs),
        ("another key", other.sign(&good)),
        ("expired", with("exp", json!(now() - 120))),
        ("too long", with("exp", json!(now() + 7200))),
        ("no exp", with("exp", Value::Null)),
        ("not yet", with("nbf", json!(now() + 600))),
        ("aud", with("aud", json!("https://elsewhere.example"))),
        ("iss", with("iss", json!("someone-else"))),
        ("client_id", with("client_id", json!("someone-else"))),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (why, object) in cases {
        let (error, state) = refused_with(&srv, &with_object(&srv, &c.0, &object)).await;
        assert_eq!(error, "invalid_request_object", "{why}");
        assert_eq!(state.as_deref(), Some("outer"), "{why}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_request_objects_jti_is_used_once_on_every_node() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let key = ClientKey::new(Alg::ES256, "k1");
        let c = client_with(&srv, &key, json!({})).await;
        let (_, challenge) = pkce();
        let object = key.sign(&object_claims(&srv, &c.0, &challenge));
        let url = with_object(&srv, &c.0, &object);
        let first = srv.browser.get(&url).send().await.unwrap();
        assert!(location(&first).starts_with("/login"), "{backend:?}");
        let (error, _) = refused_with(&srv, &url).await;
        assert_eq!(error, "invalid_request_object", "{backend:?}");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_registered_alg_is_the_only_one_accepted() {
    let srv = TestServer::start().await;
    let rsa = ClientKey::new(Alg::RS256, "r1");
    let c = client_with(&srv, &rsa, json!({"request_object_signing_alg": "ES256"})).await;
    let (_, challenge) = pkce();
    let object = rsa.sign(&object_claims(&srv, &c.0, &challenge));
    let (error, _) = refused_with(&srv, &with_object(&srv, &c.0, &object)).await;
    assert_eq!(error, "invalid_request_object");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_client_that_requires_signed_objects_is_refused_without_one() {
    let srv = TestServer::start().await;
    let key = ClientKey::new(Alg::EdDSA, "k1");
    let c = client_with(&srv, &key, json!({"require_signed_request_object": true})).await;
    let got: Value = srv
        .api
        .get(srv.url(&format!("/admin/clients/{}", c.0)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["require_signed_request_object"], true);
    let (plain, _) = authorize_url(&srv, &c.0, &[]);
    let (error, state) = refused_with(&srv, &plain).await;
    assert_eq!(
        (error.as_str(), state.as_deref()),
        ("invalid_request", Some("st4te"))
    );
    // Pushed without an object: refused at PAR too.
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("response_type", "code"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    // Pushed with one: its parameters are what the authorization endpoint uses.
    let (_, challenge) = pkce();
    let object = key.sign(&object_claims(&srv, &c.0, &challenge));
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("request", object.as_str()), ("state", "outer")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let uri = r.json::<Value>().await.unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[("client_id", c.0.as_str()), ("request_uri", &uri)],
    );
    let first = srv.browser.get(&url).send().await.unwrap();
    assert!(location(&first).starts_with("/login"), "accepted");
    // The object's jti was used at PAR: pushing it again is a replay.
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("request", object.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request_object");
    srv.shutdown().await;
}

#[tokio::test]
async fn discovery_advertises_request_objects_and_form_post() {
    let srv = TestServer::start().await;
    let d: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["request_parameter_supported"], true);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(
        d["request_object_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    assert_eq!(d["response_modes_supported"], json!(["query", "form_post"]));
    assert_eq!(d["require_pushed_authorization_requests"], false);
    let algs = d["token_endpoint_auth_signing_alg_values_supported"].to_string();
    assert!(algs.contains("PS256"), "{algs}");
    srv.shutdown().await;
}
