//! The Partner API (`/partner/v1/…`): a partner manages the accounts it owns.
//!
//! Authentication: a bearer access token the partner obtained at `/token` with
//! `grant_type=client_credentials&scope=partner:api`, authenticating as client
//! `<partner id>` with `private_key_jwt` (an assertion signed by one of its keys) or, for
//! a partner with a shared secret, `client_secret_basic`. Requests from outside the
//! partner's `allowed_cidrs` are refused with 403 and logged. A partner sees only its own
//! accounts: another partner's account is answered 404, exactly like a missing one.
//! OpenAPI at `/partner/v1/openapi.json`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::admin::{Body, ErrorBody};
use crate::admin::FieldError;
use crate::partners::{
    self, AccountInput, AccountOutput, PARTNER_API_SCOPE, PartnerLimits, cidr::Cidr,
};
use crate::store::{AccountRecord, AuditEvent, PartnerRecord, StoreError};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::extract::bearer;

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

pub enum ApiErr {
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict(&'static str),
    Field(FieldError),
    Store(StoreError),
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiErr::NotFound,
            e => ApiErr::Store(e),
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let (status, error, desc, field) = match self {
            ApiErr::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "a partner access token with scope partner:api is required".to_owned(),
                None,
            ),
            ApiErr::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "requests from this network are not allowed for this partner".to_owned(),
                None,
            ),
            ApiErr::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such account".to_owned(),
                None,
            ),
            ApiErr::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.to_owned(), None),
            ApiErr::Field(f) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                f.message,
                Some(f.field.to_owned()),
            ),
            ApiErr::Store(e) => {
                tracing::warn!(error = %e, "partner API storage failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "storage is unavailable".to_owned(),
                    None,
                )
            }
        };
        let mut r = (
            status,
            Json(json!({"error": error, "error_description": desc, "field": field})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        r
    }
}

/// The authenticated partner making the call, from an allowed network.
pub struct CallingPartner(PartnerRecord);

impl FromRequestParts<AppState> for CallingPartner {
    type Rejection = ApiErr;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiErr> {
        let p = &s.provider;
        let token = bearer(&parts.headers).ok_or(ApiErr::Unauthorized)?;
        let claims = p
            .validate_access_token(&token)
            .await
            .map_err(|_| ApiErr::Unauthorized)?;
        let id = claims.str("client_id").unwrap_or_default().to_owned();
        if !partners::is_partner_id(&id)
            || claims.str("sub") != Some(id.as_str())
            || !claims.scope().contains(PARTNER_API_SCOPE)
        {
            return Err(ApiErr::Unauthorized);
        }
        let partner = match p.stores.partners.get_partner(&id).await {
            Ok(pt) if pt.status == "active" => pt,
            Ok(_) | Err(StoreError::NotFound) => return Err(ApiErr::Unauthorized),
            Err(e) => return Err(ApiErr::Store(e)),
        };
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .ok_or(ApiErr::Forbidden)?;
        let ip = client_ip(peer, &parts.headers, &p.settings.trusted_proxies);
        let allowed = partner.allowed_cidrs.is_empty()
            || partner
                .allowed_cidrs
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .any(|c| c.contains(ip));
        if !allowed {
            tracing::warn!(partner = %partner.id, %ip, "partner API call from a network outside the allow-list");
            return Err(ApiErr::Forbidden);
        }
        Ok(CallingPartner(partner))
    }
}

/// The account `sid` if this partner owns it; 404 otherwise (existence is not revealed).
async fn owned(s: &AppState, partner: &PartnerRecord, sid: &str) -> Result<AccountRecord, ApiErr> {
    if !partners::is_account_sid(sid) {
        return Err(ApiErr::NotFound);
    }
    let a = s.provider.stores.accounts.get_account(sid).await?;
    if a.partner_id.as_deref() != Some(partner.id.as_str()) {
        return Err(ApiErr::NotFound);
    }
    Ok(a)
}

async fn audit(s: &AppState, partner: &PartnerRecord, action: &str, sid: &str) {
    let e = AuditEvent {
        at: s.provider.now(),
        actor: partner.id.clone(),
        action: action.into(),
        subject: sid.into(),
        outcome: "ok".into(),
        detail: String::new(),
    };
    if let Err(err) = s.provider.stores.audit.record(&e).await {
        tracing::warn!(error = %err, "audit record failed");
    }
}

#[utoipa::path(post, path = "/partner/v1/accounts", request_body = AccountInput, responses((status = 201, body = AccountOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_account(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Body(input): Body<AccountInput>,
) -> Result<Response, ApiErr> {
    let (rec, token) =
        partners::build_account(s.provider.entropy.as_ref(), &pt.id, input, s.provider.now())
            .map_err(ApiErr::Field)?;
    s.provider.stores.accounts.insert_account(&rec).await?;
    audit(&s, &pt, "account.create", &rec.sid).await;
    Ok((
        StatusCode::CREATED,
        Json(AccountOutput::of(&rec, Some(token))),
    )
        .into_response())
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
) -> Result<Json<AccountPage>, ApiErr> {
    let size = q.page_size.unwrap_or(50).clamp(1, 200);
    let rows = s
        .provider
        .stores
        .accounts
        .list_accounts(&pt.id, q.page_token.as_deref(), size + 1)
        .await?;
    let next = (rows.len() as i64 > size).then(|| rows[size as usize - 1].sid.clone());
    let accounts = rows
        .iter()
        .take(size as usize)
        .map(|a| AccountOutput::of(a, None))
        .collect();
    Ok(Json(AccountPage {
        accounts,
        next_page_token: next,
    }))
}

#[utoipa::path(get, path = "/partner/v1/accounts/{sid}", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody)))]
async fn get_account(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiErr> {
    Ok(Json(AccountOutput::of(&owned(&s, &pt, &sid).await?, None)))
}

/// Fields a partner may change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    friendly_name: String,
}

#[utoipa::path(patch, path = "/partner/v1/accounts/{sid}", params(("sid" = String, Path)), request_body = AccountUpdate, responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody)))]
async fn update_account(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    Body(u): Body<AccountUpdate>,
) -> Result<Json<AccountOutput>, ApiErr> {
    let mut a = owned(&s, &pt, &sid).await?;
    let name = u.friendly_name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiErr::Field(FieldError::new(
            "friendly_name",
            "1 to 128 characters",
        )));
    }
    a.friendly_name = name.to_owned();
    s.provider.stores.accounts.update_account(&a).await?;
    audit(&s, &pt, "account.update", &sid).await;
    Ok(Json(AccountOutput::of(&a, None)))
}

async fn set_status(
    s: &AppState,
    pt: &PartnerRecord,
    sid: &str,
    to: &str,
) -> Result<Json<AccountOutput>, ApiErr> {
    let mut a = owned(s, pt, sid).await?;
    if a.status == "closed" {
        return Err(ApiErr::Conflict("a closed account cannot change status"));
    }
    a.status = to.to_owned();
    s.provider.stores.accounts.update_account(&a).await?;
    audit(s, pt, &format!("account.{to}"), sid).await;
    Ok(Json(AccountOutput::of(&a, None)))
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/suspend", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn suspend(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiErr> {
    set_status(&s, &pt, &sid, "suspended").await
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/reactivate", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reactivate(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiErr> {
    set_status(&s, &pt, &sid, "active").await
}

/// Closes the account for good (its records are kept; it can never sign in again).
#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/close", params(("sid" = String, Path)), responses((status = 200, body = AccountOutput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<AccountOutput>, ApiErr> {
    set_status(&s, &pt, &sid, "closed").await
}

#[utoipa::path(put, path = "/partner/v1/accounts/{sid}/limits", params(("sid" = String, Path)), request_body = PartnerLimits, responses((status = 200, body = AccountOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_limits(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    Body(l): Body<PartnerLimits>,
) -> Result<Json<AccountOutput>, ApiErr> {
    let mut a = owned(&s, &pt, &sid).await?;
    if l.max_assertion_lifetime.is_some() {
        return Err(ApiErr::Field(FieldError::new(
            "max_assertion_lifetime",
            "set on the partner, not on an account",
        )));
    }
    if crate::oauth::scope::Scope::parse(&l.denied_scopes.join(" ")).is_none() {
        return Err(ApiErr::Field(FieldError::new(
            "denied_scopes",
            "malformed scope",
        )));
    }
    a.limits = json!(l);
    s.provider.stores.accounts.update_account(&a).await?;
    audit(&s, &pt, "account.limits", &sid).await;
    Ok(Json(AccountOutput::of(&a, None)))
}

/// A new auth token, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    account_sid: String,
    auth_token: String,
}

#[utoipa::path(post, path = "/partner/v1/accounts/{sid}/auth-token", params(("sid" = String, Path)), responses((status = 200, body = TokenOut), (status = 404, body = ErrorBody)))]
async fn rotate_token(
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Response, ApiErr> {
    let mut a = owned(&s, &pt, &sid).await?;
    let token = s.provider.entropy.token(32);
    a.auth_token_hash = crate::util::secret_hash(&token);
    s.provider.stores.accounts.update_account(&a).await?;
    audit(&s, &pt, "account.rotate-auth-token", &sid).await;
    Ok(crate::web::error::no_store(
        Json(TokenOut {
            account_sid: sid,
            auth_token: token,
        })
        .into_response(),
    ))
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
    CallingPartner(pt): CallingPartner,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<Value>, ApiErr> {
    owned(&s, &pt, &sid).await?;
    let events = s.provider.stores.audit.events_for(&sid, 1000).await?;
    let count = |f: &dyn Fn(&str) -> bool| {
        events
            .iter()
            .filter(|e| e.outcome == "ok" && f(&e.action))
            .count() as u64
    };
    Ok(Json(json!(UsageOut {
        account_sid: sid.clone(),
        delegated_tokens: count(&|a| a == "jwt-bearer"),
        login_links: count(&|a| a == "login-link"),
        api_actions: count(&|a| a.starts_with("account.")),
    })))
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
