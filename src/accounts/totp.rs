//! One-time codes from an authenticator app (TOTP, RFC 6238 over HOTP, RFC 4226): 160-bit
//! secrets, HMAC-SHA-1, 30-second steps, 6 digits — what every authenticator app reads
//! from an `otpauth://totp/` URI (Key Uri Format) shown as a QR code, rendered here as
//! SVG. Enrolment keeps the new secret, sealed, in the shared cache until the user types
//! a code from it; the credential is then stored sealed under the key-encryption key and
//! never shown again. A code is accepted for the step before, the current one and the
//! one after (±30 s of clock drift, §5.2) and once only: the store takes a step only if
//! it is later than the last one accepted, on any node. Attempts are limited with the
//! login lockout's counters (`super::factors`).

use aws_lc_rs::hmac;

use super::factors::{self, Checked};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::{StoreError, TotpRecord};
use crate::util::{ct_eq, secret_hash};

/// Seconds per time step (RFC 6238 §4.1 X).
const STEP: i64 = 30;
/// Digits per code.
const DIGITS: u32 = 6;
/// Bytes of secret (RFC 4226 §4 recommends 160 bits).
const SECRET_LEN: usize = 20;
/// Seconds an enrolment waits for its confirmation code.
const ENROL_TTL: u64 = 600;

/// The HOTP value of `secret` at counter `step` (RFC 4226 §5.3: dynamic truncation).
fn hotp(secret: &[u8], step: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let h = mac.as_ref();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    bin % 10u32.pow(DIGITS)
}

/// The time step of `t` (Unix seconds).
fn step_of(t: i64) -> i64 {
    t.div_euclid(STEP)
}

/// The 6-digit code of `secret` at step `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, u64::try_from(step).unwrap_or(0)),
        width = DIGITS as usize
    )
}

/// The step among `now`'s and its neighbours whose code is `code`, if any.
fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize {
        return None;
    }
    let s = step_of(now);
    [s - 1, s, s + 1]
        .into_iter()
        .find(|st| ct_eq(code_at(secret, *st).as_bytes(), code.as_bytes()))
}

/// RFC 4648 base32 without padding (how authenticator apps take secrets).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in bytes {
        buf = (buf << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The Key Uri Format an app scans.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer).replace('+', "%20"),
        enc(account).replace('+', "%20"),
        base32(secret),
        enc(issuer).replace('+', "%20"),
    )
}

/// `data` as a QR code in SVG (an `<svg>` element, no XML declaration).
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Some(
        svg.find("<svg")
            .map_or(svg.clone(), |i| svg[i..].to_owned()),
    )
}

/// An enrolment waiting for its confirmation code.
pub struct Pending {
    /// The secret in base32, for typing by hand.
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The URI as an SVG QR code.
    pub qr_svg: String,
}

/// An enrolment in progress belongs to one browser session of the user (`browser`: its
/// session cookie): another session, a stolen password's included, neither sees nor
/// confirms its secret.
fn pending_key(sub: &str, browser: &str) -> String {
    format!("totp_enrol:{}", secret_hash(&format!("{sub}\n{browser}")))
}

/// The enrolment in progress in this browser session, begun now if there is none.
pub async fn enrolment(
    p: &Provider,
    sub: &str,
    browser: &str,
    account: &str,
) -> Result<Pending, OAuthError> {
    let key = pending_key(sub, browser);
    let secret = match p.cache.get(&key).await? {
        Some(sealed) => open(p, sub, &sealed)?,
        None => {
            let mut secret = vec![0u8; SECRET_LEN];
            p.entropy.fill(&mut secret);
            let sealed = seal(p, sub, &secret)?;
            p.cache.put(&key, &sealed, ENROL_TTL).await?;
            secret
        }
    };
    let uri = otpauth_uri(&issuer_name(p), account, &secret);
    let qr_svg = qr_svg(&uri).unwrap_or_default();
    Ok(Pending {
        secret: base32(&secret),
        uri,
        qr_svg,
    })
}

/// The name apps show for this server: the issuer's host.
fn issuer_name(p: &Provider) -> String {
    url::Url::parse(&p.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Surety".to_owned())
}

fn seal(p: &Provider, sub: &str, secret: &[u8]) -> Result<Vec<u8>, OAuthError> {
    p.keys
        .seal_secret(sub.as_bytes(), secret)
        .map_err(OAuthError::server_error)
}

fn open(p: &Provider, sub: &str, sealed: &[u8]) -> Result<Vec<u8>, OAuthError> {
    p.keys
        .open_secret(sub.as_bytes(), sealed)
        .map_err(OAuthError::server_error)
}

/// Confirms the enrolment in progress with a code from the app: the credential is
/// stored (replacing any earlier one) with that code's step spent. Attempts count
/// toward the factor limit.
pub async fn confirm(
    p: &Provider,
    sub: &str,
    browser: &str,
    code: &str,
) -> Result<Checked, OAuthError> {
    let Some(sealed) = p.cache.get(&pending_key(sub, browser)).await? else {
        return Ok(Checked::Invalid);
    };
    if !factors::reserve_attempt(p, sub).await? {
        return Ok(Checked::Locked);
    }
    let secret = open(p, sub, &sealed)?;
    let Some(step) = matching_step(&secret, code, p.now()) else {
        return Ok(Checked::Invalid);
    };
    p.stores
        .totp
        .put_totp(&TotpRecord {
            user_id: sub.to_owned(),
            sealed_secret: seal(p, sub, &secret)?,
            created_at: p.now(),
            last_step: step,
        })
        .await?;
    p.cache.delete(&pending_key(sub, browser)).await?;
    factors::attempt_passed(p, sub).await?;
    Ok(Checked::Passed)
}

/// Checks a code of the user's app: right for a neighbouring step, not used before, and
/// within the attempt limit.
pub async fn verify(p: &Provider, sub: &str, code: &str) -> Result<Checked, OAuthError> {
    let rec = match p.stores.totp.get_totp(sub).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Ok(Checked::Invalid),
        Err(e) => return Err(e.into()),
    };
    if !factors::reserve_attempt(p, sub).await? {
        return Ok(Checked::Locked);
    }
    let secret = open(p, sub, &rec.sealed_secret)?;
    let Some(step) = matching_step(&secret, code, p.now()) else {
        return Ok(Checked::Invalid);
    };
    if !p.stores.totp.advance_totp(sub, step).await? {
        tracing::warn!("a TOTP code was presented again (replay refused)");
        return Ok(Checked::Invalid);
    }
    factors::attempt_passed(p, sub).await?;
    Ok(Checked::Passed)
}

/// Removes the user's TOTP credential; `true` if there was one.
pub async fn remove(p: &Provider, sub: &str) -> Result<bool, OAuthError> {
    let removed = p.stores.totp.delete_totp(sub).await?;
    factors::removed(p, sub).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_vectors_sha1() {
        // Appendix B, SHA-1, truncated to 6 digits (the last six of the 8-digit values).
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SECRET, step_of(t)), code, "t={t}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way() {
        let now = 1111111111;
        let s = step_of(now);
        for d in [-1, 0, 1] {
            let code = code_at(RFC_SECRET, s + d);
            assert_eq!(matching_step(RFC_SECRET, &code, now), Some(s + d));
        }
        for d in [-2, 2] {
            let code = code_at(RFC_SECRET, s + d);
            assert_eq!(matching_step(RFC_SECRET, &code, now), None);
        }
        assert_eq!(matching_step(RFC_SECRET, "12345", now), None);
        let spaced = code_at(RFC_SECRET, s);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(RFC_SECRET, &spaced, now), Some(s));
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri("id.example.com", "alice smith", RFC_SECRET);
        assert!(uri.starts_with("otpauth://totp/id.example.com:alice%20smith?secret=GEZD"));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
