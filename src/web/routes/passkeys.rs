//! Passkeys on Surety's pages (the ceremonies are `accounts::passkeys`):
//! `GET/POST /account/security/passkeys` (list with names and last use, register one),
//! `POST /account/security/passkeys/remove`; `POST /login/passkey` (sign-in without a
//! password from the login page: autofill or the button); the passkey as second factor
//! on `/authenticate`. The browser half is one static script, `/assets/passkey.js`,
//! allowed by the pages' CSP (`script-src 'self'`, nothing inline); every form carries
//! its CSRF token like the rest.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::account_apps::signed_in;
use super::account_security::first_factor_page;
use super::account_security::{clean_tx, not_signed_in};
use super::authenticate::{
    Ctx, enrolled_with, manage_gate, passed, render, with_session, with_session_on,
};
use super::authorize::BINDING_COOKIE;
use crate::accounts::assurance::PHISHING_RESISTANT;
use crate::accounts::passkeys::{self, Refused};
use crate::accounts::session::SESSION_COOKIE;
use crate::oauth::authorize::{self, AuthorizeError};
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::store::PasskeyRecord;
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form};
use crate::web::pages::RenderHtml;

pub const PATH: &str = "/account/security/passkeys";
pub const REMOVE: &str = "/account/security/passkeys/remove";
pub const LOGIN: &str = "/login/passkey";
pub const SCRIPT: &str = "/assets/passkey.js";
const SCRIPT_BODY: &str = include_str!("passkeys/passkey.js");

/// The CSP of a page that loads the passkey script: the default one plus
/// `script-src 'self'` (no `form-action`: it would also bind the redirects after the
/// login form, on to the relying party).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'";

/// Lets a page load the passkey script.
pub fn allow_script(r: &mut Response) {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
}

/// `GET /assets/passkey.js`.
pub async fn script() -> Response {
    let mut r = SCRIPT_BODY.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// The WebAuthn request options for `sub`'s passkeys (JSON).
pub async fn authentication_options(p: &Provider, sub: &str) -> Result<String, OAuthError> {
    Ok(passkeys::start_authentication(p, sub)
        .await?
        .unwrap_or_default())
}

fn refusal(r: Refused) -> &'static str {
    match r {
        Refused::NoCeremony => "That took too long; try again.",
        Refused::Invalid => "The passkey could not be checked; try again.",
        Refused::Taken => "That passkey is registered already.",
        Refused::Counter => {
            "This passkey was refused: it may have been copied. Use another way to sign in."
        }
    }
}

/// A passkey as the second factor on `/authenticate`.
pub(super) async fn second_factor(
    p: &Provider,
    cookies: &Cookies,
    ctx: Ctx,
    f: &Params,
) -> Response {
    let credential = f.get("credential").map(String::as_str).unwrap_or("");
    match passkeys::finish_authentication(p, &ctx.session.sub, credential).await {
        Ok(Ok(methods)) => passed(p, cookies, ctx, PHISHING_RESISTANT, &methods).await,
        Ok(Err(r)) => render(p, &ctx, Some(refusal(r)), StatusCode::UNAUTHORIZED).await,
        Err(e) => ProtocolError(e).into_response(),
    }
}

/// One passkey on the page.
pub struct KeyLine {
    pub id: String,
    pub name: String,
    pub added: String,
    pub last_used: Option<String>,
}

impl From<PasskeyRecord> for KeyLine {
    fn from(k: PasskeyRecord) -> Self {
        KeyLine {
            id: k.credential_id,
            name: k.name,
            added: super::challenge::utc_minute(k.created_at),
            last_used: k.last_used_at.map(super::challenge::utc_minute),
        }
    }
}

#[derive(Template)]
#[template(path = "account_passkeys.html")]
struct Page<'a> {
    csrf: &'a str,
    tx: Option<String>,
    keys: Vec<KeyLine>,
    /// Creation options for a new passkey; `None` at the limit.
    options: Option<String>,
    error: Option<&'a str>,
    added: bool,
}

async fn render_list(
    p: &Provider,
    cookies: &Cookies,
    tx: Option<String>,
    error: Option<&str>,
    added: bool,
) -> Result<Response, OAuthError> {
    let Some((sess, cookie)) = signed_in(p, cookies).await? else {
        return Ok(not_signed_in());
    };
    if let Some(r) = manage_gate(p, &sess, PATH).await? {
        return Ok(r);
    }
    let csrf = super::account_apps::csrf_for(p, &cookie).await?;
    let username = crate::accounts::factors::account_name(p, &sess.sub).await?;
    let keys = passkeys::list(p, &sess.sub).await?;
    let page = Page {
        csrf: &csrf,
        tx,
        keys: keys.into_iter().map(KeyLine::from).collect(),
        options: passkeys::start_registration(p, &sess.sub, &cookie, &username).await?,
        error,
        added,
    };
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let mut r = (status, Html(page.render_html())).into_response();
    allow_script(&mut r);
    Ok(r)
}

/// `?tx=…` (a step-up waiting), `?added=1` (a passkey was just registered).
#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    tx: Option<String>,
    #[serde(default)]
    added: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<PageQuery>,
) -> Response {
    let added = q.added.is_some();
    render_list(
        &s.provider,
        &cookies,
        clean_tx(q.tx.as_deref()),
        None,
        added,
    )
    .await
    .unwrap_or_else(|e| ProtocolError(e).into_response())
}

/// The form of a signed-in user who may change authenticators.
async fn checked(
    p: &Provider,
    cookies: &Cookies,
    form: Result<Form, ProtocolError>,
) -> Result<(crate::accounts::session::Session, Params), Response> {
    let Ok(Form(f)) = form else {
        return Err(error_page(StatusCode::BAD_REQUEST, "the form is malformed"));
    };
    let sess = match super::account_apps::checked_form(p, cookies, &f).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "the form expired; reload the page",
            ));
        }
        Err(e) => return Err(ProtocolError(e).into_response()),
    };
    match manage_gate(p, &sess, PATH).await {
        Ok(None) => Ok((sess, f)),
        Ok(Some(r)) => Err(r),
        Err(e) => Err(ProtocolError(e).into_response()),
    }
}

/// Registers the passkey the browser created.
pub async fn register(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, f) = match checked(p, &cookies, form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let tx = clean_tx(f.get("tx").map(String::as_str));
    let r = async {
        let browser = cookies.get(SESSION_COOKIE).unwrap_or("");
        let answer = field("credential");
        match passkeys::finish_registration(p, &sess.sub, browser, field("name"), answer).await? {
            Ok(methods) => {
                tracing::info!("a passkey was registered");
                let raised = enrolled_with(p, &sess, &methods);
                // Recovery codes come with the first second factor (shown once).
                let first = first_factor_page(p, &sess, field("csrf"), tx.clone(), false).await?;
                if let Some(page) = first {
                    return Ok(with_session_on(p, &cookies, &raised, page).await);
                }
                let next = match &tx {
                    Some(t) => format!("{PATH}?added=1&tx={t}"),
                    None => format!("{PATH}?added=1"),
                };
                Ok(with_session(p, &cookies, &raised, &next).await)
            }
            Err(r) => render_list(p, &cookies, tx, Some(refusal(r)), false).await,
        }
    };
    r.await.unwrap_or_else(|e| ProtocolError(e).into_response())
}

pub async fn remove(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (sess, f) = match checked(p, &cookies, form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = f.get("id").map(String::as_str).unwrap_or("");
    match passkeys::remove(p, &sess.sub, id).await {
        Ok(true) => Redirect::to(PATH).into_response(),
        Ok(false) => error_page(StatusCode::NOT_FOUND, "no such passkey"),
        Err(e) => ProtocolError(e).into_response(),
    }
}

/// `POST /login/passkey`: signs in with a discoverable passkey for a login transaction.
pub async fn login(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the login form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let tx_id = field("tx");
    let tx = match authorize::load_tx(p, tx_id, cookies.get(BINDING_COOKIE).unwrap_or("")).await {
        Ok(tx) => tx,
        Err(e) => return e.into_response(),
    };
    if !ct_eq(field("csrf").as_bytes(), tx.csrf.as_bytes()) {
        return AuthorizeError::Page("the form expired; start again").into_response();
    }
    match passkeys::finish_sign_in(p, tx_id, field("credential")).await {
        Ok(Ok(signed)) => {
            let sess = crate::accounts::session::Session {
                sub: signed.sub,
                auth_time: p.now(),
                acr: p
                    .ext
                    .authn
                    .levels()
                    .name(PHISHING_RESISTANT)
                    .unwrap_or_default()
                    .to_owned(),
                amr: crate::accounts::assurance::amr_with(&[], &signed.methods),
                sid: None,
            };
            super::login::open_session(p, &cookies, &sess, tx_id, tx).await
        }
        Ok(Err(r)) => {
            super::login::render(p, tx_id, &tx, Some(refusal(r)), StatusCode::UNAUTHORIZED).await
        }
        Err(e) => AuthorizeError::from(e).into_response(),
    }
}
