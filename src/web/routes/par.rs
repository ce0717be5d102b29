//! `POST /par` (RFC 9126 §2): answers 201 with `request_uri` and `expires_in`. A `DPoP`
//! proof (RFC 9449 §10.1) gets a fresh `DPoP-Nonce` back, as at the token endpoint.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::authorize::par;
use crate::web::AppState;
use crate::web::dpop::{self, dpop_header};
use crate::web::error::{ProtocolError, no_store};
use crate::web::extract::{Form, credentials};

pub async fn par(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ProtocolError>,
) -> Response {
    let dpop = dpop_header(&headers);
    let r = async {
        let Form(params) = form?;
        let creds = credentials(&headers, &params)?;
        let proof = dpop.clone()?;
        Ok::<_, ProtocolError>(par::push(&s.provider, &creds, &params, proof.as_deref()).await?)
    }
    .await;
    dpop::answer(&s.provider, &dpop, r, |uri| {
        no_store(
            (
                StatusCode::CREATED,
                Json(json!({"request_uri": uri, "expires_in": par::PAR_TTL})),
            )
                .into_response(),
        )
    })
}
