//! The token endpoint: code redemption (single use, PKCE, redirect URI), refresh rotation
//! and reuse detection, client_credentials, client authentication methods, and RFC 6749
//! §5.2 errors with `Cache-Control: no-store`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

async fn code_for(srv: &TestServer, client_id: &str) -> (String, String) {
    let (url, verifier) = authorize_url(srv, client_id, &[]);
    let cb = authorize(srv, &srv.browser, &url, "alice").await;
    (query_param(&cb, "code").unwrap(), verifier)
}

#[tokio::test]
async fn a_code_redeems_once_and_reuse_revokes_what_it_issued() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let (code, verifier) = code_for(&srv, &c.0).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", &verifier),
    ];
    let r = token_request(&srv, &c, &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap().to_owned();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        srv.api
            .get(srv.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Second redemption: refused, and the first redemption's tokens die.
    assert_eq!(
        error_of(token_request(&srv, &c, &form).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        srv.api
            .get(srv.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(error_of(r).await.1, "invalid_grant");
    srv.shutdown().await;
}

#[tokio::test]
async fn code_binding_is_checked() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let other = srv.web_client().await;
    let cases: Vec<(&(String, String), &str, Option<&str>)> = vec![
        (&c, "http://127.0.0.1:9/other", None),
        (
            &c,
            "http://127.0.0.1:9/cb",
            Some("wrong-verifier-wrong-verifier-wrong-verifier-0"),
        ),
        (&other, "http://127.0.0.1:9/cb", None),
    ];
    for (client, redirect, bad_verifier) in cases {
        let (code, verifier) = code_for(&srv, &c.0).await;
        let v = bad_verifier.map(str::to_owned).unwrap_or(verifier);
        let r = token_request(
            &srv,
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("code_verifier", &v),
            ],
        )
        .await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_grant".into())
        );
    }
    let (code, _) = code_for(&srv, &c.0).await;
    let r = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await;
    assert_eq!(
        error_of(r).await.1,
        "invalid_grant",
        "missing code_verifier"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_narrows_and_reuse_revokes_the_family() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let r = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("scope", "openid profile"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t2: Value = r.json().await.unwrap();
    assert_eq!(t2["scope"], "openid profile");
    assert!(t2["id_token"].is_string());
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let widened = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(error_of(widened).await.1, "invalid_scope");
    // Reuse of the rotated r1 (no grace window here) revokes the whole family: r2 dies.
    let reuse = token_request(
        &srv,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(error_of(reuse).await.1, "invalid_grant");
    let after = token_request(
        &srv,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(error_of(after).await.1, "invalid_grant");
    srv.shutdown().await;
}

#[tokio::test]
async fn client_credentials_issues_a_jwt_access_token_within_the_registered_scope() {
    let srv = TestServer::start().await;
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "api:read api:write"}))
        .await;
    let c = (id, secret.unwrap());
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "client_credentials"), ("scope", "api:read")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let (header, claims) = jws::peek(t["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        (header.alg.as_str(), header.typ.as_deref()),
        ("ES256", Some("at+jwt"))
    );
    assert_eq!(claims["client_id"], c.0.as_str());
    assert_eq!(claims["scope"], "api:read");
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(error_of(r).await.1, "invalid_scope");
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(error_of(r).await.1, "unauthorized_client");
    srv.shutdown().await;
}

#[tokio::test]
async fn client_authentication_failures_are_401_with_www_authenticate_for_basic() {
    let srv = TestServer::start().await;
    let (id, secret) = srv
        .client(json!({"grant_types": ["client_credentials"], "scope": "api:read"}))
        .await;
    let r = token_request(
        &srv,
        &(id.clone(), "wrong".into()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    // The same secret in the body (client_secret_post) is the same credential: accepted.
    let secret = secret.unwrap();
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Two methods at once.
    let r = srv
        .api
        .post(srv.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    srv.shutdown().await;
}

#[tokio::test]
async fn client_secret_post_works_when_registered() {
    let srv = TestServer::start().await;
    let (id, secret) = srv.client(json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"})).await;
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret.unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}

#[tokio::test]
async fn private_key_jwt_authenticates_and_its_jti_is_single_use() {
    let srv = TestServer::start().await;
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("k1");
    let (id, secret) = srv.client(json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [jwk]}})).await;
    assert!(secret.is_none());
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    let assertion = |jti: &str, aud: &str, exp: i64| {
        jws::sign(
            &signer,
            Alg::ES256,
            "k1",
            "JWT",
            &json!({"iss": id, "sub": id, "aud": aud, "jti": jti, "exp": exp, "iat": now}),
        )
        .unwrap()
    };
    let send = |a: String| {
        let api = srv.api.clone();
        let url = srv.url("/token");
        async move {
            api.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &a),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let good = assertion("jti-1", &srv.url("/token"), now + 60);
    assert_eq!(send(good.clone()).await.status(), StatusCode::OK);
    assert_eq!(
        error_of(send(good).await).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into()),
        "replayed jti"
    );
    assert_eq!(
        error_of(send(assertion("jti-2", "https://elsewhere.example", now + 60)).await)
            .await
            .1,
        "invalid_client"
    );
    assert_eq!(
        error_of(send(assertion("jti-3", &srv.base, now - 120)).await)
            .await
            .1,
        "invalid_client"
    );
    assert_eq!(
        error_of(send(assertion("jti-4", &srv.base, now + 3600)).await)
            .await
            .1,
        "invalid_client"
    );
    let (other, _) = Signer::generate(Alg::ES256).unwrap();
    let forged = jws::sign(
        &other,
        Alg::ES256,
        "k1",
        "JWT",
        &json!({"iss": id, "sub": id, "aud": srv.base, "jti": "jti-5", "exp": now + 60}),
    )
    .unwrap();
    assert_eq!(error_of(send(forged).await).await.1, "invalid_client");
    srv.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_are_protocol_errors() {
    let srv = TestServer::start().await;
    let r = srv
        .api
        .post(srv.url("/token"))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let r = srv
        .api
        .post(srv.url("/token"))
        .body("grant_type=a&grant_type=b")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "unsupported_grant_type");
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    let big = "a".repeat(300 * 1024);
    let r = srv
        .api
        .post(srv.url("/token"))
        .body(format!("grant_type={big}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_client_error(),
        "oversized body: {}",
        r.status()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_retry_within_the_grace_window_replaces_the_lost_successor_once() {
    for backend in all_backends().await {
        let mut settings = settings_for(&backend);
        settings.refresh_grace = 60;
        let clock = fixed_clock();
        let srv = TestServer::start_with_clock(settings, clock.clone()).await;
        srv.user("alice").await;
        let c = srv.web_client().await;
        let refresh = |t: String| {
            let (srv, c) = (&srv, &c);
            async move {
                token_request(
                    srv,
                    c,
                    &[("grant_type", "refresh_token"), ("refresh_token", &t)],
                )
                .await
            }
        };
        let r1 = tokens(&srv, &c, "alice").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let first = refresh(r1.clone()).await;
        assert_eq!(first.status(), StatusCode::OK);
        let r2 = first.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The response was "lost": 5 s later the client retries with r1 and gets tokens.
        clock.advance(5);
        let retry = refresh(r1.clone()).await;
        assert_eq!(retry.status(), StatusCode::OK, "{backend:?}");
        let r3 = retry.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(r2, r3);
        // r3 replaced r2: one live token in the family.
        assert_eq!(error_of(refresh(r2).await).await.1, "invalid_grant");
        // A second retry is refused; r3 is untouched by it.
        assert_eq!(error_of(refresh(r1.clone()).await).await.1, "invalid_grant");
        // Past the window, r1 is reuse: the family dies, r3 with it.
        clock.advance(60);
        assert_eq!(error_of(refresh(r1).await).await.1, "invalid_grant");
        assert_eq!(error_of(refresh(r3).await).await.1, "invalid_grant");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_client_chooses_its_id_token_algorithm() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    for alg in ["ES256", "EdDSA", "RS256"] {
        let (id, secret) = srv.client(json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "id_token_signed_response_alg": alg})).await;
        let t = tokens(&srv, &(id, secret.unwrap()), "alice").await;
        let (header, claims) = jws::peek(t["id_token"].as_str().unwrap()).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(claims["nonce"], "n0nce");
        assert!(claims["at_hash"].is_string() && claims["auth_time"].is_i64());
        assert_eq!(claims["amr"], json!(["pwd"]));
    }
    srv.shutdown().await;
}
