//! DPoP for the guard (RFC 9449 §7): `Authorization: DPoP <token>` with a `DPoP` proof
//! of the key the token is bound to (`cnf.jkt`), for this request (`htm`, `htu`: the
//! resource server's public origin and the request's path) and this token (`ath`). A
//! bound token presented as `Bearer` is refused, and so is an unbound one presented as
//! `DPoP`; refusals of DPoP requests are DPoP challenges with `algs` (and `DPoP-Nonce`
//! for `use_dpop_nonce`), step-up ones included.
//!
//! Proofs are checked by a [`VerifyProof`]: [`SuretyProofs`] for Surety's own resource
//! API (the provider's replay marks and nonces), or [`LocalProofs`] for another
//! resource server (its own cache for `jti`s, optionally its own nonces).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{Authenticate, GuardError, Incoming, Principal, Scheme, VerifyToken};
use crate::cache::Ephemeral;
use crate::clock::SharedClock;
use crate::oauth::customize::Confirmation;
use crate::oauth::dpop::nonce::Nonces;
use crate::oauth::dpop::resource::{Needed, Presented, Refusal, needed};
use crate::oauth::dpop::{self, Expected, Window, same_key};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::web::dpop::{authorization, dpop_header};

/// Checks a DPoP proof.
#[async_trait]
pub trait VerifyProof: Send + Sync + 'static {
    /// Checks `proof` for a request (`want`) and returns its key's thumbprint.
    async fn verify(
        &self,
        proof: &str,
        want: &Expected<'_>,
        client_id: Option<&str>,
    ) -> Result<String, GuardError>;
}

/// A guard's DPoP support: its public origin (`https://api.example.com`, no path) and
/// how it checks proofs.
#[derive(Clone)]
pub struct DpopSupport {
    origin: String,
    proofs: Arc<dyn VerifyProof>,
}

impl DpopSupport {
    pub fn new(origin: impl Into<String>, proofs: impl VerifyProof) -> Self {
        Self {
            origin: origin.into().trim_end_matches('/').to_owned(),
            proofs: Arc::new(proofs),
        }
    }
}

/// Authenticates access tokens with a [`VerifyToken`], as `Bearer` and as `DPoP` with a
/// proof of the key they are bound to (RFC 9449 §7).
pub struct BearerOrDpop<V> {
    pub verify: V,
    pub dpop: DpopSupport,
}

#[async_trait]
impl<V: VerifyToken> Authenticate for BearerOrDpop<V> {
    async fn authenticate(&self, req: Incoming<'_>) -> Result<Principal, GuardError> {
        principal(&req, &self.verify, Some(&self.dpop), false).await
    }
}

/// A refusal of the engine's as the guard answers it.
fn from_oauth(e: OAuthError, p: Option<&Provider>) -> GuardError {
    let d = e.description.clone().unwrap_or_default();
    match e.code {
        ErrorCode::InvalidToken => GuardError::InvalidToken(d),
        ErrorCode::InvalidDpopProof => GuardError::InvalidDpopProof(d),
        ErrorCode::UseDpopNonce => GuardError::UseDpopNonce {
            nonce: p.map(|p| p.dpop_nonces.issue(p.now())).unwrap_or_default(),
        },
        ErrorCode::TemporarilyUnavailable => GuardError::Unavailable,
        _ => GuardError::Internal,
    }
}

impl From<Refusal> for GuardError {
    fn from(r: Refusal) -> Self {
        let e = from_oauth(r.error, None);
        match r.dpop {
            true => e.dpop(),
            false => e,
        }
    }
}

/// The principal of a request bearing an access token, `Bearer` or (with `dpop`) `DPoP`;
/// `basic`: Basic credentials are also accepted (for the challenge when none came).
pub async fn principal(
    req: &Incoming<'_>,
    verify: &dyn VerifyToken,
    dpop: Option<&DpopSupport>,
    basic: bool,
) -> Result<Principal, GuardError> {
    let missing = || match dpop {
        Some(_) => GuardError::Missing { basic }.dpop(),
        None => GuardError::Missing { basic },
    };
    let (is_dpop, token) = authorization(req.headers).ok_or_else(missing)?;
    if is_dpop && dpop.is_none() {
        return Err(missing());
    }
    let wrap = |e: GuardError| if is_dpop { e.dpop() } else { e };
    let claims = verify.verify(token).await.map_err(wrap)?;
    let proof = dpop_header(req.headers).ok().flatten();
    let presented = match is_dpop {
        true => Presented::Dpop {
            token,
            proof: proof.as_deref(),
        },
        false => Presented::Bearer(token),
    };
    let jkt = jkt_of(&claims);
    if let (Needed::Proof { proof, jkt }, Some(support)) =
        (needed(&presented, jkt.as_deref())?, dpop)
    {
        let htu = format!("{}{}", support.origin, req.uri.path());
        let want = Expected {
            htm: req.method.as_str(),
            htu: &htu,
            access_token: Some(token),
        };
        let client_id = claims.get("client_id").and_then(Value::as_str);
        let key = support
            .proofs
            .verify(proof, &want, client_id)
            .await
            .map_err(wrap)?;
        if !same_key(&key, jkt) {
            return Err(GuardError::InvalidDpopProof(
                "the DPoP proof's key is not the one the token is bound to".into(),
            )
            .dpop());
        }
    }
    let mut p = Principal::from_claims(claims);
    if is_dpop {
        p.scheme = Scheme::Dpop;
    }
    Ok(p)
}

fn jkt_of(claims: &Map<String, Value>) -> Option<String> {
    Confirmation::of_claims(claims).map(|c| c.jkt)
}

/// Surety's own proofs: the provider's checks, replay marks and nonce policy
/// (nonces as at the token endpoint: by default for tokens of clients that must use
/// DPoP, always with `SURETY_DPOP_NONCE=always`).
pub struct SuretyProofs(pub Arc<Provider>);

#[async_trait]
impl VerifyProof for SuretyProofs {
    async fn verify(
        &self,
        proof: &str,
        want: &Expected<'_>,
        client_id: Option<&str>,
    ) -> Result<String, GuardError> {
        let p = &self.0;
        let required = dpop::resource::nonce_required(p, client_id)
            .await
            .map_err(|e| from_oauth(e, Some(p)))?;
        match dpop::verify(p, proof, want, required).await {
            Ok(proof) => Ok(proof.jkt),
            Err(e) => Err(from_oauth(e, Some(p))),
        }
    }
}

/// Proofs checked by another resource server: `jti`s marked once in its `cache` for the
/// `iat` window; with [`LocalProofs::nonces`], every proof must carry one of its nonces.
/// A cache has no durable memory of its lost marks, so while its present contents are
/// younger than the window (it restarted, or was flushed, in the last minute), a proof
/// is accepted only if it was made after they began (its `iat`, less the allowed skew):
/// an older one is refused (`use_dpop_nonce` with nonces, else `invalid_dpop_proof`)
/// and the client sends a new one. A replay never passes through the loss of the cache.
pub struct LocalProofs {
    cache: Arc<dyn Ephemeral>,
    clock: SharedClock,
    window: Window,
    nonces: Option<Nonces>,
}

impl LocalProofs {
    /// Proofs at most 60 s old (5 s ahead), `jti`s remembered in `cache`.
    pub fn new(cache: Arc<dyn Ephemeral>, clock: SharedClock) -> Self {
        Self {
            cache,
            clock,
            window: Window {
                past: 60,
                future: 5,
            },
            nonces: None,
        }
    }
    /// Requires nonces of `nonces` (RFC 9449 §9).
    pub fn nonces(mut self, nonces: Nonces) -> Self {
        self.nonces = Some(nonces);
        self
    }
}

#[async_trait]
impl VerifyProof for LocalProofs {
    async fn verify(
        &self,
        proof: &str,
        want: &Expected<'_>,
        _client_id: Option<&str>,
    ) -> Result<String, GuardError> {
        let now = self.clock.now();
        let proof = dpop::check(proof, want, now, self.window)
            .map_err(|e| GuardError::InvalidDpopProof(e.0.into()))?;
        if let Some(n) = &self.nonces
            && !proof.nonce.as_deref().is_some_and(|x| n.valid(x, now))
        {
            return Err(GuardError::UseDpopNonce {
                nonce: n.issue(now),
            });
        }
        let key = format!(
            "dpop:{}:{}",
            proof.jkt,
            crate::util::secret_hash(&proof.jti)
        );
        let ttl = u64::try_from(self.window.past + self.window.future).unwrap_or(65);
        let marked = self.cache.mark_first(&key, ttl, now).await.map_err(|e| {
            tracing::warn!(error = %e, "DPoP replay cache unavailable");
            GuardError::Unavailable
        })?;
        if !marked.first {
            return Err(GuardError::InvalidDpopProof(
                "the DPoP proof was used before".into(),
            ));
        }
        // A proof that may have been used before the cache's present contents began (a
        // restart, a flush, within the window) is not proven unused.
        let earliest = proof.iat - self.window.future;
        if !marked.proves_unused(earliest) {
            tracing::warn!("DPoP proof older than the replay cache's contents refused");
            return Err(match &self.nonces {
                Some(n) => GuardError::UseDpopNonce {
                    nonce: n.issue(now),
                },
                None => GuardError::InvalidDpopProof(
                    "the DPoP proof cannot be proven unused; send a new one".into(),
                ),
            });
        }
        Ok(proof.jkt)
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::json;

    use super::*;
    use crate::cache::memory::MemoryCache;
    use crate::clock::FixedClock;
    use crate::keys::jws::{Alg, Signer, sign_with_header};

    const HTU: &str = "https://api.example.com/messages";

    fn proof(s: &Signer, jwk: &Value, now: i64, nonce: Option<&str>) -> String {
        let mut c = json!({"jti": crate::util::b64(&now.to_be_bytes()), "htm": "GET", "htu": HTU, "iat": now,
            "ath": dpop::access_token_hash("tok")});
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        sign_with_header(
            s,
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
            &c,
        )
        .unwrap()
    }

    fn want() -> Expected<'static> {
        Expected {
            htm: "GET",
            htu: HTU,
            access_token: Some("tok"),
        }
    }

    /// A memory cache whose contents began at `t`.
    async fn cache_begun_at(t: i64, clock: &SharedClock) -> Arc<dyn Ephemeral> {
        let cache: Arc<dyn Ephemeral> = Arc::new(MemoryCache::new(clock.clone()));
        cache.contents(t).await.unwrap();
        cache
    }

    #[tokio::test]
    async fn a_proof_used_before_the_cache_lost_its_marks_is_not_replayed() {
        let clock: SharedClock = Arc::new(FixedClock::at(1_000_000));
        let (s, _) = Signer::generate(Alg::ES256).unwrap();
        let jwk = s.public_jwk();
        let used = proof(&s, &jwk, 999_990, None);
        let before = LocalProofs::new(cache_begun_at(990_000, &clock).await, clock.clone());
        assert!(before.verify(&used, &want(), None).await.is_ok());
        // The cache restarts empty at 1_000_000: its marks are gone.
        let after = LocalProofs::new(cache_begun_at(1_000_000, &clock).await, clock.clone());
        assert!(matches!(
            after.verify(&used, &want(), None).await,
            Err(GuardError::InvalidDpopProof(_))
        ));
        let strict = LocalProofs::new(cache_begun_at(1_000_000, &clock).await, clock.clone())
            .nonces(Nonces::new(b"rs-key", 60));
        assert!(matches!(
            strict.verify(&used, &want(), None).await,
            Err(GuardError::UseDpopNonce { .. })
        ));
        // A proof made after the loss (beyond the skew allowed) is proven unused.
        let later: SharedClock = Arc::new(FixedClock::at(1_000_006));
        let after = LocalProofs::new(cache_begun_at(1_000_000, &later).await, later);
        let fresh = proof(&s, &jwk, 1_000_006, None);
        assert!(after.verify(&fresh, &want(), None).await.is_ok());
    }

    #[tokio::test]
    async fn local_proofs_mark_jtis_once_and_ask_for_their_nonces() {
        let clock: SharedClock = Arc::new(FixedClock::at(1_000_000));
        let cache = cache_begun_at(999_000, &clock).await;
        let (s, _) = Signer::generate(Alg::ES256).unwrap();
        let jwk = s.public_jwk();
        let want = want();
        let plain = LocalProofs::new(cache.clone(), clock.clone());
        let p = proof(&s, &jwk, 1_000_000, None);
        assert_eq!(
            plain.verify(&p, &want, None).await.unwrap(),
            dpop::thumbprint(&jwk).unwrap()
        );
        assert!(matches!(
            plain.verify(&p, &want, None).await,
            Err(GuardError::InvalidDpopProof(_))
        ));
        let nonces = Nonces::new(b"rs-key", 60);
        let strict = LocalProofs::new(cache, clock).nonces(nonces.clone());
        let p = proof(&s, &jwk, 999_999, None);
        let Err(GuardError::UseDpopNonce { nonce }) = strict.verify(&p, &want, None).await else {
            panic!("a nonce is asked for");
        };
        let p = proof(&s, &jwk, 999_998, Some(&nonce));
        assert!(strict.verify(&p, &want, None).await.is_ok());
        let r = GuardError::UseDpopNonce { nonce }.dpop().into_response();
        assert_eq!(r.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key("dpop-nonce"));
        let ch = r.headers()["www-authenticate"].to_str().unwrap();
        assert!(ch.starts_with("DPoP error=\"use_dpop_nonce\""), "{ch}");
    }
}
