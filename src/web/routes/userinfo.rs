//! `GET/POST /userinfo` (OpenID Connect Core §5.3) with an RFC 6750 bearer token.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::oauth::error::OAuthError;
use crate::oauth::userinfo;
use crate::web::AppState;
use crate::web::error::{BearerError, no_store};
use crate::web::extract::bearer;

pub async fn userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        let mut r = BearerError(OAuthError::invalid_token(
            "a bearer access token is required",
        ))
        .into_response();
        r.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return r;
    };
    match userinfo::userinfo(&s.provider, &token).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => BearerError(e).into_response(),
    }
}
