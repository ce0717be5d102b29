//! `GET/POST /authenticate`: the second factor — the page of the accounts product's
//! multi-factor and phishing-resistant steps (`accounts::login_step::Factor`). For an
//! authorization request (`?tx=…`, bound to the browser and the transaction's CSRF token
//! like the login page) it offers only what the user has enrolled that reaches the
//! level asked for: a passkey for phishing-resistant; a passkey, a code from the
//! authenticator app or a recovery code for multi-factor. With nothing suitable enrolled
//! it says what is missing and offers to set it up now or to continue without (a lower
//! level, or `unmet_authentication_requirements` when the `acr` was essential).
//!
//! Without a transaction (`?return=/account/security…`) it confirms a signed-in user's
//! second factor before they change their authenticators (CSRF: the account pages'
//! token).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account_apps::{csrf_for, signed_in};
use super::authorize::BINDING_COOKIE;
use crate::accounts::assurance::{MFA, PHISHING_RESISTANT};
use crate::accounts::factors::{self, Checked, Enrolled, OTP_METHODS};
use crate::accounts::session::{self, SESSION_COOKIE, Session};
use crate::accounts::{recovery, totp};
use crate::oauth::authorize::acr::Level;
use crate::oauth::authorize::{self, AuthorizeError, Tx, step_up};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::RenderHtml;

pub use crate::accounts::login_step::AUTHENTICATE as PATH;

#[derive(Deserialize, Default)]
pub struct Q {
    #[serde(default)]
    tx: Option<String>,
    #[serde(default, rename = "return")]
    return_to: Option<String>,
}

#[derive(Template)]
#[template(path = "authenticate.html")]
struct Page<'a> {
    tx: Option<&'a str>,
    return_to: Option<&'a str>,
    csrf: &'a str,
    client_name: Option<&'a str>,
    /// Only a passkey reaches the level asked for.
    passkey_only: bool,
    enrolled: Enrolled,
    essential: bool,
    error: Option<&'a str>,
    /// The WebAuthn request options (JSON) when a passkey is offered.
    passkey_options: Option<String>,
}

impl Page<'_> {
    fn offers_totp(&self) -> bool {
        !self.passkey_only && self.enrolled.totp
    }
    fn offers_recovery(&self) -> bool {
        !self.passkey_only && self.enrolled.recovery_codes > 0 && self.enrolled.any()
    }
    fn offers_passkey(&self) -> bool {
        self.enrolled.passkeys > 0
    }
    fn offers_nothing(&self) -> bool {
        !self.offers_totp() && !self.offers_recovery() && !self.offers_passkey()
    }
}

/// Where a request to the page stands.
pub(super) struct Ctx {
    pub(super) session: Session,
    /// The authorization request's transaction, or the account page to return to.
    pub(super) flow: Flow,
    pub(super) csrf: String,
}

pub(super) enum Flow {
    Tx { id: String, tx: Box<Tx> },
    Account { return_to: String },
}

/// Only the security pages may be returned to: one of their exact paths, nothing else
/// (no dot segments, escapes or query a browser could resolve elsewhere).
fn safe_return(r: Option<&str>) -> String {
    use super::account_security::{PATH, RECOVERY, TOTP};
    const PAGES: [&str; 4] = [PATH, TOTP, RECOVERY, super::passkeys::PATH];
    r.and_then(|r| PAGES.into_iter().find(|p| *p == r))
        .unwrap_or(PATH)
        .to_owned()
}

pub(super) async fn context(
    p: &Provider,
    cookies: &Cookies,
    tx_id: Option<&str>,
    return_to: Option<&str>,
) -> Result<Ctx, AuthorizeError> {
    let expired = AuthorizeError::Page("your session ended; sign in again");
    let Some(tx_id) = tx_id.filter(|t| !t.is_empty()) else {
        let (session, cookie) = signed_in(p, cookies).await?.ok_or(expired)?;
        let csrf = csrf_for(p, &cookie).await?;
        return Ok(Ctx {
            session,
            flow: Flow::Account {
                return_to: safe_return(return_to),
            },
            csrf,
        });
    };
    let tx = authorize::load_tx(p, tx_id, cookies.get(BINDING_COOKIE).unwrap_or("")).await?;
    let session = session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE))
        .await?
        .ok_or(expired)?;
    if tx.subject.as_deref() != Some(session.sub.as_str()) {
        return Err(AuthorizeError::Page(
            "you signed in as someone else; start again from the application",
        ));
    }
    Ok(Ctx {
        session,
        csrf: tx.csrf.clone(),
        flow: Flow::Tx {
            id: tx_id.to_owned(),
            tx: Box::new(tx),
        },
    })
}

/// What the flow needs: the request's preferred level (multi-factor for the account
/// pages), and whether only a passkey reaches it from where the session is.
async fn wanted(p: &Provider, ctx: &Ctx) -> Result<(Level, bool), OAuthError> {
    let (target, max_age) = match &ctx.flow {
        Flow::Tx { tx, .. } => (
            tx.req.acr.target(p.ext.authn.levels()).unwrap_or(MFA),
            tx.req.max_age,
        ),
        Flow::Account { .. } => (MFA, None),
    };
    let have = p.ext.authn.level_of(p, &ctx.session, max_age).await?;
    let passkey_only = target.meets(PHISHING_RESISTANT) && !have.meets(PHISHING_RESISTANT);
    Ok((target, passkey_only))
}

pub async fn page(State(s): State<AppState>, cookies: Cookies, Query(q): Query<Q>) -> Response {
    let p = &s.provider;
    match context(p, &cookies, q.tx.as_deref(), q.return_to.as_deref()).await {
        Ok(ctx) => render(p, &ctx, None, StatusCode::OK).await,
        Err(e) => e.into_response(),
    }
}

pub(super) async fn render(
    p: &Provider,
    ctx: &Ctx,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    match render_page(p, ctx, error).await {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            super::passkeys::allow_script(&mut r);
            r
        }
        Err(e) => ProtocolError(e).into_response(),
    }
}

async fn render_page(p: &Provider, ctx: &Ctx, error: Option<&str>) -> Result<String, OAuthError> {
    let (_, passkey_only) = wanted(p, ctx).await?;
    let enrolled = factors::enrolled(p, &ctx.session.sub).await?;
    let passkey_options = match enrolled.passkeys {
        0 => None,
        _ => Some(super::passkeys::authentication_options(p, &ctx.session.sub).await?),
    };
    let (tx, return_to, client_name, essential) = match &ctx.flow {
        Flow::Tx { id, tx } => (
            Some(id.as_str()),
            None,
            Some(crate::accounts::sessions::client_name(p, &tx.req.client_id).await?),
            tx.req.acr.essential,
        ),
        Flow::Account { return_to } => (None, Some(return_to.as_str()), None, true),
    };
    let page = Page {
        tx,
        return_to,
        csrf: &ctx.csrf,
        client_name: client_name.as_deref(),
        passkey_only,
        enrolled,
        essential,
        error,
        passkey_options,
    };
    Ok(page.render_html())
}

pub async fn submit(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "the form is malformed");
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let tx_id = Some(field("tx")).filter(|t| !t.is_empty());
    let ctx = match context(p, &cookies, tx_id, f.get("return").map(String::as_str)).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !ct_eq(field("csrf").as_bytes(), ctx.csrf.as_bytes()) {
        return AuthorizeError::Page("the form expired; start again").into_response();
    }
    let (proven, methods, checked) = match field("method") {
        "totp" => (
            MFA,
            OTP_METHODS.to_vec(),
            totp::verify(p, &ctx.session.sub, field("code")).await,
        ),
        "recovery" => (
            MFA,
            OTP_METHODS.to_vec(),
            recovery::verify(p, &ctx.session.sub, field("code")).await,
        ),
        "passkey" => return super::passkeys::second_factor(p, &cookies, ctx, &f).await,
        "skip" => return skip(p, ctx).await,
        _ => return error_page(StatusCode::BAD_REQUEST, "choose a way to confirm"),
    };
    match checked {
        Ok(Checked::Passed) => passed(p, &cookies, ctx, proven, &methods).await,
        Ok(Checked::Invalid) => {
            let e = "That code is not right, or it was used already.";
            render(p, &ctx, Some(e), StatusCode::UNAUTHORIZED).await
        }
        Ok(Checked::Locked) => {
            let e = "Too many attempts. Try again later.";
            render(p, &ctx, Some(e), StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(e) => ProtocolError(e).into_response(),
    }
}

/// The user continues without the factor: the request goes on at the session's level
/// (or ends as unmet when the `acr` was essential); the account pages are left alone.
async fn skip(p: &Provider, ctx: Ctx) -> Response {
    match ctx.flow {
        Flow::Tx { id, tx } => match step_up::failed(p, &id, *tx).await {
            Ok(()) => Redirect::to(&format!("{}?tx={id}", paths::RESUME)).into_response(),
            Err(e) => e.into_response(),
        },
        Flow::Account { .. } => Redirect::to("/account/security").into_response(),
    }
}

/// A factor passed: the raised session replaces the browser's, and the flow goes on.
pub(super) async fn passed(
    p: &Provider,
    cookies: &Cookies,
    ctx: Ctx,
    proven: Level,
    methods: &[&str],
) -> Response {
    let raised = factors::raised(p, &ctx.session, proven, methods);
    let next = match &ctx.flow {
        Flow::Tx { id, .. } => format!("{}?tx={id}", paths::RESUME),
        Flow::Account { return_to } => return_to.clone(),
    };
    with_session(p, cookies, &raised, &next).await
}

/// Stores `sess` in place of the browser's session and redirects to `next`.
pub(super) async fn with_session(
    p: &Provider,
    cookies: &Cookies,
    sess: &Session,
    next: &str,
) -> Response {
    with_session_on(p, cookies, sess, Redirect::to(next).into_response()).await
}

/// Stores `sess` in place of the browser's session, its cookie set on `resp`.
pub(super) async fn with_session_on(
    p: &Provider,
    cookies: &Cookies,
    sess: &Session,
    mut resp: Response,
) -> Response {
    let old = cookies.get(SESSION_COOKIE);
    let cookie = match session::replace(p, old, sess, p.settings.session_ttl).await {
        Ok(c) => c,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let c = set_cookie(
        SESSION_COOKIE,
        &cookie,
        Some(p.settings.session_ttl),
        p.secure_cookies(),
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The session after the user set up their first second factor: the enrolment used it
/// (a code typed from the app; a passkey made with user verification), so the session
/// is multi-factor from now on, and the user may go on to the other security pages.
pub(super) fn enrolled_with(p: &Provider, sess: &Session, methods: &[&str]) -> Session {
    // Enrolling proves the new factor is at hand, not who is at the keyboard: the level
    // rises, the time of the last authentication (`auth_time`, `max_age`) stays.
    Session {
        auth_time: sess.auth_time,
        ..factors::raised(p, sess, MFA, methods)
    }
}

/// Whether `sess` may change its user's authenticators (`None`), or what to answer
/// instead: only a session authenticated within [`factors::MANAGE_FRESH`] seconds may;
/// a user with a second factor must have used one in it (so a stolen password alone
/// cannot add another), and is asked for it again once that is older; a user without
/// one must sign in again (a stale or stolen session cookie cannot enrol a factor of
/// its own and lock the user out).
pub(super) async fn manage_gate(
    p: &Provider,
    sess: &Session,
    back: &str,
) -> Result<Option<Response>, OAuthError> {
    let own = p.ext.authn.levels().parse(&sess.acr).unwrap_or(Level::BASE);
    let fresh = p.now() - sess.auth_time <= factors::MANAGE_FRESH;
    let has_factor = factors::enrolled(p, &sess.sub).await?.any();
    Ok(match (fresh, has_factor) {
        (true, false) => None,
        (true, true) if own.meets(MFA) => None,
        (_, true) => Some(super::account_security::confirm_first(back)),
        (false, false) => Some(error_page(
            StatusCode::UNAUTHORIZED,
            "To set up a second factor, sign in again through an application first \
             (your last sign-in is too long ago), then come back to this page.",
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_the_security_pages_are_returned_to() {
        for page in [
            "/account/security",
            "/account/security/totp",
            "/account/security/recovery",
            "/account/security/passkeys",
        ] {
            assert_eq!(safe_return(Some(page)), page);
        }
        for other in [
            "/account/security/../../authorize?client_id=x",
            "/account/security/%2e%2e/%2e%2e/authorize",
            "/account/security/..\\..\\authorize",
            "/account/security/totp?x=1",
            "/account/securityx",
            "//evil.example",
            "https://evil.example/account/security",
        ] {
            assert_eq!(safe_return(Some(other)), "/account/security", "{other}");
        }
        assert_eq!(safe_return(None), "/account/security");
    }
}
