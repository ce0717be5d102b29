//! Promotions and eligibility of the verification API: a relying party
//! registers promotions (`/verify/v1/promotions`: code, description, rule), lists and
//! deletes its own, and asks whether the entity behind one of its verifications
//! qualifies (`POST /verify/v1/eligibility` → only `eligible` true or false). Another
//! client's promotion or verification is 404. Authentication as the rest of
//! `/verify/v1` ([`VerifyClient`]). OpenAPI at `/verify/v1/promotions/openapi.json`.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::error::{ApiError, ErrorBody, RulePosition};
use super::verify_auth::VerifyClient;
use crate::verify::eligibility::{self, PromotionError, PromotionInput, PromotionOutput};
use crate::web::AppState;
use crate::web::error::no_store;
use crate::web::json::JsonBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety verification API: promotions and eligibility",
        description = include_str!("verify_promotions.md")
    ),
    paths(create_promotion, list_promotions, get_promotion, delete_promotion, eligibility),
    components(schemas(
        PromotionInput,
        PromotionOutput,
        EligibilityInput,
        EligibilityOutput,
        ErrorBody,
        RulePosition
    )),
    modifiers(&Security)
)]
pub struct PromotionsApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: Some(("client_credentials_token", "bearer")),
    rate_limited: false,
    rules: &[],
};

struct Security;
impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "client_credentials_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "client_credentials_token",
            Vec::<String>::new(),
        )]);
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify/v1/promotions/openapi.json", get(openapi_doc))
        .route(
            "/verify/v1/promotions",
            get(list_promotions).post(create_promotion),
        )
        .route(
            "/verify/v1/promotions/{code}",
            get(get_promotion).delete(delete_promotion),
        )
        .route("/verify/v1/eligibility", post(eligibility))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Largest request body of these routes (a rule is at most 2 KB).
const MAX_BODY: usize = 16 * 1024;

fn ok<T: Serialize>(status: StatusCode, v: T) -> Response {
    no_store((status, Json(v)).into_response())
}

#[utoipa::path(post, path = "/verify/v1/promotions", request_body = PromotionInput,
    responses((status = 201, body = PromotionOutput),
        (status = 400, description = "invalid_request, or invalid_rule with its position", body = ErrorBody),
        (status = 401, description = "no valid token"), (status = 403, description = "the token lacks the verify scope"),
        (status = 409, description = "the code is taken, or too many promotions", body = ErrorBody)))]
async fn create_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<PromotionInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let rec = eligibility::register(
        &p.stores,
        p.entropy.as_ref(),
        &who.client_id,
        input,
        p.now(),
    )
    .await?;
    Ok(ok(StatusCode::CREATED, PromotionOutput::from(rec)))
}

#[utoipa::path(get, path = "/verify/v1/promotions",
    responses((status = 200, description = "your promotions, oldest first", body = [PromotionOutput]), (status = 401)))]
async fn list_promotions(
    who: VerifyClient,
    State(s): State<AppState>,
) -> Result<Response, ApiError> {
    let list = s
        .provider
        .stores
        .promotions
        .list_promotions(&who.client_id)
        .await
        .map_err(PromotionError::from)?;
    let out: Vec<PromotionOutput> = list.into_iter().map(Into::into).collect();
    Ok(ok(StatusCode::OK, out))
}

#[utoipa::path(get, path = "/verify/v1/promotions/{code}", params(("code" = String, Path)),
    responses((status = 200, body = PromotionOutput), (status = 404, body = ErrorBody)))]
async fn get_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let rec = s
        .provider
        .stores
        .promotions
        .get_promotion(&who.client_id, &code)
        .await
        .map_err(PromotionError::from)?;
    Ok(ok(StatusCode::OK, PromotionOutput::from(rec)))
}

#[utoipa::path(delete, path = "/verify/v1/promotions/{code}", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.provider
        .stores
        .promotions
        .delete_promotion(&who.client_id, &code)
        .await
        .map_err(PromotionError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which promotion, for the entity of which of your verifications.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityInput {
    /// The promotion's code.
    pub promotion: String,
    /// A verification you started (`/verify/v1/verifications`).
    pub verification_id: String,
}

/// The answer: nothing about the entity but this.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityOutput {
    pub promotion: String,
    pub eligible: bool,
}

#[utoipa::path(post, path = "/verify/v1/eligibility", request_body = EligibilityInput,
    responses((status = 200, body = EligibilityOutput),
        (status = 404, description = "no such promotion or verification of yours", body = ErrorBody),
        (status = 409, description = "challenge_required: run the verification to a pass first", body = ErrorBody),
        (status = 429, description = "the verification already answered 8 other promotions", body = ErrorBody)))]
async fn eligibility(
    who: VerifyClient,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<EligibilityInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let eligible = eligibility::eligibility(
        &p.stores,
        p.cache.as_ref(),
        &who.client_id,
        &input.promotion,
        &input.verification_id,
        p.now(),
    )
    .await?;
    Ok(ok(
        StatusCode::OK,
        EligibilityOutput {
            promotion: input.promotion,
            eligible,
        },
    ))
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(
        &DOC,
        PromotionsApi::openapi,
        &CONTRACT,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_route() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(super::PromotionsApi::openapi()).unwrap();
        for path in [
            "/verify/v1/promotions",
            "/verify/v1/promotions/{code}",
            "/verify/v1/eligibility",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
    }
}
