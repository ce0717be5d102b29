//! Server-provided DPoP nonces (RFC 9449 §8 at the token endpoint, §9 at resource
//! servers): stateless, so every node issues and accepts the same ones without shared
//! state. A nonce names a time period and carries an HMAC of it under a key derived from
//! the key-encryption key (the same on every node); the current period's nonce and the
//! previous one's are accepted, so a nonce lives between one and two periods. A client
//! that sends none or an old one gets `use_dpop_nonce` with a fresh `DPoP-Nonce`.

use aws_lc_rs::hmac;

use crate::clock::Timestamp;
use crate::util::{b64, b64_decode, ct_eq};

/// Bytes of the HMAC a nonce carries.
const TAG_LEN: usize = 16;

/// Issues and checks nonces.
#[derive(Clone)]
pub struct Nonces {
    key: hmac::Key,
    period: i64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces(..)")
    }
}

impl Nonces {
    /// Nonces under `key` rotating every `period` seconds (at least 1).
    pub fn new(key: &[u8], period: i64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            period: period.max(1),
        }
    }

    fn of_period(&self, n: i64) -> String {
        let tag = hmac::sign(&self.key, &n.to_be_bytes());
        let mut raw = n.to_be_bytes().to_vec();
        raw.extend_from_slice(&tag.as_ref()[..TAG_LEN]);
        b64(&raw)
    }

    /// The nonce to hand out at `now`.
    pub fn issue(&self, now: Timestamp) -> String {
        self.of_period(now.div_euclid(self.period))
    }

    /// Whether `nonce` is this period's or the previous one's.
    pub fn valid(&self, nonce: &str, now: Timestamp) -> bool {
        let Some(raw) = b64_decode(nonce).filter(|r| r.len() == 8 + TAG_LEN) else {
            return false;
        };
        let mut n = [0u8; 8];
        n.copy_from_slice(&raw[..8]);
        let n = i64::from_be_bytes(n);
        let current = now.div_euclid(self.period);
        (n == current || n == current - 1) && ct_eq(nonce.as_bytes(), self.of_period(n).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_one_to_two_periods_and_only_under_its_key() {
        let n = Nonces::new(b"k1", 60);
        let a = n.issue(1_000);
        assert!(n.valid(&a, 1_000));
        assert!(n.valid(&a, 1_079), "the next period still accepts it");
        assert!(!n.valid(&a, 1_080), "two periods on it is stale");
        assert!(!n.valid(&a, 900), "a nonce from the future is refused");
        assert!(!Nonces::new(b"k2", 60).valid(&a, 1_000), "another key");
        assert!(!n.valid("", 1_000));
        assert!(!n.valid(&format!("{a}x"), 1_000));
        assert_eq!(
            n.issue(1_000),
            Nonces::new(b"k1", 60).issue(1_019),
            "every node agrees"
        );
    }
}
