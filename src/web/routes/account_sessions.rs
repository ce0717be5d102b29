//! `GET /account/sessions`, `POST /account/sessions/end`, `POST /account/sessions/end-all`:
//! the signed-in user's browser sessions with the applications each signed in to; the
//! user can end one, or sign out everywhere (OpenID Connect Back-Channel Logout 1.0:
//! each ended session's applications get a logout token). CSRF as on the apps page: the
//! session's random token in every form, compared in constant time.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::account_apps::{csrf_for, not_signed_in, posted_form, signed_in};
use super::challenge::utc_minute;
use crate::accounts::session::{self, SESSION_COOKIE};
use crate::accounts::sessions::{self, SessionError};
use crate::oauth::backchannel::Ending;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::{AccountSessionsPage, MessagePage, RenderHtml, SessionLine};

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    render(&s.provider, &cookies)
        .await
        .unwrap_or_else(|e| ProtocolError(e).into_response())
}

async fn render(p: &Provider, cookies: &Cookies) -> Result<Response, OAuthError> {
    let Some((sess, cookie)) = signed_in(p, cookies).await? else {
        return Ok(not_signed_in());
    };
    let csrf = csrf_for(p, &cookie).await?;
    let live = match sessions::list(p, &sess.sub).await {
        Ok(v) => v,
        Err(SessionError::NotFound) => Vec::new(),
        Err(SessionError::Failed(e)) => return Err(e),
    };
    let mut lines = Vec::with_capacity(live.len());
    for v in live {
        let mut names = Vec::with_capacity(v.clients.len());
        for c in &v.clients {
            names.push(sessions::client_name(p, c).await?);
        }
        lines.push(SessionLine {
            current: sess.sid.as_deref() == Some(v.session.sid.as_str()),
            sid: v.session.sid,
            started: utc_minute(v.session.created_at),
            clients: names,
        });
    }
    let page = AccountSessionsPage {
        csrf: &csrf,
        sessions: lines,
    };
    Ok(Html(page.render_html()).into_response())
}

pub async fn end_one(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, f) = match posted_form(p, &cookies, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let sid = f.get("sid").map(String::as_str).unwrap_or("");
    match sessions::end_one(p, &sess.sub, sid, Ending::Session).await {
        Ok(()) if sess.sid.as_deref() == Some(sid) => signed_out(p, &cookies).await,
        Ok(()) => Redirect::to("/account/sessions").into_response(),
        Err(SessionError::NotFound) => error_page(StatusCode::NOT_FOUND, "no such session"),
        Err(SessionError::Failed(e)) => ProtocolError(e).into_response(),
    }
}

pub async fn end_all(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, _) = match posted_form(p, &cookies, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match sessions::end_all(p, &sess.sub, Ending::Everywhere).await {
        Ok(_) => signed_out(p, &cookies).await,
        Err(SessionError::NotFound) => error_page(StatusCode::NOT_FOUND, "no such user"),
        Err(SessionError::Failed(e)) => ProtocolError(e).into_response(),
    }
}

/// The browser's own session ended: drop its cookie and say so.
async fn signed_out(p: &Provider, cookies: &Cookies) -> Response {
    if let Some(c) = cookies.get(SESSION_COOKIE) {
        let _ = session::end(p.cache.as_ref(), c).await;
    }
    let page = MessagePage {
        title: "Signed out",
        message: "You have been signed out.",
    };
    let mut resp = Html(page.render_html()).into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", Some(0), p.secure_cookies()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
