//! DPoP, demonstrating proof of possession (RFC 9449): a client proves with every token
//! request and every use of a token that it holds a private key, and Surety binds its
//! tokens to that key. This module checks proofs (§4.2 syntax, §4.3 checks), computes
//! the RFC 7638 JWK thumbprint a token's `cnf.jkt` names (§6.1), and holds the
//! provider's part: the token endpoint's binding ([`binding`]: §5, §5.2 metadata, §8
//! and §9 nonces), and the resource side ([`resource`]: §7, `ath` and `cnf`). Server
//! nonces are in [`nonce`]. A proof's `jti` is single use across nodes for as long as
//! its `iat` is acceptable, through the same marks as assertions' (`oauth::replay`).
//!
//! What a proof must be (§4.3): at most [`MAX_PROOF_LEN`] bytes; a JWS with `typ`
//! `dpop+jwt` and an `alg` of [`ALGS`] (never `none`, never a symmetric one); a public
//! `jwk` in its header (no private or symmetric members) that verifies the signature;
//! `htm` and `htu` naming this request (the URI compared without query and fragment,
//! scheme and host in lower case, default port dropped); `iat` within the window; a
//! `jti`; `ath` (base64url SHA-256 of the access token) when a token is presented.

pub mod binding;
pub mod nonce;
pub mod resource;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::error::{ErrorCode, OAuthError};
use super::provider::Provider;
use super::replay::{self, Assertion, Use};
use crate::clock::Timestamp;
use crate::keys::jws::{self, Alg, VerifyKey};
use crate::util::{b64, ct_eq, sha256};

/// The signature algorithms a proof may use (discovery's
/// `dpop_signing_alg_values_supported`).
pub const ALGS: [Alg; 4] = [Alg::ES256, Alg::EdDSA, Alg::PS256, Alg::RS256];
/// The largest `DPoP` header accepted (bytes): room for an RSA-4096 key.
pub const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;
/// JWK members that hold private or symmetric key material (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "r"];

/// The `algs` of a DPoP challenge (RFC 9449 §7.1).
pub fn algs() -> String {
    ALGS.map(Alg::as_str).join(" ")
}

/// Why a proof was refused (`invalid_dpop_proof`; the text is safe to show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofError(pub &'static str);

/// How long a proof's `iat` stays acceptable: up to `past` seconds ago, up to `future`
/// seconds ahead (clock skew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub past: i64,
    pub future: i64,
}

/// What a proof must name: this request, and the access token presented with it.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's method (`POST`, `GET` …).
    pub htm: &'a str,
    /// The request's URI; compared normalised.
    pub htu: &'a str,
    /// The access token presented, if any: the proof's `ath` must hash it.
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check but the replay and nonce checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of its key.
    pub jkt: String,
    pub jti: String,
    pub iat: Timestamp,
    /// The server nonce it carries (§8), unchecked.
    pub nonce: Option<String>,
}

/// Checks `raw` against `want` at `now` (RFC 9449 §4.3, but `jti` replay and `nonce`).
pub fn check(
    raw: &str,
    want: &Expected<'_>,
    now: Timestamp,
    window: Window,
) -> Result<Proof, ProofError> {
    if raw.len() > MAX_PROOF_LEN {
        return Err(ProofError("the DPoP proof is too large"));
    }
    let (jwt, jwk) = parse(raw)?;
    let key = proof_key(&jwk, &jwt.header.alg)?;
    jwt.verify(std::slice::from_ref(&key))
        .map_err(|_| ProofError("the DPoP proof's signature does not verify with its jwk"))?;
    let c = &jwt.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("htm") != Some(want.htm) {
        return Err(ProofError(
            "the DPoP proof's htm is not this request's method",
        ));
    }
    match (s("htu").and_then(normalize_htu), normalize_htu(want.htu)) {
        (Some(a), Some(b)) if a == b => {}
        _ => return Err(ProofError("the DPoP proof's htu is not this request's URI")),
    }
    let iat = c
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(ProofError("the DPoP proof has no iat"))?;
    if iat < now - window.past || iat > now + window.future {
        return Err(ProofError(
            "the DPoP proof's iat is outside the accepted window",
        ));
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(ProofError("the DPoP proof has no usable jti"))?;
    check_ath(c, want.access_token)?;
    Ok(Proof {
        jkt: thumbprint(&jwk)?,
        jti: jti.to_owned(),
        iat,
        nonce: s("nonce").map(str::to_owned),
    })
}

/// The proof's key for its `alg`: an RSA key that names no `alg` of its own serves RS256
/// or PS256, whichever the proof's header says (RFC 7518 §3.3, §3.5).
fn proof_key(jwk: &Value, alg: &str) -> Result<VerifyKey, ProofError> {
    let unusable = |_| ProofError("the DPoP proof's jwk is unusable");
    let rsa_without_alg =
        jwk.get("kty").and_then(Value::as_str) == Some("RSA") && jwk.get("alg").is_none();
    match (alg, rsa_without_alg, jwk) {
        ("PS256", true, Value::Object(o)) => {
            let mut o = o.clone();
            o.insert("alg".into(), Value::from("PS256"));
            VerifyKey::from_jwk(&Value::Object(o)).map_err(unusable)
        }
        _ => VerifyKey::from_jwk(jwk).map_err(unusable),
    }
}

/// The JWS with the `typ` and `alg` a proof may have, and its public `jwk`.
fn parse(raw: &str) -> Result<(jws::Compact<'_>, Value), ProofError> {
    let bad = ProofError("the DPoP proof is not a well-formed JWT");
    let jwt = jws::parse(raw).map_err(|_| bad)?;
    if jwt.header.typ.as_deref() != Some("dpop+jwt") {
        return Err(ProofError("the DPoP proof's typ is not dpop+jwt"));
    }
    if !ALGS.iter().any(|a| a.as_str() == jwt.header.alg) {
        return Err(ProofError("the DPoP proof's alg is not supported"));
    }
    // The header as sent (the parsed `Header` keeps only the members Surety reads).
    let header: Map<String, Value> = raw
        .split('.')
        .next()
        .and_then(crate::util::b64_decode)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(bad)?;
    let jwk = match header.get("jwk") {
        Some(Value::Object(k)) => k,
        _ => return Err(ProofError("the DPoP proof has no jwk")),
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(ProofError(
            "the DPoP proof's jwk holds private key material",
        ));
    }
    Ok((jwt, Value::Object(jwk.clone())))
}

/// `ath` (§4.2): present and equal to the hash of the token when one is presented.
fn check_ath(c: &Map<String, Value>, token: Option<&str>) -> Result<(), ProofError> {
    let Some(token) = token else {
        return Ok(());
    };
    let ath = c
        .get("ath")
        .and_then(Value::as_str)
        .ok_or(ProofError("the DPoP proof has no ath"))?;
    if !ct_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
        return Err(ProofError(
            "the DPoP proof's ath does not match the access token",
        ));
    }
    Ok(())
}

/// `ath`: the base64url SHA-256 of an access token (§4.2).
pub fn access_token_hash(token: &str) -> String {
    b64(&sha256(token.as_bytes()))
}

/// An `htu` as compared (§4.3 check 9, RFC 3986 §6.2.2–6.2.3): an absolute http(s)
/// URI, scheme and host in lower case, the default port dropped, without query and
/// fragment.
pub fn normalize_htu(u: &str) -> Option<String> {
    let mut url = url::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "https" | "http") || !url.has_host() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The RFC 7638 thumbprint of a public JWK: the base64url SHA-256 of its required
/// members in lexicographic order, as compact JSON (§3.2; EC, OKP and RSA keys).
pub fn thumbprint(jwk: &Value) -> Result<String, ProofError> {
    let bad = ProofError("the DPoP proof's jwk is unusable");
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        Some("RSA") => &["e", "kty", "n"],
        _ => return Err(bad),
    };
    let mut json = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m).and_then(Value::as_str).ok_or(bad)?;
        if i > 0 {
            json.push(',');
        }
        // Both are JSON strings: `serde_json` escapes exactly as RFC 7638 §3.3 asks.
        json.push_str(&Value::from(*m).to_string());
        json.push(':');
        json.push_str(&Value::from(v).to_string());
    }
    json.push('}');
    Ok(b64(&sha256(json.as_bytes())))
}

/// Whether two thumbprints are the same key (compared in constant time).
pub fn same_key(a: &str, b: &str) -> bool {
    ct_eq(a.as_bytes(), b.as_bytes())
}

/// The `iat` window of the provider's settings.
pub fn window(p: &Provider) -> Window {
    Window {
        past: p.settings.dpop_proof_max_age.max(1),
        future: p.settings.dpop_proof_leeway.max(0),
    }
}

/// `invalid_dpop_proof` (RFC 9449 §5, §7.1).
pub fn invalid_proof(d: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, d)
}

/// `use_dpop_nonce` (RFC 9449 §8, §9): the answer carries a fresh `DPoP-Nonce`.
pub fn use_nonce(d: &str) -> OAuthError {
    OAuthError::new(ErrorCode::UseDpopNonce, d)
}

/// Checks a proof completely: [`check`], its nonce (required or not), and that its
/// `jti` is used once, across nodes, for as long as its `iat` is acceptable (marked as
/// assertions are, so the loss of the cache never lets a replay through: `oauth::replay`).
pub async fn verify(
    p: &Provider,
    raw: &str,
    want: &Expected<'_>,
    nonce_required: bool,
) -> Result<Proof, OAuthError> {
    let now = p.now();
    let w = window(p);
    let proof = check(raw, want, now, w).map_err(|e| invalid_proof(e.0))?;
    match &proof.nonce {
        Some(n) if !p.dpop_nonces.valid(n, now) => {
            return Err(use_nonce(
                "the DPoP nonce is stale or unknown; use the one given",
            ));
        }
        None if nonce_required => return Err(use_nonce("a DPoP nonce is required")),
        _ => {}
    }
    // Per key: one client's jti never blocks another's.
    let key = format!(
        "dpop:{}:{}",
        proof.jkt,
        crate::util::secret_hash(&proof.jti)
    );
    let mark = Assertion {
        key: &key,
        exp: proof.iat + w.past,
        iat: Some(proof.iat),
        max_lifetime: w.past + w.future,
        skew: w.future,
    };
    match replay::mark(p, &mark).await? {
        Use::First => Ok(proof),
        Use::Replayed => Err(invalid_proof("the DPoP proof was used before")),
        Use::Unprovable => Err(invalid_proof(
            "the DPoP proof cannot be proven unused; send a new one",
        )),
    }
}
