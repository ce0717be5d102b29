//! The reference resource API (`/api/v1/Accounts/{AccountSid}/…`): messages, calls and
//! phone numbers of an account, plus its usage. It shows a platform service enforcing
//! what Surety grants: every route sits behind the reusable [`GuardLayer`] (Surety
//! access tokens naming an `account_sid`, or HTTP Basic with account SID + auth
//! token, or a scoped API key) and requires one permission ([`RequirePermission`]);
//! tenancy, caller IDs and usage limits are the domain's (`crate::resource`). An
//! account's API keys are managed under `…/Keys` ([`keys`]). OpenAPI at
//! `/api/v1/openapi.json`.

mod auth;
mod keys;
mod verified;

use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

pub use auth::AccountAuth;

use super::error::{ApiError, ErrorBody};
use super::query::Query;

use crate::resource::permissions::{Permission, Permissions};
use crate::resource::service::{self, NewActivity, Page, PageRequest};
use crate::resource::{Caller, ResourceError};
use crate::store::{ActivityKind, ActivityRecord, NumberRecord};
use crate::web::AppState;
use crate::web::guard::{Grants, GuardLayer, Principal, RequirePermission};
use crate::web::json::JsonBody;

/// Where every account route starts.
pub const ACCOUNT: &str = "/api/v1/Accounts/{account_sid}";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Surety reference resource API",
        description = "A small communications API protected by Surety. Authenticate with a Surety access token that names an account (`Authorization: Bearer`, permissions in its scope) or with HTTP Basic `<AccountSid>:<AuthToken>` (every permission) or `<KeySid>:<KeySecret>` (a scoped API key: exactly its permissions). A credential acts on its account and the account's subaccounts; anything else is 404."
    ),
    paths(
        list_messages,
        send_message,
        list_calls,
        create_call,
        list_numbers,
        buy_number,
        release_number,
        usage,
        verified::verified,
        keys::create_key,
        keys::list_keys,
        keys::revoke_key
    ),
    components(schemas(
        MessageIn, MessageOut, MessagePage, CallIn, CallOut, CallPage, NumberIn, NumberOut,
        NumberPage, UsageOut, ErrorBody, verified::VerifiedOut, keys::KeyIn, keys::KeyOut, keys::KeyCreated, keys::KeyList
    )),
    modifiers(&Security)
)]
pub struct ResourceApi;

/// What every operation of this document can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: None,
    rate_limited: true,
    rules: &[],
};

struct Security;
impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        for (name, scheme) in [
            ("access_token", HttpAuthScheme::Bearer),
            ("account_credentials", HttpAuthScheme::Basic),
        ] {
            c.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(scheme).build()),
            );
        }
    }
}

fn need(p: Permission) -> RequirePermission {
    RequirePermission(p.as_str())
}

/// The routes, guarded by Surety's own credentials (see [`AccountAuth`]).
pub fn router(state: &AppState) -> Router<AppState> {
    use Permission::*;
    let guarded = Router::new()
        .route(
            &format!("{ACCOUNT}/Messages"),
            get(list_messages.layer(need(Read))).post(send_message.layer(need(MessagesSend))),
        )
        .route(
            &format!("{ACCOUNT}/Calls"),
            get(list_calls.layer(need(Read))).post(create_call.layer(need(CallsWrite))),
        )
        .route(
            &format!("{ACCOUNT}/IncomingPhoneNumbers"),
            get(list_numbers.layer(need(Read))).post(buy_number.layer(need(NumbersManage))),
        )
        .route(
            &format!("{ACCOUNT}/IncomingPhoneNumbers/{{number_sid}}"),
            delete(release_number.layer(need(NumbersManage))),
        )
        .route(&format!("{ACCOUNT}/Usage"), get(usage.layer(need(Read))))
        .route(
            &format!("{ACCOUNT}/Verified"),
            get(verified::verified
                .layer(verified::requirement(state.provider.clock.clone()))
                .layer(need(Read))),
        )
        .route(
            &format!("{ACCOUNT}/Keys"),
            get(keys::list_keys).post(keys::create_key),
        )
        .route(
            &format!("{ACCOUNT}/Keys/{{key_sid}}"),
            delete(keys::revoke_key),
        )
        .layer(GuardLayer::new(AccountAuth::new(state.provider.clone())));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_doc))
        .merge(guarded)
}

/// The domain's view of the caller.
fn caller(p: &Principal) -> Caller {
    Caller {
        account_sid: p.account_sid.clone().unwrap_or_default(),
        permissions: match &p.grants {
            Grants::All => Permissions::All,
            Grants::Scope(s) => Permissions::from_scope(s),
        },
    }
}

/// The domain's refusal for this caller (its scheme picks the 401 challenge when its own
/// account is closed).
fn refused(p: &Principal) -> impl Fn(ResourceError) -> ApiError + '_ {
    move |e| ApiError::from((e, p.scheme))
}

/// Paging: `page_size` (1–200, default 50) and the `next_page_token` of the last page.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    page_size: Option<i64>,
    page_token: Option<String>,
}

impl From<PageQuery> for PageRequest {
    fn from(q: PageQuery) -> Self {
        PageRequest {
            size: q.page_size,
            token: q.page_token,
        }
    }
}

/// A message to send.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// E.164.
    to: String,
    /// E.164; a number of this account (or, with `callerids:all`, of its parent or a sibling).
    from: String,
    body: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageOut {
    sid: String,
    account_sid: String,
    to: String,
    from: String,
    body: String,
    status: String,
    created_at: i64,
}

impl From<ActivityRecord> for MessageOut {
    fn from(r: ActivityRecord) -> Self {
        Self {
            sid: r.sid,
            account_sid: r.account_sid,
            to: r.to,
            from: r.from,
            body: r.body.unwrap_or_default(),
            status: r.status,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    messages: Vec<MessageOut>,
    next_page_token: Option<String>,
}

/// A call to place.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallIn {
    to: String,
    from: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallOut {
    sid: String,
    account_sid: String,
    to: String,
    from: String,
    status: String,
    created_at: i64,
}

impl From<ActivityRecord> for CallOut {
    fn from(r: ActivityRecord) -> Self {
        Self {
            sid: r.sid,
            account_sid: r.account_sid,
            to: r.to,
            from: r.from,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallPage {
    calls: Vec<CallOut>,
    next_page_token: Option<String>,
}

/// A number to buy.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberIn {
    /// E.164.
    phone_number: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NumberOut {
    sid: String,
    account_sid: String,
    phone_number: String,
    created_at: i64,
}

impl From<NumberRecord> for NumberOut {
    fn from(r: NumberRecord) -> Self {
        Self {
            sid: r.sid,
            account_sid: r.account_sid,
            phone_number: r.phone_number,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NumberPage {
    incoming_phone_numbers: Vec<NumberOut>,
    next_page_token: Option<String>,
}

/// This month's metered calls (the account's own and its subaccounts') and its limit.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UsageOut {
    account_sid: String,
    /// `YYYY-MM` (UTC).
    period: String,
    count: i64,
    /// `null`: no limit of its own (an account above it may still have one).
    limit: Option<i64>,
}

fn page_of<T, U: From<T>>(p: Page<T>) -> (Vec<U>, Option<String>) {
    (
        p.items.into_iter().map(U::from).collect(),
        p.next_page_token,
    )
}

fn created(v: impl Serialize) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/Messages", params(("account_sid" = String, Path), PageQuery),
    responses((status = 200, body = MessagePage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_messages(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let stores = &s.provider.stores;
    let page = service::list_activity(stores, &caller(&p), &sid, ActivityKind::Message, &q.into())
        .await
        .map_err(refused(&p))?;
    let (messages, next_page_token) = page_of(page);
    Ok(Json(MessagePage {
        messages,
        next_page_token,
    }))
}

/// Sends a message (metered; needs `messages:send`).
#[utoipa::path(post, path = "/api/v1/Accounts/{account_sid}/Messages", params(("account_sid" = String, Path)), request_body = MessageIn,
    responses((status = 201, body = MessageOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn send_message(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(m): JsonBody<MessageIn>,
) -> Result<Response, ApiError> {
    let req = NewActivity {
        to: m.to,
        from: m.from,
        body: Some(m.body),
    };
    let now = s.provider.now();
    let rec = service::send_message(
        &s.provider.stores,
        s.provider.entropy.as_ref(),
        &caller(&p),
        &sid,
        req,
        now,
    )
    .await
    .map_err(refused(&p))?;
    Ok(created(MessageOut::from(rec)))
}

#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/Calls", params(("account_sid" = String, Path), PageQuery),
    responses((status = 200, body = CallPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_calls(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<CallPage>, ApiError> {
    let stores = &s.provider.stores;
    let page = service::list_activity(stores, &caller(&p), &sid, ActivityKind::Call, &q.into())
        .await
        .map_err(refused(&p))?;
    let (calls, next_page_token) = page_of(page);
    Ok(Json(CallPage {
        calls,
        next_page_token,
    }))
}

/// Places a call (metered; needs `calls:write`).
#[utoipa::path(post, path = "/api/v1/Accounts/{account_sid}/Calls", params(("account_sid" = String, Path)), request_body = CallIn,
    responses((status = 201, body = CallOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_call(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(c): JsonBody<CallIn>,
) -> Result<Response, ApiError> {
    let req = NewActivity {
        to: c.to,
        from: c.from,
        body: None,
    };
    let now = s.provider.now();
    let rec = service::create_call(
        &s.provider.stores,
        s.provider.entropy.as_ref(),
        &caller(&p),
        &sid,
        req,
        now,
    )
    .await
    .map_err(refused(&p))?;
    Ok(created(CallOut::from(rec)))
}

#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/IncomingPhoneNumbers", params(("account_sid" = String, Path), PageQuery),
    responses((status = 200, body = NumberPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_numbers(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<NumberPage>, ApiError> {
    let page = service::list_numbers(&s.provider.stores, &caller(&p), &sid, &q.into())
        .await
        .map_err(refused(&p))?;
    let (incoming_phone_numbers, next_page_token) = page_of(page);
    Ok(Json(NumberPage {
        incoming_phone_numbers,
        next_page_token,
    }))
}

/// Buys a phone number (needs `numbers:manage`).
#[utoipa::path(post, path = "/api/v1/Accounts/{account_sid}/IncomingPhoneNumbers", params(("account_sid" = String, Path)), request_body = NumberIn,
    responses((status = 201, body = NumberOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn buy_number(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
    JsonBody(n): JsonBody<NumberIn>,
) -> Result<Response, ApiError> {
    let now = s.provider.now();
    let rec = service::buy_number(
        &s.provider.stores,
        s.provider.entropy.as_ref(),
        &caller(&p),
        &sid,
        &n.phone_number,
        now,
    )
    .await
    .map_err(refused(&p))?;
    Ok(created(NumberOut::from(rec)))
}

/// Releases a phone number (needs `numbers:manage`).
#[utoipa::path(delete, path = "/api/v1/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}", params(("account_sid" = String, Path), ("number_sid" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn release_number(
    p: Principal,
    State(s): State<AppState>,
    Path((sid, number_sid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    service::release_number(&s.provider.stores, &caller(&p), &sid, &number_sid)
        .await
        .map_err(refused(&p))?;
    Ok(StatusCode::NO_CONTENT)
}

/// This month's usage (needs `read`).
#[utoipa::path(get, path = "/api/v1/Accounts/{account_sid}/Usage", params(("account_sid" = String, Path)),
    responses((status = 200, body = UsageOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn usage(
    p: Principal,
    State(s): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<UsageOut>, ApiError> {
    let u = service::usage(&s.provider.stores, &caller(&p), &sid, s.provider.now())
        .await
        .map_err(refused(&p))?;
    Ok(Json(UsageOut {
        account_sid: u.account_sid,
        period: u.period,
        count: u.count,
        limit: u.limit,
    }))
}

/// The OpenAPI document, built once.
async fn openapi_doc() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(
        &DOC,
        ResourceApi::openapi,
        &CONTRACT,
    ))
}
