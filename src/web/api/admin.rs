//! The admin API (`/admin/…`), enabled by `SURETY_ADMIN_TOKEN` and authenticated with
//! `Authorization: Bearer <token>` (compared in constant time). Without the setting every
//! admin route answers 404. The OpenAPI document is served at `/admin/openapi.json`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::error::{ApiError, ErrorBody};
use crate::accounts::users;
use crate::admin::clients::{self, ClientInput, ClientOutput};
use crate::store::UserRecord;
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::extract::bearer;
use crate::web::json::JsonBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "Surety admin API", description = "Manage OAuth clients, initial access tokens for dynamic registration, and users. Authenticate with `Authorization: Bearer $SURETY_ADMIN_TOKEN`."),
    paths(create_client, get_client, put_client, delete_client, create_user, get_user, delete_user,
        super::admin_partners::create_partner, super::admin_partners::get_partner, super::admin_partners::put_partner,
        super::admin_partners::delete_partner, super::admin_partners::create_account,
        super::admin_partners::add_key, super::admin_partners::retire_key,
        super::admin_outbox::list_outbox, super::admin_outbox::get_outbox_event,
        super::admin_outbox::retry_outbox_event,
        super::admin_sessions::list_sessions, super::admin_sessions::end_sessions,
        super::admin_sessions::end_session,
        super::admin_resources::create_resource_server, super::admin_resources::list_resource_servers,
        super::admin_resources::get_resource_server, super::admin_resources::delete_resource_server,
        super::admin_registration::create_initial_token, super::admin_registration::list_initial_tokens,
        super::admin_registration::revoke_initial_token),
    components(schemas(ClientInput, crate::admin::clients::GrantTypeName, ClientOutput, UserInput, UserOutput, ErrorBody,
        crate::partners::PartnerInput, super::admin_partners::NewPartnerInput, super::admin_partners::PublicJwk, crate::partners::PartnerOutput, crate::partners::PartnerLimits,
        crate::partners::AccountInput, crate::partners::AccountOutput,
        crate::store::TokenExchangePolicy,
        super::admin_sessions::SessionOutput, super::admin_sessions::SessionList,
        super::admin_sessions::SessionsEnded,
        crate::admin::resource_servers::ResourceServerInput, crate::admin::resource_servers::ScopeToken,
        crate::admin::resource_servers::ResourceServerOutput,
        crate::admin::registration::initial_tokens::InitialTokenInput,
        crate::admin::registration::initial_tokens::InitialTokenOutput,
        crate::admin::registration::initial_tokens::InitialTokenList)),
    modifiers(&BearerAuth)
)]
pub struct AdminApi;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "admin_token",
            Vec::<String>::new(),
        )]);
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .route("/admin/clients", axum::routing::post(create_client))
        .route(
            "/admin/clients/{client_id}",
            get(get_client).put(put_client).delete(delete_client),
        )
        .route("/admin/users", axum::routing::post(create_user))
        .route("/admin/users/{sub}", get(get_user).delete(delete_user))
        .merge(super::admin_partners::router())
        .merge(super::admin_outbox::router())
        .merge(super::admin_sessions::router())
        .merge(super::admin_resources::router())
        .merge(super::admin_registration::router())
}

/// What every admin operation can answer besides its own responses.
pub const CONTRACT: super::contract::Contract = super::contract::Contract {
    error_schema: "ErrorBody",
    auth: None,
    rate_limited: true,
    rules: &[("ClientInput", crate::admin::clients::schema_rules)],
};

async fn openapi() -> Json<&'static serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(super::contract::served(&DOC, AdminApi::openapi, &CONTRACT))
}

/// Proof that the caller holds the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &s.admin_token else {
            return Err(ApiError::not_found("no such resource"));
        };
        let p = &s.provider;
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let ip =
            crate::web::client_ip::client_ip(peer, &parts.headers, &p.settings.trusted_proxies);
        let ip = ip.to_string();
        let allowed = crate::admin::auth::reserve(p.cache.as_ref(), &ip)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "admin rate limit unavailable");
                ApiError::unavailable()
            })?;
        if !allowed {
            let m = "too many admin authentication attempts; retry later";
            return Err(ApiError::rate_limited(m, crate::admin::auth::WINDOW));
        }
        match bearer(&parts.headers) {
            Some(t) if ct_eq(t.as_bytes(), expected.expose_secret().as_bytes()) => {
                let _ = crate::admin::auth::succeeded(p.cache.as_ref(), &ip).await;
                Ok(Admin)
            }
            _ => {
                tracing::warn!("admin API call with a missing or wrong token");
                let m = "a valid admin token is required";
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", m).challenge("Bearer"))
            }
        }
    }
}

#[utoipa::path(post, path = "/admin/clients", request_body = ClientInput,
    responses((status = 201, body = ClientOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_client(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ClientInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let out = clients::create(
        &p.stores,
        p.entropy.as_ref(),
        &p.fetch,
        input,
        &known,
        p.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOutput), (status = 404, body = ErrorBody)))]
async fn get_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientOutput>, ApiError> {
    Ok(Json(clients::get(&s.provider.stores, &id).await?))
}

#[utoipa::path(put, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)), request_body = ClientInput,
    responses((status = 200, body = ClientOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ClientInput>,
) -> Result<Json<ClientOutput>, ApiError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    Ok(Json(
        clients::update(&p.stores, p.entropy.as_ref(), &p.fetch, &id, input, &known).await?,
    ))
}

#[utoipa::path(delete, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    clients::delete(&s.provider.stores, &id, s.provider.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// 1 to 64 bytes once trimmed, no spaces or control characters.
    #[schema(
        min_length = 1,
        pattern = r"^\s*[^\s\u0000-\u001f\u007f-\u009f]{1,64}\s*$"
    )]
    username: String,
    /// 8 to 1024 bytes.
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    /// An e-mail address: an `@` neither first nor last, at most 254 bytes.
    #[schema(
        max_length = 254,
        pattern = r"^[^@\u0000][^\u0000]*@[^\u0000]*[^@\u0000]$"
    )]
    email: Option<String>,
    /// At most 256 bytes.
    #[schema(max_length = 256)]
    name: Option<String>,
}

/// A user (never the password hash).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOutput {
    sub: String,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// The address was proven the user's (a link sent to it was used).
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    created_at: i64,
}

impl From<UserRecord> for UserOutput {
    fn from(u: UserRecord) -> Self {
        Self {
            email_verified: crate::oauth::tokens::email_verified(&u),
            sub: u.sub,
            username: u.username,
            email: u.email,
            name: u.name,
            created_at: u.created_at,
        }
    }
}

#[utoipa::path(post, path = "/admin/users", request_body = UserInput,
    responses((status = 201, body = UserOutput), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_user(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(u): JsonBody<UserInput>,
) -> Result<Response, ApiError> {
    let p = &s.provider;
    let users = p.stores.users.as_ref();
    let user = users::create(
        users,
        p.entropy.as_ref(),
        &u.username,
        u.password,
        u.email,
        u.name,
        p.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UserOutput::from(user))).into_response())
}

#[utoipa::path(get, path = "/admin/users/{sub}", params(("sub" = String, Path)),
    responses((status = 200, body = UserOutput), (status = 404, body = ErrorBody)))]
async fn get_user(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Json<UserOutput>, ApiError> {
    Ok(Json(
        users::get(s.provider.stores.users.as_ref(), &sub)
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/admin/users/{sub}", params(("sub" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_user(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::remove(s.provider.stores.users.as_ref(), &sub).await?;
    Ok(StatusCode::NO_CONTENT)
}
