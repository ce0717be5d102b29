//! `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): a partner's signed
//! assertion for one of its accounts is exchanged for an access token acting on that
//! account. Client authentication is optional (§3.1). The token names who vouched:
//! `act: {"sub": <partner id>}` and `account_sid`. The token's `sub` is the account SID;
//! an optional `user` claim in the assertion (the partner's identifier for the person
//! at the account) is passed on as `partner_user`, never as `sub`, since Surety cannot
//! check it. The scope is only what exists and the partner may delegate: at most the
//! permission registry, narrowed by the partner's and the account's `allowed_scopes`,
//! less their `denied_scopes`; internal scopes never (`invalid_scope`). The grant is
//! partners' own, registered in the engine's grant registry by `app.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::keys::PartnerKeys;
use super::{assertion, scope_ceiling};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::{ClientAuthPolicy, Grant, JWT_BEARER, TokenRequest};
use crate::oauth::provider::{Provider, paths};
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessGrant, TokenResponse};

/// The grant, verifying assertions against the partners' keys in `keys` (shared with
/// the signed login link).
pub struct JwtBearer {
    pub keys: Arc<PartnerKeys>,
}

#[async_trait]
impl Grant for JwtBearer {
    fn grant_type(&self) -> &'static str {
        JWT_BEARER
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::Optional
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let params = req.params;
        let a = params
            .get("assertion")
            .ok_or_else(|| OAuthError::invalid_request("assertion is required"))?;
        let requested = match params.get("scope") {
            Some(s) => {
                Some(Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope("malformed scope"))?)
            }
            None => None,
        };
        let audiences = [p.issuer.clone(), p.url(paths::TOKEN)];
        let v = assertion::verify(p, &self.keys, a, &audiences, "jwt-bearer").await?;
        let scope = requested.unwrap_or_default();
        // Only scopes that exist and may be delegated, within the partner's ceiling
        // (narrowed per account) and outside both denied lists.
        let ceiling = scope_ceiling(
            &p.scopes.resource_scopes(),
            &v.partner.limits,
            &v.account.limits,
        );
        if p.scopes.first_undelegable(&scope).is_some() || !scope.is_subset(&ceiling) {
            return Err(OAuthError::invalid_scope(
                "the requested scope is unknown or not allowed for this account",
            ));
        }
        let resources = crate::oauth::resource::requested(p, params).await?;
        resources.check_scope(&scope)?;
        let mut extra = serde_json::Map::new();
        extra.insert("account_sid".into(), json!(v.account.sid));
        if let Some(user) = &v.user {
            // The partner's own name for the person at the account; never our `sub`.
            extra.insert("partner_user".into(), json!(user));
        }
        let client_id = client.map_or_else(
            || v.partner.id.to_string(),
            |c| c.client.client_id.to_string(),
        );
        let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
            sub: crate::oauth::subject::Subject::account(&v.account.sid),
            client_id,
            scope: scope.clone(),
            extra,
            act: Some(json!({"sub": v.partner.id})),
            audience: resources.uris,
            cnf: req.cnf(),
            ..AccessGrant::default()
        })?;
        let mut resp_extra = serde_json::Map::new();
        resp_extra.insert("account_sid".into(), json!(v.account.sid));
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: scope.to_string(),
            extra: resp_extra,
            ..Default::default()
        })
    }
}
