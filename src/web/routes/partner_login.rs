//! `GET/POST /partner/login`: the partner's signed login link (docs/product.md §1). The
//! `assertion` is an RFC 7523 §3 JWT whose `aud` is this endpoint's URL (so a
//! token-endpoint assertion is no login link, nor the reverse), single use across nodes.
//! A valid link opens a delegated browser session for the account, in a cookie that also
//! works inside the partner's third-party iframe, and lands on the account portal at
//! `return_to` (a path under `/portal` only: never an open redirect). A refused link is
//! an HTML error page, never a redirect.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::accounts::session::{self, Session};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::partners::assertion;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page, no_store};
use crate::web::extract::{Cookies, QueryOrForm};

/// The login-link endpoint (also the required `aud` of its assertions).
pub const LOGIN_LINK: &str = "/partner/login";
/// The account portal's landing page.
pub const PORTAL: &str = "/portal";
/// The portal session cookie (separate from the OIDC session cookie).
pub const PORTAL_COOKIE: &str = "surety_portal";
/// Names the partner whose portal this browser last opened, so the "session ended"
/// page can still be framed by (and tell) that partner's page. Not a credential.
pub const PORTAL_PARTNER_COOKIE: &str = "surety_portal_partner";
/// How long the partner hint outlives the session (seconds).
pub const PARTNER_HINT_TTL: u64 = 30 * 24 * 3600;
/// The `acr` of a session a partner vouched for.
pub use crate::accounts::session::ACR_PARTNER;
/// The audit action of a login-link use.
pub const AUDIT_ACTION: &str = "login-link";

/// A `Set-Cookie` value for the portal: `SameSite=None; Secure; Partitioned` so the
/// browser keeps it inside a third-party iframe (CHIPS, partitioned by the top-level
/// site), `HttpOnly`. Secure always: browsers treat http://localhost as secure.
pub fn set_portal_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=None; Partitioned"
    )
}

/// `return_to` when it is a path on this server under `/portal` (after resolving `.`
/// and `..` segments as a browser would); the path (and query) to redirect to.
/// Anything else yields `/portal`.
pub fn safe_return_to(return_to: Option<&str>) -> String {
    let resolved = return_to
        .filter(|r| r.len() <= 512 && r.starts_with(PORTAL))
        .filter(|r| {
            !r.chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        })
        .and_then(|r| {
            let base = url::Url::parse("https://surety.invalid/").ok()?;
            let u = base.join(r).ok()?;
            let path = u.path();
            let under = path == PORTAL || path.starts_with("/portal/");
            (under && u.origin() == base.origin()).then(|| match u.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            })
        });
    resolved.unwrap_or_else(|| PORTAL.to_owned())
}

/// Both the link (GET, query) and the partner's auto-posted form (POST).
pub async fn login_link(
    State(s): State<AppState>,
    cookies: Cookies,
    params: Result<QueryOrForm, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(QueryOrForm(params)) = params else {
        return error_page(StatusCode::BAD_REQUEST, "This sign-in link is malformed.");
    };
    let Some(a) = params.get("assertion") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in link has no assertion.",
        );
    };
    let audiences = [p.url(LOGIN_LINK)];
    let verified = assertion::verify(p, &s.partner_keys, a, &audiences, AUDIT_ACTION).await;
    let vouched = match verified {
        Ok(v) => v,
        Err(e) => return refused(&e),
    };
    let sess = Session {
        sub: vouched.account.sid.to_string(),
        auth_time: p.now(),
        acr: ACR_PARTNER.to_owned(),
        amr: vec!["partner".to_owned()],
        sid: None,
    };
    let ttl = p.settings.session_ttl;
    let old = cookies.get(PORTAL_COOKIE);
    let cookie = match session::replace(p, old, &sess, ttl).await {
        Ok(c) => c,
        Err(e) => return refused(&e),
    };
    let target = safe_return_to(params.get("return_to").map(String::as_str));
    tracing::info!(partner = %vouched.partner.id, account = %vouched.account.sid, "portal session opened by login link");
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    for v in [
        set_portal_cookie(PORTAL_COOKIE, &cookie, ttl),
        set_portal_cookie(PORTAL_PARTNER_COOKIE, &vouched.partner.id, PARTNER_HINT_TTL),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(header::SET_COOKIE, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&target) {
        h.insert(header::LOCATION, v);
    }
    no_store(resp)
}

fn refused(e: &OAuthError) -> Response {
    let r = match e.code {
        ErrorCode::InvalidGrant => error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "This sign-in link cannot be used: {}. Ask your provider for a new one.",
                e.description.as_deref().unwrap_or("it is not valid")
            ),
        ),
        ErrorCode::TemporarilyUnavailable => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable. Try again shortly.",
        ),
        _ => error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong."),
    };
    no_store(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_under_the_portal() {
        let ok = |r: &str| safe_return_to(Some(r));
        assert_eq!(ok("/portal"), "/portal");
        assert_eq!(ok("/portal/x?tab=usage"), "/portal/x?tab=usage");
        for bad in [
            "https://evil.example",
            "//evil.example/portal",
            "/\\evil.example",
            "/portal/../admin/clients",
            "/portal/%2e%2e/admin",
            "/portalx",
            "/portal\\..\\admin",
            "/portal\n",
            "portal",
            "",
            "/admin",
        ] {
            assert_eq!(ok(bad), "/portal", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/portal");
    }

    #[test]
    fn the_portal_cookie_works_in_a_third_party_frame() {
        let c = set_portal_cookie(PORTAL_COOKIE, "v", 60);
        for attr in [
            "SameSite=None",
            "Secure",
            "Partitioned",
            "HttpOnly",
            "Path=/",
        ] {
            assert!(c.contains(attr), "{attr} in {c}");
        }
    }
}
