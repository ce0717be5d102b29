//! The Partner API (`/partner/v1/…`): a partner manages the accounts it owns.
//!
//! Authentication: a bearer access token the partner obtained at `/token` with
//! `grant_type=client_credentials&scope=partner:api`, authenticating as client
//! `<partner id>` with `private_key_jwt` (an assertion signed by one of its keys) or, for
//! a partner with a shared secret, `client_secret_basic`. Requests from outside the
//! partner's `allowed_cidrs` are refused with 403 and logged. A partner sees only its own
//! accounts: another partner's account is answered 404, exactly like a missing one.
//! Every change goes through [`crate::partners::accounts`]: one conditional update each,
//! and closing is final (any change to a closed account is 409 `conflict`).
//! OpenAPI at `/partner/v1/openapi.json`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::error::{ApiError, ErrorBody};
use super::query::Query;
use crate::partners::accounts::{self, Actor, Channel, Status};
use crate::partners::{
    self, AccountInput, AccountOutput, PARTNER_API_SCOPE, PartnerLimits, cidr::Cidr, manage,
};
use crate::store::{AccountSid, PartnerRecord};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::extract::bearer;
use crate::web::json::JsonBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety Partner API",
        description = "Manage the accounts a partner owns. Authenticate with a bearer token from `client_credentials` (scope `partner:api`) obtained as client `<partner id>`."
    ),
    paths(
        create_account,
        list_accounts,
        get_account,
        update_account,
        suspend,
        reactivate,
        close,
        set_limits,
        rotate_token,
        usage
    ),
    components(schemas(
        AccountInput,
        AccountOutput,
        AccountPage,
        AccountUpdate,
        PartnerLimits,
        TokenOut,
        UsageOut,
        ErrorBody
    ))
)]
pub struct PartnerApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: Some(("partner_token", "bearer")),
    rate_limited: false,
    rules: &[],
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner/v1/openapi.json", get(openapi_doc))
        .route(
            "/partner/v1/accounts",
            post(create_account).get(list_accounts),
        )
        .route(
            "/partner/v1/accounts/{sid}",
            get(get_account).patch(update_account),
        )
        .route("/partner/v1/accounts/{sid}/suspend", post(suspend))
        .route("/partner/v1/accounts/{sid}/reactivate", post(reactivate))
        .route("/partner/v1/accounts/{sid}/close", post(close))
        .route("/partner/v1/accounts/{sid}/limits", put(set_limits))
        .route("/partner/v1/accounts/{sid}/auth-token", post(rotate_token))
        .route("/partner/v1/accounts/{sid}/usage", get(usage))
}

fn unauthenticated() -> ApiError {
    let m = "a partner access token with scope partner:api is required";
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", m)
        .challenge("Bearer error=\"invalid_token\"")
}

fn forbidden() -> ApiError {
    let m = "requests from this network are not allowed for this partner";
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", m)
}

/// The authenticated partner making the call, from an allowed network.
pub struct CallingPartner(PartnerRecord);

impl CallingPartner {
    /// The partner acting through this API.
    fn actor(&self) -> Actor<'_> {
        Actor {
            partner_id: &self.0.id,
            channel: Channel::Api,
        }
    }
}

impl FromRequestParts<AppState> for CallingPartner {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let p = &s.provider;
        let token = bearer(&parts.headers).ok_or_else(unauthenticated)?;
        let claims = p
            .validate_access_token(&token)
            .await
            .map_err(|_| unauthenticated())?;
        let id = claims.str("client_id").unwrap_or_default().to_owned();
        if !partners::is_partner_id(&id)
            || claims.str("sub") != Some(id.as_str())
            || !claims.scope().contains(PARTNER_API_SCOPE)
        {
            return Err(unauthenticated());
        }
        let partner = manage::active(&p.stores, &id)
            .await?
            .ok_or_else(unauthenticated)?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .ok_or_else(forbidden)?;
        let ip = client_ip(peer, &parts.headers, &p.settings.trusted_proxies);
        let allowed = partner.allowed_cidrs.is_empty()
            || partner
                .allowed_cidrs
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .any(|c| c.contains(ip));
        if !allowed {
            tracing::warn!(partner = %partner.id, %ip, "partner API call from a network outside the allow-list");
            return Err(forbidden());
        }
        Ok(CallingPartner(partner))
    }
}

#[utoipa::path(post, path = "/partner/v1/accounts", request_body = AccountInput, responses((status = 201, body = AccountOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_account(
    pt: CallingPartner,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let (rec, token) =
        accounts::open(&p.stores, p.entropy.as_ref(), &pt.actor(), input, p.now()).await?;
    let out = AccountOutput::of(&rec, Some(token));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
pub struct PageQuery {
    page_size: Option<i64>,
    page_token: Option<String>,
}

/// One page of accounts; pass `next_page_token` back as `page_token` for the next.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountPage {
    accounts: Vec<AccountOutput>,
    next_page_token: Option<String>,
}

#[utoipa::path(get, path = "/partner/v1/accounts", params(("page_size" = Option<i64>, Query), ("page_token" = Option<String>, Query)), responses((status = 200, body = AccountPage)))]
async fn list_accounts(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<AccountPage>, ApiError> {
    let stores = &s.provider.stores;
    let (rows, next) = accounts::page(stores, &pt.id, q.page_size, q.page_token.as_deref()).await?;
    Ok(Json(AccountPage {
        accounts: rows.iter().map(|a| AccountOutput::of(a, None)).collect(),
        next_page_token: next,
    }))
}

#[utoipa::path(get, path = "/partner/v1/accounts/{sid}", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody)))]
async fn get_account(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiError> {
    let a = accounts::owned(&s.provider.stores, &pt.actor(), &sid).await?;
    Ok(Json(AccountOutput::of(&a, None)))
}

/// Fields a partner may change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    /// Not blank; at most 128 characters once trimmed.
    #[schema(
        min_length = 1,
        pattern = r"^\s*[^\s\u0000](?:[^\u0000]{0,126}[^\s\u0000])?\s*$"
    )]
    friendly_name: String,
}

#[utoipa::path(patch, path = "/partner/v1/accounts/{sid}", params(("sid" = String, Path)), request_body = AccountUpdate, responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_account(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(u): JsonBody<AccountUpdate>,
) -> Result<Json<AccountOutput>, ApiError> {
    let p = &s.provider;
    let name = &u.friendly_name;
    let a = accounts::rename(&p.stores, &pt.actor(), &sid, name, p.now()).await?;
    Ok(Json(AccountOutput::of(&a, None)))
}

async fn set_status(
    s: &AppState,
    pt: &CallingPartner,
    sid: &str,
    to: Status,
) -> Result<Json<AccountOutput>, ApiError> {
    let p = &s.provider;
    let a = accounts::set_status_and_sign_out(p, &pt.actor(), sid, to).await?;
    Ok(Json(AccountOutput::of(&a, None)))
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/suspend", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn suspend(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiError> {
    set_status(&s, &pt, &sid, Status::Suspended).await
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/reactivate", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reactivate(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiError> {
    set_status(&s, &pt, &sid, Status::Active).await
}

/// Closes the account for good (its records are kept; it can never sign in again, and
/// it changes no more).
#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/close", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiError> {
    set_status(&s, &pt, &sid, Status::Closed).await
}

#[utoipa::path(put, path = "/partner/v1/accounts/{sid}/limits", params(("sid" = String, Path)), request_body = PartnerLimits, responses((status = 200, body = AccountOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_limits(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(l): JsonBody<PartnerLimits>,
) -> Result<Json<AccountOutput>, ApiError> {
    let p = &s.provider;
    let a = accounts::set_limits(&p.stores, &pt.actor(), &sid, l, p.now()).await?;
    Ok(Json(AccountOutput::of(&a, None)))
}

/// A new auth token, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    account_sid: AccountSid,
    auth_token: String,
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/auth-token", params(("sid" = String, Path)), responses((status = 200, body = TokenOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn rotate_token(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let (a, token) =
        accounts::rotate_token(&p.stores, p.entropy.as_ref(), &pt.actor(), &sid, p.now()).await?;
    let out = TokenOut {
        account_sid: a.sid,
        auth_token: token,
    };
    Ok(crate::web::error::no_store(Json(out).into_response()))
}

/// Usage of an account, from the audit log (the latest 1000 events).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UsageOut {
    account_sid: String,
    /// Tokens issued through the jwt-bearer grant.
    delegated_tokens: u64,
    /// Sign-ins through the signed login link.
    login_links: u64,
    /// Management actions through this API.
    api_actions: u64,
}

#[utoipa::path(get, path = "/partner/v1/accounts/{sid}/usage", params(("sid" = String, Path)), responses((status = 200, body = UsageOut), (status = 404, body = ErrorBody)))]
async fn usage(
    pt: CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<UsageOut>, ApiError> {
    let u = accounts::usage(&s.provider.stores, &pt.actor(), &sid).await?;
    Ok(Json(UsageOut {
        account_sid: sid,
        delegated_tokens: u.delegated_tokens,
        login_links: u.login_links,
        api_actions: u.api_actions,
    }))
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(
        &DOC,
        PartnerApi::openapi,
        &CONTRACT,
    ))
}
