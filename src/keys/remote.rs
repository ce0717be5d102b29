//! Public keys published by others at a `jwks_uri` (clients using `private_key_jwt`,
//! partners): fetched with a timeout and a size limit, cached, and re-fetched when a token
//! names a `kid` the cache does not hold (at most once per `min_refetch` seconds, so
//! strangers cannot make Surety hammer a partner's server).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::jws::VerifyKey;
use crate::clock::Timestamp;

const MAX_JWKS_BYTES: usize = 64 * 1024;
const CACHE_FOR: i64 = 300;

#[derive(Debug, thiserror::Error)]
#[error("could not fetch the JWK Set: {0}")]
pub struct FetchError(&'static str);

pub struct RemoteJwks {
    http: reqwest::Client,
    min_refetch: i64,
    cache: Mutex<HashMap<String, (Timestamp, Vec<VerifyKey>)>>,
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
            c.insert(uri.to_owned(), (now, keys.clone()));
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
