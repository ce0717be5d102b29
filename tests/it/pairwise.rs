//! Pairwise subject identifiers (OpenID Connect Core §8.1): each sector (the host of a
//! client's redirect URIs, or of its `sector_identifier_uri`) sees its own `sub` for a
//! user, the same from every node and across signing-key rotation; a public client sees
//! the local one; every artifact naming the user for a pairwise client — ID token,
//! access token, UserInfo, introspection, refresh, token exchange, the device flow, the
//! logout token, the `claims` request and `id_token_hint` — carries the same pairwise
//! `sub`. The registration rules of `sector_identifier_uri`: `pairwise_sector`.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::device::{DEVICE_GRANT, answer, poll, start};
use crate::helpers::*;

/// Redirect URIs on two hosts: two sectors.
pub const CB_A: &str = "http://127.0.0.1:9/cb";
pub const CB_B: &str = "http://localhost:9/cb";
const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A confidential pairwise client redirecting to `cb`, with `extra` metadata.
pub async fn pairwise_rp(srv: &TestServer, cb: &str, extra: Value) -> (String, String) {
    let mut m = json!({
        "client_name": "Pairwise RP",
        "redirect_uris": [cb],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
        "grant_types": ["authorization_code", "refresh_token"],
        "subject_type": "pairwise",
    });
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let (id, secret) = srv.client(m).await;
    (id, secret.expect("secret"))
}

/// The code flow for `c` through redirect URI `cb` in `browser` (extra authorization
/// parameters `extra`); the token response.
pub async fn sign_in_at(
    srv: &TestServer,
    browser: &reqwest::Client,
    c: &(String, String),
    cb: &str,
    extra: &[(&str, &str)],
) -> Value {
    let mut params = vec![("redirect_uri", cb)];
    params.extend_from_slice(extra);
    let (url, verifier) = authorize_url(srv, &c.0, &params);
    let back = authorize(srv, browser, &url, "alice").await;
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code: {back}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cb),
        ("code_verifier", verifier.as_str()),
    ];
    let r = token_request(srv, c, &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// A JWT's claims, its signature checked against the published JWKS; and its `kid`.
pub async fn verified(srv: &TestServer, jwt: &str) -> (Value, String) {
    let jwks: Value = srv
        .api
        .get(srv.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jws::VerifyKey::from_jwks(&jwks);
    let (header, claims) = jws::verify(jwt, &keys).expect("signature");
    (Value::Object(claims), header.kid.unwrap_or_default())
}

/// The `sub` of the ID token of token response `t`, checked against the JWKS.
pub async fn id_sub(srv: &TestServer, t: &Value) -> String {
    let (c, _) = verified(srv, t["id_token"].as_str().unwrap()).await;
    c["sub"].as_str().unwrap().to_owned()
}

async fn userinfo(srv: &TestServer, access_token: &str) -> reqwest::Response {
    srv.api
        .get(srv.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
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
    r.json().await.unwrap()
}

async fn exchange(
    srv: &TestServer,
    c: &(String, String),
    subject: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", TE),
        ("subject_token", subject),
        ("subject_token_type", AT),
    ];
    form.extend_from_slice(extra);
    token_request(srv, c, &form).await
}

/// The claims of the access token an exchange issued.
async fn exchanged(srv: &TestServer, r: reqwest::Response) -> Value {
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    verified(srv, v["access_token"].as_str().unwrap()).await.0
}

fn is_pairwise_shaped(sub: &str) -> bool {
    sub.len() == 43
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[tokio::test]
async fn each_sector_sees_its_own_sub_and_a_public_client_the_local_one() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let local = srv.user("alice").await;
        let a = pairwise_rp(&srv, CB_A, json!({})).await;
        let a2 = pairwise_rp(&srv, "http://127.0.0.1:7/other", json!({})).await;
        let b = pairwise_rp(&srv, CB_B, json!({})).await;
        let public = srv.web_client().await;
        let sa = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await).await;
        let sa2 = id_sub(
            &srv,
            &sign_in_at(&srv, &srv.browser, &a2, "http://127.0.0.1:7/other", &[]).await,
        )
        .await;
        let sb = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &b, CB_B, &[]).await).await;
        let sp = id_sub(
            &srv,
            &sign_in_at(&srv, &srv.browser, &public, CB_A, &[]).await,
        )
        .await;
        assert_eq!(sp, local, "a public client sees the local sub");
        assert!(
            is_pairwise_shaped(&sa) && is_pairwise_shaped(&sb),
            "{sa} {sb}"
        );
        assert_ne!(sa, local);
        assert_ne!(sa, sb, "two sectors, two subs");
        assert_eq!(sa, sa2, "one sector (host 127.0.0.1), one sub");
        // Another user is another pairwise sub in the same sector.
        srv.user("bob").await;
        let other = browser();
        let (url, _) = authorize_url(&srv, &a.0, &[]);
        let back = authorize(&srv, &other, &url, "bob").await;
        assert!(query_param(&back, "code").is_some());
        let d: Value = srv
            .api
            .get(srv.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["subject_types_supported"], json!(["public", "pairwise"]));
        let r = srv
            .api
            .get(srv.url(&format!("/admin/clients/{}", a.0)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["subject_type"], "pairwise");
        srv.shutdown().await;
    }
}

/// The sub of `client_id` for user `local`, as the server `srv` derives it.
async fn derived(srv: &TestServer, client_id: &str, local: &str) -> String {
    let p = srv.provider();
    let c = p.stores.clients.get_client(client_id).await.unwrap();
    p.subject(&c, local).as_str().to_owned()
}

#[tokio::test]
async fn pairwise_subs_survive_key_rotation_restarts_and_other_nodes() {
    for backend in all_backends().await {
        let s = settings_for(&backend);
        let clock = fixed_clock();
        let start = || TestServer::start_with_clock(s.clone(), clock.clone());
        let (srv, other) = match backend {
            // Two nodes starting together on one fresh database: one secret wins.
            Backend::Shared { .. } => {
                let (a, b) = tokio::join!(start(), start());
                (a, Some(b))
            }
            Backend::Embedded => (start().await, None),
        };
        let local = srv.user("alice").await;
        let a = pairwise_rp(&srv, CB_A, json!({})).await;
        let t = sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await;
        let (before, kid_before) = verified(&srv, t["id_token"].as_str().unwrap()).await;
        let sub = before["sub"].as_str().unwrap().to_owned();
        assert_eq!(sub, derived(&srv, &a.0, &local).await);
        // New signing keys, active at once: new kids, the same sub.
        clock.advance(10);
        srv.provider()
            .keys
            .rotate(srv.provider().now(), 0)
            .await
            .unwrap();
        let t = sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await;
        let (after, kid_after) = verified(&srv, t["id_token"].as_str().unwrap()).await;
        assert_ne!(kid_before, kid_after, "signed with the rotated key");
        assert_eq!(after["sub"], sub.as_str());
        let next = match other {
            Some(b) => {
                srv.shutdown().await;
                b
            }
            // The embedded server restarted on its data directory.
            None => {
                srv.shutdown().await;
                start().await
            }
        };
        assert_eq!(derived(&next, &a.0, &local).await, sub);
        let t = sign_in_at(&next, &next.browser, &a, CB_A, &[]).await;
        assert_eq!(
            id_sub(&next, &t).await,
            sub,
            "the same sub from the other node"
        );
        next.shutdown().await;
    }
}

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

/// A back-channel logout receiver: its state and URL.
async fn receiver() -> (Arc<Seen>, String) {
    async fn receive(State(s): State<Arc<Seen>>, body: String) -> StatusCode {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        for (k, v) in form {
            if k == "logout_token" {
                s.0.lock().unwrap().push(v);
            }
        }
        StatusCode::OK
    }
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route("/bcl", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bcl", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (seen, url)
}

/// ID token, access token, UserInfo, introspection (access and refresh), refresh, token
/// exchange, the claims request, the device flow and the logout token all name the user
/// by the client's pairwise sub.
#[tokio::test]
async fn every_artifact_carries_the_clients_pairwise_sub() {
    for backend in all_backends().await {
        let mut s = settings_for(&backend);
        s.outbox_poll_interval = 25;
        let srv = TestServer::start_with(s).await;
        let (seen, bcl) = receiver().await;
        let local = srv.user("alice").await;
        let policy = json!({"audiences": [], "impersonation": true});
        let a = pairwise_rp(
            &srv,
            CB_A,
            json!({"grant_types": ["authorization_code", "refresh_token", TE],
                   "token_exchange": policy, "backchannel_logout_uri": bcl}),
        )
        .await;
        let t = sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await;
        let sub = id_sub(&srv, &t).await;
        assert!(is_pairwise_shaped(&sub) && sub != local);
        let at = t["access_token"].as_str().unwrap();
        assert_eq!(verified(&srv, at).await.0["sub"], sub.as_str());
        let me: Value = userinfo(&srv, at).await.json().await.unwrap();
        assert_eq!(me["sub"], sub.as_str());
        assert_eq!(me["preferred_username"], "alice");
        assert_eq!(introspect(&srv, &a, at).await["sub"], sub.as_str());
        let rt = t["refresh_token"].as_str().unwrap();
        assert_eq!(introspect(&srv, &a, rt).await["sub"], sub.as_str());
        let r = token_request(
            &srv,
            &a,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t2: Value = r.json().await.unwrap();
        assert_eq!(id_sub(&srv, &t2).await, sub);
        let at2 = t2["access_token"].as_str().unwrap();
        assert_eq!(verified(&srv, at2).await.0["sub"], sub.as_str());
        let x = exchanged(&srv, exchange(&srv, &a, at2, &[]).await).await;
        assert_eq!(x["sub"], sub.as_str());
        // A claims request names the user by the sub the client knows (Core §3.1.2.2).
        let named = json!({"id_token": {"sub": {"value": sub}}}).to_string();
        let t3 = sign_in_at(
            &srv,
            &srv.browser,
            &a,
            CB_A,
            &[("prompt", "none"), ("claims", &named)],
        )
        .await;
        assert_eq!(id_sub(&srv, &t3).await, sub);
        let by_local = json!({"id_token": {"sub": {"value": local}}}).to_string();
        let (url, _) = authorize_url(&srv, &a.0, &[("prompt", "none"), ("claims", &by_local)]);
        let back = authorize(&srv, &srv.browser, &url, "alice").await;
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("login_required")
        );
        // A device of the same sector (a redirect URI on 127.0.0.1) gets the same sub.
        let (tv, _) = srv
            .client(
                json!({"client_name": "TV", "token_endpoint_auth_method": "none",
                "grant_types": [DEVICE_GRANT], "redirect_uris": ["http://127.0.0.1:5/tv"],
                "subject_type": "pairwise"}),
            )
            .await;
        let d = start(&srv, &tv, "openid profile").await;
        let (_, end) = answer(
            &srv,
            &srv.browser,
            d["user_code"].as_str().unwrap(),
            "alice",
            "approve",
            &[],
        )
        .await;
        assert!(end.ends_with("result=approved"), "{end}");
        let r = poll(&srv, &tv, d["device_code"].as_str().unwrap()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let dt: Value = r.json().await.unwrap();
        assert_eq!(id_sub(&srv, &dt).await, sub);
        let dat = dt["access_token"].as_str().unwrap();
        assert_eq!(verified(&srv, dat).await.0["sub"], sub.as_str());
        assert_eq!(
            userinfo(&srv, dat).await.json::<Value>().await.unwrap()["sub"],
            sub.as_str()
        );
        // RP-initiated logout with the pairwise hint; the logout token names the same sub.
        let r = srv
            .browser
            .get(srv.url("/logout"))
            .query(&[("id_token_hint", t3["id_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let lt = eventually("a logout token", || async {
            seen.0.lock().unwrap().first().cloned()
        })
        .await;
        let (claims, _) = verified(&srv, &lt).await;
        assert_eq!(
            (claims["sub"].as_str(), claims["aud"].as_str()),
            (Some(sub.as_str()), Some(a.0.as_str()))
        );
        assert!(claims["sid"].is_string() && claims.get("nonce").is_none());
        srv.shutdown().await;
    }
}

/// A user's token issued to one pairwise client, exchanged by a client of another
/// sector, names the user as that client sees them; a pairwise sub the server cannot
/// resolve is refused; an `id_token_hint` naming another user ends no session.
#[tokio::test]
async fn incoming_pairwise_subs_are_resolved_or_refused() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let local = srv.user("alice").await;
        srv.user("bob").await;
        let te = |audiences: Value| {
            json!({"grant_types": ["authorization_code", "refresh_token", TE],
                   "token_exchange": {"audiences": audiences, "impersonation": true}})
        };
        let b = pairwise_rp(&srv, CB_B, te(json!([]))).await;
        let a = pairwise_rp(&srv, CB_A, te(json!([b.0]))).await;
        let sub_b = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &b, CB_B, &[]).await).await;
        let t = sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await;
        let sub_a = id_sub(&srv, &t).await;
        assert_ne!(sub_a, sub_b);
        // A's token for B (aud = B), then B's exchange of it: B's sub.
        let at = t["access_token"].as_str().unwrap();
        let r = exchange(&srv, &a, at, &[("audience", b.0.as_str())]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let for_b: Value = r.json().await.unwrap();
        let for_b = for_b["access_token"].as_str().unwrap();
        let c = verified(&srv, for_b).await.0;
        assert_eq!(
            (c["sub"].as_str(), c["aud"].as_str()),
            (Some(sub_a.as_str()), Some(b.0.as_str()))
        );
        let x = exchanged(&srv, exchange(&srv, &b, for_b, &[]).await).await;
        assert_eq!(x["sub"], sub_b.as_str());
        assert_eq!(x["client_id"], b.0.as_str());
        // A token with a pairwise sub and no grant cannot be resolved to its user.
        let p = srv.provider();
        let client = p.stores.clients.get_client(&a.0).await.unwrap();
        let (orphan, _) = p
            .mint_access_token(&surety::oauth::tokens::AccessGrant {
                sub: p.subject(&client, &local),
                client_id: a.0.clone(),
                scope: surety::oauth::scope::Scope::parse("openid").unwrap(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            userinfo(&srv, &orphan).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let r = exchange(&srv, &a, &orphan, &[]).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("pairwise"),
            "{v}"
        );
        // Bob's ID token as the hint while Alice is signed in: suspect, nothing ends.
        let bob = browser();
        let (url, verifier) = authorize_url(&srv, &a.0, &[]);
        let code = query_param(&authorize(&srv, &bob, &url, "bob").await, "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB_A),
            ("code_verifier", verifier.as_str()),
        ];
        let tb: Value = token_request(&srv, &a, &form).await.json().await.unwrap();
        let r = srv
            .browser
            .get(srv.url("/logout"))
            .query(&[("id_token_hint", tb["id_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("another user"));
        let still = sign_in_at(&srv, &srv.browser, &a, CB_A, &[("prompt", "none")]).await;
        assert_eq!(
            id_sub(&srv, &still).await,
            sub_a,
            "Alice is still signed in"
        );
        srv.shutdown().await;
    }
}
