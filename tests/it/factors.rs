//! Authenticators beyond the password and the assurance ladder they climb, on every
//! backend: TOTP enrolment (QR code, confirmation), step-up to multi-factor with a code,
//! a code accepted once, the attempt limit; recovery codes (single use, audited and
//! e-mailed through the outbox, regenerable after confirming a second factor); minimum
//! levels by client and by server policy; partners vouching for a level.

pub(crate) mod driver;

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::store::OutboxFilter;

use crate::helpers::*;
use crate::jwt_bearer::{exchange, partner, sign};
use driver::*;

const PASSWORD_ACR: &str = "urn:surety:acr:password";
const MFA: &str = "urn:surety:acr:mfa";
const UNMET: &str = "unmet_authentication_requirements";

async fn server(backend: &Backend) -> (TestServer, surety::clock::FixedClock) {
    let clock = fixed_clock();
    let srv = TestServer::start_with_clock(settings_for(backend), clock.clone()).await;
    (srv, clock)
}

/// A browser signed in as `username` with the password (one plain authorization).
async fn signed_in(srv: &TestServer, rp: &(String, String), username: &str) -> reqwest::Client {
    let b = browser();
    let (url, v) = authorize_url(srv, &rp.0, &[]);
    let t = id_token(srv, rp, &run(srv, &b, &url, username).await.callback(), &v).await;
    assert_eq!(t["acr"], PASSWORD_ACR);
    assert_eq!(t["amr"], json!(["pwd"]));
    b
}

#[tokio::test]
async fn totp_enrols_steps_up_to_mfa_once_per_code_within_the_attempt_limit() {
    for backend in all_backends().await {
        let (srv, clock) = server(&backend).await;
        let rp = srv.web_client().await;
        srv.user("alice").await;
        let b = signed_in(&srv, &rp, "alice").await;

        // Multi-factor asked, nothing enrolled: the page says so and offers to set it up.
        let (url, verifier) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let page = run(&srv, &b, &url, "alice").await.page("/authenticate");
        assert!(page.contains("you have none yet"), "{page}");
        let tx = hidden(&page, "tx");
        assert!(page.contains(&format!("/account/security/totp?tx={tx}")));
        let (secret, _codes) = enrol_totp(&srv, &b).await;

        // Back on the step-up page: the code of the enrolment's step is spent.
        let page = run(&srv, &b, &format!("/authenticate?tx={tx}"), "alice")
            .await
            .page("/authenticate");
        assert!(page.contains("id=\"totp-form\""));
        let spent = totp_now(&srv, &secret);
        let r = post(
            &srv,
            &b,
            "/authenticate",
            &page,
            &[("method", "totp"), ("code", &spent)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        clock.advance(30);
        let code = totp_now(&srv, &secret);
        let r = post(
            &srv,
            &b,
            "/authenticate",
            &page,
            &[("method", "totp"), ("code", &code)],
        )
        .await;
        assert!(r.status().is_redirection());
        let cb = run(&srv, &b, &location(&r), "alice").await.callback();
        let t = id_token(&srv, &rp, &cb, &verifier).await;
        assert_eq!(t["acr"], MFA);
        assert_eq!(t["amr"], json!(["pwd", "otp", "mfa"]));
        assert_eq!(t["auth_time"], srv.provider().now());

        // The level holds for the session: asked again, no second factor.
        let (url, verifier) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let cb = run(&srv, &b, &url, "alice").await.callback();
        assert_eq!(id_token(&srv, &rp, &cb, &verifier).await["acr"], MFA);

        // The same code in another browser (the password known): refused, once used.
        let other = browser();
        let (url, _) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let page = run(&srv, &other, &url, "alice").await.page("/authenticate");
        let r = post(
            &srv,
            &other,
            "/authenticate",
            &page,
            &[("method", "totp"), ("code", &code)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Guessing: four more wrong codes, then even the right one is locked out.
        for _ in 0..4 {
            let r = post(
                &srv,
                &other,
                "/authenticate",
                &page,
                &[("method", "totp"), ("code", "000000")],
            )
            .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        clock.advance(30);
        let fresh = totp_now(&srv, &secret);
        let r = post(
            &srv,
            &other,
            "/authenticate",
            &page,
            &[("method", "totp"), ("code", &fresh)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn recovery_codes_stand_in_once_audited_and_emailed_and_are_regenerable() {
    for backend in all_backends().await {
        let (srv, clock) = server(&backend).await;
        let rp = srv.web_client().await;
        let sub = srv.user("bob").await;
        let b = signed_in(&srv, &rp, "bob").await;
        let (secret, codes) = enrol_totp(&srv, &b).await;

        let other = browser();
        let (url, verifier) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let page = run(&srv, &other, &url, "bob").await.page("/authenticate");
        assert!(page.contains("10 left"), "{page}");
        let typed = codes[0].to_uppercase().replace('-', " ");
        let r = post(
            &srv,
            &other,
            "/authenticate",
            &page,
            &[("method", "recovery"), ("code", &typed)],
        )
        .await;
        assert!(r.status().is_redirection(), "{}", r.status());
        let cb = run(&srv, &other, &location(&r), "bob").await.callback();
        let t = id_token(&srv, &rp, &cb, &verifier).await;
        assert_eq!(
            (t["acr"].clone(), t["amr"].clone()),
            (json!(MFA), json!(["pwd", "otp", "mfa"]))
        );

        let p = srv.provider();
        let mail = p
            .stores
            .outbox
            .list_events(
                &OutboxFilter {
                    destination: Some("bob@example.com".into()),
                    status: None,
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(mail.len(), 1);
        assert!(mail[0].payload.contains("A recovery code was used"));
        assert!(mail[0].payload.contains("9 recovery codes left"));
        let audit = p.stores.audit.events_for(&sub, 10).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "recovery_code_used"));

        // Spent: refused in a third browser.
        let third = browser();
        let (url, _) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let page = run(&srv, &third, &url, "bob").await.page("/authenticate");
        let r = post(
            &srv,
            &third,
            "/authenticate",
            &page,
            &[("method", "recovery"), ("code", &codes[0])],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // A password session of a user with a factor must confirm it before a new set
        // (the enrolling browser's session became multi-factor with the enrolment).
        let r = third
            .get(srv.url("/account/security/recovery"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection());
        let confirm = location(&r);
        assert_eq!(confirm, "/authenticate?return=/account/security/recovery");
        let page = run(&srv, &third, &confirm, "bob")
            .await
            .page("/authenticate");
        clock.advance(30);
        let code = totp_now(&srv, &secret);
        let r = post(
            &srv,
            &third,
            "/authenticate",
            &page,
            &[
                ("method", "totp"),
                ("code", &code),
                ("return", "/account/security/recovery"),
            ],
        )
        .await;
        assert_eq!(location(&r), "/account/security/recovery");
        let page = run(&srv, &third, "/account/security/recovery", "bob")
            .await
            .page("/account/security/recovery");
        assert!(page.contains("9 unused recovery codes"));
        let r = post(&srv, &third, "/account/security/recovery", &page, &[]).await;
        let fresh = recovery_codes(&r.text().await.unwrap());
        assert_eq!(fresh.len(), 10);
        let fourth = browser();
        let r = post(
            &srv,
            &fourth,
            "/authenticate",
            &page_of(&srv, &fourth, &rp).await,
            &[("method", "recovery"), ("code", &codes[1])],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old set stopped");
        let r = post(
            &srv,
            &fourth,
            "/authenticate",
            &page_of(&srv, &fourth, &rp).await,
            &[("method", "recovery"), ("code", &fresh[1])],
        )
        .await;
        assert!(r.status().is_redirection());
        // The enrolling browser's session is multi-factor: the page opens at once.
        let r = b
            .get(srv.url("/account/security/recovery"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        srv.shutdown().await;
    }
}

/// A fresh step-up page in `b` (a new authorization asking for multi-factor).
async fn page_of(srv: &TestServer, b: &reqwest::Client, rp: &(String, String)) -> String {
    let (url, _) = authorize_url(srv, &rp.0, &[("acr_values", MFA)]);
    run(srv, b, &url, "bob").await.page("/authenticate")
}

#[tokio::test]
async fn minimum_levels_by_client_and_server_make_the_request_essential() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("carol").await;
        let (strict, secret) = srv
            .client(
                json!({"client_name": "Bank", "redirect_uris": ["http://127.0.0.1:9/cb"],
                "minimum_acr": MFA}),
            )
            .await;
        let strict = (strict, secret.unwrap());
        // Asked for the password level only, the client's minimum wins; skipping fails.
        let b = browser();
        let (url, _) = authorize_url(&srv, &strict.0, &[("acr_values", PASSWORD_ACR)]);
        let page = run(&srv, &b, &url, "carol").await.page("/authenticate");
        assert!(page.contains("Cancel"), "essential");
        let r = post(&srv, &b, "/authenticate", &page, &[("method", "skip")]).await;
        let cb = run(&srv, &b, &location(&r), "carol").await.callback();
        assert_eq!(query_param(&cb, "error").as_deref(), Some(UNMET));

        // default_acr_values: asked for when a request names none, voluntary.
        let (soft, secret) = srv
            .client(json!({"redirect_uris": ["http://127.0.0.1:9/cb"],
                "default_acr_values": [MFA]}))
            .await;
        let soft = (soft, secret.unwrap());
        let (url, verifier) = authorize_url(&srv, &soft.0, &[]);
        let page = run(&srv, &b, &url, "carol").await.page("/authenticate");
        let r = post(&srv, &b, "/authenticate", &page, &[("method", "skip")]).await;
        let cb = run(&srv, &b, &location(&r), "carol").await.callback();
        assert_eq!(
            id_token(&srv, &soft, &cb, &verifier).await["acr"],
            PASSWORD_ACR
        );

        // Not a level of the ladder: refused at registration.
        let r = srv
            .api
            .post(srv.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "minimum_acr": "urn:x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        srv.shutdown().await;

        // The server's minimum holds for every client, prompt=none included.
        let mut s = settings_for(&backend);
        s.minimum_acr = Some(MFA.into());
        let srv = TestServer::start_with(s).await;
        srv.user("dave").await;
        let rp = srv.web_client().await;
        let b = browser();
        let (url, _) = authorize_url(&srv, &rp.0, &[]);
        run(&srv, &b, &url, "dave").await.page("/authenticate");
        let (url, _) = authorize_url(&srv, &rp.0, &[("prompt", "none")]);
        let cb = run(&srv, &b, &url, "dave").await.callback();
        assert_eq!(
            query_param(&cb, "error").as_deref(),
            Some("interaction_required")
        );
        let meta: Value = srv
            .api
            .get(srv.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["acr_values_supported"].as_array().unwrap().len(), 6);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn partners_vouch_for_a_level_within_their_policy() {
    let srv = TestServer::start().await;
    let acr_of = |t: &Value| {
        let (_, c) = surety::keys::jws::peek(t["access_token"].as_str().unwrap()).unwrap();
        c.get("acr").cloned()
    };
    let now = srv.provider().now();
    let claims = |p: &crate::jwt_bearer::Partner, acr: Option<&str>| {
        let mut c = json!({"iss": p.id, "sub": p.account, "aud": srv.running.issuer,
            "exp": now + 120, "iat": now, "jti": random_hex16(), "auth_time": now - 10});
        if let Some(a) = acr {
            c["acr"] = json!(a);
        }
        c
    };
    // No policy: the claim is capped at the password level; none stated, none carried.
    let p = partner(&srv, json!({})).await;
    let r = exchange(&srv, &sign(&p, &claims(&p, Some(MFA))), Some("read")).await;
    assert_eq!(acr_of(&r.json().await.unwrap()), Some(json!(PASSWORD_ACR)));
    let r = exchange(&srv, &sign(&p, &claims(&p, None)), Some("read")).await;
    assert_eq!(acr_of(&r.json().await.unwrap()), None);
    let r = exchange(&srv, &sign(&p, &claims(&p, Some("urn:x"))), Some("read")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A cap and a minimum: phishing-resistant claimed within verified:mfa gives mfa;
    // below the minimum is refused.
    let p = partner(
        &srv,
        json!({"limits": {"max_acr": "urn:surety:acr:verified:mfa", "minimum_acr": MFA}}),
    )
    .await;
    let r = exchange(
        &srv,
        &sign(&p, &claims(&p, Some("urn:surety:acr:phishing-resistant"))),
        Some("read"),
    )
    .await;
    let t: Value = r.json().await.unwrap();
    assert_eq!(acr_of(&t), Some(json!(MFA)));
    let r = exchange(
        &srv,
        &sign(&p, &claims(&p, Some(PASSWORD_ACR))),
        Some("read"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = exchange(&srv, &sign(&p, &claims(&p, None)), Some("read")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partners_minimum_holds_at_its_developers_apps() {
    let srv = TestServer::start().await;
    srv.user("gail").await;
    let admin = |path: String, body: Value| {
        let req = srv
            .api
            .post(srv.url(&path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let partner = admin(
        "/admin/partners".into(),
        json!({"name": "Strict Telecom", "secret": "s".repeat(32), "limits": {"minimum_acr": MFA}}),
    )
    .await;
    assert_eq!(partner["limits"]["minimum_acr"], MFA);
    let pid = partner["partner_id"].as_str().unwrap();
    let acct = admin(
        format!("/admin/partners/{pid}/accounts"),
        json!({"friendly_name": "Dev"}),
    )
    .await;
    let dev = (
        acct["account_sid"].as_str().unwrap().to_owned(),
        acct["auth_token"].as_str().unwrap().to_owned(),
    );
    let app = crate::apps::register_app(&srv, &dev).await;
    let b = browser();
    let (url, _) = authorize_url(&srv, &app.0, &[("scope", "openid read messages:send")]);
    let page = run(&srv, &b, &url, "gail").await.page("/authenticate");
    let r = post(&srv, &b, "/authenticate", &page, &[("method", "skip")]).await;
    let cb = run(&srv, &b, &location(&r), "gail").await.callback();
    assert_eq!(query_param(&cb, "error").as_deref(), Some(UNMET));
    // A client outside the partner's apps is not held to it.
    let rp = srv.web_client().await;
    let (url, _) = authorize_url(&srv, &rp.0, &[]);
    run(&srv, &b, &url, "gail").await.callback();
    // On an account (the Partner API), the acr policy is refused: only an operator sets it.
    let tok: Value = srv
        .api
        .post(srv.url("/token"))
        .basic_auth(pid, Some("s".repeat(32)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "partner:api"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = srv
        .api
        .put(srv.url(&format!("/partner/v1/accounts/{}/limits", dev.0)))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .json(&json!({"minimum_acr": MFA}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    srv.shutdown().await;
}
