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

use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::partners::is_account_sid;
use crate::resource::keys::{self, BasicCredential, CredentialError};
use crate::store::StoreError;
use crate::web::extract::credentials;
use crate::web::guard::dpop::principal;
use crate::web::guard::{
    Authenticate, DpopSupport, Grants, GuardError, Incoming, Principal, Scheme, SuretyProofs,
    SuretyTokens,
};

/// A Basic credential's refusal: an unknown or wrong credential, or an unreachable
/// store.
fn refused(e: CredentialError) -> GuardError {
    match e {
        CredentialError::Invalid => GuardError::InvalidCredentials,
        CredentialError::Store(StoreError::Backend(e)) => {
            tracing::warn!(error = %e, "credential lookup failed");
            GuardError::Unavailable
        }
        CredentialError::Store(e) => {
            tracing::error!(error = %e, "credential lookup failed");
            GuardError::Internal
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
        let (user, secret) = creds.basic.ok_or(GuardError::InvalidCredentials)?;
        let credential = keys::authenticate(&self.provider.stores, &user, &secret)
            .await
            .map_err(refused)?;
        let (subject, account_sid, grants) = match credential {
            BasicCredential::Account(sid) => (sid.to_string(), sid.into(), Grants::All),
            BasicCredential::Key {
                sid,
                account_sid,
                permissions,
            } => (sid, account_sid, Grants::Scope(permissions)),
        };
        Ok(Principal {
            scheme: Scheme::Basic,
            subject: Some(subject),
            account_sid: Some(account_sid),
            grants,
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
