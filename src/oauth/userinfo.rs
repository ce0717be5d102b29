//! The UserInfo endpoint (OpenID Connect Core §5.3) behind an RFC 6750 bearer token: the
//! claims of the token's scope, the standard claims the `claims` parameter asked for in
//! `userinfo` (§5.5), and the `verified_claims` the grant's user agreed to share (OIDC4IDA).
//! A DPoP-bound token is accepted only with a proof of its key (RFC 9449 §7), and every
//! refusal of such a token is a DPoP challenge. `sub` is the token's: the user as the
//! token's client sees them (Core §8; a pairwise `sub` is resolved to its user through
//! the token's grant, `oauth::subject`).

use serde_json::{Value, json};

use super::dpop::resource::{self, Presented, Refusal};
use super::error::{ErrorCode, OAuthError};
use super::provider::{Provider, paths};
use super::subject::TokenSubject;
use super::tokens::{requested_claims, user_claims};
use super::verified_claims;
use crate::store::StoreError;

/// Claims about the subject of the token `presented` to a `htm` request, released by
/// the token's scope.
pub async fn userinfo(
    p: &Provider,
    presented: &Presented<'_>,
    htm: &str,
) -> Result<Value, Refusal> {
    let claims = resource::token(p, presented, htm, &p.url(paths::USERINFO)).await?;
    let dpop = matches!(presented, Presented::Dpop { .. });
    released(p, &claims)
        .await
        .map_err(|e| Refusal::new(e, dpop))
}

async fn released(p: &Provider, claims: &super::tokens::AccessClaims) -> Result<Value, OAuthError> {
    if !claims.for_issuer(&p.issuer) {
        return Err(OAuthError::invalid_token(
            "the token is for another audience",
        ));
    }
    let scope = claims.scope();
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    let gone = || OAuthError::invalid_token("the user no longer exists");
    let local = match p.token_subject(claims).await? {
        Some(TokenSubject::User(local)) => local,
        Some(TokenSubject::Other(_)) | None => return Err(gone()),
    };
    let user = match p.stores.users.get_user(&local).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(e.into()),
    };
    let mut out = user_claims(&user, &scope);
    // The token's own `sub`, which `token_subject` proved is this user for its client.
    out.insert("sub".into(), json!(claims.str("sub")));
    if let Some(gid) = claims.str("grant_id")
        && let Some(member) = verified_claims::userinfo_request(p, gid).await?
    {
        out.extend(requested_claims(&user, &member.standard));
        if let Some(vc) = verified_claims::build(p, &user.sub, &member).await? {
            out.insert("verified_claims".into(), vc);
        }
    }
    Ok(Value::Object(out))
}
