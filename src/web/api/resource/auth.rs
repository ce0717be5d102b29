//! How the resource API authenticates: a Surety access token that names an account
//! (`account_sid`), checked by the guard's [`SuretyTokens`] (key ring + revocation), or
//! HTTP Basic with an account SID and its auth token (SHA-256 compared in constant
//! time), which carries every permission of that account.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, header};

use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::partners::is_account_sid;
use crate::store::StoreError;
use crate::util::{ct_eq, secret_hash};
use crate::web::extract::credentials;
use crate::web::guard::{
    Authenticate, Grants, GuardError, Principal, Scheme, SuretyTokens, VerifyToken,
};

/// Bearer (Surety access tokens for an account) or Basic (account SID + auth token).
pub struct AccountAuth {
    provider: Arc<Provider>,
    tokens: SuretyTokens,
}

impl AccountAuth {
    pub fn new(provider: Arc<Provider>) -> Self {
        Self {
            tokens: SuretyTokens(provider.clone()),
            provider,
        }
    }

    async fn bearer(&self, token: &str) -> Result<Principal, GuardError> {
        let p = Principal::from_claims(self.tokens.verify(token).await?);
        if !p.account_sid.as_deref().is_some_and(is_account_sid) {
            return Err(GuardError::InvalidToken(
                "the access token does not act on an account".into(),
            ));
        }
        Ok(p)
    }

    async fn basic(&self, headers: &HeaderMap) -> Result<Principal, GuardError> {
        let creds =
            credentials(headers, &Params::new()).map_err(|_| GuardError::InvalidCredentials)?;
        let (sid, secret) = creds.basic.ok_or(GuardError::InvalidCredentials)?;
        if !is_account_sid(&sid) {
            return Err(GuardError::InvalidCredentials);
        }
        let account = match self.provider.stores.accounts.get_account(&sid).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(GuardError::InvalidCredentials),
            Err(StoreError::Backend(e)) => {
                tracing::warn!(error = %e, "account lookup failed");
                return Err(GuardError::Unavailable);
            }
            Err(e) => {
                tracing::error!(error = %e, "account lookup failed");
                return Err(GuardError::Internal);
            }
        };
        let presented = secret_hash(&secret);
        if !ct_eq(presented.as_bytes(), account.auth_token_hash.as_bytes())
            || account.status == "closed"
        {
            return Err(GuardError::InvalidCredentials);
        }
        Ok(Principal {
            scheme: Scheme::Basic,
            subject: Some(sid.clone()),
            account_sid: Some(sid),
            grants: Grants::All,
            claims: Default::default(),
        })
    }
}

#[async_trait]
impl Authenticate for AccountAuth {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, GuardError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(GuardError::Missing { basic: true });
        };
        let value = value.to_str().unwrap_or_default();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            self.bearer(rest.trim()).await
        } else if scheme.eq_ignore_ascii_case("basic") {
            self.basic(headers).await
        } else {
            Err(GuardError::Missing { basic: true })
        }
    }
}
