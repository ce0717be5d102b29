//! `POST /device_authorization` (RFC 8628 §3.1–§3.2): the device authorization endpoint.
//! Answers 200 with the device code, the user code and where to enter it; errors as at
//! the token endpoint (RFC 6749 §5.2). Each client address may ask so many times a
//! minute (§5.2, `oauth::device::admit`): beyond that, 429 `slow_down` with
//! `Retry-After`. Every answer carries `Cache-Control: no-store`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::device::{self, Admission};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn device_authorization(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    match device::admit(p, &ip).await {
        Ok(Admission::Allowed) => {}
        Ok(Admission::Limited { retry_after }) => return limited(retry_after),
        Err(e) => return ProtocolError(e).into_response(),
    }
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        Ok::<_, ProtocolError>(device::authorize(p, &creds, &params).await?)
    }
    .await;
    match r {
        Ok(resp) => no_store(Json(resp).into_response()),
        Err(e) => e.into_response(),
    }
}

/// 429 `slow_down` (RFC 8628 §3.5's code for a client asking too often) with
/// `Retry-After`.
fn limited(retry_after: u64) -> Response {
    let body = json!({
        "error": "slow_down",
        "error_description": format!(
            "too many device authorization requests from this address; retry in {retry_after} s"
        ),
    });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    no_store(r)
}
