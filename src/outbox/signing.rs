//! Webhook signatures (documented for receivers in `docs/webhooks.md`):
//!
//! ```text
//! Surety-Event-Id:  EV…                       (receivers deduplicate on it)
//! Surety-Timestamp: <unix seconds>
//! Surety-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//! ```
//!
//! The timestamp is inside the MAC, so a captured request cannot be replayed later than
//! the receiver's tolerance (five minutes). The `v1=` scheme tag leaves room for a second
//! scheme during a migration (several `v…=` values separated by commas).

use aws_lc_rs::hmac;

use crate::clock::Timestamp;

pub const HEADER_EVENT_ID: &str = "surety-event-id";
pub const HEADER_TIMESTAMP: &str = "surety-timestamp";
pub const HEADER_SIGNATURE: &str = "surety-signature";

/// How far a receiver accepts a timestamp from its own clock (either way).
pub const TOLERANCE_SECS: i64 = 300;

/// The `Surety-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: Timestamp, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, timestamp, body).as_ref()))
}

fn mac(secret: &[u8], timestamp: Timestamp, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign()
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing or malformed Surety-Timestamp")]
    BadTimestamp,
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("no valid v1 signature")]
    BadSignature,
}

/// What a receiver does (and what Surety's own tests do): checks the timestamp is within
/// [`TOLERANCE_SECS`] of `now` and that one `v1=` signature matches, in constant time.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<(), VerifyError> {
    let ts: Timestamp = timestamp_header
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyError::Stale);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    // The MAC covers the header exactly as sent.
    let mut message = timestamp_header.as_bytes().to_vec();
    message.push(b'.');
    message.extend_from_slice(body);
    let ok = signature_header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|tag| hmac::verify(&key, &message, &tag).is_ok());
    if ok {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Computed independently: Python `hmac.new(b"secret", b"1700000000.{}", sha256)`.
        assert_eq!(
            signature(b"secret", 1_700_000_000, b"{}"),
            "v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn round_trip_and_refusals() {
        let sig = signature(b"k3y-k3y-k3y-k3y!", 1000, b"{\"a\":1}");
        assert!(sig.starts_with("v1=") && sig.len() == 67);
        let ok = verify(b"k3y-k3y-k3y-k3y!", "1000", &sig, b"{\"a\":1}", 1200);
        assert_eq!(ok, Ok(()));
        let rotated = format!("v1=00, {sig}");
        assert_eq!(
            verify(b"k3y-k3y-k3y-k3y!", "1000", &rotated, b"{\"a\":1}", 1000),
            Ok(())
        );
        let v = |secret: &[u8], ts: &str, body: &[u8], now| verify(secret, ts, &sig, body, now);
        assert_eq!(
            v(b"k3y-k3y-k3y-k3y!", "1000", b"{\"a\":2}", 1000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(b"other-secret-000", "1000", b"{\"a\":1}", 1000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(b"k3y-k3y-k3y-k3y!", "1001", b"{\"a\":1}", 1000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(b"k3y-k3y-k3y-k3y!", "1000", b"{\"a\":1}", 1301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            v(b"k3y-k3y-k3y-k3y!", "soon", b"{\"a\":1}", 1000),
            Err(VerifyError::BadTimestamp)
        );
    }
}
