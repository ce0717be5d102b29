//! Sealing private keys at rest: AES-256-GCM under the key-encryption key (KEK). The
//! KEK comes from configuration (`SURETY_KEY_ENCRYPTION_KEY` or a file); the embedded
//! default generates one under the data dir with mode 0600.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::clock::fill_random;

/// A 256-bit key-encryption key (and the HMAC key that derives subkeys from it).
pub struct Kek(LessSafeKey, aws_lc_rs::hmac::Key);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the key-encryption key must be 32 bytes, base64url or hex encoded")]
    BadKek,
    #[error("a sealed key could not be opened: wrong key-encryption key or corrupt data")]
    Open,
}

impl Kek {
    /// Parses a KEK written as 64 hex characters or 43 base64url characters.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let t = text.trim();
        let bytes = if t.len() == 64 {
            hex::decode(t).ok()
        } else {
            crate::util::b64_decode(t.trim_end_matches('='))
        };
        match bytes {
            Some(b) if b.len() == 32 => Self::from_bytes(&b),
            _ => Err(SealError::BadKek),
        }
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, SealError> {
        let k = UnboundKey::new(&AES_256_GCM, b).map_err(|_| SealError::BadKek)?;
        let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b);
        Ok(Self(LessSafeKey::new(k), derive))
    }

    /// A 256-bit subkey for one purpose (`label`), the same on every node sharing this
    /// KEK: HMAC-SHA256 of the label under the KEK (an HKDF-Expand of one block).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.1, format!("surety/{label}\x01").as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// A fresh random KEK, returned with its text form (hex).
    pub fn generate() -> Result<(Self, String), SealError> {
        let mut b = [0u8; 32];
        fill_random(&mut b);
        Ok((Self::from_bytes(&b)?, hex::encode(b)))
    }

    /// nonce ‖ ciphertext ‖ tag; `aad` binds the ciphertext to its key id.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut buf = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend(buf);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (n, c) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| SealError::Open)?;
        let mut buf = c.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let (k, text) = Kek::generate().unwrap();
        let s = k.seal(b"kid1", b"secret").unwrap();
        assert_eq!(k.open(b"kid1", &s).unwrap(), b"secret");
        assert!(k.open(b"kid2", &s).is_err());
        let k2 = Kek::parse(&text).unwrap();
        assert_eq!(k2.open(b"kid1", &s).unwrap(), b"secret");
        let (other, _) = Kek::generate().unwrap();
        assert!(other.open(b"kid1", &s).is_err());
    }

    #[test]
    fn bad_kek_text_is_refused() {
        assert!(Kek::parse("short").is_err());
        assert!(Kek::parse(&"zz".repeat(32)).is_err());
    }
}
