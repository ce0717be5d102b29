//! `POST /token` (RFC 6749 §3.2): every response and error carries `Cache-Control: no-store`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::oauth::grants;
use crate::web::AppState;
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let result = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        Ok::<_, ProtocolError>(grants::token(&s.provider, &creds, &params).await?)
    }
    .await;
    match result {
        Ok(r) => no_store(Json(r).into_response()),
        Err(e) => e.into_response(),
    }
}
