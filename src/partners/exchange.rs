//! Token exchange on accounts (RFC 8693) for support impersonation: an authenticated
//! client — a platform operator (registered scope holds `surety:impersonate`) or a
//! partner (for its own accounts) — exchanges a subject token for an access token acting
//! on an account. The subject token is an access token Surety issued that acts on an
//! account (§3 `access_token` type, with `account_sid`) or an account SID
//! (`urn:surety:params:token-type:account_sid`). The issued token names the actor in
//! `act` with earlier actors nested inside (§4.1); its `sub` and `account_sid` are the
//! account SID (a subject token's `partner_user` is kept); its scope is capped by the
//! subject (for a partner naming a bare account SID: the permission registry) and by the
//! partner's and account's denied scopes. The engine's [`SubjectExchange`] for accounts,
//! registered in `app.rs`; the engine parses the request, validates the subject token
//! and audits every use.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::is_account_sid;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::allowed_scope;
use crate::oauth::grants::token_exchange::{
    ACCESS_TOKEN_TYPE, Audit, Request, SubjectExchange, act_claim, prior_act,
};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessClaims, AccessGrant, Confirmation, TokenResponse};
use crate::resource::permissions::Permission;
use crate::store::{AccountRecord, ClientRecord, PartnerRecord, StoreError};
use crate::store::{AccountStatus, PartnerStatus};

/// Surety's token type for a bare account SID (`AC` + 32 hex).
pub const ACCOUNT_SID_TYPE: &str = "urn:surety:params:token-type:account_sid";
/// The registered scope that makes a client a platform operator.
pub const IMPERSONATE_SCOPE: &str = "surety:impersonate";
/// Actor-level scopes never delegated into a token for an account (the second is the
/// partner's own Partner API scope).
const RESERVED_SCOPES: &str = "surety:impersonate partner:api verify";
/// What a client is told when the account is unknown or not its to act on, alike.
const NOT_YOURS: &str = "the subject_token does not name an account this client may act on";

/// Exchanges whose subject is an account.
pub struct AccountExchange;

#[async_trait]
impl SubjectExchange for AccountExchange {
    fn token_type(&self) -> (&'static str, &'static str) {
        (ACCOUNT_SID_TYPE, "account_sid")
    }

    /// A token acting on an account (an end user's has no `account_sid`).
    fn owns(&self, subject: &AccessClaims) -> bool {
        subject.str("account_sid").is_some()
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: &ClientRecord,
        req: Request<'_>,
        claims: Option<AccessClaims>,
        audit: &mut Audit,
    ) -> Result<TokenResponse, OAuthError> {
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
        let cnf = req.cnf.clone();
        issue(p, client, &account, subject, scope, cnf)
    }
}

/// The access token acting on `account`, with the actor chain and `account_sid`.
fn issue(
    p: &Provider,
    client: &ClientRecord,
    account: &AccountRecord,
    subject: Subject,
    scope: Scope,
    cnf: Option<Confirmation>,
) -> Result<TokenResponse, OAuthError> {
    let act = act_claim(&client.client_id, subject.prior_act)?;
    let mut extra = Map::new();
    extra.insert("account_sid".into(), json!(account.sid));
    if let Some(u) = subject.partner_user {
        extra.insert("partner_user".into(), u);
    }
    let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
        sub: crate::oauth::subject::Subject::account(&account.sid),
        client_id: client.client_id.to_string(),
        scope: scope.clone(),
        extra,
        act: Some(act),
        cnf,
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

/// The client's right to act: a partner by its id (suspended partners never act, even if
/// their registration names `surety:impersonate`), otherwise an operator by its scope.
async fn actor(p: &Provider, client: &ClientRecord) -> Result<Actor, OAuthError> {
    match p.stores.partners.get_partner(&client.client_id).await {
        Ok(pt) if pt.status == PartnerStatus::Active => return Ok(Actor::Partner(Box::new(pt))),
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
    if account.status != AccountStatus::Active {
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
    let mut denied = account.limits.denied_scopes.clone();
    if let Some(l) = partner_limits {
        denied.extend(l.denied_scopes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn scope_is_capped_by_allowed_denied_and_reserved() {
        let allowed = scope("surety:impersonate partner:api calls:read messages:send");
        let denied = scope("messages:send");
        assert_eq!(
            grant_scope(None, &allowed, &denied).unwrap(),
            scope("calls:read")
        );
        assert_eq!(
            grant_scope(Some(scope("calls:read")), &allowed, &denied).unwrap(),
            scope("calls:read")
        );
        for bad in [
            "messages:send",
            "surety:impersonate",
            "partner:api",
            "numbers:manage",
        ] {
            let e = grant_scope(Some(scope(bad)), &allowed, &denied).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidScope, "{bad}");
        }
    }
}
