//! Passkeys (WebAuthn) on Surety's pages: registration from the account pages, sign-in
//! without a password, and the second factor. (Filled in by the passkey step.)

use axum::http::StatusCode;
use axum::response::Response;

use super::authenticate::Ctx;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::web::error::error_page;
use crate::web::extract::Cookies;

/// Lets a page load the passkey script.
pub fn allow_script(_r: &mut Response) {}

/// The WebAuthn request options for `sub`'s passkeys (JSON).
pub async fn authentication_options(_p: &Provider, _sub: &str) -> Result<String, OAuthError> {
    Ok(String::new())
}

/// A passkey as the second factor.
pub(super) async fn second_factor(_p: &Provider, _c: &Cookies, _ctx: Ctx, _f: &Params) -> Response {
    error_page(
        StatusCode::NOT_IMPLEMENTED,
        "passkeys are not available yet",
    )
}
