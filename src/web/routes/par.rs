//! `POST /par` (RFC 9126 §2): answers 201 with `request_uri` and `expires_in`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::authorize::par;
use crate::web::AppState;
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn par(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        Ok::<_, ProtocolError>(par::push(&s.provider, &creds, &params).await?)
    }
    .await;
    match r {
        Ok(uri) => no_store(
            (
                StatusCode::CREATED,
                Json(json!({"request_uri": uri, "expires_in": par::PAR_TTL})),
            )
                .into_response(),
        ),
        Err(e) => e.into_response(),
    }
}
