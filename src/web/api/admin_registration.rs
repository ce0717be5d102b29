//! Admin API for initial access tokens (RFC 7591 §3): mint one with its policy (the
//! grant types, scope and redirect URI patterns a client registering with it may ask
//! for) and lifetime — the token is shown once, only its hash is kept — list them, and
//! revoke one by id. Clients use them at `/register` (`SURETY_REGISTRATION=token`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};

use super::admin::Admin;
use super::error::{ApiError, ErrorBody};
use crate::admin::registration::initial_tokens::{
    self, InitialTokenInput, InitialTokenList, InitialTokenOutput,
};
use crate::web::AppState;
use crate::web::json::JsonBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/initial-access-tokens",
            post(create_initial_token).get(list_initial_tokens),
        )
        .route(
            "/admin/initial-access-tokens/{id}",
            delete(revoke_initial_token),
        )
}

#[utoipa::path(post, path = "/admin/initial-access-tokens", request_body = InitialTokenInput,
    responses((status = 201, body = InitialTokenOutput), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn create_initial_token(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<InitialTokenInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let out = initial_tokens::mint(p, input, &known).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/admin/initial-access-tokens",
    responses((status = 200, body = InitialTokenList), (status = 401, body = ErrorBody)))]
pub async fn list_initial_tokens(
    _: Admin,
    State(s): State<AppState>,
) -> Result<Json<InitialTokenList>, ApiError> {
    Ok(Json(initial_tokens::list(&s.provider).await?))
}

#[utoipa::path(delete, path = "/admin/initial-access-tokens/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_initial_token(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    initial_tokens::revoke(&s.provider, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
