//! The partner's signed login link and the embeddable account portal: the link opens a
//! session in a third-party-frame cookie, lands only under `/portal`, is single use and
//! refused with another audience; the portal is branded per partner, framed only by the
//! partner's origins, rotates the auth token behind a CSRF token, and says when the
//! session has ended.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};

use crate::helpers::*;

const BRANDING: &str = r##"{
    "display_name": "Acme <Mobile>",
    "logo_url": "https://cdn.acme.example/logo.png",
    "primary_color": "#C0FFEE",
    "background_color": "#102030",
    "support_url": "https://help.acme.example/portal",
    "hidden_sections": ["apps"],
    "frame_origins": ["https://app.acme.example", "http://127.0.0.1:4000"]
}"##;

struct Partner {
    id: String,
    signer: Signer,
    account: String,
}

async fn partner(srv: &TestServer, branding: Value) -> Partner {
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("p1");
    let body = json!({"name": "Acme Telecom", "jwks": {"keys": [jwk]}, "branding": branding});
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
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "Customer One"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    Partner {
        id,
        signer,
        account: a["account_sid"].as_str().unwrap().to_owned(),
    }
}

fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
}

/// A signed login link assertion with audience `aud`.
fn assertion(p: &Partner, aud: &str) -> String {
    let c = json!({"iss": p.id, "sub": p.account, "aud": aud, "exp": now() + 120, "iat": now(), "jti": random_hex16()});
    jws::sign(&p.signer, Alg::ES256, "p1", "JWT", &c).unwrap()
}

fn link(srv: &TestServer, a: &str, return_to: &str) -> String {
    surety::oauth::authorize::with_query(
        &srv.url("/partner/login"),
        &[("assertion", a), ("return_to", return_to)],
    )
}

/// The `Set-Cookie` line for `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Follows a login link; returns the `Cookie` header carrying the portal cookies.
async fn open_portal(srv: &TestServer, p: &Partner) -> String {
    let a = assertion(p, &srv.url("/partner/login"));
    let r = srv.api.get(link(srv, &a, "/portal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/portal");
    ["surety_portal", "surety_portal_partner"]
        .iter()
        .map(|n| {
            set_cookie(&r, n)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn get_portal(srv: &TestServer, cookie: &str) -> reqwest::Response {
    srv.api
        .get(srv.url("/portal"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, h: reqwest::header::HeaderName) -> Option<String> {
    r.headers()
        .get(h)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn branding() -> Value {
    serde_json::from_str(BRANDING).unwrap()
}

#[tokio::test]
async fn a_login_link_opens_the_branded_portal_in_a_frameable_cookie() {
    let srv = TestServer::start().await;
    let p = partner(&srv, branding()).await;
    let a = assertion(&p, &srv.url("/partner/login"));
    let r = srv.api.get(link(&srv, &a, "/portal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = set_cookie(&r, "surety_portal").expect("portal cookie");
    for attr in [
        "SameSite=None",
        "Secure",
        "Partitioned",
        "HttpOnly",
        "Path=/",
    ] {
        assert!(c.contains(attr), "{attr} missing in {c}");
    }
    assert!(set_cookie(&r, "surety_session").is_none());
    let cookie = open_portal(&srv, &p).await;
    let r = get_portal(&srv, &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, CONTENT_SECURITY_POLICY).unwrap(),
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src https: data: 'self'; form-action 'self'; base-uri 'none'; frame-ancestors https://app.acme.example http://127.0.0.1:4000"
    );
    assert!(r.headers().get("x-frame-options").is_none());
    assert_eq!(
        header(&r, reqwest::header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let page = r.text().await.unwrap();
    for shown in [
        "Acme &#60;Mobile&#62;",
        "--primary:#c0ffee",
        "--bg:#102030",
        r#"<img src="https://cdn.acme.example/logo.png""#,
        r#"href="https://help.acme.example/portal""#,
        r#"data-parent-origin="https://app.acme.example""#,
        r#"<script src="/portal/embed.js" defer></script>"#,
        &p.account,
        "Customer One",
        "Rotate auth token",
    ] {
        assert!(page.contains(shown), "{shown} missing in {page}");
    }
    assert!(
        !page.contains("Acme <Mobile>"),
        "the display name is escaped"
    );
    assert!(!page.contains("Apps authorized"), "hidden section shown");
    assert!(page.contains(r#"<section id="usage">"#));
    // Two login links so far, one jwt-bearer exchange next: three sign-ins.
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion(&p, &srv.url("/token"))),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = get_portal(&srv, &cookie).await.text().await.unwrap();
    assert!(
        page.contains(r#"<strong class="sign-ins">3</strong> sign-ins via your provider"#),
        "{page}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_portal_shows_what_the_partner_did_not_hide_and_ignores_unsafe_branding() {
    let srv = TestServer::start().await;
    let unsafe_branding = json!({"primary_color": "red;}body{display:none", "support_url": "javascript:alert(1)",
           "logo_url": "http://evil.example/x.png", "hidden_sections": ["usage", "credentials"],
           "frame_origins": ["https://ok.example/path", "*"]});
    // The admin API refuses such branding outright …
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Bad", "secret": "s".repeat(32), "branding": unsafe_branding}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "branding");
    // … and should it reach the store anyway, the portal still renders none of it.
    let p = partner(&srv, json!({"hidden_sections": ["usage", "credentials"]})).await;
    let store = srv.provider().stores.partners.clone();
    let mut rec = store.get_partner(&p.id).await.unwrap();
    rec.branding = unsafe_branding;
    store.update_partner(&rec).await.unwrap();
    let cookie = open_portal(&srv, &p).await;
    let r = get_portal(&srv, &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = header(&r, CONTENT_SECURITY_POLICY).unwrap();
    assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        header(&r, "x-frame-options".parse().unwrap()).unwrap(),
        "DENY"
    );
    let page = r.text().await.unwrap();
    for absent in [
        "javascript:",
        "display:none",
        "evil.example",
        "Support</a>",
        "id=\"usage\"",
        "id=\"credentials\"",
        "data-parent-origin",
    ] {
        assert!(!page.contains(absent), "{absent} present in {page}");
    }
    assert!(
        page.contains("Acme Telecom"),
        "falls back to the partner name"
    );
    assert!(page.contains("Apps authorized on this account") && page.contains("No apps yet"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_login_link_can_be_auto_posted_and_keeps_a_portal_return_to() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let a = assertion(&p, &srv.url("/partner/login"));
    let r = srv
        .api
        .post(srv.url("/partner/login"))
        .form(&[
            ("assertion", a.as_str()),
            ("return_to", "/portal?tab=usage"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/portal?tab=usage");
    srv.shutdown().await;
}

#[tokio::test]
async fn return_to_never_leaves_the_portal() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    for target in [
        "https://evil.example",
        "//evil.example/portal",
        "/\\evil.example",
        "/portal/../admin/clients",
        "/admin",
    ] {
        let a = assertion(&p, &srv.url("/partner/login"));
        let r = srv.api.get(link(&srv, &a, target)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{target}");
        assert_eq!(location(&r), "/portal", "{target}");
    }
    srv.shutdown().await;
}

async fn refused_page(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(reqwest::header::LOCATION).is_none());
    assert!(set_cookie(&r, "surety_portal").is_none());
    assert!(header(&r, CONTENT_TYPE).unwrap().starts_with("text/html"));
    r.text().await.unwrap()
}

#[tokio::test]
async fn replayed_or_misdirected_links_are_refused() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let a = assertion(&p, &srv.url("/partner/login"));
    let url = link(&srv, &a, "/portal");
    assert_eq!(
        srv.api.get(&url).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let page = refused_page(srv.api.get(&url).send().await.unwrap()).await;
    assert!(page.contains("already used"), "{page}");
    for aud in [srv.url("/token"), srv.running.issuer.clone()] {
        let a = assertion(&p, &aud);
        let page = refused_page(srv.api.get(link(&srv, &a, "/portal")).send().await.unwrap()).await;
        assert!(page.contains("aud"), "{page}");
    }
    // …and a login-link assertion is no token-endpoint assertion.
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion(&p, &srv.url("/partner/login"))),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = refused_page(srv.api.get(srv.url("/partner/login")).send().await.unwrap()).await;
    assert!(page.contains("no assertion"));
    let page = refused_page(
        srv.api
            .get(link(&srv, "not-a-jwt", "/portal"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("well-formed"));
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
            .any(|e| e.action == "login-link" && e.outcome == "ok")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn rotating_the_auth_token_needs_the_csrf_token() {
    let srv = TestServer::start().await;
    let p = partner(&srv, json!({})).await;
    let cookie = open_portal(&srv, &p).await;
    let page = get_portal(&srv, &cookie).await.text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let accounts = srv.provider().stores.accounts.clone();
    let before = accounts
        .get_account(&p.account)
        .await
        .unwrap()
        .auth_token_hash;
    let rotate = |form: Vec<(&'static str, String)>| {
        srv.api
            .post(srv.url("/portal/auth-token"))
            .header(COOKIE, cookie.clone())
            .form(&form)
            .send()
    };
    for form in [vec![], vec![("csrf", "forged".to_owned())]] {
        let r = rotate(form).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("The form expired"));
    }
    assert_eq!(
        accounts
            .get_account(&p.account)
            .await
            .unwrap()
            .auth_token_hash,
        before
    );
    let r = rotate(vec![("csrf", csrf.clone())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let marker = r#"<code id="new-auth-token">"#;
    let start = page.find(marker).expect("new token shown") + marker.len();
    let token = &page[start..start + page[start..].find('<').unwrap()];
    assert!(token.len() >= 43);
    assert_eq!(
        accounts
            .get_account(&p.account)
            .await
            .unwrap()
            .auth_token_hash,
        surety::util::secret_hash(token)
    );
    let again = get_portal(&srv, &cookie).await.text().await.unwrap();
    assert!(!again.contains(token), "the token is shown once");
    // Another session's CSRF token does not fit this session.
    let other = open_portal(&srv, &p).await;
    let r = srv
        .api
        .post(srv.url("/portal/auth-token"))
        .header(COOKIE, other)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    srv.shutdown().await;
}

#[tokio::test]
async fn without_a_session_the_portal_says_it_ended() {
    let srv = TestServer::start().await;
    let p = partner(&srv, branding()).await;
    let r = srv.api.get(srv.url("/portal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header(&r, CONTENT_SECURITY_POLICY)
            .unwrap()
            .ends_with("frame-ancestors 'none'")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"data-session="ended""#) && page.contains("session has ended"));
    let r = srv
        .api
        .post(srv.url("/portal/auth-token"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A stale session in a browser that opened this partner's portal: framed for the
    // partner (so the embedding page hears `surety:session-ended`), cookie cleared.
    let stale = format!("surety_portal=stale; surety_portal_partner={}", p.id);
    let r = get_portal(&srv, &stale).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header(&r, CONTENT_SECURITY_POLICY)
            .unwrap()
            .ends_with("frame-ancestors https://app.acme.example http://127.0.0.1:4000")
    );
    assert!(r.headers().get("x-frame-options").is_none());
    let cleared = set_cookie(&r, "surety_portal").unwrap();
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Partitioned"));
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"data-parent-origin="https://app.acme.example""#));
    assert!(page.contains("Acme &#60;Mobile&#62;"));
    // An OIDC (password) session is no portal session, even for an account SID.
    let oidc = surety::accounts::session::Session {
        sub: p.account.clone(),
        auth_time: now(),
        acr: surety::accounts::session::ACR_PASSWORD.into(),
        amr: vec!["pwd".into()],
        sid: None,
    };
    let v = surety::accounts::session::create(&srv.provider(), &oidc, 60)
        .await
        .unwrap();
    let r = get_portal(&srv, &format!("surety_portal={v}")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A suspended account's session ends.
    let cookie = open_portal(&srv, &p).await;
    assert_eq!(get_portal(&srv, &cookie).await.status(), StatusCode::OK);
    let accounts = srv.provider().stores.accounts.clone();
    let mut acct = accounts.get_account(&p.account).await.unwrap();
    acct.status = surety::store::AccountStatus::Suspended;
    accounts.update_account(&acct).await.unwrap();
    assert_eq!(
        get_portal(&srv, &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_embed_script_is_served_as_javascript() {
    let srv = TestServer::start().await;
    let r = srv
        .api
        .get(srv.url("/portal/embed.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        header(&r, CONTENT_TYPE)
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = r.text().await.unwrap();
    for s in [
        "surety:resize",
        "surety:session-ended",
        "postMessage(msg, origin)",
    ] {
        assert!(js.contains(s), "{s}");
    }
    assert!(!js.contains("\"*\")"));
    srv.shutdown().await;
}
