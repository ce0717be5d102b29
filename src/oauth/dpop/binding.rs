//! DPoP at the token endpoint (RFC 9449 §5, §5.2, §8, §10): the endpoint verifies the
//! request's proof once, for every grant, and hands the grants the proof's key as
//! [`TokenRequest::cnf`](crate::oauth::grants::TokenRequest); the access token is then
//! bound to it (`cnf.jkt`) and typed `DPoP`. A client registered with
//! `dpop_bound_access_tokens` must send a proof (and, by default, a server nonce).
//!
//! Refresh tokens: those of public clients are bound to the key of the proof they were
//! issued with, and a refresh needs a proof with that key (§5, `invalid_grant`
//! otherwise); those of confidential clients are bound by client authentication and not
//! to a key, so each refresh binds its new access token to the key of its own proof
//! (a confidential client may so move to a new key). An authorization code issued for a
//! `dpop_jkt` (§10) is redeemed only with a proof of that key; at the PAR endpoint a
//! proof binds the code to its key (§10.1), as `dpop_jkt` does, and the two must agree.

use super::{Expected, invalid_proof, verify};
use crate::config::DpopNonce;
use crate::oauth::customize::Confirmation;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::store::ClientRecord;

/// The key a token request's proof (the `DPoP` header, if any) binds its tokens to.
pub async fn token_request(
    p: &Provider,
    client: Option<&ClientRecord>,
    proof: Option<&str>,
) -> Result<Option<Confirmation>, OAuthError> {
    let required =
        client.is_some_and(|c| crate::oauth::fapi::dpop_required(&p.settings, &c.metadata));
    let Some(proof) = proof else {
        return match required {
            true => Err(invalid_proof("this client must send a DPoP proof")),
            false => Ok(None),
        };
    };
    let jkt = checked(p, proof, paths::TOKEN, required).await?;
    Ok(Some(Confirmation { jkt }))
}

/// The key of a pushed authorization request's proof (§10.1), if it sent one.
pub async fn pushed_request(
    p: &Provider,
    client: &ClientRecord,
    proof: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let Some(proof) = proof else {
        return Ok(None);
    };
    let required = crate::oauth::fapi::dpop_required(&p.settings, &client.metadata);
    Ok(Some(checked(p, proof, paths::PAR, required).await?))
}

/// The key a pushed request's code is bound to: its proof's, which must be the one its
/// `dpop_jkt` names when it has both (§10.1); else its `dpop_jkt`'s.
pub fn pushed_binding(
    proof_jkt: Option<String>,
    dpop_jkt: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    match (proof_jkt, dpop_jkt) {
        (Some(k), Some(named)) if !super::same_key(&k, named) => Err(OAuthError::invalid_request(
            "dpop_jkt does not name the key of the DPoP proof",
        )),
        (Some(k), _) => Ok(Some(k)),
        (None, named) => Ok(named.map(str::to_owned)),
    }
}

/// Verifies a proof of a POST to the endpoint at `path`, with a nonce when the settings
/// ask for one (always, or for clients bound to DPoP); returns its key's thumbprint.
async fn checked(
    p: &Provider,
    proof: &str,
    path: &str,
    bound_client: bool,
) -> Result<String, OAuthError> {
    let nonce_required = match p.settings.dpop_nonce {
        DpopNonce::Always => true,
        DpopNonce::Bound => bound_client,
        DpopNonce::Off => false,
    };
    let htu = p.url(path);
    let want = Expected {
        htm: "POST",
        htu: &htu,
        access_token: None,
    };
    Ok(verify(p, proof, &want, nonce_required).await?.jkt)
}

/// The `token_type` of a token response (RFC 9449 §5).
pub fn token_type(cnf: Option<&Confirmation>) -> &'static str {
    match cnf {
        Some(_) => "DPoP",
        None => "Bearer",
    }
}

/// The key a new refresh token of `client` is bound to: the proof's, for a public client.
pub fn refresh_binding(client: &ClientRecord, cnf: Option<&Confirmation>) -> Option<String> {
    let public = client.metadata.token_endpoint_auth_method == "none";
    cnf.filter(|_| public).map(|c| c.jkt.clone())
}

/// A refresh token bound to `bound` is refreshed only with a proof of that key.
pub fn check_refresh(bound: Option<&str>, cnf: Option<&Confirmation>) -> Result<(), OAuthError> {
    check_key(bound, cnf, "the refresh token is bound to another DPoP key")
}

/// A code issued for `dpop_jkt` (§10) is redeemed only with a proof of that key.
pub fn check_code(dpop_jkt: Option<&str>, cnf: Option<&Confirmation>) -> Result<(), OAuthError> {
    check_key(
        dpop_jkt,
        cnf,
        "the authorization code is bound to another DPoP key",
    )
}

fn check_key(bound: Option<&str>, cnf: Option<&Confirmation>, why: &str) -> Result<(), OAuthError> {
    match (bound, cnf) {
        (None, _) => Ok(()),
        (Some(b), Some(c)) if super::same_key(b, &c.jkt) => Ok(()),
        (Some(_), _) => Err(OAuthError::invalid_grant(why)),
    }
}

/// A `dpop_jkt` request parameter (§10): an RFC 7638 SHA-256 thumbprint, base64url.
pub fn parse_dpop_jkt(v: Option<&str>) -> Result<Option<String>, &'static str> {
    match v {
        None => Ok(None),
        Some(j)
            if j.len() == 43
                && j.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(j.to_owned()))
        }
        Some(_) => Err("dpop_jkt must be a base64url SHA-256 JWK thumbprint"),
    }
}
