//! The browser side of the authenticator tests: follow redirects, sign in with the
//! password, approve consent, stop at any other page of Surety (the second-factor page,
//! the account pages) or at the client's callback; redeem the code; compute TOTP codes
//! from the secret the enrolment page shows.

use reqwest::StatusCode;
use serde_json::Value;

use crate::dpop::claims_of;
use crate::helpers::*;

/// Where a browser run stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A page of Surety other than login or consent: its path and HTML.
    Page { path: String, html: String },
    /// The client's redirect URI, with the code or the error.
    Callback(String),
}

impl Stop {
    pub(crate) fn page(self, path: &str) -> String {
        match self {
            Stop::Page { path: p, html } if p.starts_with(path) => html,
            other => panic!("expected the page {path}, got {other:?}"),
        }
    }
    pub(crate) fn callback(self) -> String {
        match self {
            Stop::Callback(u) => u,
            other => panic!("expected the callback, got {other:?}"),
        }
    }
}

/// Follows `url` (absolute or a path) through login (as `username`) and consent.
pub(crate) async fn run(srv: &TestServer, b: &reqwest::Client, url: &str, username: &str) -> Stop {
    let mut next = url.to_owned();
    for _ in 0..12 {
        let url = if next.starts_with('/') {
            srv.url(&next)
        } else {
            next.clone()
        };
        if !url.starts_with(&srv.base) {
            return Stop::Callback(url);
        }
        let r = b.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        let path = url[srv.base.len()..].to_owned();
        let html = r.text().await.unwrap();
        let form: Vec<(&str, String)> = if path.starts_with("/login") {
            vec![
                ("tx", hidden(&html, "tx")),
                ("csrf", hidden(&html, "csrf")),
                ("username", username.to_owned()),
                ("password", PASSWORD.to_owned()),
            ]
        } else if path.starts_with("/consent") {
            vec![
                ("tx", hidden(&html, "tx")),
                ("csrf", hidden(&html, "csrf")),
                ("decision", "approve".to_owned()),
            ]
        } else {
            return Stop::Page { path, html };
        };
        let action = if path.starts_with("/login") {
            "/login"
        } else {
            "/consent"
        };
        let r = b.post(srv.url(action)).form(&form).send().await.unwrap();
        assert!(
            r.status().is_redirection(),
            "{action} answered {}",
            r.status()
        );
        next = location(&r);
    }
    panic!("too many redirects")
}

/// Posts the form of `page` at `action` with `fields` added; returns the response.
pub(crate) async fn post(
    srv: &TestServer,
    b: &reqwest::Client,
    action: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, String)> = vec![("csrf", hidden(page, "csrf"))];
    if page.contains("name=\"tx\" value=\"") {
        form.push(("tx", hidden(page, "tx")));
    }
    for (k, v) in fields {
        form.push((k, (*v).to_owned()));
    }
    b.post(srv.url(action)).form(&form).send().await.unwrap()
}

/// Redeems the callback's code; returns the ID token's claims.
pub(crate) async fn id_token(
    srv: &TestServer,
    client: &(String, String),
    callback: &str,
    verifier: &str,
) -> Value {
    let code = query_param(callback, "code").unwrap_or_else(|| panic!("no code: {callback}"));
    let r = token_request(
        srv,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    claims_of(v["id_token"].as_str().unwrap())
}

/// RFC 4648 base32 (no padding) decoded.
pub(crate) fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buf, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes() {
        let v = A.iter().position(|x| *x == c).unwrap() as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// The text between `start` and the next `<` on `page`, after the marker.
pub(crate) fn text_after(page: &str, marker: &str) -> String {
    let i = page.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    page[i..].split('<').next().unwrap().to_owned()
}

/// The TOTP secret the enrolment page shows.
pub(crate) fn totp_secret(page: &str) -> Vec<u8> {
    base32_decode(&text_after(page, "id=\"totp-secret\">"))
}

/// The recovery codes a page shows once.
pub(crate) fn recovery_codes(page: &str) -> Vec<String> {
    let list = page.split("id=\"recovery-codes\">").nth(1).unwrap();
    let list = list.split("</ul>").next().unwrap();
    list.split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

/// The code of `secret` now, by the server's clock.
pub(crate) fn totp_now(srv: &TestServer, secret: &[u8]) -> String {
    let now = srv.provider().now();
    surety::accounts::totp::code_at(secret, now.div_euclid(30))
}

/// Enrols the authenticator app for the browser's signed-in user; returns the secret and
/// the recovery codes that came with it.
pub(crate) async fn enrol_totp(srv: &TestServer, b: &reqwest::Client) -> (Vec<u8>, Vec<String>) {
    let r = b
        .get(srv.url("/account/security/totp"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("<svg"), "a QR code");
    let secret = totp_secret(&page);
    let r = post(
        srv,
        b,
        "/account/security/totp",
        &page,
        &[("code", "000000x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = totp_now(srv, &secret);
    let r = post(srv, b, "/account/security/totp", &page, &[("code", &code)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = r.text().await.unwrap();
    let codes = recovery_codes(&done);
    assert_eq!(codes.len(), 10);
    (secret, codes)
}
