//! Initial access tokens (RFC 7591 §3, §1.2): minted by the admin API, each with a
//! policy ([`super::policy`]) and a lifetime, shown once and stored as SHA-256 only;
//! listed and revoked by id. A client registering with one is held to its policy.

use serde::{Deserialize, Serialize};

use super::super::FieldError;
use super::super::clients::ClientError;
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::scope::Scope;
use crate::store::{InitialAccessToken, RegistrationPolicy, StoreError};
use crate::util::secret_hash;

/// Lifetime of a token minted without `expires_in`: one day.
pub const DEFAULT_LIFETIME: i64 = 86_400;
/// Longest lifetime: one year.
pub const MAX_LIFETIME: i64 = 365 * 86_400;

/// A new initial access token.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitialTokenInput {
    /// The grant types a client registering with the token may register (each one this
    /// server has); default `["authorization_code", "refresh_token"]`.
    #[schema(value_type = Option<Vec<super::super::clients::GrantTypeName>>, min_items = 1)]
    pub grant_types: Option<Vec<String>>,
    /// The scope values it may register (RFC 6749 §3.3, space separated, at least
    /// one); a client registering without `scope` gets these. Unset: any.
    #[schema(
        max_length = 2048,
        pattern = r"^[\x21\x23-\x5b\x5d-\x7e ]*[\x21\x23-\x5b\x5d-\x7e][\x21\x23-\x5b\x5d-\x7e ]*$"
    )]
    pub scope: Option<String>,
    /// Patterns every redirect URI must match: a redirect URI in which `*` stands for
    /// letters, digits or hyphens in the host, or the whole port, and for any run of
    /// characters after the host, e.g. `https://*.rp.example/callback/*` or
    /// `http://127.0.0.1:*/callback`. Empty: any valid redirect URI.
    #[serde(default)]
    #[schema(max_items = 32, value_type = Vec<crate::uri::RedirectPattern>)]
    pub redirect_uris: Vec<String>,
    /// Seconds the token may be used (60 to 31536000; default 86400).
    #[schema(minimum = 60, maximum = 31536000)]
    pub expires_in: Option<i64>,
    /// What the token is for (at most 256 characters).
    #[schema(max_length = 256)]
    pub description: Option<String>,
}

/// An initial access token as the admin API shows it; `token` only when minted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InitialTokenOutput {
    pub id: String,
    /// The token itself: shown this once (only its hash is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub grant_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

/// The token list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InitialTokenList {
    pub tokens: Vec<InitialTokenOutput>,
}

impl InitialTokenOutput {
    fn of(t: InitialAccessToken, token: Option<String>) -> Self {
        Self {
            id: t.id,
            token,
            grant_types: t.policy.grant_types,
            scope: t.policy.scope.map(|s| s.to_string()),
            redirect_uris: t.policy.redirect_uris,
            description: t.description,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// Checks `input` and stores a new token; the output carries the token, shown once.
pub async fn mint(
    p: &Provider,
    input: InitialTokenInput,
    known_grants: &[&str],
) -> Result<InitialTokenOutput, ClientError> {
    let lifetime = input.expires_in.unwrap_or(DEFAULT_LIFETIME);
    if !(60..=MAX_LIFETIME).contains(&lifetime) {
        return Err(FieldError::invalid("expires_in", "60 to 31536000 seconds").into());
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 256)
    {
        return Err(FieldError::invalid("description", "at most 256 characters").into());
    }
    let scope = match input.scope.as_deref() {
        Some(s) => Some(
            Scope::parse(s)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| FieldError::invalid("scope", "malformed scope"))?,
        ),
        None => None,
    };
    let policy = RegistrationPolicy {
        grant_types: input
            .grant_types
            .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]),
        scope,
        redirect_uris: input.redirect_uris,
    };
    super::policy::check(&policy, known_grants)?;
    let token = p.entropy.token(32);
    let now = p.now();
    let t = InitialAccessToken {
        id: format!("iat_{}", p.entropy.hex16()),
        token_hash: secret_hash(&token),
        policy,
        description: input.description,
        created_at: now,
        expires_at: now + lifetime,
        revoked_at: None,
    };
    p.stores.registrations.insert_initial_token(&t).await?;
    Ok(InitialTokenOutput::of(t, Some(token)))
}

pub async fn list(p: &Provider) -> Result<InitialTokenList, StoreError> {
    let tokens = p.stores.registrations.list_initial_tokens().await?;
    Ok(InitialTokenList {
        tokens: tokens
            .into_iter()
            .map(|t| InitialTokenOutput::of(t, None))
            .collect(),
    })
}

pub async fn revoke(p: &Provider, id: &str) -> Result<(), StoreError> {
    p.stores
        .registrations
        .revoke_initial_token(id, p.now())
        .await
}

/// The usable token `presented` is (looked up by its hash); `invalid_token` for an
/// unknown, expired or revoked one.
pub async fn authenticate(p: &Provider, presented: &str) -> Result<InitialAccessToken, OAuthError> {
    let refused =
        || OAuthError::invalid_token("the initial access token is invalid, expired or revoked");
    match p
        .stores
        .registrations
        .initial_token_by_hash(&secret_hash(presented))
        .await
    {
        Ok(t) if t.usable(p.now()) => Ok(t),
        Ok(_) | Err(StoreError::NotFound) => Err(refused()),
        Err(e) => Err(e.into()),
    }
}
