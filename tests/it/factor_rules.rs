//! Rules around authenticators found by review, on every backend: an authenticator-app
//! enrolment in progress belongs to one browser session (another session of the same user
//! — a stolen password's — neither sees its secret nor confirms it); recovery codes end
//! with the last second factor and never stand in for one the user does not have;
//! changing authenticators needs a recent sign-in, and enrolling one is not a sign-in.

use reqwest::StatusCode;

use crate::factors::driver::*;
use crate::helpers::*;

const MFA: &str = "urn:surety:acr:mfa";

/// A browser signed in as `username` with the password.
async fn signed_in(srv: &TestServer, rp: &(String, String), username: &str) -> reqwest::Client {
    let b = browser();
    let (url, _) = authorize_url(srv, &rp.0, &[]);
    run(srv, &b, &url, username).await.callback();
    b
}

async fn totp_page(srv: &TestServer, b: &reqwest::Client) -> String {
    let r = b
        .get(srv.url("/account/security/totp"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

#[tokio::test]
async fn an_enrolment_in_progress_belongs_to_one_browser_session() {
    for backend in all_backends().await {
        let srv = TestServer::start_with_clock(settings_for(&backend), fixed_clock()).await;
        let rp = srv.web_client().await;
        srv.user("carol").await;
        let user = signed_in(&srv, &rp, "carol").await;
        let thief = signed_in(&srv, &rp, "carol").await;

        let mine = totp_page(&srv, &user).await;
        let theirs = totp_page(&srv, &thief).await;
        let (secret, other) = (totp_secret(&mine), totp_secret(&theirs));
        assert_ne!(secret, other, "each session gets its own secret");
        assert_eq!(
            totp_secret(&totp_page(&srv, &user).await),
            secret,
            "kept per session"
        );

        // The other session cannot confirm this session's secret, nor the reverse.
        let code = totp_now(&srv, &secret);
        let r = post(
            &srv,
            &thief,
            "/account/security/totp",
            &theirs,
            &[("code", &code)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(
            &srv,
            &user,
            "/account/security/totp",
            &mine,
            &[("code", &code)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let p = srv.provider();
        let sub = p
            .stores
            .users
            .find_user_by_username("carol")
            .await
            .unwrap()
            .sub;
        let stored = p.stores.totp.get_totp(&sub).await.unwrap();
        let stored = p
            .keys
            .open_secret(sub.as_bytes(), &stored.sealed_secret)
            .unwrap();
        assert_eq!(
            stored, secret,
            "the confirmed secret is the user's session's"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn recovery_codes_end_with_the_last_second_factor() {
    for backend in all_backends().await {
        let srv = TestServer::start_with_clock(settings_for(&backend), fixed_clock()).await;
        let rp = srv.web_client().await;
        srv.user("dave").await;
        let b = signed_in(&srv, &rp, "dave").await;
        let (_secret, codes) = enrol_totp(&srv, &b).await;

        // The enrolling session is multi-factor: it may remove the app, the only factor.
        let page = totp_page(&srv, &b).await;
        let r = post(&srv, &b, "/account/security/totp/remove", &page, &[]).await;
        assert!(r.status().is_redirection(), "{}", r.status());
        let p = srv.provider();
        let sub = p
            .stores
            .users
            .find_user_by_username("dave")
            .await
            .unwrap()
            .sub;
        let left = p
            .stores
            .recovery_codes
            .recovery_codes_left(&sub)
            .await
            .unwrap();
        assert_eq!(left, 0, "the codes went with the last factor");

        // Password plus a code of the old set is not multi-factor.
        let other = browser();
        let (url, _) = authorize_url(&srv, &rp.0, &[("acr_values", MFA)]);
        let page = run(&srv, &other, &url, "dave").await.page("/authenticate");
        assert!(
            !page.contains("10 left") && !page.contains("recovery-form"),
            "no recovery codes offered: {page}"
        );
        let r = post(
            &srv,
            &other,
            "/authenticate",
            &page,
            &[("method", "recovery"), ("code", &codes[1])],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn changing_authenticators_needs_a_recent_sign_in_and_enrolling_is_not_one() {
    for backend in all_backends().await {
        let clock = fixed_clock();
        let srv = TestServer::start_with_clock(settings_for(&backend), clock.clone()).await;
        let rp = srv.web_client().await;
        srv.user("erin").await;

        // A session signed in 16 minutes ago (a stale or stolen cookie) enrols nothing.
        let stale = signed_in(&srv, &rp, "erin").await;
        clock.advance(16 * 60);
        let r = stale
            .get(srv.url("/account/security/totp"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let page = r.text().await.unwrap();
        assert!(page.contains("sign in again"), "{page}");
        assert!(!page.contains("totp-secret"), "no secret shown");

        // A fresh sign-in may; enrolling raises the level, not the time of sign-in.
        let b = signed_in(&srv, &rp, "erin").await;
        let signed_in_at = srv.provider().now();
        clock.advance(300);
        enrol_totp(&srv, &b).await;
        let (url, verifier) = authorize_url(&srv, &rp.0, &[]);
        let cb = run(&srv, &b, &url, "erin").await.callback();
        let t = id_token(&srv, &rp, &cb, &verifier).await;
        assert_eq!(t["acr"], MFA);
        assert_eq!(
            t["auth_time"], signed_in_at,
            "enrolment is not an authentication"
        );

        // Later, the multi-factor session must use its factor again before changing any.
        clock.advance(16 * 60);
        let r = b
            .get(srv.url("/account/security/recovery"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        assert_eq!(
            location(&r),
            "/authenticate?return=/account/security/recovery"
        );
        srv.shutdown().await;
    }
}
