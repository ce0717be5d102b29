//! `refresh_token` (RFC 6749 §6, RFC 9700 §4.14.2): rotated on every use, and a family
//! (one grant) never has more than one live token. Presenting a rotated token again is
//! reuse and revokes the whole grant, unless the operator set a grace window
//! (`SURETY_REFRESH_GRACE`, default 0): then one retry of a lost response is honoured
//! and replaces the successor it lost (see `GrantStore::rotate_refresh`). The scope can
//! only narrow.

use async_trait::async_trait;

use super::{ClientAuthPolicy, Grant, Params};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessGrant, IdTokenContext, TokenResponse};
use crate::store::{Rotation, StoreError};
use crate::util::secret_hash;

pub struct RefreshToken;

#[async_trait]
impl Grant for RefreshToken {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::PublicAllowed
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
        let presented = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let invalid =
            || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let old = match p.stores.grants.find_refresh(&secret_hash(presented)).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        if old.client_id != client.client_id {
            return Err(invalid());
        }
        let mut held = Scope::parse(&old.scope).unwrap_or_default();
        // An app's authorization may have been narrowed or revoked since: its tokens carry
        // only what it holds now, for its subaccount.
        let account_sid = match crate::connect::app_of(p, &client.client_id).await? {
            Some(_) => {
                let Some(auth) = crate::connect::current(p, &old.sub, &client.client_id).await?
                else {
                    return Err(invalid());
                };
                let perms = crate::connect::permissions_in(&held);
                let now_held = Scope::parse(&auth.permissions).unwrap_or_default();
                held = crate::connect::without_permissions(&held)
                    .union(&perms.intersection(&now_held));
                Some(auth.subaccount_sid)
            }
            None => None,
        };
        let scope = match params.get("scope") {
            Some(s) => {
                Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope("malformed scope"))?
            }
            None => held.clone(),
        };
        if !scope.is_subset(&held) {
            return Err(OAuthError::invalid_scope(
                "a refreshed scope can only narrow",
            ));
        }
        let grant = match p.stores.grants.get_grant(&old.grant_id).await {
            Ok(g) => g,
            Err(StoreError::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        // RFC 8707 §2.2: a refresh may narrow to some of the grant's resources.
        let audience = crate::oauth::resource::narrowed(&grant.resources, params)?;
        // The successor keeps the grant's full scope, so a later refresh may ask again
        // for what this one narrowed away.
        let (token, successor) = p.new_refresh(&old.grant_id, &client.client_id, &old.sub, &held);
        match p
            .stores
            .grants
            .rotate_refresh(
                &old.token_hash,
                &successor,
                p.now(),
                p.settings.refresh_grace,
            )
            .await?
        {
            Rotation::Rotated(_) => {}
            Rotation::Reused(_) => {
                tracing::warn!(client_id = %client.client_id, "refresh token reuse; revoking its grant");
                p.stores.grants.revoke_grant(&grant, p.now()).await?;
                return Err(invalid());
            }
            Rotation::Invalid | Rotation::Refused => return Err(invalid()),
        }
        let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
            sub: old.sub.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            grant_id: Some(grant.id.clone()),
            auth_time: grant.auth_time,
            acr: grant.acr.clone(),
            extra: super::authorization_code::account_extra(account_sid.as_deref()),
            audience,
        })?;
        let id_token = if scope.contains("openid") {
            let user = p
                .stores
                .users
                .get_user(&old.sub)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => invalid(),
                    e => e.into(),
                })?;
            Some(p.mint_id_token(
                client,
                &user,
                IdTokenContext {
                    scope: &scope,
                    nonce: None,
                    auth_time: grant.auth_time,
                    acr: grant.acr.as_deref(),
                    amr: &grant.amr,
                    access_token: Some(&access_token),
                    verified_claims: None,
                    requested: &[],
                },
            )?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: Some(token),
            id_token,
            scope: scope.to_string(),
            extra: super::authorization_code::account_extra(account_sid.as_deref()),
        })
    }
}
