//! Admin API for partners and their accounts (same authentication and OpenAPI document
//! as the rest of the admin API).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::admin::Admin;
use super::error::{ApiError, ErrorBody};
use crate::partners::accounts::{self, Actor, Channel};
use crate::partners::manage;
use crate::partners::{AccountInput, AccountOutput, PartnerInput, PartnerOutput};
use crate::store::PartnerId;
use crate::web::AppState;
use crate::web::json::JsonBody;

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
        .route("/admin/partners/{partner_id}/keys", post(add_key))
        .route(
            "/admin/partners/{partner_id}/keys/{kid}",
            axum::routing::delete(retire_key),
        )
}

/// A public JWK as the admin API takes it (documents only; the key is checked by
/// [`VerifyKey::from_jwk`]): a `kid` of 1 to 128 characters and an RSA, P-256 or Ed25519
/// public key.
pub struct PublicJwk;

impl utoipa::PartialSchema for PublicJwk {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property(
                "kid",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(128)),
            )
            .property(
                "kty",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["RSA", "EC", "OKP"])),
            )
            .required("kid")
            .required("kty")
            .description(Some(
                "A public key: RSA (at least 2048 bits), EC P-256 or OKP Ed25519, with its `kid`.",
            ))
            .into()
    }
}
impl utoipa::ToSchema for PublicJwk {}

/// A new partner (documents only): [`PartnerInput`] with at least one of `jwks`,
/// `jwks_uri` or `secret`, which [`partners::build_partner`] requires of a new partner.
pub struct NewPartnerInput;

impl utoipa::PartialSchema for NewPartnerInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Ref, Type};
        let present = |name: &str, t: Type| {
            ObjectBuilder::new()
                .property(name, ObjectBuilder::new().schema_type(t))
                .required(name)
        };
        AllOfBuilder::new()
            .item(Ref::from_schema_name("PartnerInput"))
            .item(
                AnyOfBuilder::new()
                    .item(present("jwks", Type::Object))
                    .item(present("jwks_uri", Type::String))
                    .item(present("secret", Type::String)),
            )
            .into()
    }
}
impl utoipa::ToSchema for NewPartnerInput {}

/// Adds a public JWK (with a unique `kid`) to the partner's inline key set.
#[utoipa::path(post, path = "/admin/partners/{partner_id}/keys", params(("partner_id" = String, Path)), request_body = PublicJwk,
    responses((status = 201, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_key(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(jwk): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let rec = manage::add_key(&s.provider.stores, &id, jwk).await?;
    Ok((StatusCode::CREATED, Json(PartnerOutput::from(&rec))).into_response())
}

/// Retires a key: assertions signed with it are refused from now on.
#[utoipa::path(delete, path = "/admin/partners/{partner_id}/keys/{kid}", params(("partner_id" = String, Path), ("kid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn retire_key(
    _: Admin,
    State(s): State<AppState>,
    Path((id, kid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    manage::retire_key(&s.provider.stores, &id, &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/partners", request_body = NewPartnerInput,
    responses((status = 201, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_partner(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<PartnerInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let rec = manage::register(&p.stores, p.entropy.as_ref(), &p.keys, input, p.now()).await?;
    Ok((StatusCode::CREATED, Json(PartnerOutput::from(&rec))).into_response())
}

#[utoipa::path(get, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)),
    responses((status = 200, body = PartnerOutput), (status = 404, body = ErrorBody)))]
pub async fn get_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PartnerOutput>, ApiError> {
    let rec = manage::get(&s.provider.stores, &id).await?;
    Ok(Json(PartnerOutput::from(&rec)))
}

/// Replaces a partner's record; the secret is kept unless a new one is given.
#[utoipa::path(put, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)), request_body = PartnerInput,
    responses((status = 200, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PartnerInput>,
) -> Result<Json<PartnerOutput>, ApiError> {
    let p = &s.provider;
    let rec = manage::replace(&p.stores, p.entropy.as_ref(), &p.keys, &id, input).await?;
    Ok(Json(PartnerOutput::from(&rec)))
}

#[utoipa::path(delete, path = "/admin/partners/{partner_id}", params(("partner_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_partner(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    manage::remove(&s.provider.stores, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/partners/{partner_id}/accounts", params(("partner_id" = String, Path)), request_body = AccountInput,
    responses((status = 201, body = AccountOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_account(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let id = PartnerId::parse(&id).ok_or(accounts::AccountError::NoPartner)?;
    let by = Actor {
        partner_id: &id,
        channel: Channel::Admin,
    };
    let (rec, token) = accounts::open(&p.stores, p.entropy.as_ref(), &by, input, p.now()).await?;
    let out = AccountOutput::of(&rec, Some(token));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}
