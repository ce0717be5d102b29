//! E-mail verification (issue 12): a signed, single-use, short-lived link sent through the
//! outbox and SMTP (a local sink) from the account's e-mail page; `email_verified` in ID
//! tokens, UserInfo and the admin API follows it; an expired, altered or reused link, or
//! one for an address changed since, is refused; changing the address needs the password
//! and a new confirmation. The link never sits in the outbox row in the clear.

use reqwest::StatusCode;
use serde_json::Value;
use surety::clock::FixedClock;
use surety::config::{Settings, SmtpTls};

use crate::helpers::*;
use crate::smtp_sink::{Mail, SmtpSink};

/// Settings sending mail to the sink on `port`, delivering the outbox at once.
pub(crate) fn with_mail(backend: &Backend, port: u16) -> Settings {
    let mut s = settings_for(backend);
    s.smtp_host = Some("127.0.0.1".into());
    s.smtp_port = Some(port);
    s.smtp_tls = SmtpTls::None;
    s.smtp_from = "accounts@surety.test".into();
    s.outbox_poll_interval = 25;
    s.outbox_retry_base = 0;
    s
}

/// A server mailing to a fresh sink, on a clock the test moves.
pub(crate) async fn mail_server(backend: &Backend) -> (TestServer, SmtpSink, FixedClock) {
    let sink = SmtpSink::start().await;
    let clock = fixed_clock();
    let srv = TestServer::start_with_clock(with_mail(backend, sink.port), clock.clone()).await;
    (srv, sink, clock)
}

/// The `n`-th message (from 1) with `subject` that reached the sink.
pub(crate) async fn nth_mail(sink: &SmtpSink, subject: &str, n: usize) -> Mail {
    eventually(&format!("mail {n} titled {subject:?}"), || async {
        let got: Vec<Mail> = sink
            .mails()
            .into_iter()
            .filter(|m| m.header("subject").as_deref() == Some(subject))
            .collect();
        got.get(n - 1).cloned()
    })
    .await
}

/// The token of the link to `path` in `mail`.
pub(crate) fn token_in(srv: &TestServer, mail: &Mail, path: &str) -> String {
    let body = mail.body();
    let prefix = format!("{}{path}?t=", srv.base);
    let at = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link in {body}"))
        + prefix.len();
    body[at..].split_whitespace().next().unwrap().to_owned()
}

pub(crate) async fn page(b: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = b.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

pub(crate) async fn post<T: serde::Serialize + ?Sized>(
    b: &reqwest::Client,
    url: String,
    form: &T,
) -> (StatusCode, String) {
    let r = b.post(url).form(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Every event in the server's outbox (newest first).
pub(crate) async fn outbox_events(srv: &TestServer) -> Vec<surety::store::OutboxEvent> {
    let outbox = srv.provider().stores.outbox.clone();
    let filter = surety::store::OutboxFilter::default();
    outbox.list_events(&filter, 100).await.unwrap()
}

const CONFIRM: &str = "Confirm your e-mail address";

/// Asks the account page (as the signed-in browser) for a confirmation link.
async fn ask_link(srv: &TestServer) -> (StatusCode, String) {
    let (_, account) = page(&srv.browser, srv.url("/account/email")).await;
    let csrf = hidden(&account, "csrf");
    post(
        &srv.browser,
        srv.url("/account/email/send"),
        &[("csrf", &csrf)],
    )
    .await
}

async fn userinfo(srv: &TestServer, t: &Value) -> Value {
    let r = srv
        .api
        .get(srv.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The claims of the ID token in a token response (its signature checked).
async fn id_claims(srv: &TestServer, t: &Value) -> Value {
    crate::backchannel::verified(srv, t["id_token"].as_str().unwrap())
        .await
        .1
}

async fn refreshed(srv: &TestServer, c: &(String, String), t: &Value) -> Value {
    let rt = t["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    let r = token_request(srv, c, &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn admin_user(srv: &TestServer, sub: &str) -> Value {
    let url = srv.url(&format!("/admin/users/{sub}"));
    let r = srv.api.get(url).bearer_auth(ADMIN_TOKEN).send().await;
    r.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_confirmation_link_works_once_and_email_verified_follows() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        let sub = srv.user("alice").await;
        let c = srv.web_client().await;
        let t = tokens(&srv, &c, "alice").await;
        assert_eq!(id_claims(&srv, &t).await["email_verified"], false);
        assert_eq!(userinfo(&srv, &t).await["email_verified"], false);
        let (_, account) = page(&srv.browser, srv.url("/account/email")).await;
        assert!(account.contains("alice@example.com") && account.contains("not confirmed"));

        let (status, said) = ask_link(&srv).await;
        assert_eq!(status, StatusCode::OK);
        assert!(said.contains("We sent a confirmation link"), "{said}");
        let mail = nth_mail(&sink, CONFIRM, 1).await;
        assert_eq!(mail.to, ["alice@example.com"]);
        let token = token_in(&srv, &mail, "/email/verify");
        for e in outbox_events(&srv).await {
            assert!(
                !e.payload.contains(&token[..20]),
                "the link is sealed in its row"
            );
        }

        let url = srv.url(&format!("/email/verify?t={token}"));
        let (status, shown) = page(&srv.api, url.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(shown.contains("alice@example.com"));
        assert_eq!(hidden(&shown, "t"), token);
        let (_, again) = page(&srv.api, url).await;
        assert_eq!(
            hidden(&again, "t"),
            token,
            "showing the page does not use the link"
        );
        let confirm = srv.url("/email/verify");
        let (status, done) = post(&srv.api, confirm.clone(), &[("t", &token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains("alice@example.com is confirmed"), "{done}");
        let (status, _) = post(&srv.api, confirm, &[("t", &token)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a link works once");

        assert_eq!(userinfo(&srv, &t).await["email_verified"], true);
        let t2 = refreshed(&srv, &c, &t).await;
        assert_eq!(id_claims(&srv, &t2).await["email_verified"], true);
        assert_eq!(admin_user(&srv, &sub).await["email_verified"], true);
        let (_, account) = page(&srv.browser, srv.url("/account/email")).await;
        assert!(account.contains("confirmed") && !account.contains("not confirmed"));
        let audit = srv
            .provider()
            .stores
            .audit
            .events_for(&sub, 10)
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.action == "email_verified"));
        srv.shutdown().await;
    }
}

/// The token with the character at `i` changed.
fn altered(token: &str, i: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn expired_altered_and_misused_links_are_refused() {
    for backend in all_backends().await {
        let (srv, sink, clock) = mail_server(&backend).await;
        srv.user("alice").await;
        let c = srv.web_client().await;
        tokens(&srv, &c, "alice").await;
        let confirm = srv.url("/email/verify");

        ask_link(&srv).await;
        let old = token_in(&srv, &nth_mail(&sink, CONFIRM, 1).await, "/email/verify");
        clock.advance(srv.provider().settings.email_verify_ttl);
        let (status, said) = page(&srv.api, srv.url(&format!("/email/verify?t={old}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "expired");
        assert!(said.contains("This link does not work"));
        let (status, _) = post(&srv.api, confirm.clone(), &[("t", &old)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        ask_link(&srv).await;
        let token = token_in(&srv, &nth_mail(&sink, CONFIRM, 2).await, "/email/verify");
        let dot = token.find('.').unwrap();
        let reset = srv.url(&format!("/password/reset?t={token}"));
        for bad in [
            altered(&token, 3),
            altered(&token, dot + 3),
            token[..dot].to_owned(),
            format!("{token}x"),
            String::new(),
        ] {
            let (status, _) = post(&srv.api, confirm.clone(), &[("t", &bad)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "altered: {bad}");
        }
        let (status, _) = page(&srv.api, reset).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a confirmation link resets nothing"
        );
        let (status, _) = post(&srv.api, confirm, &[("t", &token)]).await;
        assert_eq!(status, StatusCode::OK, "the genuine link still works");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn changing_the_address_needs_the_password_and_a_new_confirmation() {
    for backend in all_backends().await {
        let (srv, sink, _) = mail_server(&backend).await;
        let sub = srv.user("alice").await;
        let c = srv.web_client().await;
        let t = tokens(&srv, &c, "alice").await;
        ask_link(&srv).await;
        let first = token_in(&srv, &nth_mail(&sink, CONFIRM, 1).await, "/email/verify");

        let (_, account) = page(&srv.browser, srv.url("/account/email")).await;
        let csrf = hidden(&account, "csrf");
        let to = srv.url("/account/email");
        let change = |csrf: &str, pw: &str| {
            [
                ("csrf", csrf.to_owned()),
                ("email", "alice@new.example".into()),
                ("password", pw.to_owned()),
            ]
        };
        let r = srv
            .browser
            .post(&to)
            .form(&change("wrong", PASSWORD))
            .send()
            .await;
        assert_eq!(r.unwrap().status(), StatusCode::FORBIDDEN, "CSRF");
        let r = srv
            .browser
            .post(&to)
            .form(&change(&csrf, "not my password"))
            .send()
            .await;
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Your password is not right")
        );
        let r = srv
            .browser
            .post(&to)
            .form(&change(&csrf, PASSWORD))
            .send()
            .await;
        assert_eq!(r.unwrap().status(), StatusCode::OK);

        let notice = nth_mail(&sink, "Your e-mail address was changed", 1).await;
        assert_eq!(notice.to, ["alice@example.com"], "the old address is told");
        let link = nth_mail(&sink, CONFIRM, 2).await;
        assert_eq!(link.to, ["alice@new.example"]);
        let claims = userinfo(&srv, &t).await;
        assert_eq!(
            (claims["email"].as_str(), &claims["email_verified"]),
            (Some("alice@new.example"), &Value::Bool(false))
        );
        let confirm = srv.url("/email/verify");
        let (status, _) = post(&srv.api, confirm.clone(), &[("t", &first)]).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a link for the old address is void"
        );
        let token = token_in(&srv, &link, "/email/verify");
        let (status, _) = post(&srv.api, confirm, &[("t", &token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(userinfo(&srv, &t).await["email_verified"], true);
        let audit = srv
            .provider()
            .stores
            .audit
            .events_for(&sub, 10)
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.action == "email_changed"));
        srv.shutdown().await;
    }
}
