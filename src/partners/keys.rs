//! A partner's own verification keys — its inline JWK Set and its HS256 secret —
//! imported into aws-lc once and kept, so a partner's assertions cost no key parsing or
//! secret unsealing per request. Entries are keyed by partner id and hold the content
//! they were made from: a partner whose keys changed (here or on another node) gets its
//! keys imported again on its next assertion. Keys at a `jwks_uri` are held by
//! [`crate::keys::remote::RemoteJwks`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::keys::jws::VerifyKey;
use crate::store::{PartnerId, PartnerRecord};

/// Partners held at once; past this the cache is emptied and refills.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    jwks: Option<Value>,
    sealed_secret: Option<Vec<u8>>,
    keys: Arc<[VerifyKey]>,
}

impl Entry {
    fn made_from(&self, p: &PartnerRecord) -> bool {
        self.jwks == p.jwks && self.sealed_secret == p.sealed_secret
    }
}

#[derive(Default)]
pub struct PartnerKeys {
    entries: Mutex<HashMap<PartnerId, Entry>>,
}

impl PartnerKeys {
    /// The partner's inline keys and its HS256 key; `open` unseals the secret (called
    /// only when the keys are imported).
    pub fn of<E>(
        &self,
        partner: &PartnerRecord,
        open: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Arc<[VerifyKey]>, E> {
        if let Some(e) = self
            .entries
            .lock()
            .ok()
            .as_ref()
            .and_then(|m| m.get(&partner.id))
            && e.made_from(partner)
        {
            return Ok(e.keys.clone());
        }
        let mut keys = partner
            .jwks
            .as_ref()
            .map(VerifyKey::from_jwks)
            .unwrap_or_default();
        if let Some(sealed) = &partner.sealed_secret {
            keys.extend(VerifyKey::hs256(None, open(sealed)?).ok());
        }
        let keys: Arc<[VerifyKey]> = keys.into();
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(
                partner.id.clone(),
                Entry {
                    jwks: partner.jwks.clone(),
                    sealed_secret: partner.sealed_secret.clone(),
                    keys: keys.clone(),
                },
            );
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::jws::{Alg, Signer};
    use serde_json::json;

    fn partner(jwks: Value) -> PartnerRecord {
        PartnerRecord {
            id: PartnerId::parse("PN0123456789abcdef0123456789abcdef").unwrap(),
            name: "P".into(),
            status: crate::store::PartnerStatus::Active,
            jwks: Some(jwks),
            jwks_uri: None,
            sealed_secret: Some(vec![1]),
            allowed_cidrs: vec![],
            limits: Default::default(),
            branding: json!({}),
            created_at: 0,
        }
    }

    fn jwks(kid: &str) -> Value {
        let (s, _) = Signer::generate(Alg::ES256).unwrap();
        let mut k = s.public_jwk();
        k["kid"] = json!(kid);
        json!({"keys": [k]})
    }

    #[test]
    fn keys_are_imported_once_per_content() {
        let cache = PartnerKeys::default();
        let opens = std::cell::Cell::new(0);
        let open = |_: &[u8]| {
            opens.set(opens.get() + 1);
            Ok::<_, ()>(vec![7u8; 32])
        };
        let p = partner(jwks("a"));
        let k1 = cache.of(&p, open).unwrap();
        let k2 = cache.of(&p, open).unwrap();
        assert_eq!(k1.len(), 2, "the ES256 key and the HS256 secret");
        assert!(Arc::ptr_eq(&k1, &k2), "served from the cache");
        assert_eq!(opens.get(), 1, "the secret is unsealed once");
        let rotated = partner(jwks("b"));
        let k3 = cache.of(&rotated, open).unwrap();
        assert_eq!(k3[0].kid.as_deref(), Some("b"), "new keys are imported");
        assert_eq!(opens.get(), 2);
    }
}
