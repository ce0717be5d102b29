//! Time and randomness, injected (house rule 7): every expiry, rotation and replay
//! window reads the time through [`Clock`], and every secret, identifier and random
//! choice comes from an [`Entropy`] (the system CSPRNG unless a test gives a seeded one).
//! This is the only module allowed to call `SystemTime::now`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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

/// Fills `buf` from the operating system's CSPRNG (aws-lc). Key-encryption nonces and
/// password salts always come from here; everything else goes through [`Entropy`].
pub fn fill_random(buf: &mut [u8]) {
    // Cannot fail: AWS-LC's RAND_bytes returns 1 or aborts the process when it cannot get
    // entropy (openssl/rand.h), so the error arm of `fill` is never taken.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(buf).expect("system random source unavailable");
}

/// A source of random bytes: every secret, identifier and random choice the server makes
/// (tokens, codes, ids, key ids, question order) draws from the one it was given.
pub trait Entropy: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// A URL-safe random token carrying `bytes` bytes of entropy.
    fn token(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.fill(&mut buf);
        crate::util::b64(&buf)
    }

    /// 32 lowercase hex characters of randomness (128 bits), used in SIDs.
    fn hex16(&self) -> String {
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        hex::encode(buf)
    }

    /// A uniformly random `u64`.
    fn next_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }
}

pub type SharedEntropy = Arc<dyn Entropy>;

/// The operating system's CSPRNG (aws-lc): the default, and the only source for a
/// server that is not a test.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&self, buf: &mut [u8]) {
        fill_random(buf);
    }
}

/// A predictable source for tests: the same seed yields the same bytes in the same order
/// (SHA-256 of seed, draw number and block number). Never a source of real secrets.
#[derive(Debug)]
pub struct SeededEntropy {
    seed: u64,
    draws: AtomicU64,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            draws: AtomicU64::new(0),
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let draw = self.draws.fetch_add(1, Ordering::SeqCst);
        for (block, chunk) in (0u64..).zip(buf.chunks_mut(32)) {
            let mut input = [0u8; 24];
            input[..8].copy_from_slice(&self.seed.to_le_bytes());
            input[8..16].copy_from_slice(&draw.to_le_bytes());
            input[16..].copy_from_slice(&block.to_le_bytes());
            let d = crate::util::sha256(&input);
            chunk.copy_from_slice(&d[..chunk.len()]);
        }
    }
}

/// A request id: 32 lowercase hex characters — two keyed hashes (SipHash, a per-process
/// random key) of a counter, so ids look random, reveal neither the counter nor the request
/// rate, and repeat no more often than random 128-bit values — without the cost of a CSPRNG
/// draw per request. Only for correlating log lines, never as a secret.
pub fn request_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::LazyLock;
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
        let a = SystemEntropy.token(32);
        let b = SystemEntropy.token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(SystemEntropy.hex16().len(), 32);
    }

    #[test]
    fn seeded_entropy_repeats_per_seed_and_never_repeats_a_draw() {
        let (a, b, c) = (
            SeededEntropy::new(7),
            SeededEntropy::new(7),
            SeededEntropy::new(8),
        );
        let xs: Vec<String> = (0..3).map(|_| a.token(40)).collect();
        let ys: Vec<String> = (0..3).map(|_| b.token(40)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
        assert_ne!(xs[0], c.token(40));
        assert_eq!(xs[0].len(), 54);
    }
}
