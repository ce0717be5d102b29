//! `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): a partner's signed
//! assertion for one of its accounts is exchanged for an access token acting on that
//! account. Client authentication is optional (§3.1). The token names who vouched:
//! `act: {"sub": <partner id>}` and `account_sid`. The token's `sub` is the account SID;
//! an optional `user` claim in the assertion (the partner's identifier for the person
//! at the account) is passed on as `partner_user`, never as `sub`, since Surety cannot
//! check it. The scope is only what exists and the partner may delegate: at most the
//! permission registry, narrowed by the partner's and the account's `allowed_scopes`,
//! less their `denied_scopes`; internal scopes never (`invalid_scope`). The partner may
//! state the level it authenticated the person at (`acr`, one of Surety's
//! `acr_values_supported`, with `auth_time`): the token carries it, capped by the
//! partner policy's `max_acr` (the password level when unset); under the policy's
//! `minimum_acr` the assertion is refused. The grant is
//! partners' own, registered in the engine's grant registry by `app.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::assertion::Vouched;
use super::keys::PartnerKeys;
use super::{assertion, scope_ceiling};
use crate::oauth::authorize::acr::Level;
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
        let acr = vouched_acr(p, &v)?;
        let auth_time = acr
            .as_ref()
            .and(v.claims.get("auth_time").and_then(Value::as_i64))
            .filter(|t| *t <= p.now());
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
            acr,
            auth_time,
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

/// The level the partner vouches for: the assertion's `acr` within the policy's
/// `max_acr` (the password level when unset); `None` when the assertion states none.
/// Below the policy's `minimum_acr` (a missing `acr` included) the assertion is refused.
fn vouched_acr(p: &Provider, v: &Vouched) -> Result<Option<String>, OAuthError> {
    let levels = p.ext.authn.levels();
    let policy = |a: &Option<String>| a.as_deref().and_then(|a| levels.parse(a));
    let limits = &v.partner.limits;
    let claimed = match v.claims.get("acr") {
        None => None,
        Some(Value::String(a)) => Some(levels.parse(a).ok_or_else(|| {
            OAuthError::invalid_grant("the assertion's acr is not one of acr_values_supported")
        })?),
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "the assertion's acr is not a string",
            ));
        }
    };
    let level = claimed.map(|c| c.within(policy(&limits.max_acr).unwrap_or(Level::BASE)));
    let min = policy(&limits.minimum_acr).unwrap_or(Level::BASE);
    if !level.unwrap_or(Level::BASE).meets(min) {
        return Err(OAuthError::invalid_grant(
            "the partner's policy requires a higher acr than the assertion vouches for",
        ));
    }
    Ok(level.and_then(|l| levels.name(l)).map(str::to_owned))
}
