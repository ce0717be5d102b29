//! Single use of assertions (RFC 7523 §3: `jti`; partners' jwt-bearer assertions and
//! `private_key_jwt` client assertions) that survives the loss of the cache. A mark
//! (`SET NX` until the assertion expires) lives only in the cache; the cache also keeps
//! a marker of when its present contents began ([`crate::cache::Marked::since`]). Each
//! node records durably, per cache contents, a time by which every mark it made in them
//! has expired (written ahead, about once a minute under load). An assertion that could
//! have been first used before the present contents began is refused while marks of
//! older contents may still be live: after a Redis restart without persistence, or a
//! restarted embedded node, a replay gets `invalid_grant` / `invalid_client` instead of a
//! second token, for at most the assertion lifetime plus two minutes of skew.

use std::sync::Mutex;

use crate::cache::earliest_first_use;
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;

/// How far ahead a node writes its horizon, so a busy node writes about once a minute.
const AHEAD: i64 = 60;

/// What marking an assertion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// First use, proven.
    First,
    /// Seen before: a replay.
    Replayed,
    /// Not seen, but the cache lost marks that may have covered it.
    Unprovable,
}

/// Seconds a node reuses what it read of other contents' horizons.
const REREAD: i64 = 5;

/// Other contents' latest horizon as read for `contents` at `read_at`.
type Others = Option<(String, Option<Timestamp>, Timestamp)>;

/// The horizon this node last wrote: (contents marker, `until`); and what it last read of
/// other contents' horizons, reused for a few seconds (a request in the window after a
/// loss would otherwise read the database each time).
#[derive(Debug, Default)]
pub struct Horizon(Mutex<(String, Timestamp)>, Mutex<Others>);

impl Horizon {
    /// The latest horizon of contents other than `contents`.
    async fn others(&self, p: &Provider, contents: &str) -> Result<Option<Timestamp>, OAuthError> {
        let now = p.now();
        if let Some((c, until, at)) = self.1.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && c == contents
            && now - at < REREAD
        {
            return Ok(*until);
        }
        let until = p.stores.grants.replay_horizon_besides(contents).await?;
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = Some((contents.to_owned(), until, now));
        Ok(until)
    }

    /// What still needs writing for a mark expiring at `expires` in `contents`.
    fn needs(&self, contents: &str, expires: Timestamp) -> Option<Timestamp> {
        let cur = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (cur.0 != contents || cur.1 < expires).then_some(expires + AHEAD)
    }
    fn wrote(&self, contents: &str, until: Timestamp) {
        let mut cur = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cur.0 != contents || cur.1 < until {
            *cur = (contents.to_owned(), until);
        }
    }
}

/// An assertion to mark once.
pub struct Assertion<'a> {
    /// The cache key of its mark (namespaced by the caller).
    pub key: &'a str,
    pub exp: Timestamp,
    pub iat: Option<Timestamp>,
    /// The longest lifetime an assertion of this kind may have when accepted.
    pub max_lifetime: i64,
    /// The clock skew allowed on `exp`, `iat` and `nbf`.
    pub skew: i64,
}

/// Marks `a` used until it expires, and says whether this is its proven first use.
pub async fn mark(p: &Provider, a: &Assertion<'_>) -> Result<Use, OAuthError> {
    let now = p.now();
    let expires = a.exp + a.skew;
    let ttl = u64::try_from((expires - now).max(1)).unwrap_or(1);
    let marked = p.cache.mark_first(a.key, ttl, now).await?;
    if !marked.first {
        return Ok(Use::Replayed);
    }
    // Durable before the token is issued: a later loss of these contents will know
    // their marks may still be live until then.
    if let Some(until) = p.replay_horizon.needs(&marked.contents, expires) {
        p.stores
            .grants
            .raise_replay_horizon(&marked.contents, until)
            .await?;
        p.replay_horizon.wrote(&marked.contents, until);
    }
    if marked.proves_unused(earliest_first_use(a.exp, a.iat, a.max_lifetime, a.skew)) {
        return Ok(Use::First);
    }
    match p.replay_horizon.others(p, &marked.contents).await? {
        Some(until) if until >= now => {
            tracing::warn!("assertion older than the cache's contents refused");
            Ok(Use::Unprovable)
        }
        _ => Ok(Use::First),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_writes_once_per_contents_and_minute() {
        let h = Horizon::default();
        assert_eq!(h.needs("100.a", 500), Some(560));
        h.wrote("100.a", 560);
        assert_eq!(h.needs("100.a", 559), None, "covered");
        assert_eq!(h.needs("100.a", 561), Some(621));
        assert_eq!(
            h.needs("100.b", 300),
            Some(360),
            "new contents: written again"
        );
    }
}
