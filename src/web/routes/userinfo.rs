//! `GET/POST /userinfo` (OpenID Connect Core §5.3) with an RFC 6750 bearer token, sent in
//! the `Authorization` header (§2.1) or, on POST, as the `access_token` form field (§2.2);
//! never both, and never in the URI query (§2.3): 400 `invalid_request`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::error::OAuthError;
use crate::oauth::userinfo;
use crate::web::AppState;
use crate::web::error::{BearerError, no_store};
use crate::web::extract::{MAX_FORM_BYTES, bearer, parse_pairs};
use crate::web::guard::{TOKEN_IN_QUERY, token_in_query};

fn form_token(headers: &HeaderMap, body: &Bytes) -> Result<Option<String>, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form || body.is_empty() {
        return Ok(None);
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(OAuthError::invalid_request("the body is too large"));
    }
    Ok(parse_pairs(body)?.remove("access_token"))
}

pub async fn userinfo(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if token_in_query(uri.query()) {
        return BearerError(OAuthError::invalid_request(TOKEN_IN_QUERY)).into_response();
    }
    let token = match (bearer(&headers), form_token(&headers, &body)) {
        (_, Err(e)) => return BearerError(e).into_response(),
        (Some(_), Ok(Some(_))) => {
            let e = OAuthError::invalid_request("send the access token one way only");
            return BearerError(e).into_response();
        }
        (Some(t), Ok(None)) | (None, Ok(Some(t))) => t,
        (None, Ok(None)) => {
            let mut r = BearerError(OAuthError::invalid_token(
                "a bearer access token is required",
            ))
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    };
    match userinfo::userinfo(&s.provider, &token).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => BearerError(e).into_response(),
    }
}
