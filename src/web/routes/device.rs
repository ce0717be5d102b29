//! `GET/POST /device`: the verification page of the device flow (RFC 8628 §3.3). The
//! user types the code their device shows — or confirms the one the
//! `verification_uri_complete` link carried (§3.3.1) — and goes on through login,
//! step-up and the consent screen like any authorization request
//! (`oauth::device::verification`); the request ends back here with `?result=`. CSRF:
//! the form's token is derived from the browser-binding cookie this page sets. Typing
//! is rate limited per client address and in total (429).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::authorize::{BINDING_COOKIE, respond};
use crate::accounts::session::{self, SESSION_COOKIE};
use crate::oauth::authorize::AuthorizeError;
use crate::oauth::device::verification::{self, Ending, Entry};
use crate::oauth::provider::Provider;
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::{MessagePage, RenderHtml};

/// Longest code echoed back into the form.
const MAX_ECHO: usize = 64;

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    csrf: &'a str,
    user_code: &'a str,
    /// The code came with the link: the user confirms it.
    confirm: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
    result: Option<String>,
}

fn render(binding: &str, code: &str, confirm: bool, error: Option<&str>) -> String {
    let code = if code.len() <= MAX_ECHO { code } else { "" };
    DevicePage {
        csrf: &verification::form_token(binding),
        user_code: code,
        confirm,
        error,
    }
    .render_html()
}

fn ending_page(e: Ending) -> Response {
    let (title, message) = match e {
        Ending::Approved => (
            "Device connected",
            "You allowed the device. You can close this page and go back to it.",
        ),
        Ending::Denied => (
            "Device not connected",
            "You did not allow the device. It has been told so.",
        ),
        Ending::Gone => (
            "Code no longer valid",
            "This code was answered already or expired. Start again on the device.",
        ),
    };
    Html(MessagePage { title, message }.render_html()).into_response()
}

/// The browser's binding cookie, or a new one (with its `Set-Cookie`).
fn binding_of(p: &Provider, cookies: &Cookies) -> (String, Option<String>) {
    match cookies.get(BINDING_COOKIE) {
        Some(b) if b.len() >= 32 && b.len() <= 64 => (b.to_owned(), None),
        _ => {
            let b = p.entropy.token(32);
            let c = set_cookie(BINDING_COOKIE, &b, None, p.secure_cookies());
            (b, Some(c))
        }
    }
}

pub async fn page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<DeviceQuery>,
) -> Response {
    if let Some(e) = q.result.as_deref().and_then(Ending::parse) {
        return ending_page(e);
    }
    let p = &s.provider;
    let (binding, set) = binding_of(p, &cookies);
    let code = q.user_code.as_deref().unwrap_or("");
    let mut resp = Html(render(&binding, code, !code.is_empty(), None)).into_response();
    if let Some(v) = set.and_then(|c| c.parse().ok()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let binding = cookies.get(BINDING_COOKIE).unwrap_or("");
    if !verification::form_token_ok(binding, field("csrf")) {
        return AuthorizeError::Page("the form expired; open the page again").into_response();
    }
    let sess = match session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await {
        Ok(s) => s,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    let typed = field("user_code");
    match verification::enter(p, typed, &ip, sess, binding).await {
        Ok(Entry::Continue(out)) => respond(Ok(out)),
        Ok(Entry::Unknown) => (
            StatusCode::BAD_REQUEST,
            Html(render(
                binding,
                typed,
                false,
                Some(
                    "That code is not valid, was used already or expired. Check it and try again.",
                ),
            )),
        )
            .into_response(),
        Ok(Entry::Limited) => error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many codes were tried. Wait a few minutes and try again.",
        ),
        Err(e) => e.into_response(),
    }
}
