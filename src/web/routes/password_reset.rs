//! `GET/POST /password/forgot` (ask for a reset link by username or address) and
//! `GET/POST /password/reset?t=…` (the page the link opens: choose a new password).
//!
//! The forgot page answers the same page with the same status whether or not an account
//! matches (`accounts::reset::ask`); only its rate limits, counted per asked name and
//! per client address, can refuse (429, again the same for every name). Its form is
//! bound to the browser: the CSRF token is a MAC of the browser-binding cookie (which a
//! cross-site POST does not carry, `SameSite=Lax`). The reset form needs none: the link's
//! token is its secret. The link is used only by the POST, so a mail scanner opening it
//! does not spend it; every page that holds it is `no-store`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::authorize::BINDING_COOKIE;
use crate::accounts::links;
use crate::accounts::reset::{self, Asked, Reset};
use crate::oauth::provider::Provider;
use crate::store::LinkPurpose;
use crate::util::{b64, ct_eq};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::{ProtocolError, error_page, no_store};
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::{MessagePage, PasswordForgotPage, PasswordResetPage, RenderHtml};

/// The label of the forgot form's token key (derived from the key-encryption key).
const FORM_LABEL: &str = "forgot-form";

/// The forgot form's CSRF token for the browser holding `binding`.
fn form_token(p: &Provider, binding: &str) -> String {
    b64(&p.keys.mac(FORM_LABEL, binding.as_bytes())[..16])
}

/// The browser-binding cookie, if the request carries a well-formed one.
fn binding(cookies: &Cookies) -> Option<&str> {
    cookies
        .get(BINDING_COOKIE)
        .filter(|b| (32..=64).contains(&b.len()))
}

pub async fn forgot_page(State(s): State<AppState>, cookies: Cookies) -> Response {
    let p = &s.provider;
    let (binding, fresh) = match binding(&cookies) {
        Some(b) => (b.to_owned(), false),
        None => (p.entropy.token(32), true),
    };
    let csrf = form_token(p, &binding);
    let mut resp = Html(PasswordForgotPage { csrf: &csrf }.render_html()).into_response();
    if fresh && let Ok(v) = set_cookie(BINDING_COOKIE, &binding, None, p.secure_cookies()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    no_store(resp)
}

fn message(status: StatusCode, title: &str, message: &str) -> Response {
    no_store((status, Html(MessagePage { title, message }.render_html())).into_response())
}

pub async fn forgot(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "the form is malformed");
    };
    let sent = f.get("csrf").map(String::as_str).unwrap_or("");
    let bound =
        binding(&cookies).is_some_and(|b| ct_eq(sent.as_bytes(), form_token(p, b).as_bytes()));
    if !bound {
        return error_page(StatusCode::FORBIDDEN, "the form expired; reload the page");
    }
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    let login = f.get("login").map(String::as_str).unwrap_or("");
    match reset::ask(&s.provider, login, &ip).await {
        Ok(Asked::Accepted) => {
            let minutes = links::minutes(p.settings.password_reset_ttl);
            let text = format!(
                "If an account matches, we sent its e-mail address a link to choose a new \
                 password. The link works once, within {minutes} minutes."
            );
            message(StatusCode::OK, "Check your e-mail", &text)
        }
        Ok(Asked::Limited) => message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Too many links were asked for lately. Try again later.",
        ),
        Err(e) => ProtocolError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    pub t: String,
}

/// The answer to a link that does not work.
pub(super) fn dead_link(what: &str) -> Response {
    no_store(error_page(
        StatusCode::BAD_REQUEST,
        &format!(
            "This link does not work: it was used already, it expired, or it was mistyped. {what}"
        ),
    ))
}

fn reset_form(token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let page = PasswordResetPage { token, error };
    no_store((status, Html(page.render_html())).into_response())
}

pub async fn reset_page(State(s): State<AppState>, Query(q): Query<LinkQuery>) -> Response {
    match links::peek(&s.provider, LinkPurpose::ResetPassword, &q.t).await {
        Ok(Some(_)) => reset_form(&q.t, None, StatusCode::OK),
        Ok(None) => dead_link("Ask for a new one on the “Forgot your password?” page."),
        Err(e) => ProtocolError(e).into_response(),
    }
}

pub async fn reset(State(s): State<AppState>, form: Result<Form, ProtocolError>) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "the form is malformed");
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let token = field("t");
    if field("password") != field("confirm") {
        let e = Some("The two passwords differ.");
        return reset_form(token, e, StatusCode::BAD_REQUEST);
    }
    match reset::reset(&s.provider, token, field("password").to_owned()).await {
        Ok(Reset::Done { .. }) => message(
            StatusCode::OK,
            "Password changed",
            "Your new password is set, and every session of your account was signed out. \
             Sign in again from your application.",
        ),
        Ok(Reset::BadPassword) => {
            let e = Some("The password must be 8 to 1024 bytes long.");
            reset_form(token, e, StatusCode::BAD_REQUEST)
        }
        Ok(Reset::InvalidLink) => {
            dead_link("Ask for a new one on the “Forgot your password?” page.")
        }
        Err(e) => ProtocolError(e).into_response(),
    }
}
