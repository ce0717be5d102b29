//! Admin API for the durable outbox: delivery status per event (attempts, status, last
//! error, timestamps), so an operator can see whether a callback reached a developer.
//! Payloads and signing secrets are never shown.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::admin::Admin;
use super::error::{ApiError, ErrorBody};
use super::query::Query;
use crate::admin::outbox;
use crate::store::{OutboxEvent, OutboxStatus};
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list_outbox))
        .route("/admin/outbox/{event_id}", get(get_outbox_event))
        .route("/admin/outbox/{event_id}/retry", post(retry_outbox_event))
}

/// Filters for the event list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only events sent to this destination (exact URL).
    destination: Option<String>,
    /// Only events in this state: `pending`, `delivered` or `failed`.
    #[param(pattern = "^(pending|delivered|failed)$")]
    status: Option<String>,
    /// At most this many events (default 50, at most 500), newest first.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// One outbox event's delivery state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxEventOutput {
    /// `EV` + 32 hex; sent as `Surety-Event-Id`.
    id: String,
    /// `webhook` or `email`.
    kind: String,
    destination: String,
    status: OutboxStatus,
    /// Attempts started so far.
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    created_at: i64,
    /// When the next attempt is due (while `pending`).
    next_attempt_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_attempt_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<i64>,
}

impl From<OutboxEvent> for OutboxEventOutput {
    fn from(e: OutboxEvent) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            destination: e.destination,
            status: e.status,
            attempts: e.attempts,
            last_error: e.last_error,
            created_at: e.created_at,
            next_attempt_at: e.next_attempt_at,
            last_attempt_at: e.last_attempt_at,
            delivered_at: e.delivered_at,
        }
    }
}

/// A page of events, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxList {
    events: Vec<OutboxEventOutput>,
}

#[utoipa::path(get, path = "/admin/outbox", params(OutboxQuery),
    responses((status = 200, body = OutboxList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_outbox(
    _: Admin,
    State(s): State<AppState>,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<OutboxList>, ApiError> {
    let events = outbox::list(&s.provider.stores, q.destination, q.status, q.limit).await?;
    Ok(Json(OutboxList {
        events: events.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/admin/outbox/{event_id}", params(("event_id" = String, Path)),
    responses((status = 200, body = OutboxEventOutput), (status = 404, body = ErrorBody)))]
pub async fn get_outbox_event(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OutboxEventOutput>, ApiError> {
    Ok(Json(outbox::get(&s.provider.stores, &id).await?.into()))
}

#[utoipa::path(post, path = "/admin/outbox/{event_id}/retry", params(("event_id" = String, Path)),
    description = "Redelivers a `failed` event: back to `pending`, due now, with a fresh attempt count.",
    responses((status = 200, body = OutboxEventOutput), (status = 404, body = ErrorBody),
        (status = 409, description = "the event is not failed", body = ErrorBody)))]
pub async fn retry_outbox_event(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OutboxEventOutput>, ApiError> {
    let p = &s.provider;
    Ok(Json(outbox::retry(&p.stores, &id, p.now()).await?.into()))
}
