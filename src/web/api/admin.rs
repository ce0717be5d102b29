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
use serde_json::json;
use utoipa::OpenApi;

use crate::accounts::users::{self, NewUserError};
use crate::admin::FieldError;
use crate::admin::clients::{self, ClientInput, ClientOutput};
use crate::store::{StoreError, UserRecord};
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::extract::bearer;

#[derive(OpenApi)]
#[openapi(
    info(title = "Surety admin API", description = "Manage OAuth clients and users. Authenticate with `Authorization: Bearer $SURETY_ADMIN_TOKEN`."),
    paths(create_client, get_client, put_client, delete_client, create_user, get_user, delete_user,
        super::admin_partners::create_partner, super::admin_partners::get_partner, super::admin_partners::put_partner,
        super::admin_partners::delete_partner, super::admin_partners::create_account,
        super::admin_partners::add_key, super::admin_partners::retire_key,
        super::admin_outbox::list_outbox, super::admin_outbox::get_outbox_event,
        super::admin_outbox::retry_outbox_event,
        super::admin_resources::create_resource_server, super::admin_resources::list_resource_servers,
        super::admin_resources::get_resource_server, super::admin_resources::delete_resource_server),
    components(schemas(ClientInput, crate::admin::clients::GrantTypeName, ClientOutput, UserInput, UserOutput, ErrorBody,
        crate::partners::PartnerInput, super::admin_partners::NewPartnerInput, super::admin_partners::PublicJwk, crate::partners::PartnerOutput, crate::partners::PartnerLimits,
        crate::partners::AccountInput, crate::partners::AccountOutput,
        crate::store::TokenExchangePolicy,
        crate::admin::resource_servers::ResourceServerInput, crate::admin::resource_servers::ScopeToken,
        crate::admin::resource_servers::ResourceServerOutput)),
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
        .merge(super::admin_resources::router())
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

/// An error body: `error`, `error_description`, and the offending `field` when there is one.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: String,
    error_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

pub enum AdminError {
    NotFound,
    Unauthorized,
    /// Too many authentication attempts from this address: retry after these seconds.
    RateLimited(u64),
    /// The cache behind the rate limit is down.
    Unavailable,
    Field(FieldError),
    Conflict(&'static str, &'static str),
    Store(StoreError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let retry_after = match self {
            AdminError::RateLimited(secs) => Some(secs),
            _ => None,
        };
        let (status, error, desc, field) = match self {
            AdminError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".to_owned(),
                None,
            ),
            AdminError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "a valid admin token is required".to_owned(),
                None,
            ),
            AdminError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many admin authentication attempts; retry later".to_owned(),
                None,
            ),
            AdminError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; retry later".to_owned(),
                None,
            ),
            AdminError::Field(f) => (
                StatusCode::BAD_REQUEST,
                f.code,
                f.message,
                Some(f.field.to_owned()),
            ),
            AdminError::Conflict(field, m) => (
                StatusCode::CONFLICT,
                "conflict",
                m.to_owned(),
                Some(field.to_owned()),
            ),
            AdminError::Store(StoreError::NotFound) => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".to_owned(),
                None,
            ),
            AdminError::Store(e) => {
                tracing::warn!(error = %e, "admin API storage failure");
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
            Json(ErrorBody {
                error: error.to_owned(),
                error_description: desc,
                field,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

/// Proof that the caller holds the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, AdminError> {
        let Some(expected) = &s.admin_token else {
            return Err(AdminError::NotFound);
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
                AdminError::Unavailable
            })?;
        if !allowed {
            return Err(AdminError::RateLimited(crate::admin::auth::WINDOW));
        }
        match bearer(&parts.headers) {
            Some(t) if ct_eq(t.as_bytes(), expected.expose_secret().as_bytes()) => {
                let _ = crate::admin::auth::succeeded(p.cache.as_ref(), &ip).await;
                Ok(Admin)
            }
            _ => {
                tracing::warn!("admin API call with a missing or wrong token");
                Err(AdminError::Unauthorized)
            }
        }
    }
}

/// The JSON API body extractor ([`crate::web::json`]).
pub use crate::web::json::JsonBody as Body;

#[utoipa::path(post, path = "/admin/clients", request_body = ClientInput,
    responses((status = 201, body = ClientOutput), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_client(
    _: Admin,
    State(s): State<AppState>,
    Body(input): Body<ClientInput>,
) -> Result<Response, AdminError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let metadata = clients::validate(input, &known).map_err(AdminError::Field)?;
    let (rec, secret) = clients::new_client(p.entropy.as_ref(), metadata, p.now());
    p.stores
        .clients
        .insert_client(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok((StatusCode::CREATED, Json(ClientOutput::of(&rec, secret))).into_response())
}

#[utoipa::path(get, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOutput), (status = 404, body = ErrorBody)))]
async fn get_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientOutput>, AdminError> {
    let c = s
        .provider
        .stores
        .clients
        .get_client(&id)
        .await
        .map_err(AdminError::Store)?;
    Ok(Json(ClientOutput::of(&c, None)))
}

#[utoipa::path(put, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)), request_body = ClientInput,
    responses((status = 200, body = ClientOutput), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(input): Body<ClientInput>,
) -> Result<Json<ClientOutput>, AdminError> {
    let p = &s.provider;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let metadata = clients::validate(input, &known).map_err(AdminError::Field)?;
    let existing = p
        .stores
        .clients
        .get_client(&id)
        .await
        .map_err(AdminError::Store)?;
    let (rec, secret) = clients::replace(p.entropy.as_ref(), existing, metadata);
    p.stores
        .clients
        .update_client(&rec)
        .await
        .map_err(AdminError::Store)?;
    Ok(Json(ClientOutput::of(&rec, secret)))
}

#[utoipa::path(delete, path = "/admin/clients/{client_id}", params(("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_client(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    s.provider
        .stores
        .clients
        .delete_client(&id)
        .await
        .map_err(AdminError::Store)?;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    created_at: i64,
}

impl From<UserRecord> for UserOutput {
    fn from(u: UserRecord) -> Self {
        Self {
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
    Body(u): Body<UserInput>,
) -> Result<Response, AdminError> {
    let p = &s.provider;
    let user = users::create(
        p.stores.users.as_ref(),
        p.entropy.as_ref(),
        &u.username,
        u.password,
        u.email,
        u.name,
        p.now(),
    )
    .await
    .map_err(|e| match e {
        NewUserError::Invalid(field, m) => AdminError::Field(FieldError::new(field, m)),
        NewUserError::Taken => AdminError::Conflict("username", "username already taken"),
        NewUserError::Store(e) => AdminError::Store(e),
    })?;
    Ok((StatusCode::CREATED, Json(json!(UserOutput::from(user)))).into_response())
}

#[utoipa::path(get, path = "/admin/users/{sub}", params(("sub" = String, Path)),
    responses((status = 200, body = UserOutput), (status = 404, body = ErrorBody)))]
async fn get_user(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Json<UserOutput>, AdminError> {
    Ok(Json(
        s.provider
            .stores
            .users
            .get_user(&sub)
            .await
            .map_err(AdminError::Store)?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/admin/users/{sub}", params(("sub" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_user(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<StatusCode, AdminError> {
    s.provider
        .stores
        .users
        .delete_user(&sub)
        .await
        .map_err(AdminError::Store)?;
    Ok(StatusCode::NO_CONTENT)
}
