//! DPoP (RFC 9449) at the token endpoint, on both backends: the code flow and refresh of
//! a public client (bound refresh tokens), `dpop_jkt` (§10), client_credentials for a
//! client registered with `dpop_bound_access_tokens` (nonce round trip, §8), the
//! partners' jwt-bearer grant, invalid proofs, and a proof replayed at another node.
//! Resources (UserInfo, the reference API, step-up) are in `dpop::resources`.

mod par;
mod resources;

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};
use surety::oauth::dpop::{access_token_hash, thumbprint};

use crate::helpers::*;

/// A client's DPoP key.
pub(crate) struct DpopKey {
    signer: Signer,
    jwk: Value,
    pub(crate) jkt: String,
}

impl DpopKey {
    pub(crate) fn new(alg: Alg) -> Self {
        let (signer, _) = Signer::generate(alg).unwrap();
        let jwk = signer.public_jwk();
        let jkt = thumbprint(&jwk).unwrap();
        Self { signer, jwk, jkt }
    }

    /// A proof for `htm` `htu`, for `token` (ath) and with `nonce` when given.
    pub(crate) fn proof(
        &self,
        htm: &str,
        htu: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let alg = self.jwk["alg"].as_str().unwrap();
        let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": self.jwk});
        let now = surety::clock::Clock::now(&surety::clock::SystemClock);
        let mut claims = json!({"jti": random_hex16(), "htm": htm, "htu": htu, "iat": now});
        if let Some(t) = token {
            claims["ath"] = json!(access_token_hash(t));
        }
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        jws::sign_with_header(&self.signer, &header, &claims).unwrap()
    }

    /// A proof for the token endpoint of `srv`.
    pub(crate) fn token_proof(&self, srv: &TestServer, nonce: Option<&str>) -> String {
        self.proof(
            "POST",
            &format!("{}/token", srv.running.issuer),
            None,
            nonce,
        )
    }
}

/// The claims of a JWT (unverified: the server's own tests check signatures).
pub(crate) fn claims_of(jwt: &str) -> Value {
    Value::Object(jws::peek(jwt).unwrap().1)
}

/// POSTs `form` to `/token` with `proof` as the DPoP header and Basic auth if given.
pub(crate) async fn token_with(
    srv: &TestServer,
    basic: Option<&(String, String)>,
    proof: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut rb = srv.api.post(srv.url("/token")).form(form);
    if let Some(c) = basic {
        rb = rb.basic_auth(&c.0, Some(&c.1));
    }
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

/// A public client with the code and refresh grants.
pub(crate) async fn public_client(srv: &TestServer) -> String {
    srv.client(json!({
        "redirect_uris": ["http://127.0.0.1:9/cb"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    }))
    .await
    .0
}

/// Runs the code flow for `client` (extra authorization parameters `extra`); returns the
/// code and the PKCE verifier.
pub(crate) async fn code(
    srv: &TestServer,
    client: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (url, verifier) = authorize_url(srv, client, extra);
    let cb = authorize(srv, &browser(), &url, "alice").await;
    (query_param(&cb, "code").expect("code"), verifier)
}

pub(crate) async fn redeem(
    srv: &TestServer,
    client: &str,
    code: &str,
    verifier: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", verifier),
    ];
    token_with(srv, None, proof, &form).await
}

async fn refresh(
    srv: &TestServer,
    client: &str,
    rt: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", rt),
    ];
    token_with(srv, None, proof, &form).await
}

#[tokio::test]
async fn a_public_clients_tokens_and_refresh_tokens_are_bound_to_its_key() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let client = public_client(&srv).await;
        let key = DpopKey::new(Alg::ES256);
        let (c, v) = code(&srv, &client, &[]).await;
        let r = redeem(&srv, &client, &c, &v, Some(&key.token_proof(&srv, None))).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("dpop-nonce"));
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["token_type"], "DPoP");
        let at = t["access_token"].as_str().unwrap();
        assert_eq!(claims_of(at)["cnf"], json!({"jkt": key.jkt}));
        let rt = t["refresh_token"].as_str().unwrap();
        // Another key, or none: invalid_grant, and the token is not spent.
        let other = DpopKey::new(Alg::EdDSA);
        let r = refresh(&srv, &client, rt, Some(&other.token_proof(&srv, None))).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_grant".into())
        );
        let r = refresh(&srv, &client, rt, None).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_grant".into())
        );
        let r = refresh(&srv, &client, rt, Some(&key.token_proof(&srv, None))).await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["token_type"], "DPoP");
        assert_eq!(
            claims_of(t["access_token"].as_str().unwrap())["cnf"]["jkt"],
            key.jkt
        );
        // The successor keeps the binding.
        let next = t["refresh_token"].as_str().unwrap();
        let r = refresh(&srv, &client, next, Some(&other.token_proof(&srv, None))).await;
        assert_eq!(error_of(r).await.1, "invalid_grant");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_at_authorize_and_at_par() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let client = public_client(&srv).await;
    let (a, b) = (DpopKey::new(Alg::ES256), DpopKey::new(Alg::ES256));
    let (c, v) = code(&srv, &client, &[("dpop_jkt", &a.jkt)]).await;
    let r = redeem(&srv, &client, &c, &v, Some(&b.token_proof(&srv, None))).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let (c, v) = code(&srv, &client, &[("dpop_jkt", &a.jkt)]).await;
    let r = redeem(&srv, &client, &c, &v, None).await;
    assert_eq!(
        error_of(r).await.1,
        "invalid_grant",
        "a bound code needs a proof"
    );
    let (c, v) = code(&srv, &client, &[("dpop_jkt", &a.jkt)]).await;
    let r = redeem(&srv, &client, &c, &v, Some(&a.token_proof(&srv, None))).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A malformed dpop_jkt is refused at the authorization endpoint.
    let (url, _) = authorize_url(&srv, &client, &[("dpop_jkt", "not-a-thumbprint")]);
    let r = srv.browser.get(&url).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    // PAR: the pushed request's dpop_jkt binds the code too.
    let web = srv.web_client().await;
    let (_, challenge) = pkce();
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&web.0, Some(&web.1))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("dpop_jkt", a.jkt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pushed: Value = r.json().await.unwrap();
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[
            ("client_id", web.0.as_str()),
            ("request_uri", pushed["request_uri"].as_str().unwrap()),
        ],
    );
    let cb = authorize(&srv, &srv.browser, &url, "alice").await;
    let c = query_param(&cb, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
    ];
    let r = token_with(&srv, Some(&web), Some(&b.token_proof(&srv, None)), &form).await;
    assert_eq!(error_of(r).await.1, "invalid_grant");
    srv.shutdown().await;
}

/// A confidential client registered with client_credentials and `dpop_bound_access_tokens`.
pub(crate) async fn bound_service(srv: &TestServer) -> (String, String) {
    let (id, secret) = srv
        .client(json!({
            "grant_types": ["client_credentials"],
            "scope": "read",
            "dpop_bound_access_tokens": true,
        }))
        .await;
    (id, secret.unwrap())
}

#[tokio::test]
async fn a_client_that_must_use_dpop_gets_a_nonce_then_a_bound_token() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let c = bound_service(&srv).await;
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
        assert_eq!(got["dpop_bound_access_tokens"], true, "{got}");
        let form = [("grant_type", "client_credentials"), ("scope", "read")];
        let r = token_with(&srv, Some(&c), None, &form).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into())
        );
        let key = DpopKey::new(Alg::ES256);
        let r = token_with(&srv, Some(&c), Some(&key.token_proof(&srv, None)), &form).await;
        let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "use_dpop_nonce".into())
        );
        let r = token_with(
            &srv,
            Some(&c),
            Some(&key.token_proof(&srv, Some("bm9wZQ"))),
            &form,
        )
        .await;
        assert_eq!(error_of(r).await.1, "use_dpop_nonce", "a made-up nonce");
        let r = token_with(
            &srv,
            Some(&c),
            Some(&key.token_proof(&srv, Some(&nonce))),
            &form,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("dpop-nonce"));
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["token_type"], "DPoP");
        let at = t["access_token"].as_str().unwrap();
        assert_eq!(claims_of(at)["cnf"]["jkt"], key.jkt);
        // Introspection shows the binding and the type.
        let r = srv
            .api
            .post(srv.url("/introspect"))
            .basic_auth(&c.0, Some(&c.1))
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        let i: Value = r.json().await.unwrap();
        assert_eq!(
            (i["active"].clone(), i["token_type"].clone()),
            (json!(true), json!("DPoP"))
        );
        assert_eq!(i["cnf"], json!({"jkt": key.jkt}));
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn invalid_proofs_are_refused_and_a_plain_client_may_still_use_bearer() {
    let srv = TestServer::start().await;
    let c = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "read"}))
        .await;
    let c = (c.0, c.1.unwrap());
    let form = [("grant_type", "client_credentials"), ("scope", "read")];
    let r = token_with(&srv, Some(&c), None, &form).await;
    assert!(!r.headers().contains_key("dpop-nonce"));
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert!(
        claims_of(t["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
    let key = DpopKey::new(Alg::ES256);
    let iss = &srv.running.issuer;
    for bad in [
        key.proof("POST", &format!("{iss}/userinfo"), None, None),
        key.proof("GET", &format!("{iss}/token"), None, None),
        "not.a.jwt".to_owned(),
    ] {
        let r = token_with(&srv, Some(&c), Some(&bad), &form).await;
        assert!(r.headers().contains_key("dpop-nonce"));
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into())
        );
    }
    // Two DPoP headers.
    let r = srv
        .api
        .post(srv.url("/token"))
        .basic_auth(&c.0, Some(&c.1))
        .header("DPoP", key.token_proof(&srv, None))
        .header("DPoP", key.token_proof(&srv, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_dpop_proof");
    // The same proof twice.
    let once = key.token_proof(&srv, None);
    assert_eq!(
        token_with(&srv, Some(&c), Some(&once), &form)
            .await
            .status(),
        StatusCode::OK
    );
    let r = token_with(&srv, Some(&c), Some(&once), &form).await;
    assert_eq!(error_of(r).await.1, "invalid_dpop_proof");
    // Discovery says which algorithms proofs may use.
    let d: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "PS256", "RS256"])
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partners_delegated_session_is_bound_to_the_partners_key() {
    use crate::jwt_bearer::{GT, partner, sign};
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let p = partner(&srv, json!({})).await;
        let now = surety::clock::Clock::now(&surety::clock::SystemClock);
        let assertion = sign(
            &p,
            &json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer, "exp": now + 120, "iat": now, "jti": random_hex16()}),
        );
        let key = DpopKey::new(Alg::ES256);
        let form = [
            ("grant_type", GT),
            ("assertion", assertion.as_str()),
            ("scope", "read"),
        ];
        let r = token_with(&srv, None, Some(&key.token_proof(&srv, None)), &form).await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["token_type"], "DPoP");
        let c = claims_of(t["access_token"].as_str().unwrap());
        assert_eq!(
            (c["cnf"]["jkt"].clone(), c["act"]["sub"].clone()),
            (json!(key.jkt), json!(p.id))
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_proof_used_at_one_node_is_refused_at_another() {
    let Some(backend) = shared_backend().await else {
        return;
    };
    let a = TestServer::start_with(settings_for(&backend)).await;
    let mut s2 = settings_for(&backend);
    s2.issuer = Some(a.running.issuer.clone());
    let b = TestServer::start_with(s2).await;
    let c = a
        .client(json!({"grant_types": ["client_credentials"], "scope": "read"}))
        .await;
    let c = (c.0, c.1.unwrap());
    let form = [("grant_type", "client_credentials"), ("scope", "read")];
    let key = DpopKey::new(Alg::ES256);
    let proof = key.token_proof(&a, None);
    assert_eq!(
        token_with(&a, Some(&c), Some(&proof), &form).await.status(),
        StatusCode::OK
    );
    let r = token_with(&b, Some(&c), Some(&proof), &form).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into())
    );
    // A nonce handed out by one node is good at the other.
    let bound = bound_service(&a).await;
    let r = token_with(&a, Some(&bound), Some(&key.token_proof(&a, None)), &form).await;
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let r = token_with(
        &b,
        Some(&bound),
        Some(&key.token_proof(&a, Some(&nonce))),
        &form,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_token_exchange_binds_the_new_token_to_the_proofs_key() {
    const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    let srv = TestServer::start().await;
    let p = crate::jwt_bearer::partner(&srv, json!({})).await;
    let (id, secret) = srv
        .client(json!({
            "grant_types": ["client_credentials", TE],
            "scope": "surety:impersonate read",
        }))
        .await;
    let operator = (id, secret.unwrap());
    let key = DpopKey::new(Alg::EdDSA);
    let form = [
        ("grant_type", TE),
        ("subject_token", p.account.as_str()),
        (
            "subject_token_type",
            "urn:surety:params:token-type:account_sid",
        ),
        ("scope", "read"),
    ];
    let r = token_with(
        &srv,
        Some(&operator),
        Some(&key.token_proof(&srv, None)),
        &form,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "DPoP");
    let c = claims_of(t["access_token"].as_str().unwrap());
    assert_eq!(c["cnf"]["jkt"], key.jkt);
    assert_eq!(c["act"]["sub"], operator.0.as_str());
    srv.shutdown().await;
}
