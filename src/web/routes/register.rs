//! `POST /register` (RFC 7591 §3: 201 with the client information response) and
//! `GET`/`PUT`/`DELETE /register/{client_id}` (RFC 7592 §2: 200, 200, 204), mounted
//! unless `SURETY_REGISTRATION=off`. Credentials are RFC 6750 bearer tokens: the initial
//! access token at `/register`, the registration access token at the client's URI; a
//! bad one is 401 `invalid_token` with a `Bearer` challenge. Refused metadata is 400
//! `invalid_redirect_uri`, `invalid_client_metadata`, `invalid_software_statement` or
//! `unapproved_software_statement`. Registrations are limited per client address (429
//! with `Retry-After`) and bodies to [`MAX_BODY`]. Every answer is `no-store`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use tower_http::limit::RequestBodyLimitLayer;

use crate::admin::registration::{self, ClientInformation};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::paths;
use crate::web::AppState;
use crate::web::error::{BearerError, ProtocolError, no_store};
use crate::web::extract::bearer;
use crate::web::json::{BodyRejection, JsonBody};

/// Largest registration request body (bytes).
pub const MAX_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    let client_uri = format!("{}/{{client_id}}", paths::REGISTER);
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(&client_uri, get(read).put(update).delete(delete))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
}

async fn register(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<JsonBody<Value>, BodyRejection>,
) -> Response {
    let p = &s.provider;
    let ip = crate::web::client_ip::client_ip(peer, &headers, &p.settings.trusted_proxies);
    match registration::reserve(p, &ip.to_string()).await {
        Ok(true) => {}
        Ok(false) => return too_many(),
        Err(e) => return refusal(OAuthError::from(e)),
    }
    let body = match object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let token = bearer(&headers);
    match registration::register(p, token.as_deref(), &body).await {
        Ok(info) => answer(StatusCode::CREATED, &info),
        Err(e) => refusal(e),
    }
}

async fn read(
    State(s): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = bearer(&headers);
    match registration::read_registration(&s.provider, &client_id, token.as_deref()).await {
        Ok(info) => answer(StatusCode::OK, &info),
        Err(e) => refusal(e),
    }
}

async fn update(
    State(s): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Result<JsonBody<Value>, BodyRejection>,
) -> Response {
    let body = match object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let token = bearer(&headers);
    match registration::update(&s.provider, &client_id, token.as_deref(), &body).await {
        Ok(info) => answer(StatusCode::OK, &info),
        Err(e) => refusal(e),
    }
}

async fn delete(
    State(s): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = bearer(&headers);
    match registration::delete(&s.provider, &client_id, token.as_deref()).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => refusal(e),
    }
}

/// The request's JSON object; a body too large or not JSON keeps its status (413, 415),
/// anything else that is not an object is `invalid_client_metadata`.
fn object(body: Result<JsonBody<Value>, BodyRejection>) -> Result<Map<String, Value>, Response> {
    match body {
        Ok(JsonBody(Value::Object(m))) => Ok(m),
        Ok(_) | Err(BodyRejection::Malformed(_)) => Err(refusal(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the body must be a JSON object of client metadata",
        ))),
        Err(r) => Err(r.into_response()),
    }
}

fn answer(status: StatusCode, info: &ClientInformation) -> Response {
    no_store((status, Json(info)).into_response())
}

/// A refused request: `invalid_token` as an RFC 6750 challenge, the rest as RFC 7591
/// §3.2.2 JSON.
fn refusal(e: OAuthError) -> Response {
    if e.code == ErrorCode::InvalidToken {
        BearerError(e).into_response()
    } else {
        ProtocolError(e).into_response()
    }
}

/// 429 with `Retry-After` (the window's length, the longest wait there can be).
fn too_many() -> Response {
    let e = OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "too many registrations from this address; retry later",
    );
    let mut r = ProtocolError(e).into_response();
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&registration::WINDOW.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
