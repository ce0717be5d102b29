//! Public keys published by others at a `jwks_uri` (clients using `private_key_jwt`,
//! partners): fetched with a timeout and a size limit, cached, and re-fetched when a token
//! names a `kid` the cache does not hold (at most once per `min_refetch` seconds, so
//! strangers cannot make Surety hammer a partner's server); at most [`MAX_URIS`] sets
//! per node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::jws::VerifyKey;
use crate::clock::Timestamp;

const MAX_JWKS_BYTES: usize = 64 * 1024;
const CACHE_FOR: i64 = 300;
/// Most `jwks_uri`s held per node: past it, stale sets go first, then the oldest.
const MAX_URIS: usize = 1_000;

type Cached = HashMap<String, (Timestamp, Vec<VerifyKey>)>;

/// Keeps `keys` for `uri` within [`MAX_URIS`].
fn remember(cache: &mut Cached, uri: &str, now: Timestamp, keys: Vec<VerifyKey>) {
    if cache.len() >= MAX_URIS && !cache.contains_key(uri) {
        cache.retain(|_, (at, _)| now - *at < CACHE_FOR);
        if cache.len() >= MAX_URIS
            && let Some(oldest) = cache.iter().min_by_key(|(_, (at, _))| *at)
        {
            let oldest = oldest.0.clone();
            cache.remove(&oldest);
        }
    }
    cache.insert(uri.to_owned(), (now, keys));
}

#[derive(Debug, thiserror::Error)]
#[error("could not fetch the JWK Set: {0}")]
pub struct FetchError(&'static str);

pub struct RemoteJwks {
    http: reqwest::Client,
    min_refetch: i64,
    cache: Mutex<Cached>,
}

impl Default for RemoteJwks {
    fn default() -> Self {
        Self::new(10)
    }
}

impl RemoteJwks {
    pub fn new(min_refetch: i64) -> Self {
        let http = crate::util::http_client()
            .timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            http,
            min_refetch,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Keys at `uri`; `kid` names the key the caller needs, forcing a re-fetch when the
    /// cached set lacks it.
    pub async fn keys(
        &self,
        uri: &str,
        kid: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<VerifyKey>, FetchError> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(uri).cloned());
        if let Some((at, keys)) = &cached {
            let has_kid = kid.is_none_or(|k| keys.iter().any(|v| v.kid.as_deref() == Some(k)));
            let fresh = now - at < CACHE_FOR;
            if (fresh && has_kid) || now - at < self.min_refetch {
                return Ok(keys.clone());
            }
        }
        let keys = self.fetch(uri).await?;
        if let Ok(mut c) = self.cache.lock() {
            remember(&mut c, uri, now, keys.clone());
        }
        Ok(keys)
    }

    async fn fetch(&self, uri: &str) -> Result<Vec<VerifyKey>, FetchError> {
        let mut resp = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|_| FetchError("unreachable"))?;
        if !resp.status().is_success() {
            return Err(FetchError("non-2xx status"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|_| FetchError("read"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(FetchError("too large"));
            }
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| FetchError("not JSON"))?;
        Ok(VerifyKey::from_jwks(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_holds_at_most_max_uris_dropping_stale_then_oldest() {
        let mut c = Cached::new();
        // A full cache, all fetched within the last 250 s (none stale), k0 the oldest.
        for i in 0..MAX_URIS {
            let at = if i == 0 { 999 } else { 1_000 + i as i64 / 4 };
            remember(&mut c, &format!("https://k{i}.example/jwks"), at, vec![]);
        }
        remember(&mut c, "https://new.example/jwks", 1_260, vec![]);
        assert_eq!(c.len(), MAX_URIS);
        assert!(!c.contains_key("https://k0.example/jwks"));
        assert!(c.contains_key("https://new.example/jwks"));
        // Refreshing a held one takes no room.
        remember(&mut c, "https://k5.example/jwks", 1_261, vec![]);
        assert_eq!(c.len(), MAX_URIS);
        // Much later every earlier set is stale: they all go.
        remember(&mut c, "https://later.example/jwks", 10_000, vec![]);
        assert_eq!(c.len(), 1);
    }
}
