//! `POST /introspect` (RFC 7662) and `POST /revoke` (RFC 7009).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::oauth::introspect;
use crate::web::AppState;
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        Ok::<_, ProtocolError>(introspect::introspect(&s.provider, &creds, &params).await?)
    }
    .await;
    match r {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

pub async fn revoke(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        introspect::revoke(&s.provider, &creds, &params).await?;
        Ok::<_, ProtocolError>(())
    }
    .await;
    match r {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}
