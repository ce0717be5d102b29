//! Fetching the documents a client registration points at (OpenID Connect Core §8.1's
//! `sector_identifier_uri`; a Client ID Metadata Document, which is the client), which
//! anyone able to register a client chooses: so https only, no redirects, no proxy, a timeout and a size limit, and never an address inside
//! the operator's network. Every address a host name resolves to is checked, and the
//! connection is made only to the checked ones (the HTTP client's resolver drops the
//! others), so a name that resolves to a private address — even on a second lookup, DNS
//! rebinding — is never reached. Loopback (and plain http to it) is allowed only when
//! configured for tests and local development (`SURETY_FETCH_ALLOW_LOOPBACK`); private,
//! link-local, shared, documentation, multicast and other special ranges never are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

/// Largest document read by default, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;
/// Seconds a whole fetch may take by default (connection included).
const TIMEOUT: u64 = 5;

/// How much a fetch may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body read, in bytes.
    pub max_bytes: usize,
    /// Longest the whole fetch may take, connection included.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: MAX_BYTES,
            timeout: Duration::from_secs(TIMEOUT),
        }
    }
}

/// A fetched JSON document, with the response headers that say what it is and how long
/// it may be reused.
#[derive(Debug, Clone)]
pub struct Document {
    pub json: Value,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub age: Option<String>,
}

/// Why a document could not be fetched (safe to show the registering party).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL must be https")]
    NotHttps,
    #[error("the URL names an address that may not be fetched (private, loopback or special)")]
    Forbidden,
    #[error("the document could not be fetched")]
    Unreachable,
    #[error("the document answered HTTP {0}")]
    Status(u16),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the document is not JSON")]
    NotJson,
}

/// The guarded HTTP client (one per server).
pub struct Fetcher {
    http: reqwest::Client,
    allow_loopback: bool,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("allow_loopback", &self.allow_loopback)
            .finish()
    }
}

impl Fetcher {
    pub fn new(allow_loopback: bool) -> Self {
        let http = crate::util::http_client()
            .timeout(Duration::from_secs(TIMEOUT))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(Guarded { allow_loopback }))
            .build()
            .unwrap_or_default();
        Self {
            http,
            allow_loopback,
        }
    }

    /// The JSON document at `url`, within the default [`Limits`].
    pub async fn json(&self, url: &str) -> Result<Value, FetchError> {
        Ok(self.document(url, Limits::default()).await?.json)
    }

    /// The JSON document at `url` and its headers, within `limits`.
    pub async fn document(&self, url: &str, limits: Limits) -> Result<Document, FetchError> {
        let u = url::Url::parse(url).map_err(|_| FetchError::Unreachable)?;
        let loopback_host = match u.host() {
            Some(url::Host::Ipv4(a)) => {
                self.check(IpAddr::V4(a))?;
                a.is_loopback()
            }
            Some(url::Host::Ipv6(a)) => {
                self.check(IpAddr::V6(a))?;
                a.is_loopback()
            }
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => return Err(FetchError::Unreachable),
        };
        match u.scheme() {
            "https" => {}
            "http" if self.allow_loopback && loopback_host => {}
            _ => return Err(FetchError::NotHttps),
        }
        let request = self.http.get(u).timeout(limits.timeout);
        let request = request.header(reqwest::header::ACCEPT, "application/json");
        let mut resp = request.send().await.map_err(|e| {
            tracing::info!(error = %e, "registration document fetch failed");
            FetchError::Unreachable
        })?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > limits.max_bytes as u64)
        {
            return Err(FetchError::TooLarge(limits.max_bytes));
        }
        let header = |h| {
            let v = resp.headers().get(h)?;
            v.to_str().ok().map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let age = header(reqwest::header::AGE);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|_| FetchError::Unreachable)? {
            body.extend_from_slice(&chunk);
            if body.len() > limits.max_bytes {
                return Err(FetchError::TooLarge(limits.max_bytes));
            }
        }
        Ok(Document {
            json: serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)?,
            content_type,
            cache_control,
            age,
        })
    }

    fn check(&self, ip: IpAddr) -> Result<(), FetchError> {
        if allowed(ip, self.allow_loopback) {
            Ok(())
        } else {
            Err(FetchError::Forbidden)
        }
    }
}

/// The resolver of the guarded client: the system's, less every address not allowed.
struct Guarded {
    allow_loopback: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let ok: Vec<SocketAddr> = found.filter(|a| allowed(a.ip(), allow_loopback)).collect();
            if ok.is_empty() {
                return Err(format!("{host}: no address that may be fetched").into());
            }
            let addrs: Addrs = Box::new(ok.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `url` is https on a host that is neither `localhost` nor an address
/// [`allowed`] refuses (loopback included): what a client describing itself may ask
/// the server to contact later (`jwks_uri`, `backchannel_logout_uri`). A name is judged
/// as written; its addresses are not resolved here.
pub fn public_https(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    u.scheme() == "https"
        && match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d != "localhost" && !d.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => allowed(IpAddr::V4(ip), false),
            Some(url::Host::Ipv6(ip)) => allowed(IpAddr::V6(ip), false),
            None => false,
        }
}

/// Whether Surety may connect to `ip` for a registration document: a public unicast
/// address, or loopback when `allow_loopback`.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(a) => v4_allowed(a, allow_loopback),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4_allowed(v4, allow_loopback),
            None => v6_allowed(a, allow_loopback),
        },
    }
}

fn v4_allowed(a: Ipv4Addr, allow_loopback: bool) -> bool {
    if a.is_loopback() {
        return allow_loopback;
    }
    let [o0, o1, o2, _] = a.octets();
    let special = a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || o0 == 0
        || o0 >= 240
        || (o0 == 100 && (64..128).contains(&o1)) // 100.64.0.0/10, shared address space
        || (o0 == 192 && o1 == 0 && o2 == 0) // 192.0.0.0/24, IETF protocol assignments
        || (o0 == 198 && (o1 == 18 || o1 == 19)); // 198.18.0.0/15, benchmarking
    !special
}

fn v6_allowed(a: Ipv6Addr, allow_loopback: bool) -> bool {
    if a.is_loopback() {
        return allow_loopback;
    }
    let s = a.segments();
    let special = a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32, documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // 64:ff9b::/96, NAT64 (an IPv4 inside)
        || s[0] == 0x2002 // 2002::/16, 6to4 (an IPv4 inside)
        || s[..6] == [0; 6]; // ::/96, IPv4-compatible and other reserved
    !special
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_and_loopback_when_allowed() {
        let ok = |s: &str, lo: bool| allowed(s.parse().unwrap(), lo);
        for public in ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "1.1.1.1"] {
            assert!(ok(public, false), "{public}");
        }
        for special in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "fd00::1",
            "fe80::1",
            "::",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
        ] {
            assert!(!ok(special, false) && !ok(special, true), "{special}");
        }
        for lo in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(!ok(lo, false) && ok(lo, true), "{lo}");
        }
    }

    #[test]
    fn urls_a_client_may_point_the_server_at() {
        assert!(public_https("https://rp.example/jwks"));
        assert!(public_https("https://93.184.216.34/jwks"));
        for bad in [
            "http://rp.example/jwks",
            "https://localhost/jwks",
            "https://api.localhost/jwks",
            "https://127.0.0.1/jwks",
            "https://10.0.0.8/jwks",
            "https://[::1]/jwks",
            "https://169.254.169.254/latest",
        ] {
            assert!(!public_https(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_any_connection() {
        let f = Fetcher::new(false);
        assert_eq!(
            f.json("http://example.com/x").await,
            Err(FetchError::NotHttps)
        );
        assert_eq!(
            f.json("https://10.0.0.1/x").await,
            Err(FetchError::Forbidden)
        );
        assert_eq!(f.json("https://[::1]/x").await, Err(FetchError::Forbidden));
        assert_eq!(
            f.json("http://127.0.0.1:9/x").await,
            Err(FetchError::Forbidden)
        );
        // `localhost` resolves to loopback only: the resolver refuses it.
        assert_eq!(
            f.json("https://localhost:9/x").await,
            Err(FetchError::Unreachable)
        );
        let lo = Fetcher::new(true);
        assert_eq!(
            lo.json("http://example.com/x").await,
            Err(FetchError::NotHttps)
        );
    }
}
