//! The Verification API (`/verify/v1/…`) for relying parties that relay the challenge
//! questions themselves: start a verification with basic identifying information (→
//! the match tier and questions, masked candidates or a request for more), add
//! information, pick a candidate, submit answers (→ verdict). Nothing the API returns
//! carries a fact of the record or the entity's id.
//!
//! Authentication: a bearer access token from `client_credentials` with scope `verify`
//! (the client must be registered with that scope), see [`VerifyClient`]. A verification belongs to the client
//! that started it: any other client gets 404, exactly as for a missing one.
//! OpenAPI at `/verify/v1/openapi.json`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::verify_auth::VerifyClient;
use crate::verify::engine::{
    AnswerInput, IdentityInput, MaskedCandidate, Outcome, PublicQuestion, QuestionKind, Requester,
    Started, Step, Tier, Verdict,
};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::json::JsonBody;

/// Largest request body of this API.
const MAX_BODY: usize = 16 * 1024;
const MAX_ACCOUNT_CHARS: usize = 128;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety Verification API",
        description = "Verify a person or business against Surety's verified-entity records by relaying challenge questions. Authenticate with a bearer token from `client_credentials` with scope `verify`. Responses never carry the record's facts."
    ),
    paths(start, status, more_info, choose, answer),
    components(schemas(
        StartBody,
        IdentityInput,
        Started,
        Step,
        Tier,
        PublicQuestion,
        QuestionKind,
        MaskedCandidate,
        ChoiceBody,
        AnswersBody,
        AnswerInput,
        Verdict,
        Outcome,
        ErrorBody
    ))
)]
pub struct VerifyApi;

/// What every operation of the full `/verify/v1` document can answer besides its own.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: Some(("client_credentials_token", "bearer")),
    rate_limited: true,
    rules: &[],
};

/// The whole `/verify/v1` surface in one document: verifications, promotions and
/// eligibility, agents (each part also serves its own document).
pub fn full_openapi() -> utoipa::openapi::OpenApi {
    let mut doc = VerifyApi::openapi();
    doc.merge(super::verify_promotions::PromotionsApi::openapi());
    doc.merge(super::verify_agents::AgentsApi::openapi());
    doc
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify/v1/openapi.json", get(openapi_doc))
        .route("/verify/v1/verifications", post(start))
        .route("/verify/v1/verifications/{id}", get(status))
        .route("/verify/v1/verifications/{id}/info", post(more_info))
        .route("/verify/v1/verifications/{id}/choice", post(choose))
        .route("/verify/v1/verifications/{id}/answers", post(answer))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Counts a verification start against the client's per-minute budget (a fixed window in
/// the shared cache, so every node counts together); over it, 429 `rate_limited`.
async fn within_start_rate(s: &AppState, client_id: &str) -> Result<(), ApiError> {
    let p = &s.provider;
    let limit = p.settings.verify_start_rate;
    if limit == 0 {
        return Ok(());
    }
    let now = p.now();
    let key = format!("vstart:{client_id}:{}", now.div_euclid(60));
    let n = p.cache.incr(&key, 120).await.map_err(|e| {
        tracing::warn!(error = %e, "verification start rate unavailable");
        ApiError::unavailable()
    })?;
    if n <= u64::from(limit) {
        return Ok(());
    }
    tracing::info!(client_id, limit, "verification start refused: rate limit");
    let retry_after = 60 - now.rem_euclid(60);
    let desc = format!("too many verifications started by this client; retry in {retry_after} s");
    Err(ApiError::rate_limited(desc, retry_after as u64))
}

/// The authenticated relying party ([`VerifyClient`]) and the request's source address.
pub struct RelyingParty(pub Requester);

impl FromRequestParts<AppState> for RelyingParty {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let client = VerifyClient::from_request_parts(parts, s).await?;
        let source_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| client_ip(c.0, &parts.headers, &s.provider.settings.trusted_proxies));
        Ok(RelyingParty(Requester {
            client_id: client.client_id,
            client_name: client.client_name,
            account: None,
            source_ip,
        }))
    }
}

/// Basic identifying information, and optionally the relying party's account on whose
/// behalf it asks (recorded in the entity's history and named in alerts).
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartBody {
    #[serde(flatten)]
    identity: IdentityInput,
    #[serde(default)]
    account: Option<String>,
}

#[utoipa::path(post, path = "/verify/v1/verifications", request_body = StartBody,
    responses((status = 201, body = Started), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, description = "more than SURETY_VERIFY_START_RATE starts this minute; see Retry-After", body = ErrorBody)))]
async fn start(
    RelyingParty(mut who): RelyingParty,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<StartBody>,
) -> Result<Response, ApiError> {
    within_start_rate(&s, &who.client_id).await?;
    if let Some(a) = body
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if a.chars().count() > MAX_ACCOUNT_CHARS || a.chars().any(char::is_control) {
            let m = format!("account: at most {MAX_ACCOUNT_CHARS} printable characters");
            return Err(ApiError::invalid_request(m));
        }
        who.account = Some(a.to_owned());
    }
    let started = s.verifier.start(&who, body.identity).await?;
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

#[utoipa::path(get, path = "/verify/v1/verifications/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Started), (status = 404, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
async fn status(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Started>, ApiError> {
    Ok(Json(s.verifier.status(&who, &id).await?))
}

#[utoipa::path(post, path = "/verify/v1/verifications/{id}/info", params(("id" = String, Path)),
    request_body = IdentityInput,
    responses((status = 200, body = Started), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
async fn more_info(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<IdentityInput>,
) -> Result<Json<Started>, ApiError> {
    Ok(Json(s.verifier.more_info(&who, &id, input).await?))
}

/// The masked candidate the person picked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChoiceBody {
    candidate_id: String,
}

#[utoipa::path(post, path = "/verify/v1/verifications/{id}/choice", params(("id" = String, Path)),
    request_body = ChoiceBody,
    responses((status = 200, body = Started), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn choose(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChoiceBody>,
) -> Result<Json<Started>, ApiError> {
    Ok(Json(
        s.verifier.choose(&who, &id, &body.candidate_id).await?,
    ))
}

/// The person's answers, one per question id.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswersBody {
    answers: Vec<AnswerInput>,
}

#[utoipa::path(post, path = "/verify/v1/verifications/{id}/answers", params(("id" = String, Path)),
    request_body = AnswersBody,
    responses((status = 200, body = Verdict), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
async fn answer(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AnswersBody>,
) -> Result<Json<Verdict>, ApiError> {
    Ok(Json(s.verifier.answer(&who, &id, body.answers).await?))
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(&DOC, full_openapi, &CONTRACT))
}
