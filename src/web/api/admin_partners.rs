//! Admin API for partners and their accounts (same authentication and OpenAPI document
//! as the rest of the admin API).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::admin::{Admin, AdminError, Body, ErrorBody};
use crate::partners::{self, AccountInput, AccountOutput, PartnerInput, PartnerOutput};
use crate::store::StoreError;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/partners", post(create_partner))
        .route(
            "/admin/partners/{partner_id}",
            get(get_partner).put(put_partner).delete(delete_partner),
        )
        .route(
            "/admin/partners/{partner_id}/accounts",
            post(create_account),
        )
}

fn seal(s: &AppState) -> impl Fn(&str, &[u8]) -> Option<Vec<u8>> + '_ {
    move |id, secret| s.provider.keys.seal_secret(id.as_bytes(), secret).ok()
}

#[utoipa::path(post, path = "/admin/partners", request_body = PartnerInput,
    responses((status = 201, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_partner(
    _: Admin,
    State(s): State<AppState>,
    Body(input): Body<PartnerInput>,
) -> Result<Response, AdminError> {
    let rec = partners::build_partner(None, input, s.provider.now(), None, seal(&s))
        .map_err(AdminError::Field)?;
    s.provider
        .stores
        .partners
        .insert_partner(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok((StatusCode::CREATED, Json(PartnerOutput::from(&rec))).into_response())
}

#[utoipa::path(get, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)),
    responses((status = 200, body = PartnerOutput), (status = 404, body = ErrorBody)))]
pub async fn get_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PartnerOutput>, AdminError> {
    let rec = s
        .provider
        .stores
        .partners
        .get_partner(&id)
        .await
        .map_err(AdminError::Store)?;
    Ok(Json(PartnerOutput::from(&rec)))
}

/// Replaces a partner's record; the secret is kept unless a new one is given.
#[utoipa::path(put, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)), request_body = PartnerInput,
    responses((status = 200, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(input): Body<PartnerInput>,
) -> Result<Json<PartnerOutput>, AdminError> {
    let old = s
        .provider
        .stores
        .partners
        .get_partner(&id)
        .await
        .map_err(AdminError::Store)?;
    let rec = partners::build_partner(Some(id), input, old.created_at, old.sealed_secret, seal(&s))
        .map_err(AdminError::Field)?;
    s.provider
        .stores
        .partners
        .update_partner(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok(Json(PartnerOutput::from(&rec)))
}

#[utoipa::path(delete, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    s.provider
        .stores
        .partners
        .delete_partner(&id)
        .await
        .map_err(AdminError::Store)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/partners/{partner_id}/accounts", params(("partner_id" = String, Path)), request_body = AccountInput,
    responses((status = 201, body = AccountOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_account(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(input): Body<AccountInput>,
) -> Result<Response, AdminError> {
    let p = &s.provider;
    match p.stores.partners.get_partner(&id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(AdminError::NotFound),
        Err(e) => return Err(AdminError::Store(e)),
    }
    let (rec, token) = partners::build_account(&id, input, p.now()).map_err(AdminError::Field)?;
    p.stores
        .accounts
        .insert_account(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok((
        StatusCode::CREATED,
        Json(AccountOutput::of(&rec, Some(token))),
    )
        .into_response())
}
