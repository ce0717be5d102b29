//! Managing partners, for the admin API: register one, replace or delete its record,
//! and add or retire the inline public keys its assertions are checked with. A shared
//! secret is stored sealed under the key-encryption key, never returned.

use serde_json::{Value, json};

use super::{PartnerInput, build_partner};
use crate::admin::FieldError;
use crate::clock::{Entropy, Timestamp};
use crate::keys::KeyRing;
use crate::keys::jws::VerifyKey;
use crate::store::{PartnerRecord, PartnerStatus, StoreError, Stores};

/// Longest key id (characters).
const MAX_KID_CHARS: usize = 128;

/// Why a change to a partner was refused.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    /// No such partner, or (retiring one) no such key.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The partner already has a key with this `kid`.
    #[error("a key with this kid exists")]
    KidTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PartnerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PartnerError::NotFound,
            e => PartnerError::Store(e),
        }
    }
}

type Result<T> = std::result::Result<T, PartnerError>;

fn seal(keys: &KeyRing) -> impl Fn(&str, &[u8]) -> Option<Vec<u8>> + '_ {
    move |id, secret| keys.seal_secret(id.as_bytes(), secret).ok()
}

/// Registers a new partner.
pub async fn register(
    stores: &Stores,
    rng: &dyn Entropy,
    keys: &KeyRing,
    input: PartnerInput,
    now: Timestamp,
) -> Result<PartnerRecord> {
    let rec = build_partner(rng, None, input, now, None, seal(keys))?;
    stores.partners.insert_partner(&rec).await?;
    Ok(rec)
}

pub async fn get(stores: &Stores, id: &str) -> Result<PartnerRecord> {
    Ok(stores.partners.get_partner(id).await?)
}

/// The partner if it exists and is active (`None` otherwise: a suspended or unknown
/// partner may not act).
pub async fn active(stores: &Stores, id: &str) -> Result<Option<PartnerRecord>> {
    match stores.partners.get_partner(id).await {
        Ok(p) => Ok((p.status == PartnerStatus::Active).then_some(p)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(PartnerError::Store(e)),
    }
}

/// Replaces a partner's record; its secret and keys are kept unless new ones are given
/// ([`build_partner`]).
pub async fn replace(
    stores: &Stores,
    rng: &dyn Entropy,
    keys: &KeyRing,
    id: &str,
    input: PartnerInput,
) -> Result<PartnerRecord> {
    let old = stores.partners.get_partner(id).await?;
    let rec = build_partner(
        rng,
        Some(old.id.clone()),
        input,
        old.created_at,
        Some(&old),
        seal(keys),
    )?;
    stores.partners.update_partner(&rec).await?;
    Ok(rec)
}

pub async fn remove(stores: &Stores, id: &str) -> Result<()> {
    Ok(stores.partners.delete_partner(id).await?)
}

/// Adds a public JWK with a `kid` of its own to the partner's inline key set.
pub async fn add_key(stores: &Stores, id: &str, jwk: Value) -> Result<PartnerRecord> {
    let mut rec = stores.partners.get_partner(id).await?;
    let kid = checked_kid(&jwk)?;
    let mut keys = key_list(&rec);
    if keys.iter().any(|k| kid_of(k) == Some(kid.as_str())) {
        return Err(PartnerError::KidTaken);
    }
    keys.push(jwk);
    rec.jwks = Some(json!({ "keys": keys }));
    stores.partners.update_partner(&rec).await?;
    Ok(rec)
}

/// The key's `kid` if it is a public key Surety can verify with.
fn checked_kid(jwk: &Value) -> std::result::Result<String, FieldError> {
    let kid = kid_of(jwk)
        .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KID_CHARS)
        .ok_or_else(|| FieldError::invalid("kid", "a key needs a kid"))?;
    if jwk.get("d").is_some() {
        return Err(FieldError::invalid("jwk", "send the public key only"));
    }
    VerifyKey::from_jwk(jwk).map_err(|e| FieldError::invalid("jwk", e.to_string()))?;
    Ok(kid.to_owned())
}

/// Retires a key: assertions signed with it are refused from now on.
pub async fn retire_key(stores: &Stores, id: &str, kid: &str) -> Result<()> {
    let mut rec = stores.partners.get_partner(id).await?;
    let keys = key_list(&rec);
    let kept: Vec<Value> = keys
        .iter()
        .filter(|k| kid_of(k) != Some(kid))
        .cloned()
        .collect();
    if kept.len() == keys.len() {
        return Err(PartnerError::NotFound);
    }
    rec.jwks = (!kept.is_empty()).then(|| json!({ "keys": kept }));
    stores.partners.update_partner(&rec).await?;
    Ok(())
}

fn kid_of(k: &Value) -> Option<&str> {
    k.get("kid").and_then(Value::as_str)
}

fn key_list(rec: &PartnerRecord) -> Vec<Value> {
    rec.jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_needs_a_kid_and_no_private_part() {
        let e = checked_kid(&json!({"kty": "OKP"})).unwrap_err();
        assert_eq!(e.field, "kid");
        let long = "k".repeat(MAX_KID_CHARS + 1);
        assert_eq!(checked_kid(&json!({"kid": long})).unwrap_err().field, "kid");
        let private = json!({"kid": "k", "kty": "OKP", "d": "x"});
        assert_eq!(checked_kid(&private).unwrap_err().field, "jwk");
        assert_eq!(checked_kid(&json!({"kid": "k"})).unwrap_err().field, "jwk");
    }
}
