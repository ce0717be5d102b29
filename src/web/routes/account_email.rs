//! `GET /account/email`, `POST /account/email` (change the address: the current password
//! is required), `POST /account/email/send` (a confirmation link to the present address):
//! the signed-in user's e-mail address and whether it is confirmed. CSRF as on the other
//! account pages: the session's random token in every form, compared in constant time.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::account_apps::{csrf_for, not_signed_in, posted_form, signed_in};
use super::challenge::utc_minute;
use super::login::DEVICE_COOKIE;
use crate::accounts::email::{self, ChangeRefused, Sent};
use crate::accounts::session::{SESSION_COOKIE, Session};
use crate::accounts::users::{self, Origin};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::UserRecord;
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{AccountEmailPage, RenderHtml};

pub const PATH: &str = "/account/email";
pub const SEND_PATH: &str = "/account/email/send";

/// What an account page says above its forms, and with which status.
pub(super) struct Said<'a> {
    pub status: StatusCode,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

impl Said<'static> {
    pub const NOTHING: Self = Said {
        status: StatusCode::OK,
        notice: None,
        error: None,
    };
}

pub(super) fn notice(n: &str) -> Said<'_> {
    Said {
        status: StatusCode::OK,
        notice: Some(n),
        error: None,
    }
}

pub(super) fn refused(status: StatusCode, e: &str) -> Said<'_> {
    Said {
        status,
        notice: None,
        error: Some(e),
    }
}

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    let p = &s.provider;
    match signed_in(p, &cookies).await {
        Ok(Some((sess, cookie))) => render(p, &sess.sub, &cookie, Said::NOTHING).await,
        Ok(None) => not_signed_in(),
        Err(e) => ProtocolError(e).into_response(),
    }
}

async fn render(p: &Provider, sub: &str, cookie: &str, said: Said<'_>) -> Response {
    let page = async {
        let Some(user) = users::find(p, sub).await? else {
            return Ok(not_signed_in());
        };
        let csrf = csrf_for(p, cookie).await?;
        let page = AccountEmailPage {
            csrf: &csrf,
            email: user.email.as_deref(),
            verified: user.email_verified_at.map(utc_minute),
            notice: said.notice,
            error: said.error,
        };
        Ok::<_, OAuthError>((said.status, Html(page.render_html())).into_response())
    };
    page.await
        .unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// An account-page form with a valid CSRF token: its session, the session's cookie,
/// its user and its fields.
pub(super) struct AccountForm {
    pub sess: Session,
    pub cookie: String,
    pub user: UserRecord,
    pub fields: crate::oauth::grants::Params,
}

impl AccountForm {
    pub fn field(&self, k: &str) -> &str {
        self.fields.get(k).map(String::as_str).unwrap_or("")
    }
}

/// The form, if its session is live and its CSRF token right; else the answer.
pub(super) async fn account_form(
    p: &Provider,
    cookies: &Cookies,
    form: Result<Form, ProtocolError>,
) -> Result<AccountForm, Response> {
    let (sess, fields) = posted_form(p, cookies, form).await?;
    let cookie = cookies.get(SESSION_COOKIE).unwrap_or_default().to_owned();
    match users::find(p, &sess.sub).await {
        Ok(Some(user)) => Ok(AccountForm {
            sess,
            cookie,
            user,
            fields,
        }),
        Ok(None) => Err(not_signed_in()),
        Err(e) => Err(ProtocolError(e).into_response()),
    }
}

/// Where a password typed on an account page comes from, for the login's lockout.
pub(super) fn origin<'a>(ip: &'a str, cookies: &'a Cookies) -> Origin<'a> {
    Origin {
        addr: ip,
        device: cookies.get(DEVICE_COOKIE),
    }
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
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    let (password, new) = (f.field("password").to_owned(), f.field("email"));
    let said = match email::change(p, &f.user, password, new, &origin(&ip, &cookies)).await {
        Ok(Ok(Sent::Limited)) => {
            notice("Your address is changed. Too many links were sent lately: ask for one later.")
        }
        Ok(Ok(_)) => notice("Your address is changed. We sent a confirmation link to it."),
        Ok(Err(r)) => change_refused(r),
        Err(e) => return ProtocolError(e).into_response(),
    };
    render(p, &f.sess.sub, &f.cookie, said).await
}

pub(super) fn change_refused(r: ChangeRefused) -> Said<'static> {
    match r {
        ChangeRefused::WrongPassword => {
            refused(StatusCode::BAD_REQUEST, "Your password is not right.")
        }
        ChangeRefused::Locked => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Try again later.",
        ),
        ChangeRefused::NotAnAddress => {
            refused(StatusCode::BAD_REQUEST, "That is not an e-mail address.")
        }
        ChangeRefused::Unchanged => {
            refused(StatusCode::BAD_REQUEST, "That is your address already.")
        }
    }
}

pub async fn send(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let f = match account_form(p, &cookies, form).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let said = match email::send_verification(p, &f.user).await {
        Ok(Sent::Sent) => notice("We sent a confirmation link to your address."),
        Ok(Sent::AlreadyVerified) => notice("Your address is confirmed already."),
        Ok(Sent::NoAddress) => refused(StatusCode::BAD_REQUEST, "Your account has no address."),
        Ok(Sent::Limited) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many links were sent lately. Try again later.",
        ),
        Err(e) => return ProtocolError(e).into_response(),
    };
    render(p, &f.sess.sub, &f.cookie, said).await
}
