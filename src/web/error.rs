//! Where protocol errors become HTTP (house rule 2; the JSON APIs' errors are
//! [`crate::web::api::error::ApiError`]). Protocol errors ([`ProtocolError`]) are RFC 6749
//! §5.2 / RFC 6750 §3 JSON with `Cache-Control: no-store`; `invalid_client` after Basic
//! authentication carries `WWW-Authenticate`; internal errors are a logged 500 with no
//! internal text. Browser-facing failures render an HTML error page instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::oauth::authorize::AuthorizeError;
use crate::oauth::error::{ErrorCode, OAuthError};

/// A protocol error answered as JSON.
pub struct ProtocolError(pub OAuthError);

impl From<OAuthError> for ProtocolError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

pub fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut body = json!({"error": e.code.as_str()});
        if let Some(d) = &e.description {
            body["error_description"] = json!(d);
        }
        let mut r = (status, axum::Json(body)).into_response();
        if e.code == ErrorCode::InvalidClient && e.used_auth_header {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"surety\""),
            );
        }
        no_store(r)
    }
}

/// An RFC 6750 §3 bearer-token error: the code and description go in `WWW-Authenticate`.
pub struct BearerError(pub OAuthError);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let e = self.0;
        if !matches!(
            e.code,
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope | ErrorCode::InvalidRequest
        ) {
            return ProtocolError(e).into_response();
        }
        let desc = e
            .description
            .as_deref()
            .unwrap_or("")
            .replace(['"', '\\'], "");
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            e.code.as_str(),
            desc
        );
        let mut r = ProtocolError(e).into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

/// A simple HTML error page (the redirect URI could not be trusted, or a form expired).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = {
        use crate::web::pages::RenderHtml;
        crate::web::pages::ErrorPage { message }.render_html()
    };
    (status, Html(body)).into_response()
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        match self {
            AuthorizeError::Page(m) => error_page(StatusCode::BAD_REQUEST, m),
            AuthorizeError::Redirect { response, error } => {
                tracing::info!(error = %error.code, "authorization request refused");
                crate::web::response_mode::to_client(&response)
            }
            AuthorizeError::Unavailable(d) => {
                tracing::warn!(error = %d, "authorization endpoint unavailable");
                error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable. Try again shortly.",
                )
            }
        }
    }
}
