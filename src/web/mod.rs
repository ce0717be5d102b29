//! The HTTP layer (axum): routes, extractors, pages, the admin API, one error mapping,
//! security headers, limits, request ids and metrics. The only module that knows HTTP.

pub mod api;
pub mod client_ip;
pub mod dpop;
pub mod error;
pub mod extract;
pub mod guard;
pub mod hostile;
pub mod json;
pub mod middleware;
pub mod pages;
pub mod response_mode;
pub mod routes;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::RegistrationMode;
use crate::oauth::provider::{Provider, paths};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub provider: Arc<Provider>,
    pub metrics: Option<PrometheusHandle>,
    pub admin_token: Option<Arc<SecretString>>,
    /// The verified-entity engine (`verify::engine`).
    pub verifier: crate::verify::engine::Verifier,
    /// Partners' keys, imported once; shared with the jwt-bearer grant.
    pub partner_keys: Arc<crate::partners::keys::PartnerKeys>,
}

/// Largest request body accepted anywhere.
const MAX_BODY: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let protocol = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(routes::discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(routes::discovery::oauth_metadata),
        )
        .route(paths::JWKS, get(routes::discovery::jwks))
        .route(
            paths::AUTHORIZE,
            get(routes::authorize::authorize).post(routes::authorize::authorize),
        )
        .route(paths::RESUME, get(routes::authorize::resume))
        .route(
            paths::LOGIN,
            get(routes::login::page).post(routes::login::submit),
        )
        .route(
            paths::CONSENT,
            get(routes::consent::page).post(routes::consent::submit),
        )
        .route(
            paths::CHALLENGE,
            get(routes::challenge::page).post(routes::challenge::submit),
        )
        .route(paths::TOKEN, post(routes::token::token))
        .route(
            paths::USERINFO,
            get(routes::userinfo::userinfo).post(routes::userinfo::userinfo),
        )
        .route(paths::INTROSPECT, post(routes::introspect::introspect))
        .route(paths::REVOKE, post(routes::introspect::revoke))
        .route(paths::PAR, post(routes::par::par))
        .route(
            paths::DEVICE_AUTHORIZATION,
            post(routes::device_authorization::device_authorization),
        )
        .route(
            paths::DEVICE,
            get(routes::device::page).post(routes::device::submit),
        )
        .route(
            paths::END_SESSION,
            get(routes::logout::logout).post(routes::logout::logout),
        )
        .route(
            routes::partner_login::LOGIN_LINK,
            get(routes::partner_login::login_link).post(routes::partner_login::login_link),
        )
        .route(routes::partner_login::PORTAL, get(routes::portal::page))
        .route(
            routes::portal::AUTH_TOKEN,
            post(routes::portal::rotate_auth_token),
        )
        .route(routes::portal::EMBED_JS, get(routes::portal::embed_js))
        .route(
            "/signup",
            get(routes::signup::page).post(routes::signup::submit),
        )
        .route("/account/apps", get(routes::account_apps::page))
        .route(routes::passport::PATH, get(routes::passport::page))
        .route("/account/apps/narrow", post(routes::account_apps::narrow))
        .route("/account/apps/revoke", post(routes::account_apps::revoke))
        .route("/account/sessions", get(routes::account_sessions::page))
        .route(
            routes::authenticate::PATH,
            get(routes::authenticate::page).post(routes::authenticate::submit),
        )
        .route(
            routes::account_security::PATH,
            get(routes::account_security::overview),
        )
        .route(
            routes::account_security::TOTP,
            get(routes::account_security::totp_page).post(routes::account_security::totp_confirm),
        )
        .route(
            routes::account_security::TOTP_REMOVE,
            post(routes::account_security::totp_remove),
        )
        .route(
            routes::passkeys::PATH,
            get(routes::passkeys::page).post(routes::passkeys::register),
        )
        .route(routes::passkeys::REMOVE, post(routes::passkeys::remove))
        .route(routes::passkeys::LOGIN, post(routes::passkeys::login))
        .route(routes::passkeys::SCRIPT, get(routes::passkeys::script))
        .route(
            routes::account_security::RECOVERY,
            get(routes::account_security::recovery_page)
                .post(routes::account_security::recovery_new),
        )
        .route(
            "/account/sessions/end",
            post(routes::account_sessions::end_one),
        )
        .route(
            "/account/sessions/end-all",
            post(routes::account_sessions::end_all),
        )
        .route(
            routes::account_email::PATH,
            get(routes::account_email::page).post(routes::account_email::change),
        )
        .route(
            routes::account_email::SEND_PATH,
            post(routes::account_email::send),
        )
        .route(
            routes::account_password::PATH,
            get(routes::account_password::page).post(routes::account_password::change),
        )
        .route(
            crate::accounts::reset::FORGOT_PATH,
            get(routes::password_reset::forgot_page).post(routes::password_reset::forgot),
        )
        .route(
            crate::accounts::reset::RESET_PATH,
            get(routes::password_reset::reset_page).post(routes::password_reset::reset),
        )
        .route(
            crate::accounts::email::VERIFY_PATH,
            get(routes::email_verify::page).post(routes::email_verify::confirm),
        )
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics));
    // RFC 7591 / 7592: only while clients may register themselves (as discovery says).
    let protocol = if state.provider.settings.registration == RegistrationMode::Off {
        protocol
    } else {
        protocol.merge(routes::register::router())
    };
    protocol
        .merge(api::admin::router())
        .merge(api::partner::router())
        .merge(api::resource::router(&state))
        .merge(api::developer::router())
        .merge(api::verify_promotions::router())
        .merge(api::verify::router())
        .merge(api::verify_agents::router())
        .fallback(routes::ops::not_found)
        // Hostile bytes refused; metrics and security headers; then body limit, timeout;
        // outermost, the request's own task, id and span.
        .layer(axum::middleware::from_fn(hostile::refuse_hostile_bytes))
        .layer(axum::middleware::from_fn(middleware::observe))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Outside the limits, so their rejections get the JSON error shape too.
        .layer(axum::middleware::from_fn(middleware::json_rejections))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}
