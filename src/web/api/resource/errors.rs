//! The resource API's refusals as HTTP: JSON `{"error", "error_description"}` with the
//! status each deserves; authentication and permission failures answer through the
//! guard's RFC 6750 challenges. Unknown or foreign accounts and records are all 404.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::resource::ResourceError;
use crate::resource::permissions::Permission;
use crate::store::StoreError;
use crate::web::guard::{GuardError, Scheme};

/// A refused request.
pub enum Refusal {
    /// The domain said no; the scheme picks the 401 challenge for a closed account.
    Domain(ResourceError, Scheme),
    /// The body or the query (`field`) could not be read.
    Malformed {
        field: &'static str,
        message: String,
    },
}

fn body(status: StatusCode, error: &str, desc: &str, extra: Value) -> Response {
    let mut b = json!({"error": error, "error_description": desc});
    if let (Some(o), Value::Object(e)) = (b.as_object_mut(), extra) {
        o.extend(e);
    }
    (status, Json(b)).into_response()
}

fn missing_permission(p: Permission) -> GuardError {
    match p {
        Permission::CallerIdsAll => GuardError::InsufficientScope {
            scope: p.as_str().into(),
            description: "using a number of the parent or a sibling account as caller ID needs the callerids:all permission".into(),
        },
        p => GuardError::insufficient_scope(p.as_str()),
    }
}

fn limit_reached(limit: i64, retry_after: i64) -> Response {
    let mut r = body(
        StatusCode::TOO_MANY_REQUESTS,
        "usage_limit_exceeded",
        "the monthly limit of metered API calls is reached for this account or an account above it",
        json!({"limit": limit}),
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn store_failure(e: StoreError) -> Response {
    match e {
        StoreError::Backend(e) => {
            tracing::warn!(error = %e, "resource API storage unavailable");
            GuardError::Unavailable.into_response()
        }
        e => {
            tracing::error!(error = %e, "resource API storage failure");
            GuardError::Internal.into_response()
        }
    }
}

fn domain(e: ResourceError, scheme: Scheme) -> Response {
    use ResourceError as E;
    let (status, code, desc) = match e {
        E::CallerClosed => {
            // The credential no longer authenticates: 401 with its own challenge.
            return match scheme {
                Scheme::Basic => GuardError::InvalidCredentials,
                Scheme::Bearer => GuardError::InvalidToken("the token's account is closed".into()),
            }
            .into_response();
        }
        E::MissingPermission(p) => return missing_permission(p).into_response(),
        E::LimitReached { limit, retry_after } => return limit_reached(limit, retry_after),
        E::Store(e) => return store_failure(e),
        E::Invalid { field, message } => {
            let extra = json!({"field": field});
            return body(StatusCode::BAD_REQUEST, "invalid_request", message, extra);
        }
        E::NotFound => (
            StatusCode::NOT_FOUND,
            "not_found",
            "the requested resource was not found",
        ),
        E::Suspended => (
            StatusCode::FORBIDDEN,
            "account_suspended",
            "the account is suspended",
        ),
        E::Closed => (
            StatusCode::FORBIDDEN,
            "account_closed",
            "the account is closed",
        ),
        E::CallerIdRefused => (
            StatusCode::FORBIDDEN,
            "caller_id_not_allowed",
            "the from number is not a number this account may use as caller ID",
        ),
        E::NumberTaken => (
            StatusCode::CONFLICT,
            "number_unavailable",
            "this phone number is not available",
        ),
    };
    body(status, code, desc, json!({}))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Domain(e, scheme) => domain(e, scheme),
            Refusal::Malformed { field, message } => body(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &message,
                json!({"field": field}),
            ),
        }
    }
}

/// A JSON body; a malformed one is `invalid_request`, never axum's plain-text rejection.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Refusal;
    async fn from_request(req: Request, s: &S) -> Result<Self, Refusal> {
        match Json::<T>::from_request(req, s).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(Refusal::Malformed {
                field: "body",
                message: e.body_text(),
            }),
        }
    }
}

/// Query parameters; malformed ones are `invalid_request`.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Refusal;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(q)
            .map(QueryParams)
            .map_err(|e| Refusal::Malformed {
                field: "query",
                message: format!("malformed query: {e}"),
            })
    }
}
