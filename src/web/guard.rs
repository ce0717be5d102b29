//! A reusable guard for OAuth-protected resource servers (RFC 6750, RFC 9068, RFC 7662):
//! a tower layer that authenticates every request and puts the [`Principal`] in the
//! request's extensions, and a per-route layer that requires a permission (a scope
//! token), answering RFC 6750 §3 errors with `WWW-Authenticate` challenges; and one
//! that requires a level and freshness of user authentication ([`RequireAcr`], RFC 9470).
//!
//! Bearer tokens are checked either
//! - **locally** against the issuer's JWK Set ([`Jwks`]): signature (keys fetched once,
//!   cached, re-fetched on an unknown `kid`), `typ: at+jwt` (RFC 9068 §4), `iss`, `exp`,
//!   `nbf`, and the audience when one is configured; or
//! - **by introspection** ([`Introspection`], RFC 7662): the issuer is asked on every
//!   request, so a revoked token stops at once.
//!
//! DPoP-bound tokens (RFC 9449 §7): [`BearerOrDpop`] also accepts `Authorization: DPoP`
//! with a `DPoP` proof of the token's key (`cnf.jkt`), checked by a [`VerifyProof`]
//! ([`LocalProofs`] with the resource server's own cache; see [`dpop`]); refusals of
//! DPoP requests are `WWW-Authenticate: DPoP` challenges, step-up ones included. Every
//! authenticator refuses a bound token presented as `Bearer`.
//!
//! Surety's own resource API uses the same layers with [`SuretyTokens`] (local, with
//! Surety's key ring, plus its revocation check), [`SuretyProofs`] and HTTP Basic
//! account credentials.
//!
//! ```no_run
//! use axum::{Router, handler::Handler, routing::{get, post}};
//! use surety::web::guard::{Bearer, GuardLayer, Introspection, Jwks, Principal, RequirePermission};
//!
//! async fn send(p: Principal) -> String {
//!     format!("sent for {}", p.account_sid.unwrap_or_default())
//! }
//! async fn list(_: Principal) -> &'static str {
//!     "[]"
//! }
//!
//! // Local validation against the issuer's keys…
//! let local = GuardLayer::new(Bearer(
//!     Jwks::new("https://id.example.com", "https://id.example.com/jwks")
//!         .audience("https://api.example.com"),
//! ));
//! // …or ask the issuer about every token.
//! let _remote = GuardLayer::new(Bearer(Introspection::new(
//!     "https://id.example.com/introspect",
//!     "my-api",
//!     "my-api-secret",
//! )));
//! let app: Router = Router::new()
//!     .route(
//!         "/messages",
//!         get(list.layer(RequirePermission("read")))
//!             .post(send.layer(RequirePermission("messages:send"))),
//!     )
//!     .layer(local);
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tower::{Layer, Service};

use crate::oauth::error::ErrorCode;
use crate::oauth::scope::Scope;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    /// A DPoP-bound token with a proof of its key (RFC 9449 §7).
    Dpop,
    Basic,
}

/// What the caller may do.
#[derive(Debug, Clone, PartialEq)]
pub enum Grants {
    /// Every permission (an account's own credentials).
    All,
    /// The token's scope.
    Scope(Scope),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub scheme: Scheme,
    /// The token's `sub` (or the account SID for Basic credentials).
    pub subject: Option<String>,
    /// The account the credential acts on (`account_sid` claim).
    pub account_sid: Option<String>,
    pub grants: Grants,
    /// Every claim of the token (empty for Basic credentials).
    pub claims: Map<String, Value>,
}

impl Principal {
    /// A bearer principal from verified token claims: permissions from `scope` (RFC 9068
    /// §2.2.3), or else an `scp` array.
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        let s = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let scope = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(sc)), _) => Scope::parse(sc),
            (None, Some(Value::Array(a))) => {
                let joined: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                Scope::parse(&joined.join(" "))
            }
            _ => None,
        };
        Self {
            scheme: Scheme::Bearer,
            subject: s("sub"),
            account_sid: s("account_sid"),
            grants: Grants::Scope(scope.unwrap_or_default()),
            claims,
        }
    }

    /// Whether the caller holds `permission`.
    pub fn allows(&self, permission: &str) -> bool {
        match &self.grants {
            Grants::All => true,
            Grants::Scope(s) => s.contains(permission),
        }
    }
}

/// Why the guard refused a request.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardError {
    /// No credentials at all; `basic` adds a Basic challenge next to the Bearer one.
    Missing { basic: bool },
    /// The request is malformed, e.g. an access token in the URI query (RFC 6750 §2,
    /// §3.1: 400 `invalid_request`).
    InvalidRequest(String),
    /// The bearer token is invalid, expired or revoked (401).
    InvalidToken(String),
    /// HTTP Basic credentials did not authenticate (401).
    InvalidCredentials,
    /// The credential lacks `scope` (403, RFC 6750 §3.1).
    InsufficientScope { scope: String, description: String },
    /// The user authentication behind the token is too weak or too old (401, RFC 9470
    /// §3): the client re-runs authorization with `acr_values` and `max_age`.
    InsufficientUserAuthentication {
        acr_values: String,
        max_age: Option<i64>,
        description: String,
    },
    /// The DPoP proof is missing, invalid or of another key (401, RFC 9449 §7.1).
    InvalidDpopProof(String),
    /// The DPoP proof must carry this server nonce (401, RFC 9449 §9).
    UseDpopNonce { nonce: String },
    /// The inner refusal, challenged under the DPoP scheme (RFC 9449 §7.1): the request
    /// used it, or the token is bound.
    Dpop(Box<GuardError>),
    /// The issuer (JWKS, introspection) or a backend is unreachable (503).
    Unavailable,
    /// A bug or misconfiguration; logged where it happened (500).
    Internal,
}

impl GuardError {
    pub fn insufficient_scope(scope: &str) -> Self {
        GuardError::InsufficientScope {
            scope: scope.to_owned(),
            description: format!("this request needs the {scope} permission"),
        }
    }

    /// This refusal, challenged under the DPoP scheme.
    pub fn dpop(self) -> Self {
        match self {
            e @ GuardError::Dpop(_) => e,
            e => GuardError::Dpop(Box::new(e)),
        }
    }

    /// The server nonce a `use_dpop_nonce` refusal hands out (`DPoP-Nonce`).
    pub fn nonce(&self) -> Option<&str> {
        match self {
            GuardError::UseDpopNonce { nonce } => Some(nonce),
            GuardError::Dpop(e) => e.nonce(),
            _ => None,
        }
    }
}

/// A DPoP challenge (RFC 9449 §7.1): `DPoP` with the error's parameters and `algs`.
fn dpop_challenge(bearer: &str) -> String {
    let algs = crate::oauth::dpop::algs();
    match bearer.strip_prefix("Bearer ") {
        Some(params) => format!("DPoP {params}, algs=\"{algs}\""),
        None => format!("DPoP algs=\"{algs}\""),
    }
}

/// A quoted-string for a challenge parameter (RFC 9110 §11.2; `"` and `\` dropped).
fn quoted(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\\').collect()
}

impl GuardError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            GuardError::Missing { .. }
            | GuardError::InvalidToken(_)
            | GuardError::InvalidCredentials
            | GuardError::InsufficientUserAuthentication { .. }
            | GuardError::InvalidDpopProof(_)
            | GuardError::UseDpopNonce { .. } => StatusCode::UNAUTHORIZED,
            GuardError::Dpop(e) => e.status(),
            GuardError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            GuardError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            GuardError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            GuardError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error` and `error_description`.
    pub(crate) fn code_and_description(&self) -> (&'static str, String) {
        match self {
            GuardError::Missing { basic: true } => (
                "invalid_token",
                "an access token or account credentials are required".into(),
            ),
            GuardError::Missing { basic: false } => {
                ("invalid_token", "an access token is required".into())
            }
            GuardError::InvalidToken(d) => ("invalid_token", d.clone()),
            GuardError::InvalidRequest(d) => (ErrorCode::InvalidRequest.as_str(), d.clone()),
            GuardError::InvalidCredentials => (
                "invalid_credentials",
                "the account SID or auth token is wrong".into(),
            ),
            GuardError::InsufficientScope { description, .. } => {
                (ErrorCode::InsufficientScope.as_str(), description.clone())
            }
            GuardError::InsufficientUserAuthentication { description, .. } => (
                ErrorCode::InsufficientUserAuthentication.as_str(),
                description.clone(),
            ),
            GuardError::Unavailable => (
                ErrorCode::TemporarilyUnavailable.as_str(),
                "the service is temporarily unavailable; retry later".into(),
            ),
            GuardError::InvalidDpopProof(d) => (ErrorCode::InvalidDpopProof.as_str(), d.clone()),
            GuardError::UseDpopNonce { .. } => (
                ErrorCode::UseDpopNonce.as_str(),
                "a DPoP nonce is required; use the one in DPoP-Nonce".into(),
            ),
            GuardError::Dpop(e) => e.code_and_description(),
            GuardError::Internal => (ErrorCode::ServerError.as_str(), "internal error".into()),
        }
    }

    /// The `WWW-Authenticate` challenges (RFC 6750 §3; none with an error code when
    /// the request carried no credentials at all).
    pub(crate) fn challenges(&self) -> Vec<String> {
        match self {
            GuardError::Missing { basic } => {
                let mut ch = vec!["Bearer".to_owned()];
                if *basic {
                    ch.push(BASIC_CHALLENGE.into());
                }
                ch
            }
            GuardError::InvalidToken(d) => vec![format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted(d)
            )],
            GuardError::InvalidCredentials => vec![BASIC_CHALLENGE.into()],
            GuardError::InvalidRequest(d) => vec![format!(
                "Bearer error=\"invalid_request\", error_description=\"{}\"",
                quoted(d)
            )],
            GuardError::InsufficientScope { scope, description } => vec![format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\", error_description=\"{}\"",
                quoted(scope),
                quoted(description)
            )],
            GuardError::InsufficientUserAuthentication {
                acr_values,
                max_age,
                description,
            } => {
                let mut c = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\", acr_values=\"{}\"",
                    quoted(description),
                    quoted(acr_values)
                );
                if let Some(m) = max_age {
                    c.push_str(&format!(", max_age={m}"));
                }
                vec![c]
            }
            GuardError::InvalidDpopProof(_) | GuardError::UseDpopNonce { .. } => {
                let (code, d) = self.code_and_description();
                vec![dpop_challenge(&format!(
                    "Bearer error=\"{code}\", error_description=\"{}\"",
                    quoted(&d)
                ))]
            }
            // RFC 9449 §7.1: no credentials: both schemes (and Basic) are challenged.
            GuardError::Dpop(e) if matches!(**e, GuardError::Missing { .. }) => {
                let mut ch = e.challenges();
                ch.insert(1, dpop_challenge("Bearer"));
                ch
            }
            GuardError::Dpop(e) => e
                .challenges()
                .into_iter()
                .map(|c| match c.starts_with("Bearer") {
                    true => dpop_challenge(&c),
                    false => c,
                })
                .collect(),
            GuardError::Unavailable | GuardError::Internal => vec![],
        }
    }
}

/// The HTTP Basic challenge of Surety's account credentials.
const BASIC_CHALLENGE: &str = "Basic realm=\"surety\"";

/// Answered as every JSON API error is ([`crate::web::api::error::ApiError`]).
impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        crate::web::api::error::ApiError::from(self).into_response()
    }
}

/// Checks a bearer token and returns its claims.
#[async_trait]
pub trait VerifyToken: Send + Sync + 'static {
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, GuardError>;
}

/// What an authenticator sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

/// Authenticates a request from its method, URI (DPoP's `htm`, `htu`) and headers.
#[async_trait]
pub trait Authenticate: Send + Sync + 'static {
    async fn authenticate(&self, req: Incoming<'_>) -> Result<Principal, GuardError>;
}

/// What a request with an access token in its URI is told.
pub const TOKEN_IN_QUERY: &str =
    "send the access token in the Authorization header only, never in the URI";

/// Whether the URI query carries an `access_token` (RFC 6750 §2.3, which Surety does not
/// accept: URIs end up in logs and histories; with a header as well it is two methods).
pub fn token_in_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token")
    })
}

/// The RFC 6750 §2.1 bearer token of a request: `None` when there is no Authorization
/// header or it names another scheme.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

mod acr;
pub mod dpop;
mod verify;
pub use acr::RequireAcr;
pub use dpop::{BearerOrDpop, DpopSupport, LocalProofs, SuretyProofs, VerifyProof};
pub use verify::{Introspection, Jwks, SuretyTokens};

/// Authenticates bearer tokens with a [`VerifyToken`]. A DPoP-bound token (`cnf.jkt`)
/// presented as `Bearer` is refused; [`BearerOrDpop`] also accepts it with its proof.
pub struct Bearer<V>(pub V);

#[async_trait]
impl<V: VerifyToken> Authenticate for Bearer<V> {
    async fn authenticate(&self, req: Incoming<'_>) -> Result<Principal, GuardError> {
        dpop::principal(&req, &self.0, None, false).await
    }
}

/// Authenticates every request of the routes it wraps; refused requests never reach
/// them. The [`Principal`] goes into the request's extensions.
#[derive(Clone)]
pub struct GuardLayer {
    auth: Arc<dyn Authenticate>,
}

impl GuardLayer {
    pub fn new(auth: impl Authenticate) -> Self {
        Self {
            auth: Arc::new(auth),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guarded<S>;
    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service [`GuardLayer`] produces.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    auth: Arc<dyn Authenticate>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> BoxFuture {
        let auth = self.auth.clone();
        // The service that was made ready goes with this call (tower's usual swap).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Box::pin(async move {
            let principal = match token_in_query(req.uri().query()) {
                true => Err(GuardError::InvalidRequest(TOKEN_IN_QUERY.into())),
                false => {
                    let incoming = Incoming {
                        method: req.method(),
                        uri: req.uri(),
                        headers: req.headers(),
                    };
                    auth.authenticate(incoming).await
                }
            };
            match principal {
                Ok(p) => {
                    req.extensions_mut().insert(p);
                    let Ok(r) = inner.call(req).await;
                    Ok(r.into_response())
                }
                Err(e) => {
                    metrics::counter!("surety_guard_refusals_total").increment(1);
                    Ok(e.into_response())
                }
            }
        })
    }
}

/// What a per-route layer requires of the [`Principal`] a [`GuardLayer`] put in the
/// request ([`RequirePermission`], [`RequireAcr`]).
pub trait Requirement: Clone + Send + Sync + 'static {
    fn check(&self, p: &Principal) -> Result<(), GuardError>;
}

/// Requires a permission (a scope token) of the [`Principal`] a [`GuardLayer`] put in
/// the request: `get(handler.layer(RequirePermission("read")))`.
#[derive(Debug, Clone, Copy)]
pub struct RequirePermission(pub &'static str);

impl Requirement for RequirePermission {
    fn check(&self, p: &Principal) -> Result<(), GuardError> {
        if p.allows(self.0) {
            Ok(())
        } else {
            Err(GuardError::insufficient_scope(self.0))
        }
    }
}

impl<S> Layer<S> for RequirePermission {
    type Service = Required<S, RequirePermission>;
    fn layer(&self, inner: S) -> Self::Service {
        Required { inner, need: *self }
    }
}

/// The service a [`Requirement`] layer produces.
#[derive(Clone)]
pub struct Required<S, R = RequirePermission> {
    inner: S,
    need: R,
}

impl<S, R: Requirement> Service<Request> for Required<S, R>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> BoxFuture {
        let verdict = match req.extensions().get::<Principal>() {
            None => Err(GuardError::Missing { basic: false }),
            Some(p) if p.scheme == Scheme::Dpop => self.need.check(p).map_err(GuardError::dpop),
            Some(p) => self.need.check(p),
        };
        if let Err(GuardError::InsufficientUserAuthentication { .. }) = &verdict {
            metrics::counter!("surety_guard_step_up_refusals_total").increment(1);
        }
        // The service made ready goes with this call (tower's usual swap).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Box::pin(async move {
            match verdict {
                Ok(()) => {
                    let Ok(r) = inner.call(req).await;
                    Ok(r.into_response())
                }
                Err(e) => Ok(e.into_response()),
            }
        })
    }
}

/// The caller, for handlers behind a [`GuardLayer`].
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = GuardError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, GuardError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(GuardError::Missing { basic: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn principals_read_scope_or_scp() {
        let c = |v: Value| v.as_object().cloned().unwrap();
        let p = Principal::from_claims(c(json!({"sub": "u", "scope": "read messages:send"})));
        assert!(p.allows("read") && p.allows("messages:send") && !p.allows("calls:write"));
        let p = Principal::from_claims(c(json!({"scp": ["read"], "account_sid": "AC1"})));
        assert!(p.allows("read"));
        assert_eq!(p.account_sid.as_deref(), Some("AC1"));
        let p = Principal::from_claims(c(json!({"scope": 7})));
        assert!(!p.allows("read"));
    }

    #[test]
    fn insufficient_scope_names_the_scope_in_the_challenge() {
        let r = GuardError::insufficient_scope("messages:send").into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let ch = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(ch.starts_with("Bearer error=\"insufficient_scope\", scope=\"messages:send\""));
        let r = GuardError::Missing { basic: true }.into_response();
        let all: Vec<_> = r
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(all.len(), 2);
    }
}
