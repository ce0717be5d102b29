//! The FAPI 2.0 Security Profile as a client profile (`surety_profile: fapi2-security`):
//! PAR, PKCE S256, `private_key_jwt` with PS256/ES256/EdDSA, DPoP-bound tokens, codes of
//! at most 60 s, `response_type=code` only; registration refuses what contradicts it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::clock::FixedClock;
use surety::keys::jws::Alg;

use crate::dpop::{DpopKey, claims_of};
use crate::helpers::*;
use crate::request_object::{ClientKey, object_claims};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A FAPI client with a PS256, an ES256 and an RS256 key.
struct Fapi {
    id: String,
    ps: ClientKey,
    es: ClientKey,
    rs: ClientKey,
}

async fn fapi_client(srv: &TestServer) -> Fapi {
    let (ps, es, rs) = (
        ClientKey::new(Alg::PS256, "ps"),
        ClientKey::new(Alg::ES256, "es"),
        ClientKey::new(Alg::RS256, "rs"),
    );
    let (id, secret) = srv
        .client(json!({
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [ps.jwk(), es.jwk(), rs.jwk()]},
            "surety_profile": "fapi2-security",
        }))
        .await;
    assert!(secret.is_none());
    Fapi { id, ps, es, rs }
}

/// POSTs `form` to `path` authenticated by an assertion of `key`, with a DPoP `proof`.
async fn post_signed(
    srv: &TestServer,
    path: &str,
    c: &Fapi,
    key: &ClientKey,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> reqwest::Response {
    let assertion = key.assertion(srv, &c.id, 300);
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.extend([
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ]);
    let mut rb = srv.api.post(srv.url(path)).form(&form);
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

/// A pushed request's parameters with PKCE `challenge`.
fn par_form(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", "http://127.0.0.1:9/cb".into()),
        ("scope", "openid".into()),
        ("state", "f4pi".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// PAR with `key`, then the browser; returns the callback URL and the verifier.
async fn code_via_par(srv: &TestServer, c: &Fapi, key: &ClientKey) -> (String, String) {
    let (verifier, challenge) = pkce();
    let r = post_signed(srv, "/par", c, key, &as_refs(&par_form(&challenge)), None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let uri = r.json::<Value>().await.unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = surety::oauth::authorize::with_query(
        &srv.url("/authorize"),
        &[("client_id", c.id.as_str()), ("request_uri", &uri)],
    );
    (authorize(srv, &browser(), &url, "alice").await, verifier)
}

/// Redeems `code` with an assertion of `key` and a proof of `dpop` (after the nonce).
async fn redeem(
    srv: &TestServer,
    c: &Fapi,
    key: &ClientKey,
    dpop: &DpopKey,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", verifier),
    ];
    // The first proof learns the nonce (a use_dpop_nonce answer consumes no code).
    let probe = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let r = post_signed(
        srv,
        "/token",
        c,
        key,
        &probe,
        Some(&dpop.token_proof(srv, None)),
    )
    .await;
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = dpop.token_proof(srv, Some(&nonce));
    post_signed(srv, "/token", c, key, &form, Some(&proof)).await
}

#[tokio::test]
async fn the_full_fapi_flow_with_ps256_and_es256() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let c = fapi_client(&srv).await;
        for (par_key, token_key) in [(&c.ps, &c.es), (&c.es, &c.ps)] {
            let (cb, verifier) = code_via_par(&srv, &c, par_key).await;
            assert_eq!(query_param(&cb, "iss").as_deref(), Some(srv.base.as_str()));
            assert_eq!(query_param(&cb, "state").as_deref(), Some("f4pi"));
            let code = query_param(&cb, "code").unwrap();
            let dpop = DpopKey::new(Alg::ES256);
            let r = redeem(&srv, &c, token_key, &dpop, &code, &verifier).await;
            assert_eq!(r.status(), StatusCode::OK, "{backend:?}");
            let t: Value = r.json().await.unwrap();
            assert_eq!(t["token_type"], "DPoP");
            let at = t["access_token"].as_str().unwrap();
            assert_eq!(claims_of(at)["cnf"]["jkt"], dpop.jkt);
            let id_token = t["id_token"].as_str().unwrap();
            let alg = surety::keys::jws::peek(id_token).unwrap().0.alg;
            assert_eq!(alg, "ES256", "no RS256 under the profile");
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn what_the_profile_forbids_at_the_authorization_and_par_endpoints() {
    let srv = TestServer::start().await;
    let c = fapi_client(&srv).await;
    // Not pushed: refused at the redirect URI.
    let (url, _) = authorize_url(&srv, &c.id, &[]);
    let r = srv.browser.get(&url).send().await.unwrap();
    let loc = location(&r);
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );
    let (_, challenge) = pkce();
    let good = par_form(&challenge);
    let variant = |k: &'static str, v: Option<&str>| {
        let mut f = good.clone();
        f.retain(|(a, _)| *a != k);
        if let Some(v) = v {
            f.push((k, v.to_owned()));
        }
        f
    };
    let cases = [
        (variant("code_challenge", None), "invalid_request"),
        (
            variant("code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (variant("code_challenge_method", None), "invalid_request"),
        (variant("redirect_uri", None), "invalid_request"),
        (
            variant("response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            variant("response_type", Some("token")),
            "unsupported_response_type",
        ),
    ];
    for (form, code) in cases {
        let r = post_signed(&srv, "/par", &c, &c.es, &as_refs(&form), None).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, code.into()),
            "{form:?}"
        );
    }
    // An RS256 assertion is refused, at PAR and at the token endpoint.
    let r = post_signed(&srv, "/par", &c, &c.rs, &as_refs(&good), None).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let probe = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let r = post_signed(&srv, "/token", &c, &c.rs, &probe, None).await;
    assert_eq!(error_of(r).await.1, "invalid_client");
    // An RS256 request object is refused (its alg is not the profile's).
    let object = c.rs.sign(&object_claims(&srv, &c.id, &challenge));
    let r = post_signed(
        &srv,
        "/par",
        &c,
        &c.es,
        &[("request", object.as_str())],
        None,
    )
    .await;
    assert_eq!(error_of(r).await.1, "invalid_request_object");
    // A PS256 one is accepted, and only its parameters count.
    let object = c.ps.sign(&object_claims(&srv, &c.id, &challenge));
    let r = post_signed(
        &srv,
        "/par",
        &c,
        &c.es,
        &[("request", object.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_bearer_token_request_and_an_old_code_are_refused() {
    for backend in all_backends().await {
        let clock: FixedClock = fixed_clock();
        let mut s = settings_for(&backend);
        s.code_ttl = 300;
        // The clock moves 61 s: proofs made by the real clock must still count.
        s.dpop_proof_max_age = 300;
        let srv = TestServer::start_with_clock(s, clock.clone()).await;
        srv.user("alice").await;
        let c = fapi_client(&srv).await;
        let (cb, verifier) = code_via_par(&srv, &c, &c.es).await;
        let code = query_param(&cb, "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier.as_str()),
        ];
        let r = post_signed(&srv, "/token", &c, &c.es, &form, None).await;
        assert_eq!(
            error_of(r).await.1,
            "invalid_dpop_proof",
            "no proof: no token"
        );
        // Another code, redeemed 61 s later: the profile's 60 s, not the server's 300.
        let (cb, verifier) = code_via_par(&srv, &c, &c.es).await;
        let code = query_param(&cb, "code").unwrap();
        clock.advance(61);
        let r = redeem(&srv, &c, &c.es, &DpopKey::new(Alg::ES256), &code, &verifier).await;
        assert_eq!(error_of(r).await.1, "invalid_grant", "{backend:?}");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_server_wide_profile_refuses_client_secrets() {
    let mut s = settings_for(&default_backend().await);
    s.default_profile = surety::store::SecurityProfile::Fapi2Security;
    let srv = TestServer::start_with(s).await;
    let c = srv.web_client().await;
    let (_, challenge) = pkce();
    let r = srv
        .api
        .post(srv.url("/par"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&as_refs(&par_form(&challenge)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(error_of(r).await.1, "invalid_client");
    let d: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        d["token_endpoint_auth_signing_alg_values_supported"]
            .to_string()
            .contains("PS256")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn registration_refuses_metadata_that_contradicts_the_profile() {
    let srv = TestServer::start().await;
    let key = ClientKey::new(Alg::ES256, "es");
    let base = json!({
        "redirect_uris": ["http://127.0.0.1:9/cb"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.jwk()]},
        "surety_profile": "fapi2-security",
    });
    let cases = [
        ("token_endpoint_auth_method", json!("client_secret_basic")),
        ("require_pushed_authorization_requests", json!(false)),
        ("dpop_bound_access_tokens", json!(false)),
        ("request_object_signing_alg", json!("RS256")),
        ("id_token_signed_response_alg", json!("RS256")),
        ("surety_profile", json!("fapi1")),
    ];
    for (field, value) in cases {
        let mut m = base.clone();
        m[field] = value;
        let r = srv
            .api
            .post(srv.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&m)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{field}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains(field) || field == "surety_profile",
            "{field}: {body}"
        );
    }
    srv.shutdown().await;
}
