//! `GET/POST /userinfo` (OpenID Connect Core §5.3) with an access token sent in the
//! `Authorization` header, as `Bearer` (RFC 6750 §2.1) or as `DPoP` with a `DPoP` proof
//! (RFC 9449 §7), or, on POST, as the `access_token` form field (RFC 6750 §2.2, bearer
//! only); never two ways, and never in the URI query (§2.3): 400 `invalid_request`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::dpop::algs;
use crate::oauth::dpop::resource::Refusal;
use crate::oauth::error::OAuthError;
use crate::oauth::userinfo;
use crate::web::AppState;
use crate::web::dpop::{ResourceRefusal, authorization, dpop_header, presented};
use crate::web::error::{BearerError, no_store};
use crate::web::extract::{MAX_FORM_BYTES, parse_pairs};
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

/// No token at all: both schemes are challenged (RFC 9449 §7.1).
fn missing() -> Response {
    let mut r =
        BearerError(OAuthError::invalid_token("an access token is required")).into_response();
    let h = r.headers_mut();
    h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    if let Ok(v) = HeaderValue::from_str(&format!("DPoP algs=\"{}\"", algs())) {
        h.append(header::WWW_AUTHENTICATE, v);
    }
    r
}

pub async fn userinfo(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = &s.provider;
    if token_in_query(uri.query()) {
        return BearerError(OAuthError::invalid_request(TOKEN_IN_QUERY)).into_response();
    }
    // A malformed or repeated DPoP header leaves the proof out: DPoP-bound tokens then
    // fail with `invalid_dpop_proof`, and bearer tokens do not need one.
    let proof = dpop_header(&headers).ok().flatten();
    let (form, header_token) = (form_token(&headers, &body), authorization(&headers));
    let (token, dpop) = match (header_token, form) {
        (_, Err(e)) => return BearerError(e).into_response(),
        (Some(_), Ok(Some(_))) => {
            let e = OAuthError::invalid_request("send the access token one way only");
            return BearerError(e).into_response();
        }
        (Some((dpop, t)), Ok(None)) => (t.to_owned(), dpop),
        (None, Ok(Some(t))) => (t, false),
        (None, Ok(None)) => return missing(),
    };
    let how = presented(&token, dpop, proof.as_deref());
    match userinfo::userinfo(p, &how, method.as_str()).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(r) => refused(p, r),
    }
}

fn refused(p: &crate::oauth::provider::Provider, r: Refusal) -> Response {
    ResourceRefusal(r, p).into_response()
}
