//! Verifying a partner's assertion (RFC 7523 §3): `iss` names the partner, `sub` one of
//! its accounts, `aud` this server, `exp` near, `jti` single use across every node until
//! `exp`. The signature is checked against the partner's keys with the algorithm taken
//! from each key; `none` and HS/RS confusion never verify. Every refusal is specific
//! (for the partner's `error_description`) and audited. The hot path touches no database:
//! partner and account come from a short-lived cache (`store/cached_partners.rs`, a change
//! on another node shows within `SURETY_PARTNER_CACHE_TTL`), keys are imported once
//! ([`super::keys`]), the `jti` marker lives in the cache, and audit rows are written in
//! batches off the request path (`store/audit_batch.rs`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::DEFAULT_ASSERTION_LIFETIME;
use super::keys::PartnerKeys;
use crate::keys::jws;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::replay;
use crate::store::{AccountRecord, AuditEvent, PartnerRecord, StoreError};
use crate::store::{AccountStatus, PartnerStatus};
use crate::util::secret_hash;

/// Allowed clock skew (seconds).
const SKEW: i64 = 60;

/// A verified assertion: who vouched, for which account (and optionally which user).
#[derive(Debug, Clone)]
pub struct Vouched {
    pub partner: Arc<PartnerRecord>,
    pub account: Arc<AccountRecord>,
    /// The `user` claim: a user of the account the session is for.
    pub user: Option<String>,
    pub claims: Map<String, Value>,
}

/// Why an assertion was refused (shown as `error_description` of `invalid_grant`).
#[derive(Debug)]
pub enum Refusal {
    Invalid(&'static str),
    Backend(OAuthError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Refusal::Backend(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Backend(e.into())
    }
}

/// Verifies `assertion` (against the partner's keys, imported once into `partner_keys`);
/// `audiences` are the values `aud` may take. Audits the outcome
/// (the audit store writes it off the request path).
pub async fn verify(
    p: &Provider,
    partner_keys: &PartnerKeys,
    assertion: &str,
    audiences: &[String],
    action: &str,
) -> Result<Vouched, OAuthError> {
    let parsed = jws::parse(assertion)
        .map_err(|_| Refusal::Invalid("the assertion is not a well-formed JWT"));
    let actor: String = parsed
        .as_ref()
        .ok()
        .and_then(|c| c.claims.get("iss"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .chars()
        .take(64)
        .collect();
    let r = match parsed {
        Ok(c) => check(p, partner_keys, c, audiences).await,
        Err(e) => Err(e),
    };
    let (subject, outcome) = match &r {
        Ok(v) => (v.account.sid.to_string(), "ok"),
        Err(Refusal::Invalid(why)) => ("-".to_owned(), *why),
        Err(Refusal::Backend(_)) => ("-".to_owned(), "backend unavailable"),
    };
    let event = AuditEvent {
        at: p.now(),
        actor,
        action: action.to_owned(),
        subject,
        outcome: outcome.to_owned(),
        detail: String::new(),
    };
    if let Err(e) = p.stores.audit.record(&event).await {
        tracing::warn!(error = %e, "audit record failed");
    }
    match r {
        Ok(v) => Ok(v),
        Err(Refusal::Invalid(why)) => {
            tracing::info!(partner = %event.actor, reason = why, "assertion refused");
            Err(OAuthError::invalid_grant(why))
        }
        Err(Refusal::Backend(e)) => Err(e),
    }
}

async fn check(
    p: &Provider,
    partner_keys: &PartnerKeys,
    token: jws::Compact<'_>,
    audiences: &[String],
) -> Result<Vouched, Refusal> {
    let iss = token
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(Refusal::Invalid("the assertion has no iss"))?;
    let partner = match p.stores.partners.get_partner_cached(iss).await {
        Ok(pt) => pt,
        Err(StoreError::NotFound) => {
            return Err(Refusal::Invalid(
                "the assertion's issuer is not a known partner",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if partner.status != PartnerStatus::Active {
        return Err(Refusal::Invalid("the partner is suspended"));
    }
    verify_signature(p, partner_keys, &partner, &token).await?;
    let claims = token.claims;
    check_claims(p, &partner, &claims, audiences)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(Refusal::Invalid("the assertion has no sub"))?;
    let account = match p.stores.accounts.get_account_cached(sub).await {
        Ok(a) if a.partner_id.as_deref() == Some(partner.id.as_str()) => a,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(Refusal::Invalid("sub is not an account of this partner"));
        }
        Err(e) => return Err(e.into()),
    };
    if account.status != AccountStatus::Active {
        return Err(Refusal::Invalid("the account is not active"));
    }
    consume_jti(p, &partner, &claims).await?;
    let user = claims
        .get("user")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Vouched {
        partner,
        account,
        user,
        claims,
    })
}

/// Checks the signature with the partner's keys: inline and HS256 ones imported once
/// (see [`super::keys`]), `jwks_uri` ones from the remote-key cache.
async fn verify_signature(
    p: &Provider,
    partner_keys: &PartnerKeys,
    partner: &PartnerRecord,
    token: &jws::Compact<'_>,
) -> Result<(), Refusal> {
    let own = partner_keys
        .of(partner, |sealed| {
            p.keys.open_secret(partner.id.as_bytes(), sealed)
        })
        .map_err(OAuthError::server_error)?;
    let bad =
        |_| Refusal::Invalid("the assertion's signature does not verify with the partner's keys");
    let Some(uri) = &partner.jwks_uri else {
        return token.verify(&own).map_err(bad);
    };
    let kid = token.header.kid.as_deref();
    let remote = p
        .remote_jwks
        .keys(uri, kid, p.now())
        .await
        .map_err(|_| Refusal::Invalid("the partner's jwks_uri could not be fetched"))?;
    let mut keys = own.to_vec();
    keys.extend(remote);
    token.verify(&keys).map_err(bad)
}

/// Marks the `jti` used until `exp` (plus skew) in the shared cache — `SET NX` on Redis —
/// so a second use anywhere is refused. Nothing is written to the database. If the cache
/// lost its contents after this assertion could first have been used (a Redis restart
/// without persistence, a restarted node's in-process cache), a missing mark proves
/// nothing: the assertion is refused and the partner sends a fresh one.
async fn consume_jti(
    p: &Provider,
    partner: &PartnerRecord,
    claims: &Map<String, Value>,
) -> Result<(), Refusal> {
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(Refusal::Invalid("the assertion has no jti"))?;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let key = format!("ajti:{}:{}", partner.id, secret_hash(jti));
    let assertion = replay::Assertion {
        key: &key,
        exp,
        iat: claims.get("iat").and_then(Value::as_i64),
        max_lifetime: partner
            .limits
            .max_assertion_lifetime
            .unwrap_or(DEFAULT_ASSERTION_LIFETIME),
        skew: SKEW,
    };
    match replay::mark(p, &assertion).await? {
        replay::Use::First => Ok(()),
        replay::Use::Replayed => Err(Refusal::Invalid(
            "the assertion was already used (jti replay)",
        )),
        replay::Use::Unprovable => Err(Refusal::Invalid(
            "the assertion predates a loss of replay state and cannot be proven unused; send a new one",
        )),
    }
}

fn check_claims(
    p: &Provider,
    partner: &PartnerRecord,
    c: &Map<String, Value>,
    audiences: &[String],
) -> Result<(), Refusal> {
    let now = p.now();
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(Refusal::Invalid(
            "the assertion's aud does not name this server",
        ));
    }
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Invalid("the assertion has no exp"))?;
    if exp + SKEW <= now {
        return Err(Refusal::Invalid("the assertion has expired"));
    }
    let lifetime = partner
        .limits
        .max_assertion_lifetime
        .unwrap_or(DEFAULT_ASSERTION_LIFETIME);
    if exp > now + lifetime + SKEW {
        return Err(Refusal::Invalid(
            "the assertion's exp is too far in the future",
        ));
    }
    if c.get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + SKEW)
    {
        return Err(Refusal::Invalid("the assertion's iat is in the future"));
    }
    if c.get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err(Refusal::Invalid("the assertion is not yet valid (nbf)"));
    }
    Ok(())
}
