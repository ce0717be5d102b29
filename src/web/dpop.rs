//! DPoP over HTTP (RFC 9449): the `DPoP` request header (§4.1: at most one, at most
//! [`MAX_PROOF_LEN`] bytes), the `Authorization: DPoP` scheme (§7.1), the `DPoP-Nonce`
//! response header (§8, §9) and the resource side's `WWW-Authenticate: DPoP` challenges
//! (§7.1) for protocol endpoints (UserInfo); the guard has its own (`web::guard`).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::dpop::resource::{Presented, Refusal};
use crate::oauth::dpop::{MAX_PROOF_LEN, algs, invalid_proof};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::web::error::{BearerError, ProtocolError};

/// The `DPoP` request header.
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header.
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The request's one `DPoP` header, if any; two, or one that is no usable text, is
/// `invalid_dpop_proof`.
pub fn dpop_header(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let mut all = headers.get_all(&DPOP).iter();
    let (Some(v), None) = (all.next(), all.next()) else {
        return match headers.contains_key(&DPOP) {
            true => Err(invalid_proof("send exactly one DPoP header")),
            false => Ok(None),
        };
    };
    match v.to_str() {
        Ok(s) if s.len() <= MAX_PROOF_LEN => Ok(Some(s.trim().to_owned())),
        _ => Err(invalid_proof("the DPoP header is malformed or too large")),
    }
}

/// An access token under the `Authorization` header's `Bearer` or `DPoP` scheme.
pub fn authorization(headers: &HeaderMap) -> Option<(bool, &str)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((false, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((true, token))
    } else {
        None
    }
}

/// How a request presents `token` (`dpop`: under the DPoP scheme), with the request's
/// `proof` when it had exactly one usable `DPoP` header.
pub fn presented<'a>(token: &'a str, dpop: bool, proof: Option<&'a str>) -> Presented<'a> {
    match dpop {
        false => Presented::Bearer(token),
        true => Presented::Dpop { token, proof },
    }
}

/// Whether `e` is one of DPoP's errors (answered with a fresh nonce).
pub fn is_dpop_error(e: &OAuthError) -> bool {
    matches!(
        e.code,
        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce
    )
}

/// A token-endpoint-like answer (`/token`, `/par`): `ok` of the result, or its error,
/// with a fresh `DPoP-Nonce` when the request sent a `DPoP` header or was refused for
/// DPoP's sake (RFC 9449 §8).
pub fn answer<T>(
    p: &Provider,
    dpop: &Result<Option<String>, OAuthError>,
    result: Result<T, ProtocolError>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    let due = match &result {
        Err(ProtocolError(e)) => is_dpop_error(e) || !matches!(dpop, Ok(None)),
        Ok(_) => !matches!(dpop, Ok(None)),
    };
    let r = match result {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    };
    match due {
        true => with_nonce(p, r),
        false => r,
    }
}

/// `r` with a fresh `DPoP-Nonce`.
pub fn with_nonce(p: &Provider, mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&p.dpop_nonces.issue(p.now())) {
        r.headers_mut().insert(DPOP_NONCE, v);
    }
    r
}

/// The `WWW-Authenticate` challenge of a DPoP refusal (RFC 9449 §7.1).
pub fn challenge(e: &OAuthError) -> String {
    let desc = e
        .description
        .as_deref()
        .unwrap_or("")
        .replace(['"', '\\'], "");
    format!(
        "DPoP error=\"{}\", error_description=\"{}\", algs=\"{}\"",
        e.code.as_str(),
        desc,
        algs()
    )
}

/// A resource refusal of a protocol endpoint (UserInfo): Bearer's challenge (RFC 6750
/// §3), or DPoP's (§7.1) with 401 for DPoP's own errors and a fresh nonce for
/// `use_dpop_nonce`.
pub struct ResourceRefusal<'a>(pub Refusal, pub &'a Provider);

impl IntoResponse for ResourceRefusal<'_> {
    fn into_response(self) -> Response {
        let ResourceRefusal(Refusal { error, dpop }, p) = self;
        if !dpop {
            return BearerError(error).into_response();
        }
        let challenged = matches!(
            error.code,
            ErrorCode::InvalidToken
                | ErrorCode::InsufficientScope
                | ErrorCode::InvalidRequest
                | ErrorCode::InvalidDpopProof
                | ErrorCode::UseDpopNonce
        );
        if !challenged {
            return ProtocolError(error).into_response();
        }
        let ch = challenge(&error);
        let nonce = error.code == ErrorCode::UseDpopNonce;
        let own = is_dpop_error(&error);
        let mut r = ProtocolError(error).into_response();
        if own {
            *r.status_mut() = StatusCode::UNAUTHORIZED;
        }
        if let Ok(v) = HeaderValue::from_str(&ch) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        match nonce {
            true => with_nonce(p, r),
            false => r,
        }
    }
}
