//! JSON Web Signatures in compact form (RFC 7515) over aws-lc, for the algorithms Surety
//! signs and accepts (RFC 7518 §3): RS256, PS256 (RSASSA-PSS, §3.5; the FAPI 2.0 profile's
//! RSA algorithm), ES256, EdDSA (Ed25519, RFC 8037) and, for partners that cannot do public
//! keys, HS256. Verification takes the algorithm from the key, never from the token alone:
//! a token whose `alg` differs from the key's is refused, and `none` never verifies.

use std::sync::Arc;

use aws_lc_rs::{hmac, rand::SystemRandom, signature};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::util::{b64, b64_decode};

/// Largest compact JWS accepted from outside (bytes).
pub const MAX_JWS_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    PS256,
    ES256,
    EdDSA,
    HS256,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::RS256),
            "PS256" => Some(Alg::PS256),
            "ES256" => Some(Alg::ES256),
            "EdDSA" => Some(Alg::EdDSA),
            "HS256" => Some(Alg::HS256),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("malformed JWS")]
    Malformed,
    #[error("unsupported or disallowed alg")]
    BadAlg,
    #[error("no key matches the token's kid and alg")]
    NoKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("key rejected: {0}")]
    BadKey(&'static str),
}

/// A private signing key.
pub enum Signer {
    Rsa(signature::RsaKeyPair),
    /// An RSA key signing with RSASSA-PSS (PS256).
    RsaPss(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
}

impl Signer {
    /// Parses a PKCS#8 private key for `alg`.
    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<Self, JwsError> {
        let bad = |_| JwsError::BadKey("pkcs8");
        Ok(match alg {
            Alg::RS256 => Signer::Rsa(signature::RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            Alg::PS256 => Signer::RsaPss(signature::RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            Alg::ES256 => Signer::Ec(
                signature::EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                )
                .map_err(bad)?,
            ),
            Alg::EdDSA => Signer::Ed(signature::Ed25519KeyPair::from_pkcs8(der).map_err(bad)?),
            Alg::HS256 => return Err(JwsError::BadAlg),
        })
    }

    /// Generates a fresh key pair for `alg`; returns it with its PKCS#8 encoding.
    pub fn generate(alg: Alg) -> Result<(Self, Vec<u8>), JwsError> {
        use aws_lc_rs::encoding::AsDer;
        let rng = SystemRandom::new();
        let fail = |_| JwsError::BadKey("generate");
        let der = match alg {
            Alg::RS256 | Alg::PS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(fail)?;
                kp.as_der().map_err(fail)?.as_ref().to_vec()
            }
            Alg::ES256 => signature::EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .map_err(fail)?
            .as_ref()
            .to_vec(),
            Alg::EdDSA => signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(fail)?
                .as_ref()
                .to_vec(),
            Alg::HS256 => return Err(JwsError::BadAlg),
        };
        Ok((Self::from_pkcs8(alg, &der)?, der))
    }

    /// The public half as a JWK (without `kid`).
    pub fn public_jwk(&self) -> Value {
        use signature::KeyPair;
        match self {
            Signer::Rsa(k) | Signer::RsaPss(k) => {
                let pk = k.public_key();
                let alg = if matches!(self, Signer::Rsa(_)) {
                    "RS256"
                } else {
                    "PS256"
                };
                json!({"kty": "RSA", "alg": alg, "use": "sig",
                    "n": b64(pk.modulus().big_endian_without_leading_zero()),
                    "e": b64(pk.exponent().big_endian_without_leading_zero())})
            }
            Signer::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
                    "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            }
            Signer::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "x": b64(k.public_key().as_ref())})
            }
        }
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, JwsError> {
        let rng = SystemRandom::new();
        let fail = |_| JwsError::BadKey("sign");
        match self {
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            Signer::RsaPss(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PSS_SHA256, &rng, msg, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            Signer::Ec(k) => Ok(k.sign(&rng, msg).map_err(fail)?.as_ref().to_vec()),
            Signer::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }
}

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn sign(
    signer: &Signer,
    alg: Alg,
    kid: &str,
    typ: &str,
    claims: &Value,
) -> Result<String, JwsError> {
    let header = json!({"alg": alg.as_str(), "kid": kid, "typ": typ});
    sign_with_header(signer, &header, claims)
}

/// Signs `claims` under a header the caller gives whole (its `alg` must be the
/// signer's): a client's DPoP proof (RFC 9449 §4.2) carries its public `jwk` there.
pub fn sign_with_header(
    signer: &Signer,
    header: &Value,
    claims: &Value,
) -> Result<String, JwsError> {
    let mut input = String::with_capacity(1024);
    push_b64_json(&mut input, header)?;
    input.push('.');
    push_b64_json(&mut input, claims)?;
    let sig = signer.sign_bytes(input.as_bytes())?;
    input.push('.');
    input.push_str(&b64(&sig));
    Ok(input)
}

/// Appends the base64url of `v`'s compact JSON: the bytes of `v.to_string()`, serialized
/// straight into a buffer rather than through `Display` (cheaper on the token path).
fn push_b64_json(out: &mut String, v: &Value) -> Result<(), JwsError> {
    use base64::Engine;
    let mut json = Vec::with_capacity(512);
    serde_json::to_writer(&mut json, v).map_err(|_| JwsError::Malformed)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(&json, out);
    Ok(())
}

/// Signs with an HMAC-SHA256 secret (tests and partners using HS256).
pub fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let mut input = b64(header.to_string().as_bytes());
    input.push('.');
    input.push_str(&b64(claims.to_string().as_bytes()));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    input.push('.');
    input.push_str(&b64(tag.as_ref()));
    input
}

/// A public verification key, its algorithm fixed by the key itself. The key material is
/// imported into aws-lc once, when the key is parsed; clones share it, so verifying costs
/// no key import.
#[derive(Clone, Debug)]
pub struct VerifyKey {
    pub kid: Option<String>,
    pub alg: Alg,
    material: Material,
}

#[derive(Clone)]
enum Material {
    Public(Arc<signature::ParsedPublicKey>),
    Secret(Arc<hmac::Key>),
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material(..)")
    }
}

/// Imports public key bytes for `alg` (a rejected key is a bad key, not a panic).
fn import(
    alg: &'static dyn signature::VerificationAlgorithm,
    bytes: &[u8],
) -> Result<Material, JwsError> {
    signature::ParsedPublicKey::new(alg, bytes)
        .map(|k| Material::Public(Arc::new(k)))
        .map_err(|_| JwsError::BadKey("public key rejected"))
}

impl VerifyKey {
    /// Parses a public JWK (RFC 7517). `use`, when present, must be `sig`; `alg`, when
    /// present, must agree with the key type.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwsError> {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str);
        let bytes = |k: &str| {
            s(k).and_then(b64_decode)
                .ok_or(JwsError::BadKey("coordinates"))
        };
        if s("use").is_some_and(|u| u != "sig") {
            return Err(JwsError::BadKey("use is not sig"));
        }
        let (alg, material) = match (s("kty"), s("crv")) {
            (Some("RSA"), _) => {
                let n = bytes("n")?;
                if n.len() < 256 {
                    return Err(JwsError::BadKey("RSA modulus under 2048 bits"));
                }
                let e = bytes("e")?;
                // An RSA key serves RS256 unless its `alg` says PS256 ([`Self::from_jwks`]
                // adds the PS256 use of an RSA key that names no `alg`).
                let (alg, padding): (Alg, &'static signature::RsaParameters) = match s("alg") {
                    Some("PS256") => (Alg::PS256, &signature::RSA_PSS_2048_8192_SHA256),
                    _ => (Alg::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
                };
                let parsed = signature::RsaPublicKeyComponents { n: &n, e: &e }
                    .to_parsed_public_key(padding)
                    .map_err(|_| JwsError::BadKey("RSA key rejected"))?;
                (alg, Material::Public(Arc::new(parsed)))
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JwsError::BadKey("P-256 coordinates"));
                }
                let mut p = vec![4u8];
                p.extend(x);
                p.extend(y);
                (Alg::ES256, import(&signature::ECDSA_P256_SHA256_FIXED, &p)?)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JwsError::BadKey("Ed25519 key length"));
                }
                (Alg::EdDSA, import(&signature::ED25519, &x)?)
            }
            _ => return Err(JwsError::BadKey("unsupported kty/crv")),
        };
        if let Some(a) = s("alg")
            && Alg::parse(a) != Some(alg)
        {
            return Err(JwsError::BadKey("alg does not match key type"));
        }
        Ok(Self {
            kid: s("kid").map(str::to_owned),
            alg,
            material,
        })
    }

    /// An HS256 key from a shared secret (at least 32 bytes).
    pub fn hs256(kid: Option<String>, secret: Vec<u8>) -> Result<Self, JwsError> {
        if secret.len() < 32 {
            return Err(JwsError::BadKey("HS256 secret under 256 bits"));
        }
        Ok(Self {
            kid,
            alg: Alg::HS256,
            material: Material::Secret(Arc::new(hmac::Key::new(hmac::HMAC_SHA256, &secret))),
        })
    }

    /// Parses every usable key of a JWK Set, skipping keys it cannot use. An RSA key
    /// that names no `alg` is usable for RS256 and PS256 (RFC 7518 §3.3, §3.5): it is
    /// listed once for each.
    pub fn from_jwks(jwks: &Value) -> Vec<Self> {
        let Some(ks) = jwks.get("keys").and_then(Value::as_array) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(ks.len());
        for k in ks {
            let Ok(key) = Self::from_jwk(k) else { continue };
            let pss_too = key.alg == Alg::RS256 && k.get("alg").is_none();
            out.push(key);
            if pss_too && let Some(obj) = k.as_object() {
                let mut with_alg = obj.clone();
                with_alg.insert("alg".into(), json!("PS256"));
                out.extend(Self::from_jwk(&Value::Object(with_alg)).ok());
            }
        }
        out
    }

    fn verify_bytes(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Public(k) => k.verify_sig(msg, sig).is_ok(),
            Material::Secret(k) => hmac::verify(k, msg, sig).is_ok(),
        }
    }
}

/// The protected header fields Surety reads.
#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub crit: Option<Value>,
}

/// A compact JWS split and decoded once: header and claims parsed, signature not yet
/// checked. [`Compact::verify`] checks it without decoding anything again.
#[derive(Debug)]
pub struct Compact<'a> {
    pub header: Header,
    pub claims: Map<String, Value>,
    /// `header.payload`, the bytes the signature covers.
    signing_input: &'a str,
    signature: &'a str,
}

/// Splits a compact JWS and decodes its header and claims without verifying anything.
pub fn parse(token: &str) -> Result<Compact<'_>, JwsError> {
    if token.len() > MAX_JWS_LEN {
        return Err(JwsError::Malformed);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
    let (h, p) = signing_input.split_once('.').ok_or(JwsError::Malformed)?;
    if p.contains('.') {
        return Err(JwsError::Malformed);
    }
    let header: Header = b64_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    let claims: Map<String, Value> = b64_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    Ok(Compact {
        header,
        claims,
        signing_input,
        signature,
    })
}

impl Compact<'_> {
    /// Checks the signature against `keys`: only keys whose own algorithm equals the
    /// header's `alg` (and whose `kid` matches, when the token names one) are tried.
    pub fn verify(&self, keys: &[VerifyKey]) -> Result<(), JwsError> {
        if self.header.crit.is_some() {
            return Err(JwsError::Malformed);
        }
        let alg = Alg::parse(&self.header.alg).ok_or(JwsError::BadAlg)?;
        let sig = b64_decode(self.signature).ok_or(JwsError::Malformed)?;
        let mut candidates = keys
            .iter()
            .filter(|k| k.alg == alg)
            .filter(|k| match (&self.header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .peekable();
        if candidates.peek().is_none() {
            return Err(JwsError::NoKey);
        }
        if candidates.any(|k| k.verify_bytes(self.signing_input.as_bytes(), &sig)) {
            Ok(())
        } else {
            Err(JwsError::BadSignature)
        }
    }
}

/// Splits a compact JWS and decodes its header without verifying anything.
pub fn peek(token: &str) -> Result<(Header, Map<String, Value>), JwsError> {
    parse(token).map(|c| (c.header, c.claims))
}

/// Verifies a compact JWS against `keys` (see [`Compact::verify`]).
pub fn verify(token: &str, keys: &[VerifyKey]) -> Result<(Header, Map<String, Value>), JwsError> {
    let c = parse(token)?;
    c.verify(keys)?;
    Ok((c.header, c.claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_parts_are_the_compact_json_of_header_and_claims() {
        let (s, _) = key(Alg::ES256);
        let claims = json!({"sub": "a\"b", "n": 1.5, "l": ["x", null], "u": "é"});
        let jws = super::sign(&s, Alg::ES256, "k1", "at+jwt", &claims).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        let header = json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"});
        assert_eq!(parts[0], b64(header.to_string().as_bytes()));
        assert_eq!(parts[1], b64(claims.to_string().as_bytes()));
    }

    fn key(alg: Alg) -> (Signer, VerifyKey) {
        let (s, _) = Signer::generate(alg).unwrap();
        let mut jwk = s.public_jwk();
        jwk["kid"] = json!("k1");
        let v = VerifyKey::from_jwk(&jwk).unwrap();
        (s, v)
    }

    #[test]
    fn sign_and_verify_each_alg() {
        for alg in [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA] {
            let (s, v) = key(alg);
            let t = sign(&s, alg, "k1", "JWT", &json!({"sub": "a"})).unwrap();
            let (h, c) = verify(&t, std::slice::from_ref(&v)).unwrap();
            assert_eq!(h.alg, alg.as_str());
            assert_eq!(c["sub"], "a");
        }
    }

    #[test]
    fn tampered_payload_is_refused() {
        let (s, v) = key(Alg::ES256);
        let t = sign(&s, Alg::ES256, "k1", "JWT", &json!({"sub": "a"})).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64(br#"{"sub":"b"}"#), parts[2]);
        assert_eq!(verify(&forged, &[v]).unwrap_err(), JwsError::BadSignature);
    }

    #[test]
    fn none_and_alg_confusion_are_refused() {
        let (_, v) = key(Alg::RS256);
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"a"}"#));
        assert_eq!(
            verify(&none, std::slice::from_ref(&v)).unwrap_err(),
            JwsError::BadAlg
        );
        // HS256 signed with the RSA public key's bytes must not verify against the RSA key.
        let hs = sign_hs256(&[7u8; 64], Some("k1"), &json!({"sub": "a"}));
        assert_eq!(verify(&hs, &[v]).unwrap_err(), JwsError::NoKey);
    }

    #[test]
    fn hs256_verifies_with_its_secret_only() {
        let k = VerifyKey::hs256(None, vec![1u8; 32]).unwrap();
        let t = sign_hs256(&[1u8; 32], None, &json!({"x": 1}));
        assert!(verify(&t, std::slice::from_ref(&k)).is_ok());
        let t2 = sign_hs256(&[2u8; 32], None, &json!({"x": 1}));
        assert_eq!(verify(&t2, &[k]).unwrap_err(), JwsError::BadSignature);
        assert!(VerifyKey::hs256(None, vec![1u8; 8]).is_err());
    }

    #[test]
    fn jwk_with_mismatched_alg_is_refused() {
        let (s, _) = Signer::generate(Alg::ES256).unwrap();
        let mut jwk = s.public_jwk();
        jwk["alg"] = json!("RS256");
        assert!(VerifyKey::from_jwk(&jwk).is_err());
    }

    #[test]
    fn keys_are_imported_when_parsed() {
        // A point that is not on P-256 is refused up front, not at each verification.
        let off_curve =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&[1u8; 32]), "y": b64(&[2u8; 32])});
        assert!(VerifyKey::from_jwk(&off_curve).is_err());
        let (s, v) = key(Alg::ES256);
        let copy = v.clone();
        let t = sign(&s, Alg::ES256, "k1", "JWT", &json!({"sub": "a"})).unwrap();
        assert!(verify(&t, &[copy]).is_ok(), "clones share the imported key");
    }

    #[test]
    fn compact_tokens_have_exactly_three_parts() {
        assert_eq!(parse("a.b").unwrap_err(), JwsError::Malformed);
        let (s, v) = key(Alg::ES256);
        let t = sign(&s, Alg::ES256, "k1", "JWT", &json!({"sub": "a"})).unwrap();
        let c = parse(&t).unwrap();
        assert_eq!(c.claims["sub"], "a");
        assert!(c.verify(std::slice::from_ref(&v)).is_ok());
        assert_eq!(parse(&format!("{t}.x")).unwrap_err(), JwsError::Malformed);
    }

    #[test]
    fn oversized_token_is_malformed() {
        let big = "a".repeat(MAX_JWS_LEN + 1);
        assert_eq!(peek(&big).unwrap_err(), JwsError::Malformed);
    }

    #[test]
    fn ps256_round_trip_and_tampering() {
        let (s, v) = key(Alg::PS256);
        assert_eq!(v.alg, Alg::PS256);
        let t = sign(&s, Alg::PS256, "k1", "JWT", &json!({"sub": "a"})).unwrap();
        assert!(verify(&t, std::slice::from_ref(&v)).is_ok());
        let parts: Vec<&str> = t.split('.').collect();
        let mut sig = b64_decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let forged = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
        assert_eq!(
            verify(&forged, std::slice::from_ref(&v)).unwrap_err(),
            JwsError::BadSignature
        );
        let other = format!("{}.{}.{}", parts[0], b64(br#"{"sub":"b"}"#), parts[2]);
        assert_eq!(verify(&other, &[v]).unwrap_err(), JwsError::BadSignature);
    }

    #[test]
    fn rsa_key_without_alg_serves_rs256_and_ps256_but_pkcs1_is_not_pss() {
        let (s, _) = Signer::generate(Alg::PS256).unwrap();
        let mut jwk = s.public_jwk();
        jwk.as_object_mut().unwrap().remove("alg");
        let keys = VerifyKey::from_jwks(&json!({"keys": [jwk.clone()]}));
        assert_eq!(keys.len(), 2);
        let t = sign(&s, Alg::PS256, "k1", "JWT", &json!({"sub": "a"})).unwrap();
        assert!(verify(&t, &keys).is_ok());
        // A PS256 signature relabelled RS256 does not verify with the RS256 key.
        let parts: Vec<&str> = t.split('.').collect();
        let rs_header = b64(br#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#);
        let relabelled = format!("{rs_header}.{}.{}", parts[1], parts[2]);
        assert_eq!(
            verify(&relabelled, &keys).unwrap_err(),
            JwsError::BadSignature
        );
        // A key registered as RS256 does not verify PS256.
        jwk["alg"] = json!("RS256");
        let rs_only = VerifyKey::from_jwks(&json!({"keys": [jwk]}));
        assert_eq!(verify(&t, &rs_only).unwrap_err(), JwsError::NoKey);
    }
}
