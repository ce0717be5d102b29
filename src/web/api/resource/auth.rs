//! How the resource API authenticates: a Surety access token that names an account
//! (`account_sid`), checked by the guard's [`SuretyTokens`] (key ring + revocation) —
//! as `Bearer`, or as `DPoP` with a proof of the key it is bound to (RFC 9449 §7,
//! [`SuretyProofs`]) — or
//! HTTP Basic with an account SID and its auth token (SHA-256 compared in constant
//! time), which carries every permission of that account, or HTTP Basic with a scoped API
//! key's SID and secret (compared the same way), which acts as the key's account with
//! exactly the key's permissions while the key is active.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, header};

use super::keys::is_key_sid;
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::partners::is_account_sid;
use crate::store::{AccountStatus, GrantStatus, StoreError, StoreResult};
use crate::util::{ct_eq, secret_hash};
use crate::web::extract::credentials;
use crate::web::guard::dpop::principal;
use crate::web::guard::{
    Authenticate, DpopSupport, Grants, GuardError, Incoming, Principal, Scheme, SuretyProofs,
    SuretyTokens,
};

/// A credential lookup's failure: an unknown credential, or an unreachable store.
fn found<T>(r: StoreResult<T>) -> Result<T, GuardError> {
    match r {
        Ok(v) => Ok(v),
        Err(StoreError::NotFound) => Err(GuardError::InvalidCredentials),
        Err(StoreError::Backend(e)) => {
            tracing::warn!(error = %e, "credential lookup failed");
            Err(GuardError::Unavailable)
        }
        Err(e) => {
            tracing::error!(error = %e, "credential lookup failed");
            Err(GuardError::Internal)
        }
    }
}

/// Bearer or DPoP (Surety access tokens for an account) or Basic (account SID + auth
/// token, or key SID + key secret).
pub struct AccountAuth {
    provider: Arc<Provider>,
    tokens: SuretyTokens,
    dpop: DpopSupport,
}

impl AccountAuth {
    pub fn new(provider: Arc<Provider>) -> Self {
        Self {
            tokens: SuretyTokens(provider.clone()),
            dpop: DpopSupport::new(provider.issuer.clone(), SuretyProofs(provider.clone())),
            provider,
        }
    }

    async fn token(&self, req: &Incoming<'_>) -> Result<Principal, GuardError> {
        let p = principal(req, &self.tokens, Some(&self.dpop), true).await?;
        if !p.account_sid.as_deref().is_some_and(is_account_sid) {
            let e = GuardError::InvalidToken("the access token does not act on an account".into());
            return Err(match p.scheme {
                Scheme::Dpop => e.dpop(),
                _ => e,
            });
        }
        Ok(p)
    }

    async fn basic(&self, headers: &HeaderMap) -> Result<Principal, GuardError> {
        let creds =
            credentials(headers, &Params::new()).map_err(|_| GuardError::InvalidCredentials)?;
        let (sid, secret) = creds.basic.ok_or(GuardError::InvalidCredentials)?;
        if is_key_sid(&sid) {
            return self.key(&sid, &secret).await;
        }
        if !is_account_sid(&sid) {
            return Err(GuardError::InvalidCredentials);
        }
        let account = found(self.provider.stores.accounts.get_account(&sid).await)?;
        let presented = secret_hash(&secret);
        if !ct_eq(presented.as_bytes(), account.auth_token_hash.as_bytes())
            || account.status == AccountStatus::Closed
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

    /// A scoped API key: its account, its permissions. The account's status is checked
    /// by the domain on every operation, as for the account's own credentials.
    async fn key(&self, sid: &str, secret: &str) -> Result<Principal, GuardError> {
        let key = found(self.provider.stores.api_keys.get_api_key(sid).await)?;
        let presented = secret_hash(secret);
        if !ct_eq(presented.as_bytes(), key.secret_hash.as_bytes())
            || key.status != GrantStatus::Active
        {
            return Err(GuardError::InvalidCredentials);
        }
        Ok(Principal {
            scheme: Scheme::Basic,
            subject: Some(key.sid),
            account_sid: Some(key.account_sid),
            grants: Grants::Scope(Scope::parse(&key.permissions).unwrap_or_default()),
            claims: Default::default(),
        })
    }
}

#[async_trait]
impl Authenticate for AccountAuth {
    async fn authenticate(&self, req: Incoming<'_>) -> Result<Principal, GuardError> {
        let missing = || GuardError::Missing { basic: true }.dpop();
        let Some(value) = req.headers.get(header::AUTHORIZATION) else {
            return Err(missing());
        };
        let value = value.to_str().unwrap_or_default();
        let scheme = value.split_once(' ').map_or(value, |(s, _)| s);
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") {
            self.token(&req).await
        } else if scheme.eq_ignore_ascii_case("basic") {
            self.basic(req.headers).await
        } else {
            Err(missing())
        }
    }
}
