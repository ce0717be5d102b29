//! The developer API (`/developer/v1/apps…`): a developer account registers and manages
//! its apps. Authentication: HTTP Basic with the developer's account SID and auth token
//! (compared by hash in constant time). Another developer's app is 404.
//! OpenAPI at `/developer/v1/openapi.json`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use utoipa::OpenApi;

use super::error::{ApiError, ErrorBody};
use crate::connect::AppPermission;
use crate::connect::apps::{self, AppInput, AppOutput};
use crate::partners::accounts;
use crate::store::{AccountRecord, AccountStatus};
use crate::web::AppState;
use crate::web::json::JsonBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety developer API",
        description = "Register apps that ask users for permission to act on their accounts. Authenticate with HTTP Basic: your account SID and auth token."
    ),
    paths(create_app, list_apps, get_app, delete_app),
    components(schemas(AppInput, AppOutput, AppPermission, ErrorBody))
)]
pub struct DeveloperApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: Some(("account_credentials", "basic")),
    rate_limited: false,
    rules: &[],
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/developer/v1/openapi.json", get(openapi_doc))
        .route("/developer/v1/apps", get(list_apps).post(create_app))
        .route(
            "/developer/v1/apps/{client_id}",
            get(get_app).delete(delete_app),
        )
}

/// The developer account making the call.
pub struct Developer(AccountRecord);

fn unauthenticated() -> ApiError {
    let m = "authenticate with your account SID and auth token";
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", m).challenge("Basic realm=\"surety\"")
}

impl FromRequestParts<AppState> for Developer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let (sid, token) = basic(&parts.headers).ok_or_else(unauthenticated)?;
        match accounts::authenticate(&s.provider.stores, &sid, &token).await? {
            Some(acct) if acct.status == AccountStatus::Active => Ok(Developer(acct)),
            _ => Err(unauthenticated()),
        }
    }
}

fn basic(h: &axum::http::HeaderMap) -> Option<(String, String)> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (a, b) = text.split_once(':')?;
    Some((a.to_owned(), b.to_owned()))
}

#[utoipa::path(post, path = "/developer/v1/apps", request_body = AppInput, responses((status = 201, body = AppOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_app(
    Developer(dev): Developer,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let out = apps::register(
        &p.stores,
        p.entropy.as_ref(),
        &p.keys,
        &dev.sid,
        input,
        &known,
        p.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/developer/v1/apps", responses((status = 200, body = [AppOutput]), (status = 401, body = ErrorBody)))]
async fn list_apps(
    Developer(dev): Developer,
    State(s): State<AppState>,
) -> Result<Json<Vec<AppOutput>>, ApiError> {
    Ok(Json(apps::list(&s.provider.stores, &dev.sid).await?))
}

#[utoipa::path(get, path = "/developer/v1/apps/{client_id}", params(("client_id" = String, Path)), responses((status = 200, body = AppOutput), (status = 404, body = ErrorBody)))]
async fn get_app(
    Developer(dev): Developer,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AppOutput>, ApiError> {
    Ok(Json(
        apps::get(&s.provider.stores, Some(&dev.sid), &id).await?,
    ))
}

#[utoipa::path(delete, path = "/developer/v1/apps/{client_id}", params(("client_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_app(
    Developer(dev): Developer,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    apps::remove(&s.provider.stores, Some(&dev.sid), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(
        &DOC,
        DeveloperApi::openapi,
        &CONTRACT,
    ))
}
