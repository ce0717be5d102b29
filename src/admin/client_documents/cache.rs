//! The node's cache of client metadata documents: each kept as long as its response's
//! `Cache-Control` allows ([`lifetime`]), at most [`MAX_CACHED`] at once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::store::ClientRecord;

/// Most documents a node keeps at once.
pub const MAX_CACHED: usize = 1000;
/// How long a document without caching headers is reused (seconds).
pub const DEFAULT_LIFETIME: u64 = 300;
/// The longest a document is reused, whatever its headers say (seconds).
pub const MAX_LIFETIME: u64 = 86_400;

/// URL → (reusable until, the client).
#[derive(Default)]
pub struct Documents(Mutex<HashMap<String, (Timestamp, ClientRecord)>>);

impl Documents {
    pub fn get(&self, url: &str, now: Timestamp) -> Option<ClientRecord> {
        let cache = self.0.lock().ok()?;
        cache
            .get(url)
            .filter(|(until, _)| now < *until)
            .map(|(_, c)| c.clone())
    }

    /// Keeps `c` until `until`; a full cache first drops what expired, then the entry
    /// expiring soonest.
    pub fn put(&self, url: &str, c: ClientRecord, until: Timestamp, now: Timestamp) {
        let Ok(mut cache) = self.0.lock() else {
            return;
        };
        if cache.len() >= MAX_CACHED && !cache.contains_key(url) {
            cache.retain(|_, (u, _)| now < *u);
            if cache.len() >= MAX_CACHED
                && let Some(k) = cache
                    .iter()
                    .min_by_key(|(_, (u, _))| *u)
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&k);
            }
        }
        cache.insert(url.to_owned(), (until, c));
    }
}

/// `application/json` or a `+json` type, parameters aside.
pub fn is_json(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|s| s.ends_with("+json"))
}

/// Seconds a response may be reused by its `Cache-Control` (RFC 9111 §5.2.2) less its
/// `Age`: `no-store` and `no-cache` forbid it (`None`), `max-age` sets it, nothing says
/// [`DEFAULT_LIFETIME`]; never more than [`MAX_LIFETIME`].
pub fn lifetime(cache_control: Option<&str>, age: Option<&str>) -> Option<u64> {
    let mut lifetime = DEFAULT_LIFETIME;
    for d in cache_control.unwrap_or("").split(',') {
        let d = d.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return None;
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            lifetime = v.trim_matches('"').parse().ok()?;
        }
    }
    let age: u64 = age.and_then(|a| a.trim().parse().ok()).unwrap_or(0);
    Some(lifetime.saturating_sub(age).min(MAX_LIFETIME)).filter(|l| *l > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_follow_cache_control() {
        assert_eq!(lifetime(None, None), Some(DEFAULT_LIFETIME));
        assert_eq!(lifetime(Some("public, max-age=60"), None), Some(60));
        assert_eq!(lifetime(Some("max-age=60"), Some("50")), Some(10));
        assert_eq!(lifetime(Some("max-age=60"), Some("70")), None);
        assert_eq!(lifetime(Some("no-store"), None), None);
        assert_eq!(lifetime(Some("max-age=60, no-cache"), None), None);
        assert_eq!(
            lifetime(Some("max-age=999999999"), None),
            Some(MAX_LIFETIME)
        );
        assert_eq!(lifetime(Some("max-age=soon"), None), None);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/oauth-client+json"));
        assert!(!is_json("text/html"));
        assert!(!is_json("application/jsonp"));
    }

    #[test]
    fn a_full_cache_drops_the_soonest_to_expire() {
        let c = ClientRecord {
            client_id: crate::store::ClientId::parse("https://a/c").unwrap(),
            secret_hash: None,
            metadata: Default::default(),
            created_at: 0,
        };
        let d = Documents::default();
        for i in 0..MAX_CACHED {
            d.put(&format!("u{i}"), c.clone(), 1000 + i as i64, 0);
        }
        d.put("new", c.clone(), 5000, 0);
        assert!(d.get("u0", 1).is_none(), "the soonest to expire went");
        assert!(d.get("u1", 1).is_some() && d.get("new", 1).is_some());
        assert!(d.get("new", 5000).is_none(), "expired");
    }
}
