//! `/healthz` (the process is up), `/readyz` (database and cache reachable), `/metrics`
//! (Prometheus text) and the JSON 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::web::AppState;

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn readyz(State(s): State<AppState>) -> Response {
    let p = &s.provider;
    let db = p
        .stores
        .health
        .ping()
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "database not ready"))
        .is_ok();
    let cache = p
        .cache
        .ping()
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cache not ready"))
        .is_ok();
    let status = if db && cache {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({"database": word(db), "cache": word(cache)})),
    )
        .into_response()
}

pub async fn metrics(State(s): State<AppState>) -> Response {
    match &s.metrics {
        Some(h) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            h.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub async fn not_found() -> Response {
    let body = json!({"error": "not_found", "error_description": "no such resource"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
