//! DPoP at a resource (RFC 9449 §7): a token bound to a key (`cnf.jkt`) is accepted only
//! as `Authorization: DPoP <token>` with a `DPoP` proof of that key for this request and
//! this token (`ath`); presented as `Bearer` it is refused, and an unbound token is
//! refused under the DPoP scheme. Refusals name the scheme their `WWW-Authenticate`
//! challenge uses ([`Refusal::dpop`]). Used by UserInfo and, through `web::guard`, by
//! Surety's resource API; [`needed`] is the decision alone, for guards that verify
//! proofs themselves. Server nonces (§9) are required as the token endpoint requires
//! them: always, or (the default) for tokens of clients that must use DPoP.

use super::{Expected, invalid_proof, same_key, verify};
use crate::config::DpopNonce;
use crate::oauth::customize::Confirmation;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::tokens::AccessClaims;

/// How a request presented its access token.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer` (RFC 6750 §2.1) or a form field.
    Bearer(&'a str),
    /// `Authorization: DPoP` with the request's `DPoP` header, if it had exactly one.
    Dpop {
        token: &'a str,
        proof: Option<&'a str>,
    },
}

impl<'a> Presented<'a> {
    pub fn token(&self) -> &'a str {
        match self {
            Presented::Bearer(t) | Presented::Dpop { token: t, .. } => t,
        }
    }
}

/// A refusal at a resource, and whether its challenge is DPoP's (RFC 9449 §7.1) rather
/// than Bearer's (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: OAuthError,
    pub dpop: bool,
}

impl Refusal {
    pub fn new(error: OAuthError, dpop: bool) -> Self {
        Self { error, dpop }
    }
}

/// What remains to check of a request whose token's claims are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed<'a> {
    /// A bearer token that is not bound: nothing.
    Nothing,
    /// A DPoP proof of the key `jkt`, for this request and this token.
    Proof { proof: &'a str, jkt: &'a str },
}

/// Decides from how the token came and what it is bound to (`jkt`).
pub fn needed<'a>(presented: &Presented<'a>, jkt: Option<&'a str>) -> Result<Needed<'a>, Refusal> {
    let refuse = |e| Err(Refusal::new(e, true));
    match (presented, jkt) {
        (Presented::Bearer(_), None) => Ok(Needed::Nothing),
        (Presented::Bearer(_), Some(_)) => refuse(OAuthError::invalid_token(
            "the access token is DPoP-bound; present it with the DPoP scheme and a proof",
        )),
        (Presented::Dpop { .. }, None) => refuse(OAuthError::invalid_token(
            "the access token is not DPoP-bound",
        )),
        (Presented::Dpop { proof: None, .. }, Some(_)) => {
            refuse(invalid_proof("a single DPoP proof is required"))
        }
        (
            Presented::Dpop {
                proof: Some(proof), ..
            },
            Some(jkt),
        ) => Ok(Needed::Proof { proof, jkt }),
    }
}

/// Checks how `claims`' token was presented to this request (`htm`, `htu`).
pub async fn check(
    p: &Provider,
    claims: &AccessClaims,
    presented: &Presented<'_>,
    htm: &str,
    htu: &str,
) -> Result<(), Refusal> {
    let cnf = Confirmation::of_claims(&claims.0);
    let (proof, jkt) = match needed(presented, cnf.as_ref().map(|c| c.jkt.as_str()))? {
        Needed::Nothing => return Ok(()),
        Needed::Proof { proof, jkt } => (proof, jkt),
    };
    let want = Expected {
        htm,
        htu,
        access_token: Some(presented.token()),
    };
    let nonce_required = nonce_required(p, claims.str("client_id"))
        .await
        .map_err(|e| Refusal::new(e, true))?;
    let proof = verify(p, proof, &want, nonce_required)
        .await
        .map_err(|e| Refusal::new(e, true))?;
    if !same_key(&proof.jkt, jkt) {
        return Err(Refusal::new(
            invalid_proof("the DPoP proof's key is not the one the token is bound to"),
            true,
        ));
    }
    Ok(())
}

/// Whether a proof presenting a token of `client_id` must carry a server nonce (§9):
/// always, or by default when the client is one that must use DPoP (as at the token
/// endpoint). A token that names no client (a partner's delegated session) follows the
/// `always` setting alone.
pub async fn nonce_required(p: &Provider, client_id: Option<&str>) -> Result<bool, OAuthError> {
    match p.settings.dpop_nonce {
        DpopNonce::Always => Ok(true),
        DpopNonce::Off => Ok(false),
        DpopNonce::Bound => {
            let Some(id) = client_id else {
                return Ok(false);
            };
            match p.stores.clients.get_client(id).await {
                Ok(c) => Ok(crate::oauth::fapi::dpop_required(&p.settings, &c.metadata)),
                Err(crate::store::StoreError::NotFound) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Validates the presented token (`Provider::validate_access_token`) and how it came.
pub async fn token(
    p: &Provider,
    presented: &Presented<'_>,
    htm: &str,
    htu: &str,
) -> Result<AccessClaims, Refusal> {
    let dpop = matches!(presented, Presented::Dpop { .. });
    let claims = p
        .validate_access_token(presented.token())
        .await
        .map_err(|e| Refusal::new(e, dpop))?;
    check(p, &claims, presented, htm, htu).await?;
    Ok(claims)
}
