//! Promotions and eligibility of the verification API (issue 5): a relying party
//! registers promotions (`/verify/v1/promotions`: code, description, rule), lists and
//! deletes its own, and asks whether the entity behind one of its verifications
//! qualifies (`POST /verify/v1/eligibility` → only `eligible` true or false). Another
//! client's promotion or verification is 404. Authentication as the rest of
//! `/verify/v1` ([`VerifyClient`]). OpenAPI at `/verify/v1/promotions/openapi.json`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::verify_auth::VerifyClient;
use crate::store::StoreError;
use crate::verify::eligibility::{self, PromotionError, PromotionInput, PromotionOutput};
use crate::web::AppState;
use crate::web::error::no_store;

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
        PromotionErrorBody,
        RulePosition
    )),
    modifiers(&Security)
)]
pub struct PromotionsApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "PromotionErrorBody",
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

/// Where a rule was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulePosition {
    /// Byte offset in the rule.
    pub offset: usize,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
}

/// An error: `invalid_request`, `invalid_rule` (with `position`), `not_found`,
/// `conflict`, `too_many_promotions`, `challenge_required`, `too_many_promotions_asked`,
/// `temporarily_unavailable`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionErrorBody {
    pub error: String,
    pub error_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<RulePosition>,
}

/// A refusal of this API.
pub enum ApiErr {
    Domain(PromotionError),
    /// The body is larger than [`MAX_BODY`].
    TooLarge,
}

impl From<PromotionError> for ApiErr {
    fn from(e: PromotionError) -> Self {
        ApiErr::Domain(e)
    }
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> Self {
        ApiErr::Domain(e.into())
    }
}

fn body(error: &str, desc: impl Into<String>) -> PromotionErrorBody {
    PromotionErrorBody {
        error: error.to_owned(),
        error_description: desc.into(),
        field: None,
        position: None,
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let e = match self {
            ApiErr::Domain(e) => e,
            ApiErr::TooLarge => {
                let b = body(
                    "invalid_request",
                    format!("the request body is larger than {MAX_BODY} bytes"),
                );
                return no_store((StatusCode::PAYLOAD_TOO_LARGE, Json(b)).into_response());
            }
        };
        let (status, b) = match e {
            PromotionError::Invalid { field, message } => (
                StatusCode::BAD_REQUEST,
                PromotionErrorBody {
                    field: Some(field.to_owned()),
                    ..body("invalid_request", message)
                },
            ),
            PromotionError::Rule(e) => (
                StatusCode::BAD_REQUEST,
                PromotionErrorBody {
                    field: Some("rule".into()),
                    position: Some(RulePosition {
                        offset: e.offset,
                        line: e.line,
                        column: e.column,
                    }),
                    ..body("invalid_rule", e.to_string())
                },
            ),
            PromotionError::Duplicate => (
                StatusCode::CONFLICT,
                body("conflict", "you already have a promotion with this code"),
            ),
            PromotionError::TooMany => (
                StatusCode::CONFLICT,
                body(
                    "too_many_promotions",
                    format!(
                        "a client may register at most {} promotions",
                        eligibility::MAX_PROMOTIONS_PER_CLIENT
                    ),
                ),
            ),
            PromotionError::NotFound => (
                StatusCode::NOT_FOUND,
                body("not_found", "no such promotion or verification"),
            ),
            PromotionError::TooManyAsked => (
                StatusCode::TOO_MANY_REQUESTS,
                body(
                    "too_many_promotions_asked",
                    format!(
                        "a verification answers at most {} promotions",
                        eligibility::MAX_ASKED_PER_VERIFICATION
                    ),
                ),
            ),
            PromotionError::ChallengeRequired(why) => {
                (StatusCode::CONFLICT, body("challenge_required", why))
            }
            PromotionError::Store(e) => {
                let status = match e {
                    StoreError::Backend(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                tracing::warn!(error = %e, "promotions API storage failure");
                (
                    status,
                    body("temporarily_unavailable", "storage is unavailable"),
                )
            }
        };
        no_store((status, Json(b)).into_response())
    }
}

/// A JSON body whose rejection is an `invalid_request` of this API.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiErr;
    async fn from_request(req: Request, s: &S) -> Result<Self, ApiErr> {
        match Json::<T>::from_request(req, s).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiErr::TooLarge),
            Err(e) => Err(ApiErr::Domain(PromotionError::Invalid {
                field: "body",
                message: match e {
                    JsonRejection::JsonDataError(d) => d.body_text(),
                    JsonRejection::MissingJsonContentType(_) => {
                        "send the body as application/json".into()
                    }
                    _ => "the body is not valid JSON".into(),
                },
            })),
        }
    }
}

fn ok<T: Serialize>(status: StatusCode, v: T) -> Response {
    no_store((status, Json(v)).into_response())
}

#[utoipa::path(post, path = "/verify/v1/promotions", request_body = PromotionInput,
    responses((status = 201, body = PromotionOutput),
        (status = 400, description = "invalid_request, or invalid_rule with its position", body = PromotionErrorBody),
        (status = 401, description = "no valid token"), (status = 403, description = "the token lacks the verify scope"),
        (status = 409, description = "the code is taken, or too many promotions", body = PromotionErrorBody)))]
async fn create_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<PromotionInput>,
) -> Result<Response, ApiErr> {
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
async fn list_promotions(who: VerifyClient, State(s): State<AppState>) -> Result<Response, ApiErr> {
    let list = s
        .provider
        .stores
        .promotions
        .list_promotions(&who.client_id)
        .await?;
    let out: Vec<PromotionOutput> = list.into_iter().map(Into::into).collect();
    Ok(ok(StatusCode::OK, out))
}

#[utoipa::path(get, path = "/verify/v1/promotions/{code}", params(("code" = String, Path)),
    responses((status = 200, body = PromotionOutput), (status = 404, body = PromotionErrorBody)))]
async fn get_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiErr> {
    let rec = s
        .provider
        .stores
        .promotions
        .get_promotion(&who.client_id, &code)
        .await?;
    Ok(ok(StatusCode::OK, PromotionOutput::from(rec)))
}

#[utoipa::path(delete, path = "/verify/v1/promotions/{code}", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = PromotionErrorBody)))]
async fn delete_promotion(
    who: VerifyClient,
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiErr> {
    s.provider
        .stores
        .promotions
        .delete_promotion(&who.client_id, &code)
        .await?;
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
        (status = 404, description = "no such promotion or verification of yours", body = PromotionErrorBody),
        (status = 409, description = "challenge_required: run the verification to a pass first", body = PromotionErrorBody),
        (status = 429, description = "the verification already answered 8 other promotions", body = PromotionErrorBody)))]
async fn eligibility(
    who: VerifyClient,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<EligibilityInput>,
) -> Result<Response, ApiErr> {
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
