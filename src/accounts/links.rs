//! Signed, single-use, short-lived links e-mailed to users (e-mail verification, password
//! reset), and the rate limits on sending them.
//!
//! A link's token is `<random>.<tag>`: 256 random bits (base64url) and a 128-bit
//! HMAC-SHA256 tag of the purpose and the random part under a key derived from the
//! key-encryption key (the same on every node). A forged or altered token fails the tag,
//! compared in constant time, before any lookup; a token of one purpose is no token of the
//! other. The database keeps only the SHA-256 of the random part, with the user, the
//! address it went to and its expiry (`store::LinkStore`); redeeming consumes it
//! atomically. The e-mail carrying it is sealed in the outbox row
//! (`outbox::email::email_event`), so neither the database nor the logs hold a usable
//! link.
//!
//! Sending is limited per asked address (or login name) and per account, with counters in
//! the shared cache reserved (`INCR`) before any work, as the login lockout does.

use crate::cache::Ephemeral;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::outbox::email::{EmailMessage, email_event};
use crate::store::{LinkPurpose, LinkRecord, StoreError};
use crate::util::{b64, b64_decode, ct_eq, secret_hash};

/// The label of the tag key derived from the key-encryption key.
const MAC_LABEL: &str = "mail-link";
/// Random bytes in a token.
const RANDOM_BYTES: usize = 32;
/// Bytes of the tag kept in a token.
const TAG_BYTES: usize = 16;

/// The tag of `random` for `purpose`.
fn tag(p: &Provider, purpose: LinkPurpose, random: &str) -> [u8; TAG_BYTES] {
    let mac = p.keys.mac(
        MAC_LABEL,
        format!("{}.{random}", purpose.as_str()).as_bytes(),
    );
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&mac[..TAG_BYTES]);
    out
}

/// The stored hash of a presented token, if its tag is right for `purpose`; `None` for a
/// malformed, forged or altered token (no lookup needed to refuse it).
pub fn check(p: &Provider, purpose: LinkPurpose, token: &str) -> Option<String> {
    let (random, sent) = token.split_once('.')?;
    let random_ok = b64_decode(random).is_some_and(|r| r.len() == RANDOM_BYTES);
    let sent = b64_decode(sent)?;
    if !random_ok {
        return None;
    }
    ct_eq(&sent, &tag(p, purpose, random)).then(|| secret_hash(random))
}

/// A new link for `sub` at `email`, living `ttl` seconds: the URL to send (under `path`
/// on the issuer) and the record to store.
fn new_link(
    p: &Provider,
    purpose: LinkPurpose,
    path: &str,
    sub: &str,
    email: &str,
    ttl: i64,
) -> (String, LinkRecord) {
    let random = p.entropy.token(RANDOM_BYTES);
    let token = format!("{random}.{}", b64(&tag(p, purpose, &random)));
    let now = p.now();
    let record = LinkRecord {
        token_hash: secret_hash(&random),
        purpose,
        sub: sub.to_owned(),
        email: email.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(ttl.max(1)),
        consumed_at: None,
    };
    (format!("{}?t={token}", p.url(path)), record)
}

/// What a link e-mail says around its URL.
pub struct LinkMail<'a> {
    pub purpose: LinkPurpose,
    /// The page the link opens.
    pub path: &'a str,
    pub sub: &'a str,
    /// The address it goes to (the user's, as stored).
    pub email: &'a str,
    pub ttl: i64,
    pub subject: &'a str,
    /// The text, with `{link}` where the URL goes.
    pub text: String,
}

/// Stores a new link and queues the e-mail carrying it (sealed), in one transaction.
pub async fn send(p: &Provider, m: LinkMail<'_>) -> Result<(), OAuthError> {
    let (url, record) = new_link(p, m.purpose, m.path, m.sub, m.email, m.ttl);
    let message = EmailMessage {
        subject: m.subject.to_owned(),
        text: m.text.replace("{link}", &url),
    };
    let event = email_event(
        Some(p.keys.as_ref()),
        p.entropy.as_ref(),
        p.now(),
        m.email,
        &message,
    )
    .map_err(OAuthError::server_error)?;
    p.stores.links.issue_link(&record, &event).await?;
    tracing::info!(purpose = %m.purpose, event_id = %event.id, "link e-mailed");
    Ok(())
}

/// The live link a presented token names (`None`: malformed, forged, unknown, used or
/// expired), without using it: for the page the link opens.
pub async fn peek(
    p: &Provider,
    purpose: LinkPurpose,
    token: &str,
) -> Result<Option<LinkRecord>, OAuthError> {
    let Some(hash) = check(p, purpose, token) else {
        return Ok(None);
    };
    match p.stores.links.live_link(&hash, purpose, p.now()).await {
        Ok(l) => Ok(Some(l)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Minutes in `secs`, rounded up, for the e-mails.
pub fn minutes(secs: i64) -> u64 {
    u64::try_from(secs).unwrap_or(0).max(1).div_ceil(60)
}

/// One rate-limit counter: `limit` units per `window` seconds.
pub struct Counter {
    pub key: String,
    pub limit: u64,
}

/// The counter of links of `purpose` asked for `asked` (an address or a login name,
/// compared in lower case).
pub fn address_counter(p: &Provider, purpose: LinkPurpose, asked: &str) -> Counter {
    Counter {
        key: format!(
            "maillink:{purpose}:a:{}",
            secret_hash(&asked.to_lowercase())
        ),
        limit: p.settings.mail_link_max_per_address,
    }
}

/// The counter of links of `purpose` asked from client address `client` (10× the
/// per-address limit, as the login's per-address lockout).
pub fn client_counter(p: &Provider, purpose: LinkPurpose, client: &str) -> Counter {
    Counter {
        key: format!("maillink:{purpose}:ip:{client}"),
        limit: p.settings.mail_link_max_per_address.saturating_mul(10),
    }
}

/// The counter of links of `purpose` sent to account `sub`.
pub fn account_counter(p: &Provider, purpose: LinkPurpose, sub: &str) -> Counter {
    Counter {
        key: format!("maillink:{purpose}:u:{sub}"),
        limit: p.settings.mail_link_max_per_account,
    }
}

/// Reserves one unit of each counter (atomic `INCR`, before any work, whatever the
/// outcome); `false` if any is over its limit.
pub async fn reserve(
    cache: &dyn Ephemeral,
    window: u64,
    counters: &[Counter],
) -> Result<bool, OAuthError> {
    let mut within = true;
    for c in counters {
        let n = cache.incr(&c.key, window.max(1)).await?;
        within &= n <= c.limit;
    }
    Ok(within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_up() {
        assert_eq!(minutes(1800), 30);
        assert_eq!(minutes(61), 2);
        assert_eq!(minutes(0), 1);
    }
}
