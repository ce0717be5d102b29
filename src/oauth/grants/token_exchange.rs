//! `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): an authenticated client
//! exchanges a subject token for an access token. The engine parses the request
//! (§2.1), validates a subject access token Surety issued (§3 `access_token` type; one
//! that is invalid or unacceptable by policy is `invalid_request`, §2.2.2), nests actors
//! in `act` (§4.1) and audits every use. An end user's token is exchanged here
//! ([`user`]: impersonation and delegation). Subjects a product owns — another subject
//! token type, or an access token that is the product's (partners: tokens acting on an
//! account, and bare account SIDs) — are exchanged by the product's
//! [`SubjectExchange`], registered in `app.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::{ClientAuthPolicy, Grant, Params, TokenRequest};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::customize::Confirmation;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessClaims, TokenResponse};
use crate::store::{AuditEvent, ClientRecord};

mod user;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: an OAuth 2.0 access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Most actors an `act` chain may name, the new one included.
const MAX_ACTORS: usize = 8;
/// The audit log's action name.
const ACTION: &str = "token-exchange";

/// Token exchange on subjects a product owns (registered in `app.rs`; partners'
/// accounts).
#[async_trait]
pub trait SubjectExchange: Send + Sync {
    /// The `subject_token_type` it adds (an RFC 8693 §3 URI) and its short name for the
    /// audit log.
    fn token_type(&self) -> (&'static str, &'static str);
    /// Whether an access token given as the subject is this product's to exchange.
    fn owns(&self, subject: &AccessClaims) -> bool;
    /// Exchanges for `client`: `subject` is the subject access token's claims, `None`
    /// for a subject of the product's own token type. Notes what it learns in `audit`.
    async fn exchange(
        &self,
        p: &Provider,
        client: &ClientRecord,
        req: Request<'_>,
        subject: Option<AccessClaims>,
        audit: &mut Audit,
    ) -> Result<TokenResponse, OAuthError>;
}

pub struct TokenExchange;

#[async_trait]
impl Grant for TokenExchange {
    fn grant_type(&self) -> &'static str {
        GRANT_TYPE
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::Confidential
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let params = req.params;
        let client = &client
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
            .client;
        let mut audit = Audit::default();
        let r = run(p, client, params, req.cnf(), &mut audit).await;
        audit.record(p, &client.client_id, &r).await;
        r
    }
}

/// The accepted `subject_token_type` `s` names: an access token, or a product's type.
fn subject_type_of(s: &str, subjects: &[Arc<dyn SubjectExchange>]) -> Option<&'static str> {
    if s == ACCESS_TOKEN_TYPE {
        return Some(ACCESS_TOKEN_TYPE);
    }
    subjects.iter().map(|x| x.token_type().0).find(|t| *t == s)
}

/// The audit log's name of a subject token type.
fn short_name(t: &str, subjects: &[Arc<dyn SubjectExchange>]) -> &'static str {
    subjects
        .iter()
        .map(|x| x.token_type())
        .find(|(uri, _)| *uri == t)
        .map_or("access_token", |(_, short)| short)
}

/// A well-formed exchange request.
#[derive(Debug)]
pub struct Request<'a> {
    pub subject_token: &'a str,
    /// The `subject_token_type` (an RFC 8693 §3 URI): [`ACCESS_TOKEN_TYPE`] or one a
    /// [`SubjectExchange`] added.
    pub subject_type: &'static str,
    pub scope: Option<Scope>,
    /// The `actor_token` and its type (§2.1), both or neither.
    pub actor: Option<(&'a str, ActorTokenType)>,
    /// The `audience` or `resource` (RFC 8707) asked for, if any.
    pub target: Option<&'a str>,
    /// The target came as `resource`: it must also be a registered resource server.
    pub target_is_resource: bool,
    /// The key of the request's DPoP proof: the new token is bound to it.
    pub cnf: Option<Confirmation>,
}

/// The actor token types this server accepts: its own access tokens and JWTs it signed
/// (ID tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorTokenType {
    AccessToken,
    Jwt,
}

impl ActorTokenType {
    fn parse(s: &str) -> Option<Self> {
        match s {
            ACCESS_TOKEN_TYPE => Some(Self::AccessToken),
            JWT_TYPE | ID_TOKEN_TYPE => Some(Self::Jwt),
            _ => None,
        }
    }
}

/// RFC 8693 §3 token type identifiers for JWTs and ID tokens.
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// An RFC 8707 resource indicator: an absolute URI without a fragment.
pub fn is_resource_uri(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| u.has_host() && u.fragment().is_none()) && !s.contains('#')
}

/// What the audit line will say besides actor and outcome.
#[derive(Debug)]
pub struct Audit {
    /// Who the exchange is about (an account SID, a user's `sub`); `-` until known.
    pub subject: String,
    /// What else the line says (`subject_token_type=…`, the reason of a refusal).
    pub detail: String,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            subject: "-".into(),
            detail: String::new(),
        }
    }
}

impl Audit {
    /// Writes the audit line; a failed write is logged, never fatal.
    async fn record(self, p: &Provider, actor: &str, r: &Result<TokenResponse, OAuthError>) {
        let outcome = match r {
            Ok(_) => "ok".to_owned(),
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable
                ) =>
            {
                "backend unavailable".to_owned()
            }
            Err(e) => e.description.clone().unwrap_or_else(|| e.code.to_string()),
        };
        if r.is_err() {
            tracing::info!(client = actor, subject = %self.subject, reason = %outcome, detail = %self.detail, "token exchange refused");
        }
        let event = AuditEvent {
            at: p.now(),
            actor: actor.to_owned(),
            action: ACTION.to_owned(),
            subject: self.subject,
            outcome,
            detail: self.detail,
        };
        if let Err(e) = p.stores.audit.record(&event).await {
            tracing::warn!(error = %e, "audit record failed");
        }
    }
}

async fn run(
    p: &Provider,
    client: &ClientRecord,
    params: &Params,
    cnf: Option<Confirmation>,
    audit: &mut Audit,
) -> Result<TokenResponse, OAuthError> {
    let subjects = &p.ext.exchange_subjects;
    let mut req = parse_request(params, subjects)?;
    req.cnf = cnf;
    audit.detail = format!(
        "subject_token_type={}",
        short_name(req.subject_type, subjects)
    );
    let claims = match req.subject_type {
        ACCESS_TOKEN_TYPE => Some(subject_claims(p, req.subject_token).await?),
        _ => None,
    };
    let product = match &claims {
        Some(c) => subjects.iter().find(|x| x.owns(c)),
        None => subjects
            .iter()
            .find(|x| x.token_type().0 == req.subject_type),
    };
    match (product, claims) {
        (Some(x), claims) => x.exchange(p, client, req, claims, audit).await,
        // An end user's token: the general exchange (impersonation or delegation).
        (None, Some(c)) => user::exchange(p, client, &req, &c, audit).await,
        (None, None) => Err(OAuthError::invalid_request(
            "unsupported subject_token_type",
        )),
    }
}

/// Checks the RFC 8693 §2.1 parameters.
/// `subjects` add subject token types besides access tokens.
fn parse_request<'a>(
    params: &'a Params,
    subjects: &[Arc<dyn SubjectExchange>],
) -> Result<Request<'a>, OAuthError> {
    let subject_token = params
        .get("subject_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    let subject_type = params
        .get("subject_token_type")
        .ok_or_else(|| OAuthError::invalid_request("subject_token_type is required"))?;
    let subject_type = subject_type_of(subject_type, subjects)
        .ok_or_else(|| OAuthError::invalid_request("unsupported subject_token_type"))?;
    let actor = match (params.get("actor_token"), params.get("actor_token_type")) {
        (None, None) => None,
        (Some(t), Some(ty)) => Some((
            t.as_str(),
            ActorTokenType::parse(ty)
                .ok_or_else(|| OAuthError::invalid_request("unsupported actor_token_type"))?,
        )),
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type must not be sent without actor_token",
            ));
        }
    };
    let target = match (params.get("audience"), params.get("resource")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "send audience or resource, not both",
            ));
        }
        (_, Some(r)) if !is_resource_uri(r) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource must be an absolute URI without a fragment",
            ));
        }
        (a, r) => a.or(r).map(String::as_str),
    };
    if params
        .get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(OAuthError::invalid_request(
            "unsupported requested_token_type; only access tokens are issued",
        ));
    }
    let scope = match params.get("scope") {
        Some(s) => {
            Some(Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope("malformed scope"))?)
        }
        None => None,
    };
    Ok(Request {
        subject_token,
        subject_type,
        scope,
        actor,
        target,
        target_is_resource: params.contains_key("resource"),
        cnf: None,
    })
}

/// Validates an access token given as `subject_token` (§2.2.2: invalid is
/// `invalid_request`).
async fn subject_claims(p: &Provider, token: &str) -> Result<AccessClaims, OAuthError> {
    match p.validate_access_token(token).await {
        Ok(c) => Ok(c),
        Err(e) if e.code == ErrorCode::InvalidToken => Err(OAuthError::invalid_request(
            "the subject_token is invalid, expired or revoked",
        )),
        Err(e) => Err(e),
    }
}

/// The subject token's `act`, to be nested under the new actor.
pub fn prior_act(claims: &AccessClaims) -> Result<Option<Value>, OAuthError> {
    match claims.0.get("act") {
        None => Ok(None),
        Some(a @ Value::Object(_)) => Ok(Some(a.clone())),
        Some(_) => Err(OAuthError::invalid_request(
            "the subject_token's act is malformed",
        )),
    }
}

/// RFC 8693 §4.1: the current actor at the top, prior actors nested under `act`.
pub fn act_claim(actor: &str, prior: Option<Value>) -> Result<Value, OAuthError> {
    let mut depth = 1;
    let mut cur = prior.as_ref();
    while let Some(a) = cur {
        depth += 1;
        cur = a.get("act");
    }
    if depth > MAX_ACTORS {
        return Err(OAuthError::invalid_request(
            "the subject_token's actor chain is too long",
        ));
    }
    let mut act = Map::new();
    act.insert("sub".into(), json!(actor));
    if let Some(prior) = prior {
        act.insert("act".into(), prior);
    }
    Ok(Value::Object(act))
}

#[cfg(test)]
mod tests;
