//! Dynamic client registration (RFC 7591) and management (RFC 7592): clients register
//! themselves at `/register` — with an initial access token ([`initial_tokens`]), or
//! freely when `SURETY_REGISTRATION=open` — and then read, replace and delete their own
//! registration at `/register/<client_id>` with the registration access token they were
//! given (`registration_client_uri`). The metadata goes through the admin API's rules
//! ([`super::clients::validate_fetching`]), read leniently ([`super::metadata`]: unknown members
//! ignored), with a software statement's claims winning ([`statement`]), then held to
//! the registration's policy ([`policy`]). Registration access tokens are stored as
//! SHA-256, compared in constant time, and replaced by every update.

pub mod initial_tokens;
pub mod policy;
pub mod statement;

use serde::Serialize;
use serde_json::{Map, Value};

use super::FieldError;
use super::clients::{self, ClientOutput};
use crate::cache::CacheResult;
use crate::config::RegistrationMode;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::{Provider, paths};
use crate::store::{ClientMetadata, ClientRecord, Registration, RegistrationPolicy, StoreError};
use crate::util::{ct_eq, secret_hash};

/// The window of the per-address limit on registrations (seconds).
pub const WINDOW: u64 = 3600;

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the registered
/// metadata, plus how to manage the registration.
#[derive(Debug, Clone, Serialize)]
pub struct ClientInformation {
    #[serde(flatten)]
    pub client: ClientOutput,
    /// Issued at registration and at every update (never on a read: only its hash is
    /// kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    /// The software statement the client registered with, unmodified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_statement: Option<String>,
}

/// Reserves one registration for client address `ip` (counted in the shared cache, so
/// across nodes); `false` when the address is over `SURETY_REGISTRATION_MAX_PER_ADDRESS`
/// for this [`WINDOW`].
pub async fn reserve(p: &Provider, ip: &str) -> CacheResult<bool> {
    let n = p.cache.incr(&format!("register:a:{ip}"), WINDOW).await?;
    Ok(n <= p.settings.registration_max_per_address)
}

/// Registers a client from `body` (RFC 7591 §3.1), under the policy of `initial_token`
/// (RFC 6750 bearer), or the open policy when registration is open and none is sent.
pub async fn register(
    p: &Provider,
    initial_token: Option<&str>,
    body: &Map<String, Value>,
) -> Result<ClientInformation, OAuthError> {
    let (policy, token_id) = match (initial_token, p.settings.registration) {
        (Some(t), _) => {
            let t = initial_tokens::authenticate(p, t).await?;
            (t.policy, Some(t.id))
        }
        (None, RegistrationMode::Open) => (policy::open(), None),
        (None, _) => {
            return Err(OAuthError::invalid_token(
                "registration needs an initial access token",
            ));
        }
    };
    let (metadata, statement) = read(p, body, &policy, None).await?;
    let now = p.now();
    let (client, secret) = clients::new_client(p.entropy.as_ref(), metadata, now);
    let token = p.entropy.token(32);
    let reg = Registration {
        client_id: client.client_id.clone(),
        token_hash: secret_hash(&token),
        policy,
        initial_token_id: token_id,
        software_statement: statement,
        created_at: now,
        updated_at: now,
    };
    p.stores
        .registrations
        .register_client(&client, &reg)
        .await?;
    tracing::info!(client_id = %client.client_id, initial_token = ?reg.initial_token_id, "client registered itself");
    Ok(information(
        p,
        &client,
        secret,
        Some(token),
        reg.software_statement,
    ))
}

/// RFC 7592 §2.1: the client's registration, for the holder of its registration access
/// token.
pub async fn read_registration(
    p: &Provider,
    client_id: &str,
    token: Option<&str>,
) -> Result<ClientInformation, OAuthError> {
    let (client, reg) = authorized(p, client_id, token).await?;
    Ok(information(p, &client, None, None, reg.software_statement))
}

/// RFC 7592 §2.2: replaces the client's metadata with `body` (every field; what is left
/// out takes its default), held to the policy it registered under; the registration
/// access token is replaced by a new one, returned.
pub async fn update(
    p: &Provider,
    client_id: &str,
    token: Option<&str>,
    body: &Map<String, Value>,
) -> Result<ClientInformation, OAuthError> {
    let (old, reg) = authorized(p, client_id, token).await?;
    check_identity(&old, body)?;
    let kept = reg.software_statement.as_deref();
    let (metadata, statement) = read(p, body, &reg.policy, kept).await?;
    let (client, secret) = clients::replace(p.entropy.as_ref(), old, metadata);
    let token = p.entropy.token(32);
    let updated = p
        .stores
        .registrations
        .update_registered(
            &client,
            statement.as_deref(),
            &reg.token_hash,
            &secret_hash(&token),
            p.now(),
        )
        .await;
    p.stores.clients.forget_cached(client_id);
    match updated {
        Ok(true) => Ok(information(p, &client, secret, Some(token), statement)),
        Ok(false) | Err(StoreError::NotFound) => Err(refused()),
        Err(e) => Err(e.into()),
    }
}

/// RFC 7592 §2.3: deletes the client — and, as the admin API's delete does, revokes
/// every token it holds.
pub async fn delete(p: &Provider, client_id: &str, token: Option<&str>) -> Result<(), OAuthError> {
    authorized(p, client_id, token).await?;
    match p.stores.clients.delete_client(client_id, p.now()).await {
        Ok(()) => {
            tracing::info!(client_id, "client deleted its registration");
            Ok(())
        }
        Err(StoreError::NotFound) => Err(refused()),
        Err(e) => Err(e.into()),
    }
}

fn refused() -> OAuthError {
    OAuthError::invalid_token("the registration access token is invalid")
}

/// The client and its registration, if `token` is its registration access token
/// (compared as hashes, in constant time). An unknown client is refused alike
/// (RFC 7592 §2.1: 401, revealing nothing).
async fn authorized(
    p: &Provider,
    client_id: &str,
    token: Option<&str>,
) -> Result<(ClientRecord, Registration), OAuthError> {
    let token = token.ok_or_else(refused)?;
    let reg = match p.stores.registrations.registration(client_id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    if !ct_eq(secret_hash(token).as_bytes(), reg.token_hash.as_bytes()) {
        return Err(refused());
    }
    match p.stores.clients.get_client(client_id).await {
        Ok(c) => Ok((c, reg)),
        Err(StoreError::NotFound) => Err(refused()),
        Err(e) => Err(e.into()),
    }
}

/// RFC 7592 §2.2: an update names the client's own `client_id`, and a `client_secret`
/// it sends must be the one it holds (it cannot choose its secret).
fn check_identity(c: &ClientRecord, body: &Map<String, Value>) -> Result<(), OAuthError> {
    if body.get("client_id").and_then(Value::as_str) != Some(c.client_id.as_str()) {
        return Err(metadata_error(FieldError::new(
            "client_id",
            "the update must name the client's client_id",
        )));
    }
    if let Some(s) = body.get("client_secret") {
        let held = c.secret_hash.as_deref().unwrap_or_default();
        let sent = s.as_str().map(secret_hash).unwrap_or_default();
        if !ct_eq(sent.as_bytes(), held.as_bytes()) {
            return Err(metadata_error(FieldError::new(
                "client_secret",
                "a client cannot choose its secret",
            )));
        }
    }
    Ok(())
}

/// The validated metadata of `body` under `policy`, and the software statement it came
/// with: the one in `body` (verified; its claims win over the plain members), else the
/// one the client registered with (`kept`, verified then: its claims still win, so an
/// update cannot undo what the statement fixed).
async fn read(
    p: &Provider,
    body: &Map<String, Value>,
    policy: &RegistrationPolicy,
    kept: Option<&str>,
) -> Result<(ClientMetadata, Option<String>), OAuthError> {
    let mut body = body.clone();
    let statement = match body.remove("software_statement") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let claims = statement::verify(p, &s).await?;
            body.extend(claims);
            Some(s)
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidSoftwareStatement,
                "software_statement must be a JWT",
            ));
        }
    };
    let statement = match (statement, kept) {
        (None, Some(k)) => {
            let (_, claims) = crate::keys::jws::peek(k).map_err(OAuthError::server_error)?;
            body.extend(statement::metadata_of(claims));
            Some(k.to_owned())
        }
        (s, _) => s,
    };
    let input = super::metadata::read_ignoring_unknown(&body).map_err(metadata_error)?;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let mut metadata = clients::validate_fetching(&p.fetch, input, &known)
        .await
        .map_err(metadata_error)?;
    policy::fetched_urls_public(&metadata).map_err(metadata_error)?;
    policy::apply(policy, &mut metadata).map_err(metadata_error)?;
    Ok((metadata, statement))
}

/// A refused field as RFC 7591 §3.2.2 says it: `invalid_redirect_uri` or
/// `invalid_client_metadata`, the field named in the description.
fn metadata_error(e: FieldError) -> OAuthError {
    let code = if e.code == "invalid_redirect_uri" {
        ErrorCode::InvalidRedirectUri
    } else {
        ErrorCode::InvalidClientMetadata
    };
    OAuthError::new(code, e.to_string())
}

fn information(
    p: &Provider,
    c: &ClientRecord,
    secret: Option<String>,
    token: Option<String>,
    software_statement: Option<String>,
) -> ClientInformation {
    ClientInformation {
        client: ClientOutput::of(c, secret),
        registration_access_token: token,
        registration_client_uri: format!("{}/{}", p.url(paths::REGISTER), c.client_id),
        software_statement,
    }
}
