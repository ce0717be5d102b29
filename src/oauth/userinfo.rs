//! The UserInfo endpoint (OpenID Connect Core §5.3) behind an RFC 6750 bearer token.

use serde_json::{Value, json};

use super::error::{ErrorCode, OAuthError};
use super::provider::Provider;
use super::tokens::user_claims;
use crate::store::StoreError;

/// Claims about the token's subject, released by the token's scope.
pub async fn userinfo(p: &Provider, bearer: &str) -> Result<Value, OAuthError> {
    let claims = p.validate_access_token(bearer).await?;
    let scope = claims.scope();
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    let sub = claims.str("sub").unwrap_or_default();
    let user = match p.stores.users.get_user(sub).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Err(OAuthError::invalid_token("the user no longer exists"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = user_claims(&user, &scope);
    out.insert("sub".into(), json!(user.sub));
    Ok(Value::Object(out))
}
