//! Client registration (RFC 7591 §2 metadata, §3.2.1 response), used by `POST /admin/clients`,
//! `PUT /admin/clients/{id}` and `surety clients create`/`update` alike ([`create`],
//! [`update`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldError;
use crate::clock::{Entropy, Timestamp};
use crate::fetch::Fetcher;
use crate::keys::jws::{Alg, VerifyKey};
use crate::oauth::client_auth::AuthMethod;
use crate::oauth::scope::Scope;
use crate::store::{
    ClientMetadata, ClientRecord, StoreError, Stores, SubjectType, TokenExchangePolicy,
};
use crate::util::secret_hash;

pub use super::client_schema::{AcrName, CodeResponseType, GrantTypeName, schema_rules};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// At most 256 characters.
    #[schema(max_length = 256)]
    pub client_name: Option<String>,
    /// Needed (at least one) with the `authorization_code` grant, the default.
    #[serde(default)]
    #[schema(value_type = Vec<crate::uri::RedirectUri>)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::uri::RedirectUri>)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types of this server's registry (default `authorization_code`).
    #[schema(value_type = Option<Vec<GrantTypeName>>, min_items = 1)]
    pub grant_types: Option<Vec<String>>,
    /// `["code"]` (the default with `authorization_code`) or none.
    #[schema(value_type = Option<Vec<CodeResponseType>>)]
    pub response_types: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
    #[schema(pattern = "^(client_secret_basic|client_secret_post|private_key_jwt|none)$")]
    pub token_endpoint_auth_method: Option<String>,
    /// RFC 6749 §3.3 scope tokens separated by spaces.
    #[schema(max_length = 2048, pattern = r"^[\x21\x23-\x5b\x5d-\x7e ]*$")]
    pub scope: Option<String>,
    /// Inline public keys (`private_key_jwt`); not with `jwks_uri`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// An https URL (http only on localhost), without a fragment.
    #[schema(value_type = Option<crate::uri::WebUrl>)]
    pub jwks_uri: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[schema(pattern = "^(RS256|ES256|EdDSA)$")]
    pub id_token_signed_response_alg: Option<String>,
    /// Token exchange on end users' tokens (RFC 8693): audiences, impersonation,
    /// delegation. Needs the token-exchange grant type.
    pub token_exchange: Option<TokenExchangePolicy>,
    /// RFC 9449 §5.2: the client always uses DPoP, so a token request without a DPoP
    /// proof is refused (`invalid_dpop_proof`) and, by default, proofs need a server
    /// nonce. Default `false`.
    pub dpop_bound_access_tokens: Option<bool>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2: where Surety POSTs a logout token
    /// when a session this client took part in ends. An https URL (http only on
    /// localhost), without a fragment.
    #[schema(value_type = Option<crate::uri::WebUrl>)]
    pub backchannel_logout_uri: Option<String>,
    /// §2.2: the client needs `sid` in logout tokens (always sent). Default `false`.
    pub backchannel_logout_session_required: Option<bool>,
    /// RFC 9101 §10.5: the alg of the client's request objects (`RS256`, `PS256`,
    /// `ES256` or `EdDSA`); unset: any of them.
    #[schema(pattern = "^(RS256|PS256|ES256|EdDSA)$")]
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: every authorization request must carry a signed request object.
    pub require_signed_request_object: Option<bool>,
    /// RFC 9126 §6: every authorization request must be pushed (PAR).
    pub require_pushed_authorization_requests: Option<bool>,
    /// The security profile the client is held to: `fapi2-security` (FAPI 2.0 Security
    /// Profile: needs `private_key_jwt`; PAR, PKCE S256 and DPoP are then required) or
    /// `none`; unset: the server's default (`SURETY_DEFAULT_PROFILE`).
    #[schema(inline)]
    pub surety_profile: Option<crate::store::SecurityProfile>,
    /// OpenID Connect Core §8: `public` (default: every client sees the user's id as
    /// `sub`) or `pairwise` (§8.1: each sector sees its own `sub`). A pairwise client's
    /// redirect URIs must share one host (a private-use scheme has none), unless it
    /// registers a `sector_identifier_uri`; a pairwise client without redirect URIs needs
    /// one. (A rule across fields this schema does not state: it cannot compare hosts.)
    #[schema(inline)]
    pub subject_type: Option<SubjectType>,
    /// Core §8.1, Registration 1.0 §2: an https URL (http only on localhost, and fetched
    /// there only when the server allows loopback for tests), without a fragment, of a
    /// JSON array listing every redirect URI of the client; fetched at registration. Its
    /// host is the client's sector.
    #[schema(value_type = Option<crate::uri::WebUrl>)]
    pub sector_identifier_uri: Option<String>,
    /// OpenID Connect Dynamic Client Registration 1.0 §2: the `acr` values asked for
    /// when an authorization request names none (voluntary), each one of
    /// `acr_values_supported`.
    #[schema(value_type = Option<Vec<AcrName>>, max_items = 8)]
    pub default_acr_values: Option<Vec<String>>,
    /// The least level every sign-in at this client must reach (one of
    /// `acr_values_supported`): requests below it are raised to it, as essential.
    #[schema(value_type = Option<AcrName>)]
    pub minimum_acr: Option<String>,
}

/// The RFC 7591 §3.2.1 registration response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientOutput {
    pub client_id: crate::store::ClientId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub metadata: ClientMetadata,
}

impl ClientOutput {
    pub fn of(c: &ClientRecord, secret: Option<String>) -> Self {
        let confidential = c.secret_hash.is_some();
        Self {
            client_id: c.client_id.clone(),
            client_secret: secret,
            client_id_issued_at: c.created_at,
            client_secret_expires_at: confidential.then_some(0),
            metadata: c.metadata.clone(),
        }
    }
}

/// Validates metadata; `grant_types_known` are the grants the server has registered.
pub fn validate(
    input: ClientInput,
    grant_types_known: &[&str],
) -> Result<ClientMetadata, FieldError> {
    let method = input
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "client_secret_basic".into());
    if !AuthMethod::ALL.contains(&method.as_str()) {
        return Err(FieldError::new(
            "token_endpoint_auth_method",
            "unsupported method",
        ));
    }
    super::client_profile::check(&input, &method)?;
    check_acr_policy(&input)?;
    let grant_types = input
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if grant_types.is_empty()
        || grant_types
            .iter()
            .any(|g| !grant_types_known.contains(&g.as_str()))
    {
        return Err(FieldError::new("grant_types", "unsupported grant type"));
    }
    let response_types = input.response_types.unwrap_or_else(|| {
        if grant_types.iter().any(|g| g == "authorization_code") {
            vec!["code".into()]
        } else {
            vec![]
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(FieldError::new(
            "response_types",
            "only \"code\" is supported",
        ));
    }
    let uses_code = grant_types.iter().any(|g| g == "authorization_code");
    if uses_code && (input.redirect_uris.is_empty() || response_types.is_empty()) {
        return Err(FieldError::new(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    for u in &input.redirect_uris {
        crate::uri::check_redirect_uri(u).map_err(|m| FieldError::new("redirect_uris", m))?;
    }
    for u in &input.post_logout_redirect_uris {
        crate::uri::check_redirect_uri(u)
            .map_err(|m| FieldError::new("post_logout_redirect_uris", m))?;
    }
    if method == "none" && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(FieldError::new(
            "grant_types",
            "public clients cannot use client_credentials",
        ));
    }
    if let Some(s) = &input.scope {
        Scope::parse(s).ok_or_else(|| FieldError::new("scope", "malformed scope"))?;
    }
    check_keys(&method, input.jwks.as_ref(), input.jwks_uri.as_deref())?;
    if let Some(a) = &input.id_token_signed_response_alg
        && !matches!(Alg::parse(a), Some(Alg::RS256 | Alg::ES256 | Alg::EdDSA))
    {
        return Err(FieldError::new(
            "id_token_signed_response_alg",
            "use RS256, ES256 or EdDSA",
        ));
    }
    if input
        .client_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 256)
    {
        return Err(FieldError::new("client_name", "at most 256 characters"));
    }
    if let Some(te) = &input.token_exchange {
        check_token_exchange(te, &grant_types)?;
    }
    if let Some(u) = &input.backchannel_logout_uri {
        crate::uri::check_web_url(u).map_err(|m| FieldError::new("backchannel_logout_uri", m))?;
    }
    let m = ClientMetadata {
        client_name: input.client_name,
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: method,
        scope: input.scope,
        token_exchange: input.token_exchange,
        jwks: input.jwks,
        jwks_uri: input.jwks_uri,
        id_token_signed_response_alg: input.id_token_signed_response_alg,
        dpop_bound_access_tokens: input.dpop_bound_access_tokens.unwrap_or(false),
        backchannel_logout_uri: input.backchannel_logout_uri,
        backchannel_logout_session_required: input
            .backchannel_logout_session_required
            .unwrap_or(false),
        request_object_signing_alg: input.request_object_signing_alg,
        require_signed_request_object: input.require_signed_request_object.unwrap_or(false),
        require_pushed_authorization_requests: input
            .require_pushed_authorization_requests
            .unwrap_or(false),
        surety_profile: input.surety_profile,
        subject_type: input.subject_type.unwrap_or_default(),
        sector_identifier_uri: input.sector_identifier_uri,
        default_acr_values: input.default_acr_values.unwrap_or_default(),
        minimum_acr: input.minimum_acr,
    };
    super::client_subject::check(&m)?;
    Ok(m)
}

/// `default_acr_values` (at most 8) and `minimum_acr` name levels of the ladder.
fn check_acr_policy(input: &ClientInput) -> Result<(), FieldError> {
    use crate::accounts::assurance::parse_policy;
    let defaults = input.default_acr_values.as_deref().unwrap_or_default();
    if defaults.len() > 8 {
        return Err(FieldError::new("default_acr_values", "at most 8 values"));
    }
    for v in defaults {
        parse_policy(v).map_err(|m| FieldError::new("default_acr_values", m))?;
    }
    if let Some(m) = &input.minimum_acr {
        parse_policy(m).map_err(|e| FieldError::new("minimum_acr", e))?;
    }
    Ok(())
}

fn check_keys(
    method: &str,
    jwks: Option<&Value>,
    jwks_uri: Option<&str>,
) -> Result<(), FieldError> {
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(FieldError::new("jwks", "give jwks or jwks_uri, not both"));
    }
    if let Some(j) = jwks
        && VerifyKey::from_jwks(j).is_empty()
    {
        return Err(FieldError::new(
            "jwks",
            "no usable signing key (RSA ≥ 2048, P-256 or Ed25519)",
        ));
    }
    if let Some(u) = jwks_uri {
        crate::uri::check_web_url(u).map_err(|m| FieldError::new("jwks_uri", m))?;
    }
    if method == "private_key_jwt" && jwks.is_none() && jwks_uri.is_none() {
        return Err(FieldError::new(
            "jwks",
            "private_key_jwt needs jwks or jwks_uri",
        ));
    }
    Ok(())
}

/// A token-exchange policy names the grant and at most 32 audiences, each an absolute
/// URI without a fragment (RFC 8707 §2) or a plain identifier (a client id).
fn check_token_exchange(
    te: &TokenExchangePolicy,
    grant_types: &[String],
) -> Result<(), FieldError> {
    let bad = |m: &str| Err(FieldError::new("token_exchange", m));
    if !grant_types
        .iter()
        .any(|g| g == crate::oauth::grants::token_exchange::GRANT_TYPE)
    {
        return bad("needs the token-exchange grant type in grant_types");
    }
    if te.audiences.len() > 32 {
        return bad("at most 32 audiences");
    }
    for a in &te.audiences {
        crate::uri::check_audience(a).map_err(|m| FieldError::new("token_exchange", m))?;
    }
    Ok(())
}

/// Builds a new client record (its id and secret drawn from `rng`); returns it with the
/// plaintext secret (shown once).
pub fn new_client(
    rng: &dyn Entropy,
    metadata: ClientMetadata,
    now: Timestamp,
) -> (ClientRecord, Option<String>) {
    let secret = needs_secret(&metadata).then(|| rng.token(32));
    let rec = ClientRecord {
        client_id: crate::store::ClientId::new(rng),
        secret_hash: secret.as_deref().map(secret_hash),
        metadata,
        created_at: now,
    };
    (rec, secret)
}

/// Replaces a client's metadata; a secret is issued if the new method needs one and the
/// client had none, and dropped if the new method does not use one.
pub fn replace(
    rng: &dyn Entropy,
    mut c: ClientRecord,
    metadata: ClientMetadata,
) -> (ClientRecord, Option<String>) {
    let mut secret = None;
    if needs_secret(&metadata) {
        if c.secret_hash.is_none() {
            let s = rng.token(32);
            c.secret_hash = Some(secret_hash(&s));
            secret = Some(s);
        }
    } else {
        c.secret_hash = None;
    }
    c.metadata = metadata;
    (c, secret)
}

/// Why a registration or a replacement was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// [`validate`], then the checks that fetch (a `sector_identifier_uri`).
pub async fn validate_fetching(
    fetch: &Fetcher,
    input: ClientInput,
    grant_types_known: &[&str],
) -> Result<ClientMetadata, FieldError> {
    let m = validate(input, grant_types_known)?;
    super::client_subject::check_document(fetch, &m).await?;
    Ok(m)
}

/// Validates RFC 7591 metadata and registers a new client (the admin API's and the CLI's
/// one path); the output carries its secret, shown this once.
pub async fn create(
    stores: &Stores,
    rng: &dyn Entropy,
    fetch: &Fetcher,
    input: ClientInput,
    known_grants: &[&str],
    now: Timestamp,
) -> Result<ClientOutput, ClientError> {
    let metadata = validate_fetching(fetch, input, known_grants).await?;
    let (rec, secret) = new_client(rng, metadata, now);
    stores.clients.insert_client(&rec).await?;
    Ok(ClientOutput::of(&rec, secret))
}

pub async fn get(stores: &Stores, client_id: &str) -> Result<ClientOutput, StoreError> {
    Ok(ClientOutput::of(
        &stores.clients.get_client(client_id).await?,
        None,
    ))
}

/// Replaces a client's metadata ([`replace`]); the output carries a new secret if one
/// was issued.
pub async fn update(
    stores: &Stores,
    rng: &dyn Entropy,
    fetch: &Fetcher,
    client_id: &str,
    input: ClientInput,
    known_grants: &[&str],
) -> Result<ClientOutput, ClientError> {
    let metadata = validate_fetching(fetch, input, known_grants).await?;
    let (rec, secret) = replace(rng, stores.clients.get_client(client_id).await?, metadata);
    stores.clients.update_client(&rec).await?;
    Ok(ClientOutput::of(&rec, secret))
}

/// Deletes a client and revokes every token it holds (see
/// [`crate::store::ClientStore::delete_client`]).
pub async fn delete(stores: &Stores, client_id: &str, now: Timestamp) -> Result<(), StoreError> {
    stores.clients.delete_client(client_id, now).await
}

fn needs_secret(m: &ClientMetadata) -> bool {
    matches!(
        m.token_endpoint_auth_method.as_str(),
        "client_secret_basic" | "client_secret_post"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANTS: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

    fn input() -> ClientInput {
        ClientInput {
            redirect_uris: vec!["https://rp.example/cb".into()],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_rfc7591() {
        let m = validate(input(), GRANTS).unwrap();
        assert_eq!(m.grant_types, vec!["authorization_code"]);
        assert_eq!(m.response_types, vec!["code"]);
        assert_eq!(m.token_endpoint_auth_method, "client_secret_basic");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(ClientInput, &str)> = vec![
            (
                ClientInput {
                    redirect_uris: vec!["http://evil.example/cb".into()],
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    redirect_uris: vec!["https://a/cb#frag".into()],
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    redirect_uris: vec![],
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    grant_types: Some(vec!["implicit".into()]),
                    ..input()
                },
                "grant_types",
            ),
            (
                ClientInput {
                    response_types: Some(vec!["token".into()]),
                    ..input()
                },
                "response_types",
            ),
            (
                ClientInput {
                    token_endpoint_auth_method: Some("magic".into()),
                    ..input()
                },
                "token_endpoint_auth_method",
            ),
            (
                ClientInput {
                    token_endpoint_auth_method: Some("private_key_jwt".into()),
                    ..input()
                },
                "jwks",
            ),
            (
                ClientInput {
                    id_token_signed_response_alg: Some("none".into()),
                    ..input()
                },
                "id_token_signed_response_alg",
            ),
            (
                ClientInput {
                    scope: Some("a\"b".into()),
                    ..input()
                },
                "scope",
            ),
        ];
        for (i, field) in cases {
            assert_eq!(validate(i, GRANTS).unwrap_err().field, field);
        }
    }
}
