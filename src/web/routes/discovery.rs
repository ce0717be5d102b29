//! `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server` and the JWKS.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::oauth::discovery;
use crate::web::AppState;

pub async fn openid_configuration(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(discovery::metadata(&s.provider)),
    )
}

pub async fn oauth_metadata(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(discovery::metadata(&s.provider)),
    )
}

pub async fn jwks(State(s): State<AppState>) -> impl IntoResponse {
    let p = &s.provider;
    (
        [
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::CONTENT_TYPE, "application/jwk-set+json"),
        ],
        p.keys.jwks(p.now()).to_string(),
    )
}
