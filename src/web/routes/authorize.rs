//! `GET/POST /authorize` and `GET /authorize/resume`: the authorization endpoint
//! (RFC 6749 §3.1). The engine decides; this maps its outcome to redirects.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::accounts::session::{self, SESSION_COOKIE};
use crate::oauth::authorize::{self, AuthorizeError, Outcome};
use crate::oauth::provider::paths;
use crate::web::AppState;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, QueryOrForm, set_cookie};

/// The browser-binding cookie: ties a login transaction to the browser that began it.
pub const BINDING_COOKIE: &str = "surety_bb";

pub async fn authorize(
    State(s): State<AppState>,
    cookies: Cookies,
    params: Result<QueryOrForm, ProtocolError>,
) -> Response {
    let Ok(QueryOrForm(params)) = params else {
        return AuthorizeError::Page(
            "the authorization request is malformed (a parameter is repeated or unreadable)",
        )
        .into_response();
    };
    let p = &s.provider;
    let (binding, fresh) = match cookies.get(BINDING_COOKIE) {
        Some(b) if b.len() >= 32 && b.len() <= 64 => (b.to_owned(), false),
        _ => (p.entropy.token(32), true),
    };
    let sess = match session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await {
        Ok(s) => s,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let out = authorize::start(p, &params, sess, &binding).await;
    let mut resp = respond(out);
    if fresh && let Ok(v) = set_cookie(BINDING_COOKIE, &binding, None, p.secure_cookies()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
pub struct TxQuery {
    pub tx: String,
}

pub async fn resume(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxQuery>,
) -> Response {
    let p = &s.provider;
    let sess = match session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await {
        Ok(s) => s,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    respond(authorize::resume(p, &q.tx, cookies.get(BINDING_COOKIE).unwrap_or(""), sess).await)
}

/// Maps the engine's decision to a redirect (303, so a POST becomes a GET).
pub fn respond(out: Result<Outcome, AuthorizeError>) -> Response {
    match out {
        Ok(Outcome::Client(r)) => crate::web::response_mode::to_client(&r),
        Ok(Outcome::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(Outcome::Login { tx }) => {
            Redirect::to(&format!("{}?tx={tx}", paths::LOGIN)).into_response()
        }
        Ok(Outcome::Consent { tx }) => {
            Redirect::to(&format!("{}?tx={tx}", paths::CONSENT)).into_response()
        }
        Ok(Outcome::Step { page, tx }) => Redirect::to(&format!("{page}?tx={tx}")).into_response(),
        Err(e) => e.into_response(),
    }
}
