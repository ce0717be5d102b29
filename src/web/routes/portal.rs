//! The account portal (docs/product.md §1): `GET /portal` shows the account of the portal
//! session (details, API credentials, usage, authorized apps) in its partner's look;
//! `POST /portal/auth-token` rotates the account's auth token and shows the new one
//! once; `GET /portal/embed.js` is the script that talks to the embedding page
//! (`docs/portal.md`). The portal may be framed only by the partner's `frame_origins`
//! (CSP `frame-ancestors`); its CSRF token is derived from the session cookie, so the
//! rotate form is protected inside a third-party frame where SameSite cannot help.

use aws_lc_rs::hmac;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub use crate::partners::branding::Branding;

use super::partner_login::{
    ACR_PARTNER, AUDIT_ACTION, PORTAL_COOKIE, PORTAL_PARTNER_COOKIE, set_portal_cookie,
};
use crate::accounts::session;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::partners::accounts::{self, AccountError, Actor, Channel};
use crate::partners::{is_account_sid, manage};
use crate::store::{AccountRecord, PartnerRecord, StoreError};
use crate::util::{b64, ct_eq};
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page, no_store};
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{PortalBrand, PortalEndedPage, PortalPage, RenderHtml};

/// Rotates the account's auth token.
pub const AUTH_TOKEN: &str = "/portal/auth-token";
/// The embedding script.
pub const EMBED_JS: &str = "/portal/embed.js";
/// Audit events that count as sign-ins via the partner.
const SIGN_IN_ACTIONS: [&str; 2] = ["jwt-bearer", AUDIT_ACTION];
/// How many of the account's newest audit events the usage section reads.
const USAGE_WINDOW: i64 = 100;

/// The postMessage side of the portal (`docs/portal.md`).
const EMBED_SCRIPT: &str = include_str!("portal/embed.js");

/// A live portal session: its cookie, the account and the partner that owns it.
struct Portal {
    cookie: String,
    account: AccountRecord,
    partner: PartnerRecord,
}

/// What the page shows besides the account.
#[derive(Default)]
struct View<'a> {
    new_token: Option<&'a str>,
    error: Option<&'a str>,
}

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    let p = &s.provider;
    match open(p, &cookies).await {
        Ok(Some(portal)) => render(p, &portal, View::default(), StatusCode::OK).await,
        Ok(None) => ended(p, &cookies).await,
        Err(e) => unavailable(&e),
    }
}

pub async fn rotate_auth_token(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let mut portal = match open(p, &cookies).await {
        Ok(Some(portal)) => portal,
        Ok(None) => return ended(p, &cookies).await,
        Err(e) => return unavailable(&e),
    };
    let expected = csrf_token(&portal.cookie);
    let sent = form.ok().and_then(|Form(f)| f.get("csrf").cloned());
    if !sent.is_some_and(|c| ct_eq(c.as_bytes(), expected.as_bytes())) {
        let error = Some("The form expired. Reload the page and try again.");
        let view = View {
            error,
            ..View::default()
        };
        return render(p, &portal, view, StatusCode::FORBIDDEN).await;
    }
    // A conditional update: an account closed meanwhile stays closed (its portal ended).
    let by = Actor {
        partner_id: &portal.partner.id,
        channel: Channel::Portal,
    };
    let token = match accounts::rotate_token(
        &p.stores,
        p.entropy.as_ref(),
        &by,
        &portal.account.sid,
        p.now(),
    )
    .await
    {
        Ok((account, token)) => {
            portal.account = account;
            token
        }
        Err(AccountError::Store(e)) => return unavailable(&e.into()),
        Err(_) => return ended(p, &cookies).await,
    };
    let view = View {
        new_token: Some(&token),
        ..View::default()
    };
    render(p, &portal, view, StatusCode::OK).await
}

pub async fn embed_js() -> Response {
    let mut r = EMBED_SCRIPT.into_response();
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

/// The portal session the cookie names, if it is live and its account and partner are
/// still active. A session that is not a partner-vouched account session is no portal
/// session (an OIDC session cookie value put in the portal cookie opens nothing).
async fn open(p: &Provider, cookies: &Cookies) -> Result<Option<Portal>, OAuthError> {
    let Some(cookie) = cookies.get(PORTAL_COOKIE) else {
        return Ok(None);
    };
    let Some(sess) = session::load(p.cache.as_ref(), Some(cookie)).await? else {
        return Ok(None);
    };
    if sess.acr != ACR_PARTNER || !is_account_sid(&sess.sub) {
        return Ok(None);
    }
    let Some((account, partner)) = accounts::active_with_partner(&p.stores, &sess.sub).await?
    else {
        return Ok(None);
    };
    Ok(Some(Portal {
        cookie: cookie.to_owned(),
        account,
        partner,
    }))
}

/// The rotate form's CSRF token: HMAC-SHA256 keyed by the session cookie. Only the
/// holder of the (HttpOnly) cookie can compute it; every node derives the same one.
fn csrf_token(cookie: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, cookie.as_bytes());
    b64(hmac::sign(&key, b"surety:portal:csrf").as_ref())
}

async fn render(p: &Provider, portal: &Portal, view: View<'_>, status: StatusCode) -> Response {
    let b = Branding::of(&portal.partner.name, &portal.partner.branding);
    let sign_ins = if b.shows("usage") {
        sign_ins(p, &portal.account.sid).await
    } else {
        None
    };
    let csrf = csrf_token(&portal.cookie);
    let apps = if b.shows("apps") {
        authorized_apps(p, &portal.account.sid).await
    } else {
        Some(Vec::new())
    };
    let page = PortalPage {
        brand: brand(&b),
        account_sid: &portal.account.sid,
        friendly_name: &portal.account.friendly_name,
        status: portal.account.status.as_str(),
        csrf: &csrf,
        new_token: view.new_token,
        error: view.error,
        sign_ins,
        apps,
    };
    respond(status, page.render_html(), &b)
}

/// The apps authorized on the account (active authorizations), by display name.
/// The apps authorized on the account; `None` when they cannot be read (logged), so
/// the page says so instead of "no apps".
async fn authorized_apps(p: &Provider, sid: &str) -> Option<Vec<crate::web::pages::PortalApp>> {
    match active_apps(p, sid).await {
        Ok(apps) => Some(apps),
        Err(e) => {
            tracing::warn!(error = %e, "app authorizations unreadable for the portal");
            None
        }
    }
}

async fn active_apps(
    p: &Provider,
    sid: &str,
) -> Result<Vec<crate::web::pages::PortalApp>, StoreError> {
    let apps = crate::connect::listing::authorized_apps(&p.stores, sid).await?;
    Ok(apps
        .into_iter()
        .map(|a| crate::web::pages::PortalApp {
            name: a.name,
            scope: a.permissions.to_string(),
        })
        .collect())
}

/// Successful partner sign-ins (jwt-bearer grants and login links) among the account's
/// newest audit events; `None` when the audit log cannot be read.
async fn sign_ins(p: &Provider, sid: &str) -> Option<usize> {
    match p.stores.audit.events_for(sid, USAGE_WINDOW).await {
        Ok(events) => Some(
            events
                .iter()
                .filter(|e| e.outcome == "ok" && SIGN_IN_ACTIONS.contains(&e.action.as_str()))
                .count(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "audit log unreadable for the portal");
            None
        }
    }
}

/// The "session ended" page (401), framed and branded for the partner the browser last
/// opened the portal for, so the embedding page gets `surety:session-ended`.
async fn ended(p: &Provider, cookies: &Cookies) -> Response {
    let hinted = match cookies.get(PORTAL_PARTNER_COOKIE) {
        Some(id) if id.len() <= 64 => manage::active(&p.stores, id).await.ok().flatten(),
        _ => None,
    };
    let b = match &hinted {
        Some(pt) => Branding::of(&pt.name, &pt.branding),
        None => Branding::of("Surety", &serde_json::Value::Null),
    };
    let page = PortalEndedPage { brand: brand(&b) };
    let mut r = respond(StatusCode::UNAUTHORIZED, page.render_html(), &b);
    if cookies.get(PORTAL_COOKIE).is_some()
        && let Ok(v) = HeaderValue::from_str(&set_portal_cookie(PORTAL_COOKIE, "", 0))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn brand(b: &Branding) -> PortalBrand {
    PortalBrand {
        display_name: b.display_name.clone(),
        logo_url: b.logo_url.clone(),
        support_url: b.support_url.clone(),
        primary: b.primary_color.as_str().to_owned(),
        primary_text: b.primary_color.text_on().to_owned(),
        background: b.background_color.as_str().to_owned(),
        text: b.background_color.text_on().to_owned(),
        hidden: b.hidden_sections.clone(),
        parent_origin: b.frame_origins.first().cloned(),
        frame_origins: b.frame_origins.join(" "),
    }
}

/// The portal's `Content-Security-Policy`: nothing but its own script and form, inline
/// styles, images over https, framed only by the partner's origins.
pub fn content_security_policy(b: &Branding) -> String {
    let logo = b
        .insecure_logo_origin()
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src https: data: 'self'{logo}; form-action 'self'; base-uri 'none'; frame-ancestors {}",
        b.frame_ancestors()
    )
}

fn respond(status: StatusCode, html: String, b: &Branding) -> Response {
    let mut r = (status, Html(html)).into_response();
    match HeaderValue::from_str(&content_security_policy(b)) {
        Ok(v) => {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        // Unreachable with validated origins; the middleware's deny-all CSP then applies.
        Err(e) => tracing::error!(error = %e, "portal CSP is not a header value"),
    }
    no_store(r)
}

fn unavailable(e: &OAuthError) -> Response {
    tracing::warn!(error = %e, "portal unavailable");
    no_store(error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable. Try again shortly.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::secret_hash;
    use serde_json::json;

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_ne!(csrf_token("a"), secret_hash("a"));
    }

    #[test]
    fn the_csp_names_only_the_partner_origins() {
        let b = Branding::of(
            "P",
            &json!({"frame_origins": ["https://a.example", "https://b.example/x"],
                    "logo_url": "http://127.0.0.1:9/l.png"}),
        );
        let csp = content_security_policy(&b);
        assert!(csp.ends_with("frame-ancestors https://a.example"), "{csp}");
        assert!(csp.contains("img-src https: data: 'self' http://127.0.0.1:9;"));
        let none = content_security_policy(&Branding::of("P", &json!({})));
        assert!(none.ends_with("frame-ancestors 'none'"));
    }
}
