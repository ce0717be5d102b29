//! The developer API (`/developer/v1/apps…`): a developer account registers and manages
//! its apps. Authentication: HTTP Basic with the developer's account SID and auth token
//! (compared by hash in constant time). Another developer's app is 404.
//! OpenAPI at `/developer/v1/openapi.json`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use utoipa::OpenApi;

use super::admin::{Body, ErrorBody};
use crate::admin::FieldError;
use crate::connect::AppPermission;
use crate::connect::apps::{self, AppInput, AppOutput};
use crate::store::{AccountRecord, StoreError};
use crate::util::{ct_eq, secret_hash};
use crate::web::AppState;

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

pub enum DevErr {
    Unauthorized,
    NotFound,
    Field(FieldError),
    Store(StoreError),
}

impl From<StoreError> for DevErr {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DevErr::NotFound,
            e => DevErr::Store(e),
        }
    }
}

impl IntoResponse for DevErr {
    fn into_response(self) -> Response {
        let (status, error, desc, field) = match self {
            DevErr::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate with your account SID and auth token".to_owned(),
                None,
            ),
            DevErr::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such app".to_owned(),
                None,
            ),
            DevErr::Field(f) => (
                StatusCode::BAD_REQUEST,
                f.code,
                f.message,
                Some(f.field.to_owned()),
            ),
            DevErr::Store(e) => {
                tracing::warn!(error = %e, "developer API storage failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "storage is unavailable".to_owned(),
                    None,
                )
            }
        };
        let mut r = (
            status,
            Json(json!({"error": error, "error_description": desc, "field": field})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"surety\""),
            );
        }
        r
    }
}

/// The developer account making the call.
pub struct Developer(AccountRecord);

impl FromRequestParts<AppState> for Developer {
    type Rejection = DevErr;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, DevErr> {
        let (sid, token) = basic(&parts.headers).ok_or(DevErr::Unauthorized)?;
        if !crate::partners::is_account_sid(&sid) {
            return Err(DevErr::Unauthorized);
        }
        let acct = match s.provider.stores.accounts.get_account(&sid).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(DevErr::Unauthorized),
            Err(e) => return Err(DevErr::Store(e)),
        };
        if acct.status != "active"
            || !ct_eq(
                secret_hash(&token).as_bytes(),
                acct.auth_token_hash.as_bytes(),
            )
        {
            return Err(DevErr::Unauthorized);
        }
        Ok(Developer(acct))
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
    Body(input): Body<AppInput>,
) -> Result<Response, DevErr> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let (client, secret, mut app) =
        apps::build(p.entropy.as_ref(), input, &dev.sid, &known, p.now()).map_err(DevErr::Field)?;
    let webhook_secret = apps::new_webhook_secret(p.entropy.as_ref());
    let sealed = p
        .keys
        .seal_secret(app.client_id.as_bytes(), webhook_secret.as_bytes());
    app.webhook_secret_sealed =
        Some(sealed.map_err(|e| DevErr::Store(StoreError::Backend(e.to_string())))?);
    p.stores.clients.insert_client(&client).await?;
    if let Err(e) = p.stores.apps.insert_app(&app).await {
        let _ = p.stores.clients.delete_client(&client.client_id).await;
        return Err(e.into());
    }
    Ok((
        StatusCode::CREATED,
        Json(AppOutput::of(&app, &client, secret, Some(webhook_secret))),
    )
        .into_response())
}

#[utoipa::path(get, path = "/developer/v1/apps", responses((status = 200, body = [AppOutput]), (status = 401, body = ErrorBody)))]
async fn list_apps(
    Developer(dev): Developer,
    State(s): State<AppState>,
) -> Result<Json<Vec<AppOutput>>, DevErr> {
    let p = &s.provider;
    let mut out = Vec::new();
    for app in p.stores.apps.list_apps(&dev.sid).await? {
        let client = p.stores.clients.get_client(&app.client_id).await?;
        out.push(AppOutput::of(&app, &client, None, None));
    }
    Ok(Json(out))
}

async fn owned_app(
    s: &AppState,
    dev: &AccountRecord,
    client_id: &str,
) -> Result<crate::store::AppRecord, DevErr> {
    let app = s.provider.stores.apps.get_app(client_id).await?;
    if app.developer_sid != dev.sid {
        return Err(DevErr::NotFound);
    }
    Ok(app)
}

#[utoipa::path(get, path = "/developer/v1/apps/{client_id}", params(("client_id" = String, Path)), responses((status = 200, body = AppOutput), (status = 404, body = ErrorBody)))]
async fn get_app(
    Developer(dev): Developer,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AppOutput>, DevErr> {
    let app = owned_app(&s, &dev, &id).await?;
    let client = s.provider.stores.clients.get_client(&id).await?;
    Ok(Json(AppOutput::of(&app, &client, None, None)))
}

#[utoipa::path(delete, path = "/developer/v1/apps/{client_id}", params(("client_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_app(
    Developer(dev): Developer,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, DevErr> {
    owned_app(&s, &dev, &id).await?;
    s.provider.stores.apps.delete_app(&id).await?;
    s.provider.stores.clients.delete_client(&id).await?;
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
