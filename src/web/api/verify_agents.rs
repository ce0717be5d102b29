//! Agents of businesses in the Verification API (
//! `verify::agents`): after a person's own verification passed, the relying party starts
//! the agent stage for a business (`POST /verify/v1/verifications/{id}/agent`), relays
//! the business questions if any (`…/agent/answers`), and an agent whose role is
//! `ambassador` submits the business's employees
//! (`POST /verify/v1/agents/{id}/employees`), who then pass the agent stage on their own
//! verification alone. Authentication as the rest of `/verify/v1`. OpenAPI at
//! `/verify/v1/agents/openapi.json`.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::verify::RelyingParty;
use crate::verify::agents::{
    AgentError, AgentStage, Agents, EmployeeResult, EmployeeStatus, EmployeesReport, MAX_EMPLOYEES,
};
use crate::verify::engine::{AnswerInput, IdentityInput, Requester, VerifyError};
use crate::web::AppState;
use crate::web::json::JsonBody;

/// Largest request body: a full employee list.
const MAX_BODY: usize = 192 * 1024;
const MAX_ACCOUNT_CHARS: usize = 128;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety verification API: agents of businesses",
        description = "A person verified as themself is verified as an agent of a business: by the request's office network, by questions from the business's record, or by an ambassador's pre-approval. Agents whose role is `ambassador` submit employee lists. Responses never carry a record's facts or ids."
    ),
    paths(start_agent, answer_agent, submit_employees),
    components(schemas(
        AgentBody,
        AgentAnswersBody,
        EmployeesBody,
        AgentStage,
        EmployeesReport,
        EmployeeResult,
        EmployeeStatus,
        ErrorBody
    ))
)]
pub struct AgentsApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: Some(("client_credentials_token", "bearer")),
    rate_limited: false,
    rules: &[],
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify/v1/agents/openapi.json", get(openapi_doc))
        .route("/verify/v1/verifications/{id}/agent", post(start_agent))
        .route(
            "/verify/v1/verifications/{id}/agent/answers",
            post(answer_agent),
        )
        .route("/verify/v1/agents/{id}/employees", post(submit_employees))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn agents(s: &AppState) -> Agents {
    let p = &s.provider;
    Agents::new(
        s.verifier.clone(),
        p.stores.clone(),
        p.cache.clone(),
        p.clock.clone(),
    )
}

/// The business the person acts for, their role, and optionally the relying party's
/// account on whose behalf it asks.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentBody {
    business: IdentityInput,
    /// `employee`, `manager`, `owner`, `ambassador` … (1-32 of `a-z 0-9 _ -`).
    role: String,
    #[serde(default)]
    account: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentAnswersBody {
    answers: Vec<AnswerInput>,
}

/// At most 500 people, as basic identifying information.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EmployeesBody {
    employees: Vec<IdentityInput>,
}

/// `who` on behalf of `account` (trimmed; at most 128 printable characters).
fn on_behalf(mut who: Requester, account: Option<String>) -> Result<Requester, ApiError> {
    let account = account
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    if let Some(a) = &account
        && (a.chars().count() > MAX_ACCOUNT_CHARS || a.chars().any(char::is_control))
    {
        let m = format!("account: at most {MAX_ACCOUNT_CHARS} printable characters");
        return Err(AgentError::Verify(VerifyError::Invalid(m)).into());
    }
    who.account = account;
    Ok(who)
}

#[utoipa::path(post, path = "/verify/v1/verifications/{id}/agent",
    params(("id" = String, Path, description = "the person's passed verification")),
    request_body = AgentBody,
    responses((status = 201, body = AgentStage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn start_agent(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentBody>,
) -> Result<Response, ApiError> {
    let who = on_behalf(who, body.account)?;
    let stage = agents(&s)
        .start(&who, &id, &body.business, &body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(stage)).into_response())
}

#[utoipa::path(post, path = "/verify/v1/verifications/{id}/agent/answers",
    params(("id" = String, Path, description = "the person's verification")),
    request_body = AgentAnswersBody,
    responses((status = 200, body = AgentStage), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn answer_agent(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentAnswersBody>,
) -> Result<Json<AgentStage>, ApiError> {
    Ok(Json(agents(&s).answer(&who, &id, body.answers).await?))
}

#[utoipa::path(post, path = "/verify/v1/agents/{id}/employees",
    params(("id" = String, Path, description = "the ambassador's verification (agent stage passed)")),
    request_body = EmployeesBody,
    responses((status = 200, body = EmployeesReport), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn submit_employees(
    RelyingParty(who): RelyingParty,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EmployeesBody>,
) -> Result<Json<EmployeesReport>, ApiError> {
    if body.employees.len() > MAX_EMPLOYEES {
        let m = format!("at most {MAX_EMPLOYEES} employees");
        return Err(ApiError::invalid_request(m));
    }
    let report = agents(&s)
        .submit_employees(&who, &id, &body.employees)
        .await?;
    Ok(Json(report))
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(&DOC, AgentsApi::openapi, &CONTRACT))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_route() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(super::AgentsApi::openapi()).unwrap();
        for path in [
            "/verify/v1/verifications/{id}/agent",
            "/verify/v1/verifications/{id}/agent/answers",
            "/verify/v1/agents/{id}/employees",
        ] {
            assert!(doc["paths"][path]["post"].is_object(), "{path}");
        }
    }
}
