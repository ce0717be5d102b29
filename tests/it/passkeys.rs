//! Passkeys (WebAuthn) on every backend, with a software authenticator whose ceremonies
//! the server checks with webauthn-rs: registration from the account page (named, listed
//! with its last use, removable), step-up of a password session to phishing-resistant,
//! sign-in without a password with the discoverable credential, a ceremony answered
//! once, a counter regression (a cloned authenticator) refused, and a synced passkey
//! reported as `swk`.

mod authenticator;

use reqwest::StatusCode;
use serde_json::json;

use crate::factors::driver::*;
use crate::helpers::*;
use authenticator::{SoftKey, options_in};

const PHR: &str = "urn:surety:acr:phishing-resistant";

/// The origin the browser would report: the issuer with its loopback address as
/// `localhost` (the relying party passkeys use).
fn origin(srv: &TestServer) -> String {
    srv.base.replace("127.0.0.1", "localhost")
}

async fn register(srv: &TestServer, b: &reqwest::Client, key: &mut SoftKey, name: &str) {
    let r = b
        .get(srv.url("/account/security/passkeys"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("<script src=\"/assets/passkey.js\"></script>"));
    let credential = key.create(&options_in(&page, "passkey-register"), &origin(srv));
    let r = post(
        srv,
        b,
        "/account/security/passkeys",
        &page,
        &[("name", name), ("credential", &credential)],
    )
    .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
}

#[tokio::test]
async fn passkeys_register_step_up_and_sign_in_without_a_password() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let rp = srv.web_client().await;
        srv.user("erin").await;
        let b = browser();
        let (url, v) = authorize_url(&srv, &rp.0, &[]);
        id_token(&srv, &rp, &run(&srv, &b, &url, "erin").await.callback(), &v).await;

        // Register: the first passkey brings recovery codes; the list names it.
        let mut key = SoftKey::new(false);
        register(&srv, &b, &mut key, "Work laptop").await;
        let page = run(&srv, &b, "/account/security/passkeys", "erin")
            .await
            .page("/account/security/passkeys");
        assert!(page.contains("Work laptop") && page.contains("never used"));
        let js = srv
            .api
            .get(srv.url("/assets/passkey.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            js.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );

        // Step up the password session to phishing-resistant: only the passkey is offered.
        let (url, verifier) = authorize_url(&srv, &rp.0, &[("acr_values", PHR)]);
        let page = run(&srv, &b, &url, "erin").await.page("/authenticate");
        assert!(!page.contains("id=\"totp-form\"") && !page.contains("id=\"recovery-form\""));
        let answer = key.get(&options_in(&page, "passkey-form"), &origin(&srv));
        let r = post(
            &srv,
            &b,
            "/authenticate",
            &page,
            &[("method", "passkey"), ("credential", &answer)],
        )
        .await;
        assert!(r.status().is_redirection(), "{}", r.status());
        let t = id_token(
            &srv,
            &rp,
            &run(&srv, &b, &location(&r), "erin").await.callback(),
            &verifier,
        )
        .await;
        assert_eq!(t["acr"], PHR);
        assert_eq!(t["amr"], json!(["pwd", "hwk", "user", "mfa"]));
        // The same answer again, in a new request: its ceremony is spent.
        let replay = browser();
        let (url, _) = authorize_url(&srv, &rp.0, &[("acr_values", PHR)]);
        let fresh = run(&srv, &replay, &url, "erin").await.page("/authenticate");
        let r = post(
            &srv,
            &replay,
            "/authenticate",
            &fresh,
            &[("method", "passkey"), ("credential", &answer)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Another browser signs in with the passkey alone (the login page's options).
        let other = browser();
        let (page, verifier) = login_page(&srv, &other, &rp.0).await;
        let answer = key.get(&options_in(&page, "passkey-login"), &origin(&srv));
        let r = post(
            &srv,
            &other,
            "/login/passkey",
            &page,
            &[("credential", &answer)],
        )
        .await;
        assert!(r.status().is_redirection(), "{}", r.status());
        let cb = run(&srv, &other, &location(&r), "erin").await.callback();
        let t = id_token(&srv, &rp, &cb, &verifier).await;
        assert_eq!(t["acr"], PHR);
        assert_eq!(t["amr"], json!(["hwk", "user", "mfa"]));

        // A clone of the authenticator (its counter behind) is refused.
        let third = browser();
        let (page, _) = login_page(&srv, &third, &rp.0).await;
        key.counter -= 2;
        let answer = key.get(&options_in(&page, "passkey-login"), &origin(&srv));
        let r = post(
            &srv,
            &third,
            "/login/passkey",
            &page,
            &[("credential", &answer)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Last use shown; removal (the session holds a passkey level, so it may).
        let page = run(&srv, &b, "/account/security/passkeys", "erin")
            .await
            .page("/account/security/passkeys");
        assert!(page.contains("last used"));
        let id = hidden(&page, "id");
        let r = post(
            &srv,
            &b,
            "/account/security/passkeys/remove",
            &page,
            &[("id", &id)],
        )
        .await;
        assert!(r.status().is_redirection());
        let sub = t["sub"].as_str().unwrap();
        assert!(
            srv.provider()
                .stores
                .passkeys
                .user_passkeys(sub)
                .await
                .unwrap()
                .is_empty()
        );
        srv.shutdown().await;
    }
}

/// The login page of a new authorization in `b`, and its PKCE verifier.
async fn login_page(srv: &TestServer, b: &reqwest::Client, client_id: &str) -> (String, String) {
    let (url, verifier) = authorize_url(srv, client_id, &[]);
    let r = b.get(&url).send().await.unwrap();
    let login = location(&r);
    let r = b.get(srv.url(&login)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (r.text().await.unwrap(), verifier)
}

#[tokio::test]
async fn a_synced_passkey_is_a_software_key() {
    let srv = TestServer::start().await;
    let rp = srv.web_client().await;
    srv.user("finn").await;
    let b = browser();
    let (url, v) = authorize_url(&srv, &rp.0, &[]);
    id_token(&srv, &rp, &run(&srv, &b, &url, "finn").await.callback(), &v).await;
    let mut key = SoftKey::new(true);
    register(&srv, &b, &mut key, "Phone").await;
    let other = browser();
    let (page, verifier) = login_page(&srv, &other, &rp.0).await;
    let answer = key.get(&options_in(&page, "passkey-login"), &origin(&srv));
    let r = post(
        &srv,
        &other,
        "/login/passkey",
        &page,
        &[("credential", &answer)],
    )
    .await;
    let cb = run(&srv, &other, &location(&r), "finn").await.callback();
    let t = id_token(&srv, &rp, &cb, &verifier).await;
    assert_eq!(t["amr"], json!(["swk", "user", "mfa"]));
    srv.shutdown().await;
}

#[tokio::test]
async fn verified_identity_and_a_passkey_combine() {
    use crate::step_up::driver::{RIGHT, challenge, seeded};
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let rp = srv.web_client().await;
        let b = srv.browser.clone();
        let (url, v) = authorize_url(&srv, &rp.0, &[]);
        id_token(
            &srv,
            &rp,
            &run(&srv, &b, &url, "alice").await.callback(),
            &v,
        )
        .await;
        let mut key = SoftKey::new(false);
        register(&srv, &b, &mut key, "Laptop").await;

        // Both properties missing: the passkey first (it proves the most), then the
        // verified-entity challenge.
        let both = "urn:surety:acr:verified:phishing-resistant";
        let (url, verifier) = authorize_url(&srv, &rp.0, &[("acr_values", both)]);
        let page = run(&srv, &b, &url, "alice").await.page("/authenticate");
        assert!(!page.contains("id=\"totp-form\""), "a passkey only");
        let answer = key.get(&options_in(&page, "passkey-form"), &origin(&srv));
        let r = post(
            &srv,
            &b,
            "/authenticate",
            &page,
            &[("method", "passkey"), ("credential", &answer)],
        )
        .await;
        let page = run(&srv, &b, &location(&r), "alice")
            .await
            .page("/challenge");
        let base = vec![
            ("tx".to_owned(), hidden(&page, "tx")),
            ("csrf".to_owned(), hidden(&page, "csrf")),
        ];
        let (next, _, ended) = challenge(&srv, page, base, RIGHT).await;
        assert!(ended.is_none(), "the challenge passed");
        let cb = run(&srv, &b, &next, "alice").await.callback();
        let t = id_token(&srv, &rp, &cb, &verifier).await;
        assert_eq!(t["acr"], both);
        assert_eq!(t["amr"], json!(["pwd", "hwk", "user", "mfa", "kba"]));

        // The session holds both at every relying party; each asks for what it needs.
        let other = srv.web_client().await;
        for (acr, want) in [
            (PHR, PHR),
            ("urn:surety:acr:verified", "urn:surety:acr:verified"),
            ("", both),
        ] {
            let extra: Vec<(&str, &str)> = if acr.is_empty() {
                vec![]
            } else {
                vec![("acr_values", acr)]
            };
            let (url, verifier) = authorize_url(&srv, &other.0, &extra);
            let cb = run(&srv, &b, &url, "alice").await.callback();
            assert_eq!(
                id_token(&srv, &other, &cb, &verifier).await["acr"],
                want,
                "asked {acr:?}"
            );
        }
        srv.shutdown().await;
    }
}

/// Two browsers of one user opening the passkeys page: each registration belongs to its
/// own session, so loading the page in the second does not spoil the first's ceremony.
#[tokio::test]
async fn a_registration_in_progress_belongs_to_its_browser_session() {
    let srv = TestServer::start().await;
    let rp = srv.web_client().await;
    srv.user("gwen").await;
    let (a, b) = (browser(), browser());
    for br in [&a, &b] {
        let (url, v) = authorize_url(&srv, &rp.0, &[]);
        id_token(&srv, &rp, &run(&srv, br, &url, "gwen").await.callback(), &v).await;
    }
    let page = |br: reqwest::Client| {
        let srv = &srv;
        async move {
            let r = br
                .get(srv.url("/account/security/passkeys"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let first = page(a.clone()).await;
    let _second = page(b.clone()).await;
    let mut key = SoftKey::new(false);
    let credential = key.create(&options_in(&first, "passkey-register"), &origin(&srv));
    let r = post(
        &srv,
        &a,
        "/account/security/passkeys",
        &first,
        &[("name", "Laptop"), ("credential", &credential)],
    )
    .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let listed = page(a.clone()).await;
    assert!(listed.contains("Laptop"), "{listed}");
    srv.shutdown().await;
}
