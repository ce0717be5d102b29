//! Admin API for resource servers (RFC 8707): register, list, get and delete the URIs
//! clients may name in `resource`, with the scopes each accepts. The URI is the key;
//! in a path it is percent-encoded.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::admin::Admin;
use super::error::{ApiError, ErrorBody};
use crate::admin::resource_servers::{self, ResourceServerInput, ResourceServerOutput};
use crate::web::AppState;
use crate::web::json::JsonBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/resource-servers",
            post(create_resource_server).get(list_resource_servers),
        )
        .route(
            "/admin/resource-servers/{uri}",
            get(get_resource_server).delete(delete_resource_server),
        )
}

#[utoipa::path(post, path = "/admin/resource-servers", request_body = ResourceServerInput,
    responses((status = 201, body = ResourceServerOutput), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_resource_server(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ResourceServerInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let out = resource_servers::register(&p.stores, &p.scopes, input, p.now()).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/admin/resource-servers",
    responses((status = 200, body = [ResourceServerOutput]), (status = 401, body = ErrorBody)))]
pub async fn list_resource_servers(
    _: Admin,
    State(s): State<AppState>,
) -> Result<Json<Vec<ResourceServerOutput>>, ApiError> {
    Ok(Json(resource_servers::list(&s.provider.stores).await?))
}

#[utoipa::path(get, path = "/admin/resource-servers/{uri}", params(("uri" = String, Path, description = "percent-encoded")),
    responses((status = 200, body = ResourceServerOutput), (status = 404, body = ErrorBody)))]
pub async fn get_resource_server(
    _: Admin,
    State(s): State<AppState>,
    Path(uri): Path<String>,
) -> Result<Json<ResourceServerOutput>, ApiError> {
    Ok(Json(resource_servers::get(&s.provider.stores, &uri).await?))
}

#[utoipa::path(delete, path = "/admin/resource-servers/{uri}", params(("uri" = String, Path, description = "percent-encoded")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_resource_server(
    _: Admin,
    State(s): State<AppState>,
    Path(uri): Path<String>,
) -> Result<StatusCode, ApiError> {
    resource_servers::remove(&s.provider.stores, &uri).await?;
    Ok(StatusCode::NO_CONTENT)
}
