//! Token introspection (RFC 7662) and revocation (RFC 7009). Both require client
//! authentication. An unknown, expired or revoked token introspects as `{"active":false}`
//! and nothing else; a DPoP-bound access token shows its `cnf` and `token_type: DPoP`
//! (RFC 9449 §6.2); revoking a refresh token revokes its grant and so every access token
//! issued under it. `sub` is the user as the token's client sees them (OpenID Connect Core
//! §8): an access token's own, a refresh token's mapped for its client.

use serde_json::{Map, Value, json};

use super::client_auth::{self, Credentials};
use super::error::{ErrorCode, OAuthError};
use super::grants::Params;
use super::provider::{Provider, paths};
use crate::store::StoreError;
use crate::util::secret_hash;

/// `POST /introspect`.
pub async fn introspect(
    p: &Provider,
    creds: &Credentials,
    params: &Params,
) -> Result<Value, OAuthError> {
    client_auth::authenticate(p, creds, &p.url(paths::INTROSPECT), false).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let hint = params.get("token_type_hint").map(String::as_str);
    let inactive = json!({"active": false});
    if hint != Some("refresh_token") {
        match p.validate_access_token(token).await {
            Ok(c) => return Ok(active_access(c.0)),
            Err(e) if e.code == ErrorCode::InvalidToken => {}
            Err(e) => return Err(e),
        }
    }
    match refresh_claims(p, token).await? {
        Some(v) => Ok(v),
        None => Ok(inactive),
    }
}

/// An active access token: its claims (a bound one's `cnf` among them, RFC 9449 §6.2)
/// and its `token_type`, `DPoP` when bound.
fn active_access(mut c: Map<String, Value>) -> Value {
    let bound = super::customize::Confirmation::of_claims(&c);
    c.insert("active".into(), json!(true));
    c.insert(
        "token_type".into(),
        json!(super::dpop::binding::token_type(bound.as_ref())),
    );
    Value::Object(c)
}

async fn refresh_claims(p: &Provider, token: &str) -> Result<Option<Value>, OAuthError> {
    if token.len() > 512 {
        return Ok(None);
    }
    let r = match p.stores.grants.find_refresh(&secret_hash(token)).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let now = p.now();
    if r.rotated_at.is_some() || r.expires_at <= now {
        return Ok(None);
    }
    match p.stores.grants.get_grant(&r.grant_id).await {
        Ok(g) if g.revoked_at.is_none() => {}
        Ok(_) | Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let sub = match p.stores.clients.get_client(&r.client_id).await {
        Ok(c) => p.subject(&c, &r.sub).as_str().to_owned(),
        Err(StoreError::NotFound) => r.sub.clone(),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(json!({
        "active": true, "token_type": "refresh_token", "client_id": r.client_id, "sub": sub,
        "scope": r.scope, "exp": r.expires_at, "iat": r.created_at, "iss": p.issuer,
    })))
}

/// `POST /revoke`: always 200 for a token that is unknown or not the caller's (RFC 7009 §2.2).
pub async fn revoke(p: &Provider, creds: &Credentials, params: &Params) -> Result<(), OAuthError> {
    let client = client_auth::authenticate(p, creds, &p.url(paths::REVOKE), true)
        .await?
        .client;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    match params.get("token_type_hint").map(String::as_str) {
        None | Some("access_token") | Some("refresh_token") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedTokenType,
                "unsupported token_type_hint",
            ));
        }
    }
    if token.len() <= 512 {
        match p.stores.grants.find_refresh(&secret_hash(token)).await {
            Ok(r) if client.client_id == r.client_id => {
                let g = p.stores.grants.get_grant(&r.grant_id).await?;
                p.stores.grants.revoke_grant(&g, p.now()).await?;
                return Ok(());
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Ok(c) = p.validate_access_token(token).await
        && c.str("client_id") == Some(client.client_id.as_str())
    {
        let exp = c.0.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if let Some(jti) = c.str("jti") {
            p.stores.grants.revoke_jti(jti, exp).await?;
        }
    }
    Ok(())
}
