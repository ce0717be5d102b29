//! `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): one redemption per code;
//! a second redemption revokes everything the first one issued (RFC 6749 §4.1.2).

use async_trait::async_trait;

use super::{ClientAuthPolicy, Grant, Params, TokenRequest};
use crate::oauth::authorize::{CodeRecord, code_key};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::customize::Confirmation;
use crate::oauth::dpop::binding;
use crate::oauth::error::OAuthError;
use crate::oauth::pkce::CodeChallenge;
use crate::oauth::provider::Provider;
use crate::oauth::tokens::{AccessGrant, IdTokenContext, TokenResponse};
use crate::oauth::verified_claims;
use crate::store::{GrantRecord, StoreError};

pub struct AuthorizationCode;

#[async_trait]
impl Grant for AuthorizationCode {
    fn grant_type(&self) -> &'static str {
        "authorization_code"
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::PublicAllowed
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let params = req.params;
        let client = &client
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
            .client;
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let consumed = p.cache.consume(&code_key(code)).await?;
        let invalid = || {
            OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
        };
        let consumed = consumed.ok_or_else(invalid)?;
        let rec: CodeRecord =
            serde_json::from_slice(&consumed.value).map_err(OAuthError::server_error)?;
        if !consumed.first {
            tracing::warn!(client_id = %rec.client_id, "authorization code reused; revoking its grant");
            p.stores
                .grants
                .revoke_grant(&grant_record(&rec, p.now()), p.now())
                .await?;
            return Err(invalid());
        }
        if rec.expires_at.is_some_and(|at| p.now() >= at) {
            return Err(invalid());
        }
        check_binding(&rec, &client.client_id, params)?;
        binding::check_code(rec.dpop_jkt.as_deref(), req.cnf)?;
        // RFC 8707 §2.2: a token for one or more of the resources authorized.
        let audience = crate::oauth::resource::narrowed(&rec.resources, params)?;
        let now = p.now();
        let grant = grant_record(&rec, now);
        p.stores.grants.insert_grant(&grant).await?;
        issue(p, client, &rec, &grant, audience, req.cnf).await
    }
}

pub(super) fn grant_record(rec: &CodeRecord, now: i64) -> GrantRecord {
    GrantRecord {
        id: rec.grant_id.clone(),
        client_id: rec.client_id.clone(),
        sub: rec.sub.clone(),
        scope: rec.scope.clone(),
        auth_time: Some(rec.auth_time),
        acr: rec.acr.clone(),
        amr: rec.amr.clone(),
        created_at: now,
        revoked_at: None,
        resources: rec.resources.clone(),
    }
}

/// The code belongs to this client, this redirect URI and this PKCE verifier.
fn check_binding(rec: &CodeRecord, client_id: &str, params: &Params) -> Result<(), OAuthError> {
    if rec.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if params.get("redirect_uri").map(String::as_str) != Some(rec.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&rec.code_challenge, params.get("code_verifier")) {
        (Some(ch), Some(v)) => {
            let ch = CodeChallenge::parse(ch, Some("S256")).map_err(OAuthError::server_error)?;
            if !ch.verify(v) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

pub(super) async fn issue(
    p: &Provider,
    client: &crate::store::ClientRecord,
    rec: &CodeRecord,
    grant: &GrantRecord,
    audience: Vec<String>,
    cnf: Option<&Confirmation>,
) -> Result<TokenResponse, OAuthError> {
    let scope = rec.scope.clone();
    let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
        sub: p.subject(client, &rec.sub),
        client_id: client.client_id.to_string(),
        scope: scope.clone(),
        grant_id: Some(grant.id.clone()),
        auth_time: Some(rec.auth_time),
        acr: rec.acr.clone(),
        extra: rec.claims.clone(),
        audience,
        cnf: cnf.cloned(),
        ..AccessGrant::default()
    })?;
    let id_token = if scope.contains("openid") {
        let user = match p.stores.users.get_user(&rec.sub).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => {
                return Err(OAuthError::invalid_grant("the user no longer exists"));
            }
            Err(e) => return Err(e.into()),
        };
        let verified = match &rec.verified_claims {
            Some(c) => verified_claims::build(p, &rec.sub, &c.id_token).await?,
            None => None,
        };
        Some(p.mint_id_token(
            client,
            &user,
            IdTokenContext {
                scope: &scope,
                nonce: rec.nonce.as_deref(),
                auth_time: Some(rec.auth_time),
                acr: rec.acr.as_deref(),
                amr: &rec.amr,
                access_token: Some(&access_token),
                verified_claims: verified.as_ref(),
                requested: &rec.id_token_claims,
                sid: rec.sid.as_deref(),
            },
        )?)
    } else {
        None
    };
    let refresh_token = if client
        .metadata
        .grant_types
        .iter()
        .any(|g| g == "refresh_token")
    {
        let jkt = binding::refresh_binding(client, cnf);
        let (token, r) = p.new_refresh(&grant.id, &client.client_id, &rec.sub, &scope, jkt);
        p.stores.grants.insert_refresh(&r).await?;
        Some(token)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        id_token,
        scope: scope.to_string(),
        extra: rec.claims.clone(),
    })
}
