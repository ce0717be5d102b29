//! Pushed authorization requests (RFC 9126): the client posts its authorization request
//! to the PAR endpoint, authenticated, and gets a `request_uri` that the authorization
//! endpoint accepts exactly once. A pushed request object (`request`, RFC 9126 §3) is
//! verified once, here; what is kept are its parameters and that they were signed. A
//! `DPoP` proof sent with the push binds the code to its key (RFC 9449 §10.1).

use serde::{Deserialize, Serialize};

use super::AuthorizeError;
use super::request::{self, Origin};
use crate::oauth::client_auth::{self, Credentials};
use crate::oauth::dpop::binding;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;
use crate::oauth::provider::{Provider, paths};
use crate::util::secret_hash;

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// Lifetime of a pushed request (seconds).
pub const PAR_TTL: u64 = 90;

/// A pushed request as kept until its `request_uri` is used.
#[derive(Serialize, Deserialize)]
struct Pushed {
    params: Params,
    signed: bool,
}

fn key(reference: &str) -> String {
    format!("par:{}", secret_hash(reference))
}

/// Validates and stores a pushed request; returns its `request_uri`.
pub async fn push(
    p: &Provider,
    creds: &Credentials,
    params: &Params,
    proof: Option<&str>,
) -> Result<String, OAuthError> {
    let client = client_auth::authenticate(p, creds, &p.url(paths::PAR), true).await?;
    let proof_jkt = binding::pushed_request(p, &client.client, proof).await?;
    if params.contains_key("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri is not allowed in a pushed request",
        ));
    }
    let mut params = params.clone();
    for k in ["client_secret", "client_assertion", "client_assertion_type"] {
        params.remove(k);
    }
    params.insert("client_id".into(), client.client.client_id.to_string());
    let pushing = Origin {
        pushed: true,
        signed: false,
    };
    let pushed = match request::validate(p, &params, pushing).await {
        Ok(mut v) => {
            let jkt =
                binding::pushed_binding(proof_jkt, v.params.get("dpop_jkt").map(|s| s.as_str()))?;
            if let Some(jkt) = jkt {
                v.params.insert("dpop_jkt".into(), jkt);
            }
            Pushed {
                params: v.params,
                signed: v.origin.signed,
            }
        }
        Err(AuthorizeError::Page(d)) => return Err(OAuthError::invalid_request(d)),
        Err(AuthorizeError::Redirect { error, .. }) => return Err(error),
        Err(AuthorizeError::Unavailable(d)) => return Err(OAuthError::unavailable(d)),
    };
    let reference = p.entropy.token(32);
    let v = serde_json::to_vec(&pushed).map_err(OAuthError::server_error)?;
    p.cache.put(&key(&reference), &v, PAR_TTL).await?;
    Ok(format!("{REQUEST_URI_PREFIX}{reference}"))
}

/// Takes a pushed request (single use) for the authorization endpoint.
pub async fn redeem(
    p: &Provider,
    uri: &str,
    client_id: Option<&String>,
) -> Result<(Params, Origin), AuthorizeError> {
    let bad = AuthorizeError::Page("request_uri is invalid, expired or already used");
    let reference = uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|r| r.len() <= 128)
        .ok_or(AuthorizeError::Page(
            "request_uri is invalid, expired or already used",
        ))?;
    let raw = p
        .cache
        .take(&key(reference))
        .await
        .map_err(OAuthError::from)?
        .ok_or(bad)?;
    let pushed: Pushed =
        serde_json::from_slice(&raw).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    if client_id != pushed.params.get("client_id") {
        return Err(AuthorizeError::Page(
            "client_id does not match the pushed request",
        ));
    }
    let origin = Origin {
        pushed: true,
        signed: pushed.signed,
    };
    Ok((pushed.params, origin))
}
