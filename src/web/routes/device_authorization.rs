//! `POST /device_authorization` (RFC 8628 §3.1–§3.2): the device authorization endpoint.
//! Answers 200 with the device code, the user code and where to enter it; errors as at
//! the token endpoint (RFC 6749 §5.2). Every answer carries `Cache-Control: no-store`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::oauth::device;
use crate::web::AppState;
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn device_authorization(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        Ok::<_, ProtocolError>(device::authorize(&s.provider, &creds, &params).await?)
    }
    .await;
    match r {
        Ok(resp) => no_store(Json(resp).into_response()),
        Err(e) => e.into_response(),
    }
}
