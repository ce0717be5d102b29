//! `client_credentials` (RFC 6749 §4.4): a confidential client gets an access token for
//! itself, for a scope within what it registered, for the resources it names (RFC 8707:
//! `aud`, each scope one they accept). No refresh token, no ID token.

use async_trait::async_trait;

use super::{ClientAuthPolicy, Grant, TokenRequest, allowed_scope};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::resource;
use crate::oauth::scope::Scope;
use crate::oauth::subject::Subject;
use crate::oauth::tokens::{AccessGrant, TokenResponse};

pub struct ClientCredentials;

#[async_trait]
impl Grant for ClientCredentials {
    fn grant_type(&self) -> &'static str {
        "client_credentials"
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::Confidential
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
        let allowed = allowed_scope(client).unwrap_or_default();
        let scope = match params.get("scope") {
            Some(s) => {
                Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope("malformed scope"))?
            }
            None => allowed.clone(),
        };
        if scope.contains("openid") || !scope.is_subset(&allowed) {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds what the client may hold",
            ));
        }
        let resources = resource::requested(p, params).await?;
        resources.check_scope(&scope)?;
        let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
            sub: Subject::client(&client.client_id),
            client_id: client.client_id.to_string(),
            scope: scope.clone(),
            audience: resources.uris,
            cnf: req.cnf(),
            ..AccessGrant::default()
        })?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: scope.to_string(),
            ..Default::default()
        })
    }
}
