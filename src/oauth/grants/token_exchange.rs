//! `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) for support
//! impersonation: an authenticated client — a platform operator (registered scope holds
//! `surety:impersonate`) or a partner (for its own accounts) — exchanges a subject token
//! for an access token acting on an account. The subject token is an access token Surety
//! issued (§3 `access_token` type) or an account SID (`urn:surety:params:token-type:
//! account_sid`). The issued token names the actor in `act` with earlier actors nested
//! inside (§4.1); its `sub` and `account_sid` are the account SID (a subject token's
//! `partner_user` is kept); its scope is capped by the subject (for a partner naming a
//! bare account SID: the permission registry) and by the partner's and account's denied
//! scopes. A subject token that is invalid or
//! unacceptable by policy is `invalid_request` (§2.2.2). Every use is audited.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::{ClientAuthPolicy, Grant, Params, allowed_scope};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessClaims, AccessGrant, TokenResponse};
use crate::partners::{PartnerLimits, is_account_sid};
use crate::resource::permissions::Permission;
use crate::store::{AccountRecord, AuditEvent, ClientRecord, PartnerRecord, StoreError};

mod user;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: an OAuth 2.0 access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Surety's token type for a bare account SID (`AC` + 32 hex).
pub const ACCOUNT_SID_TYPE: &str = "urn:surety:params:token-type:account_sid";
/// The registered scope that makes a client a platform operator.
pub const IMPERSONATE_SCOPE: &str = "surety:impersonate";
/// Actor-level scopes never delegated into a token for an account (the second is the
/// partner's own Partner API scope).
const RESERVED_SCOPES: &str = "surety:impersonate partner:api verify";
/// Most actors an `act` chain may name, the new one included.
const MAX_ACTORS: usize = 8;
/// The audit log's action name.
const ACTION: &str = "token-exchange";
/// What a client is told when the account is unknown or not its to act on, alike.
const NOT_YOURS: &str = "the subject_token does not name an account this client may act on";

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
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let client = &client
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
            .client;
        let mut audit = Audit::default();
        let r = run(p, client, params, &mut audit).await;
        audit.record(p, &client.client_id, &r).await;
        r
    }
}

/// The subject token types this server accepts (RFC 8693 §2.1 `subject_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectTokenType {
    AccessToken,
    AccountSid,
}

impl SubjectTokenType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            ACCESS_TOKEN_TYPE => Some(Self::AccessToken),
            ACCOUNT_SID_TYPE => Some(Self::AccountSid),
            _ => None,
        }
    }
    fn short(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::AccountSid => "account_sid",
        }
    }
}

/// A well-formed exchange request.
#[derive(Debug)]
struct Request<'a> {
    subject_token: &'a str,
    subject_type: SubjectTokenType,
    scope: Option<Scope>,
    /// The `actor_token` and its type (§2.1), both or neither.
    actor: Option<(&'a str, ActorTokenType)>,
    /// The `audience` or `resource` (RFC 8707) asked for, if any.
    target: Option<&'a str>,
    /// The target came as `resource`: it must also be a registered resource server.
    target_is_resource: bool,
}

/// The actor token types this server accepts: its own access tokens and JWTs it signed
/// (ID tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActorTokenType {
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

/// Who is acting: an operator may act on any account, a partner on its own.
#[derive(Debug)]
enum Actor {
    Operator,
    Partner(Box<PartnerRecord>),
}

/// What the subject token stands for.
#[derive(Debug)]
struct Subject {
    account_sid: String,
    /// The subject token's `partner_user` (the partner's name for the person at the
    /// account), carried over unchanged.
    partner_user: Option<Value>,
    /// The subject token's scope (`None` for an account SID).
    scope: Option<Scope>,
    /// The subject token's `act`, nested under the new actor.
    prior_act: Option<Value>,
}

/// What the audit line will say besides actor and outcome.
#[derive(Debug)]
struct Audit {
    subject: String,
    detail: String,
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
    audit: &mut Audit,
) -> Result<TokenResponse, OAuthError> {
    let req = parse_request(params)?;
    audit.detail = format!("subject_token_type={}", req.subject_type.short());
    let claims = match req.subject_type {
        SubjectTokenType::AccessToken => Some(subject_claims(p, req.subject_token).await?),
        SubjectTokenType::AccountSid => None,
    };
    if let Some(c) = claims.as_ref().filter(|c| c.str("account_sid").is_none()) {
        // An end user's token: the general exchange (impersonation or delegation).
        return user::exchange(p, client, &req, c, audit).await;
    }
    if req.actor.is_some() || req.target.is_some() {
        return Err(OAuthError::invalid_request(
            "on an account the authenticated client is the actor and the audience is this server; \
             actor_token, audience and resource are for end users' tokens",
        ));
    }
    let actor = actor(p, client).await?;
    let subject = subject(&req, claims, audit)?;
    let account = account(p, &actor, &subject.account_sid, audit).await?;
    let allowed = match (&subject.scope, &actor) {
        (Some(s), _) => s.clone(),
        (None, Actor::Partner(_)) => partner_allowed(client),
        (None, Actor::Operator) => allowed_scope(client).unwrap_or_default(),
    };
    if req
        .scope
        .as_ref()
        .is_some_and(|s| p.scopes.first_undelegable(s).is_some())
    {
        return Err(OAuthError::invalid_scope(
            "the requested scope is unknown or may not be delegated",
        ));
    }
    let scope = grant_scope(
        req.scope,
        &allowed,
        &denied_scopes(p, &actor, &account).await?,
    )?;
    let act = act_claim(&client.client_id, subject.prior_act)?;
    let mut extra = Map::new();
    extra.insert("act".into(), act);
    extra.insert("account_sid".into(), json!(account.sid));
    if let Some(u) = subject.partner_user {
        extra.insert("partner_user".into(), u);
    }
    let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
        sub: account.sid.clone(),
        client_id: client.client_id.clone(),
        scope: scope.clone(),
        extra,
        ..AccessGrant::default()
    })?;
    let mut resp_extra = Map::new();
    resp_extra.insert("issued_token_type".into(), json!(ACCESS_TOKEN_TYPE));
    resp_extra.insert("account_sid".into(), json!(account.sid));
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope.to_string(),
        extra: resp_extra,
        ..Default::default()
    })
}

/// Checks the RFC 8693 §2.1 parameters.
fn parse_request(params: &Params) -> Result<Request<'_>, OAuthError> {
    let subject_token = params
        .get("subject_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    let subject_type = params
        .get("subject_token_type")
        .ok_or_else(|| OAuthError::invalid_request("subject_token_type is required"))?;
    let subject_type = SubjectTokenType::parse(subject_type)
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
    })
}

/// The client's right to act: a partner by its id (suspended partners never act, even if
/// their registration names `surety:impersonate`), otherwise an operator by its scope.
async fn actor(p: &Provider, client: &ClientRecord) -> Result<Actor, OAuthError> {
    match p.stores.partners.get_partner(&client.client_id).await {
        Ok(pt) if pt.status == "active" => return Ok(Actor::Partner(Box::new(pt))),
        Ok(_) => return Err(OAuthError::unauthorized_client("the partner is suspended")),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    if allowed_scope(client).is_some_and(|s| s.contains(IMPERSONATE_SCOPE)) {
        return Ok(Actor::Operator);
    }
    Err(OAuthError::unauthorized_client(
        "the client may not act on accounts",
    ))
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

/// Resolves the subject to an account SID (and, for an access token, its `sub`, scope
/// and `act`).
fn subject(
    req: &Request<'_>,
    claims: Option<AccessClaims>,
    audit: &mut Audit,
) -> Result<Subject, OAuthError> {
    let Some(claims) = claims else {
        if !is_account_sid(req.subject_token) {
            return Err(OAuthError::invalid_request(
                "the subject_token is not an account SID",
            ));
        }
        audit.subject = req.subject_token.to_owned();
        return Ok(Subject {
            account_sid: req.subject_token.to_owned(),
            partner_user: None,
            scope: None,
            prior_act: None,
        });
    };
    let sid = claims
        .str("account_sid")
        .filter(|s| is_account_sid(s))
        .ok_or_else(|| {
            OAuthError::invalid_request("the subject_token does not act on an account")
        })?;
    audit.subject = sid.to_owned();
    Ok(Subject {
        account_sid: sid.to_owned(),
        partner_user: claims.0.get("partner_user").cloned(),
        scope: Some(claims.scope()),
        prior_act: prior_act(&claims)?,
    })
}

/// The subject token's `act`, to be nested under the new actor.
fn prior_act(claims: &AccessClaims) -> Result<Option<Value>, OAuthError> {
    match claims.0.get("act") {
        None => Ok(None),
        Some(a @ Value::Object(_)) => Ok(Some(a.clone())),
        Some(_) => Err(OAuthError::invalid_request(
            "the subject_token's act is malformed",
        )),
    }
}

/// Loads the account and checks the actor may act on it. An unknown account and another
/// partner's account read alike, so a partner learns nothing of accounts not its own.
async fn account(
    p: &Provider,
    actor: &Actor,
    sid: &str,
    audit: &mut Audit,
) -> Result<AccountRecord, OAuthError> {
    let account = match p.stores.accounts.get_account(sid).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => {
            audit.detail.push_str("; unknown account");
            return Err(OAuthError::invalid_request(NOT_YOURS));
        }
        Err(e) => return Err(e.into()),
    };
    if let Actor::Partner(pt) = actor
        && account.partner_id.as_deref() != Some(pt.id.as_str())
    {
        audit.detail.push_str("; account of another partner");
        return Err(OAuthError::invalid_request(NOT_YOURS));
    }
    if account.status != "active" {
        return Err(OAuthError::invalid_request("the account is not active"));
    }
    Ok(account)
}

/// What a partner may delegate on a bare account SID: every permission of the registry
/// (the account's own credentials carry them all) and its registered scope. Partners
/// have no allow-list; [`grant_scope`] takes off what the partner's and the account's
/// limits deny, and the reserved scopes.
fn partner_allowed(client: &ClientRecord) -> Scope {
    let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let registry = Scope::parse(&all.join(" ")).unwrap_or_default();
    match allowed_scope(client) {
        Some(s) => s.union(&registry),
        None => registry,
    }
}

/// The scopes no token for `account` may carry: its own and its partner's denied scopes.
async fn denied_scopes(
    p: &Provider,
    actor: &Actor,
    account: &AccountRecord,
) -> Result<Scope, OAuthError> {
    let partner_limits = match (actor, account.partner_id.as_deref()) {
        (Actor::Partner(pt), _) => Some(pt.limits.clone()),
        (Actor::Operator, Some(id)) => match p.stores.partners.get_partner(id).await {
            Ok(pt) => Some(pt.limits),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        (Actor::Operator, None) => None,
    };
    let mut denied = PartnerLimits::of(&account.limits).denied_scopes;
    if let Some(l) = partner_limits {
        denied.extend(PartnerLimits::of(&l).denied_scopes);
    }
    Ok(Scope::parse(&denied.join(" ")).unwrap_or_default())
}

/// The scope to issue: the request (or, if none, everything allowed), which must lie
/// within `allowed` less the denied and reserved scopes.
fn grant_scope(
    requested: Option<Scope>,
    allowed: &Scope,
    denied: &Scope,
) -> Result<Scope, OAuthError> {
    let reserved = Scope::parse(RESERVED_SCOPES).unwrap_or_default();
    let allowed = allowed.difference(denied).difference(&reserved);
    match requested {
        None => Ok(allowed),
        Some(s) if s.is_subset(&allowed) => Ok(s),
        Some(_) => Err(OAuthError::invalid_scope(
            "the requested scope exceeds what may be delegated for this account",
        )),
    }
}

/// RFC 8693 §4.1: the current actor at the top, prior actors nested under `act`.
pub(super) fn act_claim(actor: &str, prior: Option<Value>) -> Result<Value, OAuthError> {
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
