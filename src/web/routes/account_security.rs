//! `/account/security`: the signed-in user's ways of signing in — the overview, the
//! authenticator app (TOTP: `GET/POST /account/security/totp`, `POST …/totp/remove`) and
//! recovery codes (`GET/POST /account/security/recovery`); passkeys are
//! `web::routes::passkeys`. CSRF: the account pages' session token in every form. A user
//! who already has a second factor must have used one in this session before changing
//! any (`/authenticate?return=…`), so a stolen password alone adds nothing. Reached from
//! a step-up that found nothing enrolled (`?tx=…`), the pages offer to go back to it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account_apps::{checked_form, csrf_for, signed_in};
use super::authenticate::{enrolled_with, manage_gate, with_session_on};
use crate::accounts::factors::{self, Checked, Enrolled};
use crate::accounts::session::{SESSION_COOKIE, Session};
use crate::accounts::{recovery, totp};
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form};
use crate::web::pages::RenderHtml;

pub const PATH: &str = "/account/security";
pub const TOTP: &str = "/account/security/totp";
pub const TOTP_REMOVE: &str = "/account/security/totp/remove";
pub const RECOVERY: &str = "/account/security/recovery";

/// `?tx=…`: the authorization request a step-up was running.
#[derive(Deserialize, Default)]
pub struct TxParam {
    #[serde(default)]
    pub tx: Option<String>,
}

/// A transaction id fit to put back in a link (what `Entropy::token` makes).
pub(super) fn clean_tx(tx: Option<&str>) -> Option<String> {
    tx.filter(|t| {
        !t.is_empty()
            && t.len() <= 64
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
    .map(str::to_owned)
}

#[derive(Template)]
#[template(path = "account_security.html")]
struct OverviewPage<'a> {
    acr: &'a str,
    amr: String,
    enrolled: Enrolled,
}

#[derive(Template)]
#[template(path = "account_totp.html")]
struct TotpPage<'a> {
    csrf: &'a str,
    tx: Option<String>,
    enrolled: bool,
    pending: Option<totp::Pending>,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account_recovery.html")]
struct RecoveryPage<'a> {
    csrf: &'a str,
    tx: Option<String>,
    left: i64,
    /// A new set, shown this once.
    codes: Vec<String>,
    /// The authenticator app was just set up (the codes come with it).
    totp_added: bool,
}

pub(super) fn not_signed_in() -> Response {
    error_page(
        StatusCode::UNAUTHORIZED,
        "Sign in through an application first, then come back to this page.",
    )
}

/// The step-up that lets a user with a second factor change their authenticators.
pub(super) fn confirm_first(back: &str) -> Response {
    Redirect::to(&format!("/authenticate?return={back}")).into_response()
}

pub async fn overview(State(s): State<AppState>, cookies: Cookies) -> Response {
    let p = &s.provider;
    let r = async {
        let Some((sess, _)) = signed_in(p, &cookies).await? else {
            return Ok(not_signed_in());
        };
        let page = OverviewPage {
            acr: &sess.acr,
            amr: sess.amr.join(" "),
            enrolled: factors::enrolled(p, &sess.sub).await?,
        };
        Ok::<_, OAuthError>(Html(page.render_html()).into_response())
    };
    r.await.unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// The signed-in session, if it may change authenticators: `Err` is the response to
/// give instead (not signed in, or confirm first).
/// The browser session's cookie (present once a handler has found the session).
fn browser(cookies: &Cookies) -> &str {
    cookies.get(SESSION_COOKIE).unwrap_or("")
}

async fn managing(
    p: &Provider,
    cookies: &Cookies,
    back: &str,
) -> Result<Result<(Session, String), Response>, OAuthError> {
    let Some((sess, cookie)) = signed_in(p, cookies).await? else {
        return Ok(Err(not_signed_in()));
    };
    if let Some(r) = manage_gate(p, &sess, back).await? {
        return Ok(Err(r));
    }
    let csrf = csrf_for(p, &cookie).await?;
    Ok(Ok((sess, csrf)))
}

pub async fn totp_page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxParam>,
) -> Response {
    let p = &s.provider;
    let r = async {
        let (sess, csrf) = match managing(p, &cookies, TOTP).await? {
            Ok(v) => v,
            Err(resp) => return Ok(resp),
        };
        let enrolled = factors::enrolled(p, &sess.sub).await?.totp;
        let pending = match enrolled {
            true => None,
            false => Some(
                totp::enrolment(
                    p,
                    &sess.sub,
                    browser(&cookies),
                    &factors::account_name(p, &sess.sub).await?,
                )
                .await?,
            ),
        };
        let page = TotpPage {
            csrf: &csrf,
            tx: clean_tx(q.tx.as_deref()),
            enrolled,
            pending,
            error: None,
        };
        Ok::<_, OAuthError>(Html(page.render_html()).into_response())
    };
    r.await.unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// The checked form of a signed-in user allowed to change authenticators.
async fn managed_form(
    p: &Provider,
    cookies: &Cookies,
    form: Result<Form, ProtocolError>,
    back: &str,
) -> Result<(Session, Params), Response> {
    let Ok(Form(f)) = form else {
        return Err(error_page(StatusCode::BAD_REQUEST, "the form is malformed"));
    };
    let sess = match checked_form(p, cookies, &f).await {
        Ok(Some(sess)) => sess,
        Ok(None) => {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "the form expired; reload the page",
            ));
        }
        Err(e) => return Err(ProtocolError(e).into_response()),
    };
    match manage_gate(p, &sess, back).await {
        Ok(None) => Ok((sess, f)),
        Ok(Some(r)) => Err(r),
        Err(e) => Err(ProtocolError(e).into_response()),
    }
}

/// Confirms the app's enrolment with a code; with no recovery codes yet, a set comes
/// with it (shown once).
pub async fn totp_confirm(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, f) = match managed_form(p, &cookies, form, TOTP).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tx = clean_tx(f.get("tx").map(String::as_str));
    let code = f.get("code").map(String::as_str).unwrap_or("");
    let r = async {
        let error = match totp::confirm(p, &sess.sub, browser(&cookies), code).await? {
            Checked::Passed => {
                tracing::info!("an authenticator app was set up");
                let csrf = f.get("csrf").map(String::as_str).unwrap_or("");
                let page = match first_factor_page(p, &sess, csrf, tx.clone(), true).await? {
                    Some(page) => page,
                    None => recovery_view(p, &sess, csrf, tx, true).await?,
                };
                let raised = enrolled_with(p, &sess, &factors::OTP_METHODS);
                return Ok(with_session_on(p, &cookies, &raised, page).await);
            }
            Checked::Invalid => "That code is not right; type the one the app shows now.",
            Checked::Locked => "Too many attempts. Try again later.",
        };
        let account = factors::account_name(p, &sess.sub).await?;
        let pending = totp::enrolment(p, &sess.sub, browser(&cookies), &account).await?;
        let page = TotpPage {
            csrf: f.get("csrf").map(String::as_str).unwrap_or(""),
            tx,
            enrolled: false,
            pending: Some(pending),
            error: Some(error),
        };
        Ok::<_, OAuthError>(
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page.render_html())).into_response(),
        )
    };
    r.await.unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// With no recovery codes yet, the page showing a new set (once) after a second factor
/// was set up (`totp`: the authenticator app, else a passkey); `None` when the user has
/// codes.
pub(super) async fn first_factor_page(
    p: &Provider,
    sess: &Session,
    csrf: &str,
    tx: Option<String>,
    totp: bool,
) -> Result<Option<Response>, OAuthError> {
    let Some(codes) = recovery::first_set(p, &sess.sub).await? else {
        return Ok(None);
    };
    let page = RecoveryPage {
        csrf,
        tx,
        left: recovery::SET_SIZE as i64,
        codes,
        totp_added: totp,
    };
    Ok(Some(Html(page.render_html()).into_response()))
}

/// The recovery page with the count of unused codes.
async fn recovery_view(
    p: &Provider,
    sess: &Session,
    csrf: &str,
    tx: Option<String>,
    totp_added: bool,
) -> Result<Response, OAuthError> {
    let page = RecoveryPage {
        csrf,
        tx,
        left: recovery::left(p, &sess.sub).await?,
        codes: Vec::new(),
        totp_added,
    };
    Ok(Html(page.render_html()).into_response())
}

pub async fn totp_remove(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, _) = match managed_form(p, &cookies, form, TOTP).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match totp::remove(p, &sess.sub).await {
        Ok(_) => Redirect::to(PATH).into_response(),
        Err(e) => ProtocolError(e).into_response(),
    }
}

pub async fn recovery_page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxParam>,
) -> Response {
    let p = &s.provider;
    let r = async {
        let (sess, csrf) = match managing(p, &cookies, RECOVERY).await? {
            Ok(v) => v,
            Err(resp) => return Ok(resp),
        };
        recovery_view(p, &sess, &csrf, clean_tx(q.tx.as_deref()), false).await
    };
    r.await.unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// Makes a new set (the old one stops) and shows it once.
pub async fn recovery_new(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, f) = match managed_form(p, &cookies, form, RECOVERY).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match recovery::new_set(p, &sess.sub).await {
        Ok(codes) => {
            let page = RecoveryPage {
                csrf: f.get("csrf").map(String::as_str).unwrap_or(""),
                tx: clean_tx(f.get("tx").map(String::as_str)),
                left: recovery::SET_SIZE as i64,
                codes,
                totp_added: false,
            };
            Html(page.render_html()).into_response()
        }
        Err(e) => ProtocolError(e).into_response(),
    }
}
