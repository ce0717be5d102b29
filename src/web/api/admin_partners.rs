//! Admin API for partners and their accounts (same authentication and OpenAPI document
//! as the rest of the admin API).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::admin::{Admin, AdminError, Body, ErrorBody};
use crate::admin::FieldError;
use crate::keys::jws::VerifyKey;
use crate::partners::{self, AccountInput, AccountOutput, PartnerInput, PartnerOutput};
use crate::store::StoreError;
use crate::web::AppState;
use serde_json::{Value, json};

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
    Body(jwk): Body<serde_json::Value>,
) -> Result<Response, AdminError> {
    let p = &s.provider;
    let mut rec = p
        .stores
        .partners
        .get_partner(&id)
        .await
        .map_err(AdminError::Store)?;
    let kid = jwk
        .get("kid")
        .and_then(|k| k.as_str())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(str::to_owned);
    let Some(kid) = kid else {
        return Err(AdminError::Field(FieldError::new(
            "kid",
            "a key needs a kid",
        )));
    };
    if jwk.get("d").is_some() {
        return Err(AdminError::Field(FieldError::new(
            "jwk",
            "send the public key only",
        )));
    }
    VerifyKey::from_jwk(&jwk)
        .map_err(|e| AdminError::Field(FieldError::new("jwk", e.to_string())))?;
    let mut keys = key_list(&rec);
    if keys
        .iter()
        .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str()))
    {
        return Err(AdminError::Conflict("kid", "a key with this kid exists"));
    }
    keys.push(jwk);
    rec.jwks = Some(json!({ "keys": keys }));
    p.stores
        .partners
        .update_partner(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok((StatusCode::CREATED, Json(PartnerOutput::from(&rec))).into_response())
}

/// Retires a key: assertions signed with it are refused from now on.
#[utoipa::path(delete, path = "/admin/partners/{partner_id}/keys/{kid}", params(("partner_id" = String, Path), ("kid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn retire_key(
    _: Admin,
    State(s): State<AppState>,
    Path((id, kid)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let p = &s.provider;
    let mut rec = p
        .stores
        .partners
        .get_partner(&id)
        .await
        .map_err(AdminError::Store)?;
    let keys = key_list(&rec);
    let kept: Vec<Value> = keys
        .iter()
        .filter(|k| k.get("kid").and_then(Value::as_str) != Some(kid.as_str()))
        .cloned()
        .collect();
    if kept.len() == keys.len() {
        return Err(AdminError::NotFound);
    }
    rec.jwks = (!kept.is_empty()).then(|| json!({ "keys": kept }));
    p.stores
        .partners
        .update_partner(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok(StatusCode::NO_CONTENT)
}

fn key_list(rec: &crate::store::PartnerRecord) -> Vec<Value> {
    rec.jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn seal(s: &AppState) -> impl Fn(&str, &[u8]) -> Option<Vec<u8>> + '_ {
    move |id, secret| s.provider.keys.seal_secret(id.as_bytes(), secret).ok()
}

#[utoipa::path(post, path = "/admin/partners", request_body = NewPartnerInput,
    responses((status = 201, body = PartnerOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_partner(
    _: Admin,
    State(s): State<AppState>,
    Body(input): Body<PartnerInput>,
) -> Result<Response, AdminError> {
    let rec = partners::build_partner(
        s.provider.entropy.as_ref(),
        None,
        input,
        s.provider.now(),
        None,
        seal(&s),
    )
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
    let rec = partners::build_partner(
        s.provider.entropy.as_ref(),
        Some(id),
        input,
        old.created_at,
        Some(&old),
        seal(&s),
    )
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
    let (rec, token) = partners::build_account(p.entropy.as_ref(), &id, input, p.now())
        .map_err(AdminError::Field)?;
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
