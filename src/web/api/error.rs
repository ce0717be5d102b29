//! The one error of every JSON API (admin, developer, partner, resource, verification):
//! a status, an RFC-style `error` code, an `error_description`, the offending `field`
//! when there is one, a few members where they apply (`scope`, `limit`, `position`),
//! headers where they apply (`Retry-After`, `WWW-Authenticate`), and always
//! `Cache-Control: no-store`. Every failure a handler meets becomes an [`ApiError`]
//! through one `From` mapping, written once: the shared ones here (storage, refused
//! fields and bodies, the resource guard's RFC 6750 challenges), the domains' in
//! [`domains`]. The protocol endpoints answer [`crate::web::error::ProtocolError`].
//!
//! Storage failures never show their text: `NotFound` is 404 `not_found`, an
//! unreachable backend a logged 503 `temporarily_unavailable`, anything else a logged 500
//! `server_error`.

mod domains;

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::FieldError;
use crate::store::StoreError;
use crate::web::error::no_store;
use crate::web::guard::GuardError;
use crate::web::json::BodyRejection;

/// An error answer of a JSON API: `error` and `error_description`, and where they
/// apply the refused `field`, the `scope` a credential lacks (403
/// `insufficient_scope`), the monthly `limit` reached (429 `usage_limit_exceeded`), or
/// the `position` of a refused rule (`invalid_rule`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<RulePosition>,
}

/// Where a rule was refused.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RulePosition {
    /// Byte offset in the rule.
    pub offset: usize,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
}

/// A refused JSON API request (boxed: it travels in every handler's `Result`).
#[derive(Debug)]
pub struct ApiError(Box<Refusal>);

#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    body: ErrorBody,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        Self(Box::new(Refusal {
            status,
            body: ErrorBody {
                error: error.to_owned(),
                error_description: description.into(),
                field: None,
                scope: None,
                limit: None,
                position: None,
            },
            headers: Vec::new(),
        }))
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 404 `not_found`: missing, or not the caller's (existence is never revealed).
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// 409 `conflict`.
    pub fn conflict(description: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", description)
    }

    /// 429 `rate_limited`, to retry after `secs` seconds.
    pub fn rate_limited(description: impl Into<String>, secs: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", description).retry_after(secs)
    }

    /// 503 `temporarily_unavailable` (the cause is logged where it is known).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable; retry later",
        )
    }

    /// 500 `server_error` (the cause is logged where it is known).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal error",
        )
    }

    /// Names the refused field.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.0.body.field = Some(field.into());
        self
    }

    /// Names the scope the credential lacks.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.0.body.scope = Some(scope.into());
        self
    }

    /// States the limit that was reached.
    pub fn limit(mut self, limit: i64) -> Self {
        self.0.body.limit = Some(limit);
        self
    }

    /// Where a rule was refused.
    pub fn position(mut self, position: RulePosition) -> Self {
        self.0.body.position = Some(position);
        self
    }

    /// Adds `Retry-After: secs`.
    pub fn retry_after(self, secs: u64) -> Self {
        self.header(header::RETRY_AFTER, HeaderValue::from(secs))
    }

    /// Adds a `WWW-Authenticate` challenge (one header per challenge); a challenge that is
    /// no valid header value is dropped.
    pub fn challenge(self, challenge: &str) -> Self {
        match HeaderValue::from_str(challenge) {
            Ok(v) => self.header(header::WWW_AUTHENTICATE, v),
            Err(_) => self,
        }
    }

    fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn body(&self) -> &ErrorBody {
        &self.0.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Refusal {
            status,
            body,
            headers,
        } = *self.0;
        let mut r = (status, Json(body)).into_response();
        for (name, value) in headers {
            r.headers_mut().append(name, value);
        }
        no_store(r)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("no such resource"),
            StoreError::Backend(m) => {
                tracing::warn!(error = %m, "JSON API storage unavailable");
                Self::unavailable()
            }
            e => {
                tracing::error!(error = %e, "JSON API storage failure");
                Self::internal()
            }
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(f: FieldError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, f.code, f.message).field(f.field)
    }
}

impl From<BodyRejection> for ApiError {
    fn from(e: BodyRejection) -> Self {
        Self::new(e.status(), "invalid_request", e.description()).field("body")
    }
}

/// The resource guard's refusals (RFC 6750 §3, RFC 9470 §3): their status, code and
/// `WWW-Authenticate` challenges as the guard states them, and the missing `scope`.
impl From<GuardError> for ApiError {
    fn from(e: GuardError) -> Self {
        let (code, description) = e.code_and_description();
        let mut out = Self::new(e.status(), code, description);
        if let GuardError::InsufficientScope { scope, .. } = &e {
            out = out.scope(scope.clone());
        }
        if let Some(v) = e.nonce().and_then(|n| HeaderValue::from_str(n).ok()) {
            out = out.header(crate::web::dpop::DPOP_NONCE, v);
        }
        e.challenges().iter().fold(out, |out, c| out.challenge(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(r: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn the_shape_is_one_and_never_cached() {
        let r = ApiError::conflict("taken").field("uri").into_response();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            body_of(r).await,
            serde_json::json!({"error": "conflict", "error_description": "taken", "field": "uri"})
        );
        let r = ApiError::rate_limited("later", 7).into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }

    #[tokio::test]
    async fn storage_failures_never_show_their_text() {
        let r = ApiError::from(StoreError::Backend("password=hunter2".into())).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let v = body_of(r).await;
        assert_eq!(v["error"], "temporarily_unavailable");
        assert!(!v.to_string().contains("hunter2"));
        let e = ApiError::from(StoreError::Corrupt("row 7".into()));
        assert_eq!(
            (e.status(), e.body().error.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        );
        let e = ApiError::from(StoreError::NotFound);
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn guard_refusals_keep_their_challenges() {
        let r = ApiError::from(GuardError::insufficient_scope("read")).into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let ch = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(ch.starts_with("Bearer error=\"insufficient_scope\", scope=\"read\""));
        assert_eq!(body_of(r).await["scope"], "read");
        let r = ApiError::from(GuardError::Missing { basic: true }).into_response();
        let n = r.headers().get_all(header::WWW_AUTHENTICATE).iter().count();
        assert_eq!((r.status(), n), (StatusCode::UNAUTHORIZED, 2));
    }

    #[test]
    fn refused_fields_and_bodies_name_the_field() {
        let e = ApiError::from(FieldError::invalid("name", "1 to 128 characters"));
        assert_eq!(e.body().field.as_deref(), Some("name"));
        assert_eq!(e.body().error, "invalid_request");
        let e = ApiError::from(BodyRejection::NotJson);
        assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(e.body().field.as_deref(), Some("body"));
    }
}
