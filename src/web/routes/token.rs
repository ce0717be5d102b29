//! `POST /token` (RFC 6749 §3.2): every response and error carries `Cache-Control: no-store`.
//! The request's `DPoP` header (RFC 9449 §4.1, at most one) goes to the engine with the
//! form; a request that carried one, and every DPoP error, is answered with a fresh
//! `DPoP-Nonce` (§8).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::oauth::grants;
use crate::web::AppState;
use crate::web::dpop::{self, dpop_header};
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let dpop = dpop_header(&headers);
    let result = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        let proof = dpop.clone()?;
        Ok::<_, ProtocolError>(grants::token(&s.provider, &creds, &params, proof.as_deref()).await?)
    }
    .await;
    dpop::answer(&s.provider, &dpop, result, |r| {
        no_store(Json(r).into_response())
    })
}
