//! Client authentication at the token, introspection, revocation and PAR endpoints
//! (RFC 6749 §2.3, OpenID Connect Core §9): `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (RFC 7523 §2.2, `jti` single use) and `none` for public clients.
//! Exactly one method per request; the method must be the one the client registered.
//! Besides the client registry, products may make other parties clients
//! ([`ClientSource`]; partners under their own id): such a client may use any
//! credential it holds.

use async_trait::async_trait;
use serde_json::Value;

use super::error::OAuthError;
use super::provider::Provider;
use crate::keys::jws;
use crate::store::{ClientRecord, StoreError};
use crate::util::{ct_eq, secret_hash};

pub const ASSERTION_TYPE_JWT: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest lifetime accepted for a client assertion.
const MAX_ASSERTION_LIFETIME: i64 = 600;
/// Allowed clock skew.
const SKEW: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
    pub const ALL: [&'static str; 4] = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
}

/// Clients that are not in the client registry but authenticate like one (registered
/// in `app.rs`; partners).
#[async_trait]
pub trait ClientSource: Send + Sync {
    /// Whether `client_id` has this source's form (checked before any lookup).
    fn owns(&self, client_id: &str) -> bool;
    /// The client `client_id` names, if this source has one that may act now.
    async fn client(
        &self,
        p: &Provider,
        client_id: &str,
    ) -> Result<Option<ClientRecord>, OAuthError>;
}

/// What a request presented to identify its client.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    /// From `Authorization: Basic` (already form-url-decoded).
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// An authenticated client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: ClientRecord,
    pub method: AuthMethod,
}

/// Authenticates the client. `endpoint` is the URL being called (a valid assertion `aud`
/// besides the issuer and the token endpoint). `allow_public` lets `none` through.
pub async fn authenticate(
    p: &Provider,
    c: &Credentials,
    endpoint: &str,
    allow_public: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let header = c.basic.is_some();
    let presented = [
        c.basic.is_some(),
        c.client_secret.is_some(),
        c.client_assertion.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if presented > 1 {
        return Err(
            OAuthError::invalid_request("use exactly one client authentication method")
                .with_auth_header(header),
        );
    }
    let r = if let Some((id, secret)) = &c.basic {
        if c.client_id.as_deref().is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        by_secret(p, id, secret, AuthMethod::ClientSecretBasic).await
    } else if let Some(secret) = &c.client_secret {
        let id = c
            .client_id
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
        by_secret(p, id, secret, AuthMethod::ClientSecretPost).await
    } else if let Some(assertion) = &c.client_assertion {
        by_assertion(p, c, assertion, endpoint).await
    } else if let Some(id) = &c.client_id {
        public(p, id, allow_public).await
    } else {
        Err(OAuthError::invalid_client(
            "client authentication is required",
        ))
    };
    r.and_then(|c| check_profile(p, c))
        .map_err(|e| e.with_auth_header(header))
}

/// A client held to the FAPI 2.0 profile authenticates with `private_key_jwt` only
/// (FAPI 2.0 §5.3.2.1; mTLS is not built).
fn check_profile(p: &Provider, c: AuthenticatedClient) -> Result<AuthenticatedClient, OAuthError> {
    if c.method != AuthMethod::PrivateKeyJwt
        && super::fapi::applies(&p.settings, &c.client.metadata)
    {
        return Err(OAuthError::invalid_client(
            "the client's security profile requires private_key_jwt",
        ));
    }
    Ok(c)
}

/// The client `client_id` names: a registered one, else one a [`ClientSource`] knows
/// (a partner, a client metadata document); `None` if nobody does.
pub async fn find_client(
    p: &Provider,
    client_id: &str,
) -> Result<Option<ClientRecord>, OAuthError> {
    if client_id.is_empty() || client_id.len() > 256 {
        return Ok(None);
    }
    match p.stores.clients.get_client(client_id).await {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::NotFound) => match source_of(p, client_id) {
            Some(source) => source.client(p, client_id).await,
            None => Ok(None),
        },
        Err(e) => Err(e.into()),
    }
}

/// The source of clients that owns `client_id`, if any.
fn source_of<'a>(p: &'a Provider, client_id: &str) -> Option<&'a dyn ClientSource> {
    p.ext
        .clients
        .iter()
        .find(|s| s.owns(client_id))
        .map(|s| s.as_ref())
}

/// Whether `client` may authenticate with `method`: the registered method, or — for a
/// client from a [`ClientSource`] (a partner) — its secret (Basic/post) or its keys
/// (`private_key_jwt`).
fn allows(p: &Provider, client: &ClientRecord, method: AuthMethod) -> bool {
    if client.metadata.token_endpoint_auth_method == method.as_str() {
        return true;
    }
    // A client holding a secret may present it in the header or the body: both are the
    // same credential, and OpenID conformance tests expect either to work.
    let secret_methods = [
        AuthMethod::ClientSecretBasic.as_str(),
        AuthMethod::ClientSecretPost.as_str(),
    ];
    if matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    ) && client.secret_hash.is_some()
        && secret_methods.contains(&client.metadata.token_endpoint_auth_method.as_str())
    {
        return true;
    }
    source_of(p, &client.client_id).is_some()
        && match method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                client.secret_hash.is_some()
            }
            AuthMethod::PrivateKeyJwt => {
                client.metadata.jwks.is_some() || client.metadata.jwks_uri.is_some()
            }
            AuthMethod::None => false,
        }
}

fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

async fn by_secret(
    p: &Provider,
    id: &str,
    secret: &str,
    method: AuthMethod,
) -> Result<AuthenticatedClient, OAuthError> {
    let client = find_client(p, id).await?;
    let presented = secret_hash(secret);
    // Compare even for unknown clients so that timing does not reveal which ids exist.
    let stored = client
        .as_ref()
        .and_then(|c| c.secret_hash.clone())
        .unwrap_or_else(|| "0".repeat(64));
    let matches = ct_eq(presented.as_bytes(), stored.as_bytes());
    match client {
        Some(client) if matches && allows(p, &client, method) => {
            Ok(AuthenticatedClient { client, method })
        }
        _ => Err(failed()),
    }
}

async fn public(
    p: &Provider,
    id: &str,
    allow_public: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let client = find_client(p, id).await?.ok_or_else(failed)?;
    if client.metadata.token_endpoint_auth_method != "none" {
        return Err(OAuthError::invalid_client("this client must authenticate"));
    }
    if !allow_public {
        return Err(OAuthError::invalid_client(
            "public clients may not use this endpoint",
        ));
    }
    Ok(AuthenticatedClient {
        client,
        method: AuthMethod::None,
    })
}

async fn by_assertion(
    p: &Provider,
    c: &Credentials,
    assertion: &str,
    endpoint: &str,
) -> Result<AuthenticatedClient, OAuthError> {
    if c.client_assertion_type.as_deref() != Some(ASSERTION_TYPE_JWT) {
        return Err(OAuthError::invalid_request(
            "unsupported client_assertion_type",
        ));
    }
    let (header, claims) = jws::peek(assertion).map_err(|_| failed())?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(failed)?;
    if c.client_id.as_deref().is_some_and(|id| id != iss) {
        return Err(failed());
    }
    let client = find_client(p, iss).await?.ok_or_else(failed)?;
    if !allows(p, &client, AuthMethod::PrivateKeyJwt) {
        return Err(failed());
    }
    if !jws::Alg::parse(&header.alg)
        .is_some_and(|a| super::fapi::alg_allowed(&p.settings, &client.metadata, a))
    {
        return Err(OAuthError::invalid_client(
            "the client's security profile does not allow this assertion's alg",
        ));
    }
    let keys = client_keys(p, &client, header.kid.as_deref()).await?;
    let (_, claims) = jws::verify(assertion, &keys).map_err(|_| failed())?;
    check_assertion_claims(p, &client.client_id, &claims, endpoint)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(failed)?;
    let key = format!(
        "cajti:{}:{}",
        client.client_id,
        crate::util::secret_hash(jti)
    );
    let assertion = super::replay::Assertion {
        key: &key,
        exp: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
        iat: claims.get("iat").and_then(Value::as_i64),
        max_lifetime: MAX_ASSERTION_LIFETIME,
        skew: SKEW,
    };
    match super::replay::mark(p, &assertion).await? {
        super::replay::Use::First => {}
        super::replay::Use::Replayed => {
            return Err(OAuthError::invalid_client("client assertion already used"));
        }
        super::replay::Use::Unprovable => {
            return Err(OAuthError::invalid_client(
                "client assertion predates a loss of replay state; send a new one",
            ));
        }
    }
    Ok(AuthenticatedClient {
        client,
        method: AuthMethod::PrivateKeyJwt,
    })
}

/// The client's registered public keys (`jwks`, or its `jwks_uri` fetched and cached,
/// refetched for an unknown `kid`): client assertions and request objects (RFC 9101).
pub(crate) async fn client_keys(
    p: &Provider,
    client: &ClientRecord,
    kid: Option<&str>,
) -> Result<Vec<jws::VerifyKey>, OAuthError> {
    if let Some(jwks) = &client.metadata.jwks {
        return Ok(jws::VerifyKey::from_jwks(jwks));
    }
    match &client.metadata.jwks_uri {
        Some(uri) => {
            p.remote_jwks.keys(uri, kid, p.now()).await.map_err(|_| {
                OAuthError::invalid_client("the client's jwks_uri could not be fetched")
            })
        }
        None => Err(failed()),
    }
}

/// RFC 7523 §3: `iss` = `sub` = client_id, `aud` names us, `exp` present and near,
/// `jti` present.
fn check_assertion_claims(
    p: &Provider,
    client_id: &str,
    c: &serde_json::Map<String, Value>,
    endpoint: &str,
) -> Result<(), OAuthError> {
    let now = p.now();
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("iss") != Some(client_id) || s("sub") != Some(client_id) {
        return Err(OAuthError::invalid_client(
            "assertion iss and sub must be the client_id",
        ));
    }
    let token_ep = p.url(super::provider::paths::TOKEN);
    let ok_aud = |a: &str| a == p.issuer || a == token_ep || a == endpoint;
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => ok_aud(a),
        Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).any(ok_aud),
        _ => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "assertion audience does not name this server",
        ));
    }
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| OAuthError::invalid_client("assertion exp is required"))?;
    if exp + SKEW < now || exp > now + MAX_ASSERTION_LIFETIME {
        return Err(OAuthError::invalid_client(
            "assertion expired or lives too long",
        ));
    }
    if c.get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err(OAuthError::invalid_client("assertion not yet valid"));
    }
    if s("jti").is_none_or(str::is_empty) {
        return Err(OAuthError::invalid_client("assertion jti is required"));
    }
    Ok(())
}
