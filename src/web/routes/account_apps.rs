//! `GET /account/apps`, `POST /account/apps/narrow`, `POST /account/apps/revoke`: the
//! signed-in user's list of apps authorized on their account, with their permissions;
//! the user can narrow an app's permissions or revoke it. CSRF: a random token kept in
//! the cache for the session, in every form, compared in constant time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::accounts::session::{self, SESSION_COOKIE, Session};
use crate::connect;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::resource::permissions::Permission;
use crate::util::{ct_eq, secret_hash};
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{AccountAppsPage, AppLine, RenderHtml};

pub(crate) async fn signed_in(
    p: &Provider,
    cookies: &Cookies,
) -> Result<Option<(Session, String)>, OAuthError> {
    let Some(c) = cookies.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(session::load_oidc(p.cache.as_ref(), Some(c))
        .await?
        .map(|s| (s, c.to_owned())))
}

/// The session's CSRF token, made on first use.
pub(crate) async fn csrf_for(p: &Provider, cookie: &str) -> Result<String, OAuthError> {
    let key = format!("acsrf:{}", secret_hash(cookie));
    if let Some(v) = p
        .cache
        .get(&key)
        .await?
        .and_then(|v| String::from_utf8(v).ok())
    {
        return Ok(v);
    }
    let t = p.entropy.token(24);
    p.cache
        .put(&key, t.as_bytes(), p.settings.session_ttl)
        .await?;
    Ok(t)
}

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    render(&s.provider, &cookies, None)
        .await
        .unwrap_or_else(|e| ProtocolError(e).into_response())
}

async fn render(
    p: &Provider,
    cookies: &Cookies,
    notice: Option<&str>,
) -> Result<Response, OAuthError> {
    let Some((sess, cookie)) = signed_in(p, cookies).await? else {
        return Ok(not_signed_in());
    };
    let csrf = csrf_for(p, &cookie).await?;
    let apps = connect::listing::user_apps(&p.stores, &sess.sub)
        .await?
        .into_iter()
        .map(|a| AppLine {
            permissions: a
                .permissions
                .iter()
                .map(|n| {
                    (
                        n.to_owned(),
                        Permission::parse(n).map_or("", |x| x.description()),
                    )
                })
                .collect(),
            client_id: a.client_id.into(),
            name: a.name,
            subaccount_sid: a.subaccount_sid.into(),
        })
        .collect();
    Ok(Html(
        AccountAppsPage {
            csrf: &csrf,
            apps,
            notice,
        }
        .render_html(),
    )
    .into_response())
}

/// The user's parent account SID (`None`: none was made).
async fn parent_account(p: &Provider, sess: &Session) -> Result<Option<String>, OAuthError> {
    p.stores
        .apps
        .user_account(&sess.sub)
        .await
        .map_err(Into::into)
}

/// The session and fields of a posted account-page form whose CSRF token matches;
/// otherwise the page to answer (a malformed form, an expired one, a failure).
pub(super) async fn posted_form(
    p: &Provider,
    cookies: &Cookies,
    form: Result<Form, ProtocolError>,
) -> Result<(Session, crate::oauth::grants::Params), Response> {
    let Ok(Form(f)) = form else {
        return Err(error_page(StatusCode::BAD_REQUEST, "the form is malformed"));
    };
    match checked_form(p, cookies, &f).await {
        Ok(Some(sess)) => Ok((sess, f)),
        Ok(None) => Err(form_expired()),
        Err(e) => Err(ProtocolError(e).into_response()),
    }
}

/// The answer to an account page asked for without a session.
pub(super) fn not_signed_in() -> Response {
    error_page(
        StatusCode::UNAUTHORIZED,
        "Sign in through an application first, then come back to this page.",
    )
}

fn form_expired() -> Response {
    error_page(StatusCode::FORBIDDEN, "the form expired; reload the page")
}

/// The parent account behind a posted form of the apps page; otherwise the answer.
async fn apps_form(
    p: &Provider,
    cookies: &Cookies,
    form: Result<Form, ProtocolError>,
) -> Result<(String, crate::oauth::grants::Params), Response> {
    let (sess, f) = posted_form(p, cookies, form).await?;
    match parent_account(p, &sess).await {
        Ok(Some(parent)) => Ok((parent, f)),
        Ok(None) => Err(form_expired()),
        Err(e) => Err(ProtocolError(e).into_response()),
    }
}

/// The session behind an account-page form whose CSRF token matches, if any (the
/// token is the one `csrf_for` derives for the session's cookie).
pub(super) async fn checked_form(
    p: &Provider,
    cookies: &Cookies,
    f: &crate::oauth::grants::Params,
) -> Result<Option<Session>, OAuthError> {
    let Some((sess, cookie)) = signed_in(p, cookies).await? else {
        return Ok(None);
    };
    let expected = csrf_for(p, &cookie).await?;
    let sent = f.get("csrf").map(String::as_str).unwrap_or("");
    Ok(ct_eq(sent.as_bytes(), expected.as_bytes()).then_some(sess))
}

pub async fn narrow(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (parent, f) = match apps_form(p, &cookies, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let keep: Vec<&str> = f
        .iter()
        .filter(|(_, v)| v.as_str() == "on")
        .filter_map(|(k, _)| k.strip_prefix("perm:"))
        .collect();
    let keep = Scope::parse(&keep.join(" ")).unwrap_or_default();
    let client_id = f.get("client_id").map(String::as_str).unwrap_or("");
    match connect::revoke::narrow(p, &parent, client_id, &keep).await {
        Ok(_) => Redirect::to("/account/apps").into_response(),
        Err(e) => error_page(
            StatusCode::BAD_REQUEST,
            e.description.as_deref().unwrap_or("could not narrow"),
        ),
    }
}

pub async fn revoke(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let (parent, f) = match apps_form(p, &cookies, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let client_id = f.get("client_id").map(String::as_str).unwrap_or("");
    match connect::revoke::revoke(p, &parent, client_id).await {
        Ok(_) => Redirect::to("/account/apps").into_response(),
        Err(e) => error_page(
            StatusCode::BAD_REQUEST,
            e.description.as_deref().unwrap_or("could not revoke"),
        ),
    }
}
