//! Admin API for a user's browser sessions: list them with the clients each signed in
//! to, end one or all (OpenID Connect Back-Channel Logout 1.0: each ended session's
//! clients get a logout token through the outbox; the grants issued under it, including
//! `offline_access` ones, are revoked).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;

use super::admin::Admin;
use super::error::{ApiError, ErrorBody};
use crate::accounts::sessions;
use crate::oauth::backchannel::{Ending, SessionView};
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/users/{sub}/sessions",
            get(list_sessions).delete(end_sessions),
        )
        .route("/admin/users/{sub}/sessions/{sid}", delete(end_session))
}

/// One live browser session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionOutput {
    /// The session id (`sid` in ID and logout tokens): `SE` + 32 hex.
    #[schema(pattern = "^SE[0-9a-f]{32}$")]
    sid: String,
    /// The authentication level the session reached.
    acr: String,
    created_at: i64,
    expires_at: i64,
    /// The clients the session signed in to, in order of first sign-in.
    clients: Vec<String>,
}

impl From<SessionView> for SessionOutput {
    fn from(v: SessionView) -> Self {
        Self {
            sid: v.session.sid,
            acr: v.session.acr,
            created_at: v.session.created_at,
            expires_at: v.session.expires_at,
            clients: v.clients,
        }
    }
}

/// A user's live sessions, newest first (at most 500).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionOutput>,
}

/// How many sessions a request ended.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    ended: u64,
}

#[utoipa::path(get, path = "/admin/users/{sub}/sessions", params(("sub" = String, Path)),
    responses((status = 200, body = SessionList), (status = 404, body = ErrorBody)))]
pub async fn list_sessions(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Json<SessionList>, ApiError> {
    let live = sessions::list(&s.provider, &sub).await?;
    Ok(Json(SessionList {
        sessions: live.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(delete, path = "/admin/users/{sub}/sessions", params(("sub" = String, Path)),
    description = "Ends every live session of the user; each client that took part gets a logout token.",
    responses((status = 200, body = SessionsEnded), (status = 404, body = ErrorBody)))]
pub async fn end_sessions(
    _: Admin,
    State(s): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Json<SessionsEnded>, ApiError> {
    let ended = sessions::end_all(&s.provider, &sub, Ending::Admin).await?;
    Ok(Json(SessionsEnded { ended }))
}

#[utoipa::path(delete, path = "/admin/users/{sub}/sessions/{sid}",
    params(("sub" = String, Path), ("sid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    _: Admin,
    State(s): State<AppState>,
    Path((sub, sid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    sessions::end_one(&s.provider, &sub, &sid, Ending::Admin).await?;
    Ok(StatusCode::NO_CONTENT)
}
