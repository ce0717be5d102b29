//! Protocol errors, spelled exactly as the RFCs spell them (house rule 1):
//! RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID Connect Core §3.1.2.6,
//! RFC 9470, RFC 9126, RFC 8707, RFC 8693, RFC 9449, RFC 8628 §3.5 and RFC 7591 §3.2.2. The client sees `error_description`; detail goes to the log.

use std::fmt;

/// An OAuth / OpenID Connect error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InsufficientScope,
    InsufficientUserAuthentication,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidRequestUri,
    InvalidRequestObject,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedTokenType,
    UnmetAuthenticationRequirements,
    InvalidClientMetadata,
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: the software statement is malformed, expired or badly signed.
    InvalidSoftwareStatement,
    /// RFC 7591 §3.2.2: the software statement's issuer is not trusted.
    UnapprovedSoftwareStatement,
    /// RFC 8707 §2, RFC 8693 §2.2.2: the requested resource or audience is unknown or not
    /// allowed.
    InvalidTarget,
    /// RFC 9449 §5, §7.1: the DPoP proof is missing where required, or invalid.
    InvalidDpopProof,
    /// RFC 9449 §8, §9: the DPoP proof must carry the server's nonce (`DPoP-Nonce`).
    UseDpopNonce,
    /// RFC 8628 §3.5: the user has not answered the device authorization yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: still pending, and the client polls too fast (interval + 5 s).
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidRequest => "invalid_request",
            InvalidClient => "invalid_client",
            InvalidGrant => "invalid_grant",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope => "invalid_scope",
            AccessDenied => "access_denied",
            ServerError => "server_error",
            TemporarilyUnavailable => "temporarily_unavailable",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            InsufficientUserAuthentication => "insufficient_user_authentication",
            LoginRequired => "login_required",
            ConsentRequired => "consent_required",
            InteractionRequired => "interaction_required",
            InvalidRequestUri => "invalid_request_uri",
            InvalidRequestObject => "invalid_request_object",
            RequestNotSupported => "request_not_supported",
            RequestUriNotSupported => "request_uri_not_supported",
            UnsupportedTokenType => "unsupported_token_type",
            UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            InvalidClientMetadata => "invalid_client_metadata",
            InvalidRedirectUri => "invalid_redirect_uri",
            InvalidSoftwareStatement => "invalid_software_statement",
            UnapprovedSoftwareStatement => "unapproved_software_statement",
            InvalidTarget => "invalid_target",
            InvalidDpopProof => "invalid_dpop_proof",
            UseDpopNonce => "use_dpop_nonce",
            AuthorizationPending => "authorization_pending",
            SlowDown => "slow_down",
            ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status this error carries when answered directly (not by redirect).
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidClient | InvalidToken => 401,
            InsufficientScope => 403,
            ServerError => 500,
            TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: a code, a description safe to show the client, and whether the
/// client authenticated with the `Authorization` header (for `WWW-Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Option<String>,
    pub used_auth_header: bool,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: Some(description.into()),
            used_auth_header: false,
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    /// An internal failure: the detail is logged here and never reaches the client.
    pub fn server_error(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self {
            code: ErrorCode::ServerError,
            description: None,
            used_auth_header: false,
        }
    }
    /// A backend (database, cache) is unreachable: refuse rather than accept unchecked.
    pub fn unavailable(detail: impl fmt::Display) -> Self {
        tracing::warn!(error = %detail, "backend unavailable");
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry later",
        )
    }
    pub fn with_auth_header(mut self, used: bool) -> Self {
        self.used_auth_header = used;
        self
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.code, d),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Backend(d) => Self::unavailable(d),
            other => Self::server_error(other),
        }
    }
}

impl From<crate::cache::CacheError> for OAuthError {
    fn from(e: crate::cache::CacheError) -> Self {
        Self::unavailable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_as_in_the_rfcs() {
        assert_eq!(ErrorCode::InvalidClient.as_str(), "invalid_client");
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InsufficientScope.status(), 403);
        assert_eq!(ErrorCode::TemporarilyUnavailable.status(), 503);
        assert_eq!(
            ErrorCode::InsufficientUserAuthentication.as_str(),
            "insufficient_user_authentication"
        );
        for (c, s) in [
            (ErrorCode::AuthorizationPending, "authorization_pending"),
            (ErrorCode::SlowDown, "slow_down"),
            (ErrorCode::ExpiredToken, "expired_token"),
            (ErrorCode::InvalidClientMetadata, "invalid_client_metadata"),
            (
                ErrorCode::InvalidSoftwareStatement,
                "invalid_software_statement",
            ),
            (
                ErrorCode::UnapprovedSoftwareStatement,
                "unapproved_software_statement",
            ),
        ] {
            assert_eq!((c.as_str(), c.status()), (s, 400));
        }
    }
}
