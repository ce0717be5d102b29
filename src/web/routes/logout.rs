//! `GET/POST /logout`: RP-initiated logout. Ends the browser session, then redirects to
//! the registered `post_logout_redirect_uri` (with `state`) or shows a page.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::accounts::session::{self, SESSION_COOKIE};
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::{Cookies, QueryOrForm, set_cookie};
use crate::web::pages::{MessagePage, RenderHtml};

pub async fn logout(
    State(s): State<AppState>,
    cookies: Cookies,
    params: Result<QueryOrForm, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(QueryOrForm(params)) = params else {
        return error_page(StatusCode::BAD_REQUEST, "the logout request is malformed");
    };
    let target = match crate::oauth::logout::target(p, &params).await {
        Ok(t) => t,
        Err(e) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                e.description.as_deref().unwrap_or("invalid logout request"),
            );
        }
    };
    if let Some(c) = cookies.get(SESSION_COOKIE) {
        let live = match session::load_oidc(p.cache.as_ref(), Some(c)).await {
            Ok(s) => s,
            Err(e) => return ProtocolError(e).into_response(),
        };
        if let Some(s) = &live {
            match target.names(p, s).await {
                Ok(true) => {}
                Ok(false) => {
                    return error_page(
                        StatusCode::BAD_REQUEST,
                        "The logout request names another user than the one signed in; you are still signed in.",
                    );
                }
                Err(e) => return ProtocolError(e).into_response(),
            }
        }
        let ended = match &live {
            Some(s) => crate::oauth::logout::end(p, s).await,
            None => Ok(()),
        };
        if let Err(e) = ended {
            return ProtocolError(e).into_response();
        }
        if let Err(e) = session::end(p.cache.as_ref(), c).await {
            return ProtocolError(e).into_response();
        }
    }
    let mut resp = match target.redirect {
        Some(url) => Redirect::to(&url).into_response(),
        None => Html(
            MessagePage {
                title: "Signed out",
                message: "You have been signed out.",
            }
            .render_html(),
        )
        .into_response(),
    };
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", Some(0), p.secure_cookies()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
