//! Signing keys: generation on first start, rotation, the published JWK Set, and the
//! verification keys for Surety's own tokens.
//!
//! Every key is a row in the key store with an activation time. A key signs from its
//! activation until a newer key of the same algorithm activates; `surety keys rotate`
//! inserts keys that activate later, so the JWKS publishes the next key before it signs.
//! A superseded key stays in the JWKS until every token it signed has expired (the
//! longest token lifetime after its successor activated), then is deleted. Nodes reload
//! the ring periodically and whenever they meet an unknown `kid`, so all nodes on one
//! database sign with the same active key.

pub mod jws;
pub mod remote;
pub mod seal;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use crate::clock::{SharedEntropy, Timestamp};
use crate::store::{KeyStore, StoreError, StoredKey};
use jws::{Alg, JwsError, Signer, VerifyKey};
use seal::Kek;

/// The algorithms Surety signs with.
pub const SIGNING_ALGS: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];
/// The algorithms Surety verifies on what clients sign (client assertions, request
/// objects): its own and PS256 (RFC 7518 §3.5).
pub const VERIFY_ALGS: [Alg; 4] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("no active {0} signing key")]
    NoActiveKey(&'static str),
}

/// A usable key: metadata plus its private half.
pub struct LoadedKey {
    pub kid: String,
    pub alg: Alg,
    pub activates_at: Timestamp,
    pub public_jwk: Value,
    signer: Signer,
    verify: VerifyKey,
}

/// An immutable snapshot of every key in the store.
#[derive(Default)]
pub struct Ring {
    by_alg: HashMap<Alg, Vec<LoadedKey>>, // sorted by activates_at, then kid
}

impl Ring {
    /// The key that signs `alg` at `now`: the newest already active.
    pub fn active(&self, alg: Alg, now: Timestamp) -> Option<&LoadedKey> {
        self.by_alg
            .get(&alg)?
            .iter()
            .rev()
            .find(|k| k.activates_at <= now)
    }

    /// Keys to publish at `now`: upcoming, active, and superseded ones younger than `retain`.
    fn published(&self, now: Timestamp, retain: i64) -> impl Iterator<Item = &LoadedKey> {
        SIGNING_ALGS
            .iter()
            .filter_map(|a| self.by_alg.get(a))
            .flat_map(move |keys| {
                keys.iter().enumerate().filter(move |(i, _)| {
                    match keys.get(i + 1).filter(|next| next.activates_at <= now) {
                        Some(next) => next.activates_at + retain > now,
                        None => true,
                    }
                })
            })
            .map(|(_, k)| k)
    }

    fn expired(&self, now: Timestamp, retain: i64) -> Vec<String> {
        let live: std::collections::HashSet<&str> = self
            .published(now, retain)
            .map(|k| k.kid.as_str())
            .collect();
        self.by_alg
            .values()
            .flatten()
            .filter(|k| !live.contains(k.kid.as_str()))
            .map(|k| k.kid.clone())
            .collect()
    }
}

/// The shared, reloadable key ring of one node.
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    kek: Kek,
    /// Where new key ids come from.
    entropy: SharedEntropy,
    /// How long a superseded key stays published: the longest token lifetime.
    retain: i64,
    current: RwLock<Arc<Ring>>,
}

impl KeyRing {
    /// Loads the ring, generating a first key per algorithm when none exists.
    pub async fn open(
        store: Arc<dyn KeyStore>,
        kek: Kek,
        entropy: SharedEntropy,
        retain: i64,
        now: Timestamp,
    ) -> Result<Self, KeyError> {
        let ring = Self {
            store,
            kek,
            entropy,
            retain,
            current: RwLock::new(Arc::new(Ring::default())),
        };
        ring.reload().await?;
        let missing: Vec<Alg> = SIGNING_ALGS
            .into_iter()
            .filter(|a| !ring.snapshot().by_alg.contains_key(a))
            .collect();
        for alg in missing {
            ring.insert_new(alg, now, now).await?;
        }
        ring.reload().await?;
        Ok(ring)
    }

    /// Seals a secret (e.g. a partner's HS256 key) under the key-encryption key.
    pub fn seal_secret(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.kek.seal(aad, plain)?)
    }

    /// HMAC-SHA256 of `data` under the subkey of the key-encryption key for `label`: the
    /// same on every node sharing the KEK (signed links, `accounts::links`).
    pub fn mac(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.kek.derive(label));
        let tag = aws_lc_rs::hmac::sign(&key, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Opens a secret sealed by [`KeyRing::seal_secret`].
    pub fn open_secret(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.kek.open(aad, sealed)?)
    }

    /// The 32-byte server secret `name` (e.g. the pairwise subject secret): generated on
    /// the first start of the first node, stored sealed under the key-encryption key (the
    /// name as associated data), the same for every node on the database. Independent of
    /// the signing keys, so rotating them changes nothing derived from it.
    pub async fn server_secret(&self, name: &str, now: Timestamp) -> Result<Vec<u8>, KeyError> {
        let mut fresh = [0u8; 32];
        self.entropy.fill(&mut fresh);
        let aad = format!("server-secret:{name}");
        let sealed = self.kek.seal(aad.as_bytes(), &fresh)?;
        let stored = self
            .store
            .server_secret_or_insert(name, &sealed, now)
            .await?;
        Ok(self.kek.open(aad.as_bytes(), &stored)?)
    }

    pub fn snapshot(&self) -> Arc<Ring> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Re-reads every key from the store.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let mut by_alg: HashMap<Alg, Vec<LoadedKey>> = HashMap::new();
        for k in self.store.list_keys().await? {
            let Some(alg) = Alg::parse(&k.alg) else {
                continue;
            };
            let der = self.kek.open(k.kid.as_bytes(), &k.sealed_private)?;
            let signer = Signer::from_pkcs8(alg, &der)?;
            let verify = VerifyKey::from_jwk(&k.public_jwk)?;
            by_alg.entry(alg).or_default().push(LoadedKey {
                kid: k.kid,
                alg,
                activates_at: k.activates_at,
                public_jwk: k.public_jwk,
                signer,
                verify,
            });
        }
        for keys in by_alg.values_mut() {
            keys.sort_by(|a, b| (a.activates_at, &a.kid).cmp(&(b.activates_at, &b.kid)));
        }
        let ring = Arc::new(Ring { by_alg });
        match self.current.write() {
            Ok(mut g) => *g = ring,
            Err(p) => *p.into_inner() = ring,
        }
        Ok(())
    }

    async fn insert_new(
        &self,
        alg: Alg,
        now: Timestamp,
        activates_at: Timestamp,
    ) -> Result<String, KeyError> {
        let (signer, der) = Signer::generate(alg)?;
        let kid = self.entropy.token(12);
        let mut jwk = signer.public_jwk();
        jwk["kid"] = json!(kid);
        let sealed = self.kek.seal(kid.as_bytes(), &der)?;
        self.store
            .insert_key(&StoredKey {
                kid: kid.clone(),
                alg: alg.as_str().to_owned(),
                public_jwk: jwk,
                sealed_private: sealed,
                created_at: now,
                activates_at,
            })
            .await?;
        Ok(kid)
    }

    /// Introduces a new key per algorithm, signing from `now + activate_in`, and deletes
    /// keys whose tokens have all expired. Returns the new key ids.
    pub async fn rotate(&self, now: Timestamp, activate_in: i64) -> Result<Vec<String>, KeyError> {
        let mut kids = Vec::new();
        for alg in SIGNING_ALGS {
            kids.push(self.insert_new(alg, now, now + activate_in.max(0)).await?);
        }
        self.reload().await?;
        for kid in self.snapshot().expired(now, self.retain) {
            self.store.delete_key(&kid).await?;
        }
        self.reload().await?;
        Ok(kids)
    }

    /// Signs `claims` with the active key for `alg`.
    pub fn sign(
        &self,
        alg: Alg,
        typ: &str,
        claims: &Value,
        now: Timestamp,
    ) -> Result<String, KeyError> {
        let ring = self.snapshot();
        let key = ring
            .active(alg, now)
            .ok_or(KeyError::NoActiveKey(alg.as_str()))?;
        Ok(jws::sign(&key.signer, alg, &key.kid, typ, claims)?)
    }

    /// The public JWK Set (RFC 7517 §5).
    pub fn jwks(&self, now: Timestamp) -> Value {
        let ring = self.snapshot();
        let keys: Vec<&Value> = ring
            .published(now, self.retain)
            .map(|k| &k.public_jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// Verifies a token Surety signed; reloads once from the store on an unknown `kid`.
    pub async fn verify_own(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(jws::Header, serde_json::Map<String, Value>), JwsError> {
        match self.verify_snapshot(token, now) {
            Err(JwsError::NoKey) => {
                if self.reload().await.is_err() {
                    return Err(JwsError::NoKey);
                }
                self.verify_snapshot(token, now)
            }
            other => other,
        }
    }

    fn verify_snapshot(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(jws::Header, serde_json::Map<String, Value>), JwsError> {
        let ring = self.snapshot();
        let keys: Vec<VerifyKey> = ring
            .published(now, self.retain)
            .map(|k| k.verify.clone())
            .collect();
        jws::verify(token, &keys)
    }
}
