//! Token exchange on an end user's access token (RFC 8693 §1.1, §2.1, §4.1, §4.4): a
//! client whose registration allows it (`token_exchange` metadata: audiences,
//! impersonation, delegation) exchanges a user's token that was issued to or for it for
//! a new token for that user — scope only narrowing, `aud` from `audience`/`resource`
//! among the client's audiences (`invalid_target` otherwise). Without an `actor_token`
//! the new token acts as the user (impersonation); with one (an access token or a JWT
//! Surety signed) the new token's `act` names the actor, earlier actors nested inside,
//! and a `may_act` in the subject token must name that actor. The new token belongs to
//! the subject token's grant, so revoking that grant revokes it too. Users are named as
//! the exchanging client sees them (OpenID Connect Core §8): a pairwise `sub` in a
//! subject or actor token is resolved to its user first (`oauth::subject`), and refused
//! when it cannot be.

use serde_json::{Map, Value, json};

use super::{ACCESS_TOKEN_TYPE, ActorTokenType, Audit, Request, act_claim, prior_act};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::subject::TokenSubject;
use crate::oauth::tokens::{AccessClaims, AccessGrant, TokenResponse};
use crate::store::{ClientRecord, TokenExchangePolicy};

pub(super) async fn exchange(
    p: &Provider,
    client: &ClientRecord,
    req: &Request<'_>,
    subject: &AccessClaims,
    audit: &mut Audit,
) -> Result<TokenResponse, OAuthError> {
    let policy = client.metadata.token_exchange.as_ref().ok_or_else(|| {
        OAuthError::unauthorized_client("the client may not exchange end users' tokens")
    })?;
    if subject.str("sub").is_none() {
        return Err(OAuthError::invalid_request(
            "the subject_token names no subject",
        ));
    }
    let resolved = p.token_subject(subject).await?.ok_or_else(|| {
        OAuthError::invalid_request("the subject_token's pairwise subject cannot be resolved")
    })?;
    audit.subject = resolved.id().to_owned();
    if subject.str("client_id") != Some(client.client_id.as_str())
        && !names(subject.0.get("aud"), &client.client_id)
    {
        return Err(OAuthError::invalid_request(
            "the subject_token was not issued to or for this client",
        ));
    }
    let act = act_of(p, client, policy, req, subject, audit).await?;
    let scope = narrowed(p, subject, req.scope.clone())?;
    let audience = target(policy, req.target)?;
    if let (Some(uri), true) = (audience, req.target_is_resource) {
        crate::oauth::resource::resolve(p, std::iter::once(uri)).await?;
    }
    let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
        sub: p.subject_as(client, &resolved),
        client_id: client.client_id.to_string(),
        scope: scope.clone(),
        grant_id: subject.str("grant_id").map(str::to_owned),
        auth_time: subject.0.get("auth_time").and_then(Value::as_i64),
        acr: subject.str("acr").map(str::to_owned),
        act,
        cnf: req.cnf.clone(),
        audience: audience.map(str::to_owned).into_iter().collect(),
        ..AccessGrant::default()
    })?;
    let mut resp_extra = Map::new();
    resp_extra.insert("issued_token_type".into(), json!(ACCESS_TOKEN_TYPE));
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope.to_string(),
        extra: resp_extra,
        ..Default::default()
    })
}

/// The new token's `act`: delegation names the actor over the subject's own actors;
/// impersonation keeps the subject's `act` as it is.
async fn act_of(
    p: &Provider,
    client: &ClientRecord,
    policy: &TokenExchangePolicy,
    req: &Request<'_>,
    subject: &AccessClaims,
    audit: &mut Audit,
) -> Result<Option<Value>, OAuthError> {
    let prior = prior_act(subject)?;
    let Some((token, ty)) = req.actor else {
        if !policy.impersonation {
            return Err(OAuthError::invalid_request(
                "the client may not impersonate users; send an actor_token",
            ));
        }
        may_act(subject, &client.client_id)?;
        audit.detail.push_str("; impersonation");
        return Ok(prior);
    };
    if !policy.delegation {
        return Err(OAuthError::invalid_request(
            "the client may not exchange with an actor_token",
        ));
    }
    let actor = actor_of(p, token, ty).await?;
    let actor = p.subject_as(client, &actor);
    let actor = actor.as_str();
    may_act(subject, actor)?;
    audit.detail.push_str(&format!("; delegation to {actor}"));
    act_claim(actor, prior).map(Some)
}

/// The actor a valid `actor_token` names: its `sub`, resolved.
async fn actor_of(
    p: &Provider,
    token: &str,
    ty: ActorTokenType,
) -> Result<TokenSubject, OAuthError> {
    let bad = || OAuthError::invalid_request("the actor_token is invalid, expired or revoked");
    let claims = match ty {
        ActorTokenType::AccessToken => p.validate_access_token(token).await.map_err(|e| {
            if e.code == ErrorCode::InvalidToken {
                bad()
            } else {
                e
            }
        })?,
        ActorTokenType::Jwt => {
            let now = p.now();
            let (_, c) = p.keys.verify_own(token, now).await.map_err(|_| bad())?;
            let c = AccessClaims(c);
            let exp = c.0.get("exp").and_then(Value::as_i64).unwrap_or(0);
            if c.str("iss") != Some(p.issuer.as_str()) || exp <= now {
                return Err(bad());
            }
            c
        }
    };
    if claims.str("sub").is_none_or(str::is_empty) {
        return Err(bad());
    }
    let resolved = match claims.str("client_id") {
        Some(_) => p.token_subject(&claims).await?,
        None => id_token_subject(p, &claims).await?,
    };
    resolved.ok_or_else(|| {
        OAuthError::invalid_request("the actor_token's pairwise subject cannot be resolved")
    })
}

/// The user an ID token names (`sub` as its `azp`/`aud` client sees them): a public
/// client's `sub` is the user's id; a pairwise one cannot be resolved from an ID token.
async fn id_token_subject(
    p: &Provider,
    claims: &AccessClaims,
) -> Result<Option<TokenSubject>, OAuthError> {
    let sub = claims.str("sub").unwrap_or_default();
    let aud = claims.str("azp").or_else(|| claims.str("aud"));
    let pairwise = match aud {
        Some(id) => match p.stores.clients.get_client(id).await {
            Ok(c) => !c.metadata.subject_type.is_public(),
            Err(crate::store::StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        },
        None => false,
    };
    Ok((!pairwise).then(|| TokenSubject::User(sub.to_owned())))
}

/// §4.4: a `may_act` in the subject token names who may act for its subject.
fn may_act(subject: &AccessClaims, actor: &str) -> Result<(), OAuthError> {
    match subject.0.get("may_act") {
        None => Ok(()),
        Some(m) if m.get("sub").and_then(Value::as_str) == Some(actor) => Ok(()),
        Some(_) => Err(OAuthError::invalid_request(
            "the subject_token's may_act does not name this actor",
        )),
    }
}

/// The scope: what was asked, only narrowing the subject token's, never an internal or
/// unknown scope; the subject's own scope when none is asked.
fn narrowed(
    p: &Provider,
    subject: &AccessClaims,
    asked: Option<Scope>,
) -> Result<Scope, OAuthError> {
    let held = subject.scope();
    let scope = asked.unwrap_or_else(|| held.clone());
    if !scope.is_subset(&held) {
        return Err(OAuthError::invalid_scope(
            "an exchanged token's scope can only narrow the subject_token's",
        ));
    }
    if p.scopes.first_undelegable(&scope).is_some() {
        return Err(OAuthError::invalid_scope(
            "the requested scope is unknown or may not be delegated",
        ));
    }
    Ok(scope)
}

/// The `aud` asked for, if the client may target it.
fn target<'a>(
    policy: &TokenExchangePolicy,
    asked: Option<&'a str>,
) -> Result<Option<&'a str>, OAuthError> {
    match asked {
        Some(a) if !policy.audiences.iter().any(|x| x == a) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the client may not ask for a token for this audience",
        )),
        a => Ok(a),
    }
}

/// Whether an `aud` claim (string or array) names `who`.
fn names(aud: Option<&Value>, who: &str) -> bool {
    match aud {
        Some(Value::String(a)) => a == who,
        Some(Value::Array(v)) => v.iter().any(|a| a.as_str() == Some(who)),
        _ => false,
    }
}
