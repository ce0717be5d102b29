//! `GET /account/password`, `POST /account/password`: the signed-in user changes their
//! password with the current one (checked with the login's lockout). The user's other
//! sessions end, with their logout tokens; this one stays. CSRF as on the other account
//! pages.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::account_apps::{csrf_for, not_signed_in, signed_in};
use super::account_email::{Said, account_form, change_refused, notice, origin, refused};
use crate::accounts::reset::{self, Changed};
use crate::oauth::provider::Provider;
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{AccountPasswordPage, RenderHtml};

pub const PATH: &str = "/account/password";

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    let p = &s.provider;
    match signed_in(p, &cookies).await {
        Ok(Some((_, cookie))) => render(p, &cookie, Said::NOTHING).await,
        Ok(None) => not_signed_in(),
        Err(e) => ProtocolError(e).into_response(),
    }
}

async fn render(p: &Provider, cookie: &str, said: Said<'_>) -> Response {
    let csrf = match csrf_for(p, cookie).await {
        Ok(c) => c,
        Err(e) => return ProtocolError(e).into_response(),
    };
    let page = AccountPasswordPage {
        csrf: &csrf,
        notice: said.notice,
        error: said.error,
    };
    (said.status, Html(page.render_html())).into_response()
}

pub async fn change(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let f = match account_form(p, &cookies, form).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if f.field("password") != f.field("confirm") {
        let said = refused(StatusCode::BAD_REQUEST, "The two new passwords differ.");
        return render(p, &f.cookie, said).await;
    }
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    let (current, new) = (
        f.field("current").to_owned(),
        f.field("password").to_owned(),
    );
    let keep = f.sess.sid.as_deref().unwrap_or_default();
    let from = origin(&ip, &cookies);
    let done;
    let said = match reset::change(p, &f.user, keep, current, new, &from).await {
        Ok(Changed::Done { sessions_ended }) => {
            done = format!(
                "Your password is changed. Sessions signed out elsewhere: {sessions_ended}."
            );
            notice(&done)
        }
        Ok(Changed::Refused(r)) => change_refused(r),
        Ok(Changed::BadPassword) => refused(
            StatusCode::BAD_REQUEST,
            "The new password must be 8 to 1024 bytes long.",
        ),
        Ok(Changed::Raced) => refused(
            StatusCode::CONFLICT,
            "Your password was changed meanwhile. Reload the page.",
        ),
        Err(e) => return ProtocolError(e).into_response(),
    };
    render(p, &f.cookie, said).await
}
