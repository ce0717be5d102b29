//! The token endpoint's grant registry (RFC 6749 §4, §6). Each grant type lives in its
//! own file behind [`Grant`]; the endpoint authenticates the client as the grant asks,
//! then dispatches by `grant_type`. The engine registers its own grants; products
//! register theirs in `app.rs` (partners' jwt-bearer) without touching the endpoint.
//! Discovery lists the registered grant types.

mod authorization_code;
mod client_credentials;
pub mod device_code;
pub mod refresh_token;
pub mod token_exchange;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use super::client_auth::{self, AuthenticatedClient, Credentials};
use super::customize::Confirmation;
use super::dpop::binding;
use super::error::{ErrorCode, OAuthError};
use super::provider::{Provider, paths};
use super::tokens::TokenResponse;

/// RFC 7523 §2.1's grant type. The grant is a product's (partners register it); client
/// registration and partners-as-clients name it.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Request parameters, each present at most once.
pub type Params = HashMap<String, String>;

/// A token request as a grant sees it: its parameters, and the key of the request's
/// DPoP proof (RFC 9449 §5), verified once by the endpoint for every grant. A grant
/// binds the access tokens it mints to that key (`AccessGrant::cnf`); the endpoint sets
/// the response's `token_type`.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub params: &'a Params,
    pub cnf: Option<&'a Confirmation>,
}

impl<'a> TokenRequest<'a> {
    /// The access token's binding.
    pub fn cnf(&self) -> Option<Confirmation> {
        self.cnf.cloned()
    }
}

/// Whether a grant needs the client to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthPolicy {
    /// Confidential clients authenticate; public clients identify with `client_id`.
    PublicAllowed,
    /// Only authenticated confidential clients.
    Confidential,
    /// Client authentication is optional (RFC 7523 §3.1); when presented it is checked.
    Optional,
}

#[async_trait]
pub trait Grant: Send + Sync {
    /// The `grant_type` value this handles.
    fn grant_type(&self) -> &'static str;
    fn client_auth(&self) -> ClientAuthPolicy;
    /// Exchanges the request for tokens. `client` is `None` only under `Optional`.
    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError>;
}

#[derive(Clone)]
pub struct GrantRegistry(BTreeMap<&'static str, Arc<dyn Grant>>);

impl Default for GrantRegistry {
    fn default() -> Self {
        let mut r = Self(BTreeMap::new());
        r.register(Arc::new(authorization_code::AuthorizationCode));
        r.register(Arc::new(refresh_token::RefreshToken));
        r.register(Arc::new(client_credentials::ClientCredentials));
        r.register(Arc::new(token_exchange::TokenExchange));
        r.register(Arc::new(device_code::DeviceCode));
        r
    }
}

impl GrantRegistry {
    pub fn register(&mut self, g: Arc<dyn Grant>) {
        self.0.insert(g.grant_type(), g);
    }
    pub fn grant_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
}

/// The token endpoint (RFC 6749 §3.2): authenticate the client, check it may use the
/// grant, verify the request's DPoP proof (`dpop`: the `DPoP` header; RFC 9449 §5),
/// dispatch, and type the token by its binding.
pub async fn token(
    p: &Provider,
    creds: &Credentials,
    params: &Params,
    dpop: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let gt = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let grant = p.grants.0.get(gt.as_str()).cloned().ok_or_else(|| {
        OAuthError::new(ErrorCode::UnsupportedGrantType, "unsupported grant_type")
    })?;
    let endpoint = p.url(paths::TOKEN);
    let presented =
        creds.basic.is_some() || creds.client_id.is_some() || creds.client_assertion.is_some();
    let client = match grant.client_auth() {
        ClientAuthPolicy::Optional if !presented => None,
        policy => Some(
            client_auth::authenticate(
                p,
                creds,
                &endpoint,
                policy != ClientAuthPolicy::Confidential,
            )
            .await?,
        ),
    };
    if let Some(c) = &client
        && !c.client.metadata.grant_types.iter().any(|g| g == gt)
    {
        return Err(OAuthError::unauthorized_client(
            "the client is not registered for this grant_type",
        ));
    }
    let cnf = binding::token_request(p, client.as_ref().map(|c| &c.client), dpop).await?;
    let req = TokenRequest {
        params,
        cnf: cnf.as_ref(),
    };
    let mut resp = grant.exchange(p, client.as_ref(), req).await?;
    resp.token_type = binding::token_type(cnf.as_ref());
    metrics::counter!("surety_tokens_issued_total", "grant" => grant.grant_type()).increment(1);
    Ok(resp)
}

/// The scope a client may hold: its registered `scope`, if it registered one.
pub fn allowed_scope(client: &crate::store::ClientRecord) -> Option<super::scope::Scope> {
    client
        .metadata
        .scope
        .as_deref()
        .and_then(super::scope::Scope::parse)
}
