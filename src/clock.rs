//! Time and randomness, injected (house rule 7): every expiry, rotation and replay
//! window reads the time through [`Clock`], and every secret comes from [`random_token`].
//! This is the only module allowed to call `SystemTime::now`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(t)))
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// Fills `buf` from the operating system's CSPRNG (aws-lc).
pub fn fill_random(buf: &mut [u8]) {
    // aws-lc's RNG only fails if the OS entropy source is gone; there is no safe way on.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(buf).expect("system random source unavailable");
}

/// A URL-safe random token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    crate::util::b64(&buf)
}

/// 32 lowercase hex characters of randomness (128 bits), used in SIDs.
pub fn random_hex16() -> String {
    let mut buf = [0u8; 16];
    fill_random(&mut buf);
    hex::encode(buf)
}

/// A request id: 32 lowercase hex characters — two keyed hashes (SipHash, a per-process
/// random key) of a counter, so ids look random, reveal neither the counter nor the request
/// rate, and repeat no more often than random 128-bit values — without the cost of a CSPRNG
/// draw per request. Only for correlating log lines, never as a secret.
pub fn request_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::LazyLock;
    use std::sync::atomic::AtomicU64;
    static KEYS: LazyLock<(RandomState, RandomState)> =
        LazyLock::new(|| (RandomState::new(), RandomState::new()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (hi, lo) = &*KEYS;
    let v = (u128::from(hi.hash_one(n)) << 64) | u128::from(lo.hash_one(n));
    let mut out = String::with_capacity(32);
    for i in (0..32).rev() {
        out.push(char::from(
            b"0123456789abcdef"[((v >> (i * 4)) & 0xf) as usize],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_32_hex_chars() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| {
            i.len() == 32
                && i.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::at(1000);
        assert_eq!(c.now(), 1000);
        c.advance(5);
        assert_eq!(c.now(), 1005);
    }

    #[test]
    fn tokens_are_distinct_and_long() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
