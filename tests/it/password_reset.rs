//! Password reset and change (issue 12). "Forgot password" mails a signed, single-use,
//! short-lived link; the same page and status answer a known and an unknown address;
//! limits bite per asked address and per account; the link sets a new password (the old
//! one stops working), ends every session of the user, sends their relying parties logout
//! tokens (a local receiver) and revokes the refresh tokens; it is audited and works
//! once. Changing the password on the account page needs the current one and a CSRF
//! token, and ends the other sessions only.

use reqwest::StatusCode;
use serde_json::Value;

use crate::backchannel::{logout_tokens, receiver, refresh_works, rp, sign_in, verified};
use crate::email_verify::{mail_server, nth_mail, outbox_events, page, post, token_in};
use crate::helpers::*;

const RESET: &str = "Reset your password";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Asks for a reset link for `login` from `b` (which loads the form first, for its
/// browser-bound CSRF token).
async fn forgot(srv: &TestServer, b: &reqwest::Client, login: &str) -> (StatusCode, String) {
    let (status, form) = page(b, srv.url("/password/forgot")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&form, "csrf");
    post(
        b,
        srv.url("/password/forgot"),
        &[("csrf", csrf.as_str()), ("login", login)],
    )
    .await
}

/// Signs in as `username` with `password` through an authorization request; the login
/// form's status (303 on success).
async fn login_status(srv: &TestServer, c: &str, username: &str, password: &str) -> StatusCode {
    let b = browser();
    let (url, _) = authorize_url(srv, c, &[]);
    let r = b.get(url).send().await.unwrap();
    let login = location(&r);
    let (_, form) = page(&b, srv.url(&login)).await;
    let fields = [
        ("tx", hidden(&form, "tx")),
        ("csrf", hidden(&form, "csrf")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    b.post(srv.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .status()
}

async fn actions(srv: &TestServer, sub: &str, action: &str) -> Vec<String> {
    let events = srv
        .provider()
        .stores
        .audit
        .events_for(sub, 100)
        .await
        .unwrap();
    events
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.outcome)
        .collect()
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_tells_the_relying_parties() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        let (seen, bcl) = receiver(false).await;
        let sub = srv.user("alice").await;
        let c = rp(&srv, &bcl).await;
        let other = browser();
        let t1 = sign_in(&srv, &srv.browser, &c, "alice").await;
        let t2 = sign_in(&srv, &other, &c, "alice").await;

        let (status, said) = forgot(&srv, &browser(), "alice@example.com").await;
        assert_eq!(status, StatusCode::OK);
        assert!(said.contains("If an account matches"), "{said}");
        let mail = nth_mail(&sink, RESET, 1).await;
        assert_eq!(mail.to, ["alice@example.com"]);
        let token = token_in(&srv, &mail, "/password/reset");

        let (status, form) = page(&srv.api, srv.url(&format!("/password/reset?t={token}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(hidden(&form, "t"), token);
        let to = srv.url("/password/reset");
        let set = |pw: &str, again: &str| {
            [
                ("t", token.clone()),
                ("password", pw.into()),
                ("confirm", again.into()),
            ]
        };
        let (status, _) = post(&srv.api, to.clone(), &set(NEW_PASSWORD, "something else")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the two differ");
        let (status, said) = post(&srv.api, to.clone(), &set("short", "short")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the rules hold: {said}");
        let (status, said) = post(&srv.api, to.clone(), &set(NEW_PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(status, StatusCode::OK, "{said}");
        assert!(said.contains("every session of your account was signed out"));
        let (status, _) = post(&srv.api, to, &set("yet another one", "yet another one")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a link works once");

        let got = logout_tokens(&seen, 2).await;
        let mut sids = Vec::new();
        for jwt in &got {
            let (_, claims) = verified(&srv, jwt).await;
            assert_eq!(claims["sub"], sub.as_str());
            sids.push(claims["sid"].clone());
        }
        sids.dedup();
        assert_eq!(sids.len(), 2, "one logout token per session");
        assert!(!refresh_works(&srv, &c, &t1).await && !refresh_works(&srv, &c, &t2).await);
        for b in [&srv.browser, &other] {
            let (status, _) = page(b, srv.url("/account/sessions")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "signed out");
        }
        assert_eq!(
            login_status(&srv, &c.0, "alice", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login_status(&srv, &c.0, "alice", NEW_PASSWORD).await,
            StatusCode::SEE_OTHER
        );

        let notice = nth_mail(&sink, "Your password was reset", 1).await;
        assert_eq!(notice.to, ["alice@example.com"]);
        assert_eq!(actions(&srv, &sub, "password_reset").await, ["ok"]);
        assert_eq!(
            actions(&srv, &sub, "password_reset_requested").await,
            ["ok"]
        );
        let claims = srv.provider().stores.users.get_user(&sub).await.unwrap();
        assert!(
            claims.email_verified_at.is_some(),
            "the link reached the address"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        srv.user("alice").await;
        let b = browser();
        let unknown = forgot(&srv, &b, "nobody@example.com").await;
        let known = forgot(&srv, &b, "alice@example.com").await;
        let by_name = forgot(&srv, &b, "alice").await;
        let no_name = forgot(&srv, &b, "nobody").await;
        assert_eq!(unknown.0, StatusCode::OK);
        for other in [&known, &by_name, &no_name] {
            assert_eq!(other, &unknown, "the same status and page");
        }
        nth_mail(&sink, RESET, 2).await;
        for e in outbox_events(&srv).await {
            assert_eq!(e.destination, "alice@example.com", "nothing for nobody");
        }
        // A form not loaded by this browser (no binding cookie) is refused.
        let csrf = {
            let (_, form) = page(&b, srv.url("/password/forgot")).await;
            hidden(&form, "csrf")
        };
        let fields = [("csrf", csrf.as_str()), ("login", "alice")];
        let (status, _) = post(&browser(), srv.url("/password/forgot"), &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn rate_limits_bite_per_address_and_per_account() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        let sub = srv.user("alice").await;
        let b = browser();
        let per_address = srv.provider().settings.mail_link_max_per_address;
        let per_account = srv.provider().settings.mail_link_max_per_account;
        assert_eq!((per_address, per_account), (3, 5));
        for login in ["nobody@example.com", "alice@example.com", "alice"] {
            for _ in 0..per_address {
                assert_eq!(forgot(&srv, &b, login).await.0, StatusCode::OK);
            }
            let (status, said) = forgot(&srv, &b, login).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{login}");
            assert!(said.contains("Too many links were asked for lately"));
        }
        // Six requests reached alice's account, by address and by name: five links.
        let outcomes = eventually("six reset requests audited", || async {
            let got = actions(&srv, &sub, "password_reset_requested").await;
            (got.len() >= 6).then_some(got)
        })
        .await;
        assert_eq!(outcomes.iter().filter(|o| *o == "ok").count(), 5);
        assert_eq!(outcomes.iter().filter(|o| *o == "limited").count(), 1);
        nth_mail(&sink, RESET, 5).await;
        assert_eq!(outbox_events(&srv).await.len(), 5);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        let (seen, bcl) = receiver(false).await;
        let sub = srv.user("alice").await;
        let c = rp(&srv, &bcl).await;
        let other = browser();
        let t1 = sign_in(&srv, &srv.browser, &c, "alice").await;
        let t2 = sign_in(&srv, &other, &c, "alice").await;
        let (_, form) = page(&srv.browser, srv.url("/account/password")).await;
        let csrf = hidden(&form, "csrf");
        let to = srv.url("/account/password");
        let change = |csrf: &str, current: &str, again: &str| {
            [
                ("csrf", csrf.to_owned()),
                ("current", current.to_owned()),
                ("password", NEW_PASSWORD.to_owned()),
                ("confirm", again.to_owned()),
            ]
        };
        let fields = change("wrong", PASSWORD, NEW_PASSWORD);
        let (status, _) = post(&srv.browser, to.clone(), &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "CSRF");
        let (status, _) = post(&other, to.clone(), &change(&csrf, PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another session's token");
        let fields = change(&csrf, "not my password", NEW_PASSWORD);
        let (status, said) = post(&srv.browser, to.clone(), &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(said.contains("Your password is not right"));
        let fields = change(&csrf, PASSWORD, "typo");
        assert_eq!(
            post(&srv.browser, to.clone(), &fields).await.0,
            StatusCode::BAD_REQUEST
        );
        let (status, said) = post(&srv.browser, to, &change(&csrf, PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(status, StatusCode::OK, "{said}");
        assert!(said.contains("Sessions signed out elsewhere: 1"), "{said}");

        let got = logout_tokens(&seen, 1).await;
        assert_eq!(got.len(), 1, "only the other session is told");
        assert!(
            refresh_works(&srv, &c, &t1).await,
            "this session's grant stays"
        );
        assert!(
            !refresh_works(&srv, &c, &t2).await,
            "the other's is revoked"
        );
        assert_eq!(
            page(&srv.browser, srv.url("/account/password")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            page(&other, srv.url("/account/password")).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login_status(&srv, &c.0, "alice", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login_status(&srv, &c.0, "alice", NEW_PASSWORD).await,
            StatusCode::SEE_OTHER
        );
        let notice = nth_mail(&sink, "Your password was changed", 1).await;
        assert_eq!(notice.to, ["alice@example.com"]);
        assert_eq!(actions(&srv, &sub, "password_changed").await, ["ok"]);
        srv.shutdown().await;
    }
}

/// The outbox row of a reset link holds neither the link nor its token.
#[tokio::test]
async fn reset_links_are_sealed_in_the_outbox() {
    let (srv, sink, _) = mail_server(&default_backend().await).await;
    srv.user("alice").await;
    forgot(&srv, &browser(), "alice").await;
    let token = token_in(&srv, &nth_mail(&sink, RESET, 1).await, "/password/reset");
    let events: Vec<Value> = outbox_events(&srv)
        .await
        .into_iter()
        .map(|e| {
            assert!(e.secret_sealed.is_some());
            serde_json::from_str(&e.payload).unwrap()
        })
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["subject"], RESET);
    assert_eq!(events[0]["text"], "");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains(&token[..20])
    );
    srv.shutdown().await;
}
