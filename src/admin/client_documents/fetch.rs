//! Fetching a client metadata document without becoming a tool against the server's own
//! network (the draft's SSRF considerations): the host's addresses are resolved by
//! [`PublicOnly`], which drops every special-use address (loopback, private, link-local,
//! shared, documentation, multicast, reserved; RFC 6890), so the connection can only go
//! to a public address — the one checked, with no second lookup to rebind — and an IP
//! literal host is checked the same way. No proxy, no redirects, a timeout, at most
//! [`MAX_DOCUMENT_BYTES`], `200` with a JSON content type only. How long the answer may
//! be reused comes from its `Cache-Control` ([`cache_lifetime`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, AGE, CACHE_CONTROL, CONTENT_TYPE};

/// Largest document accepted (bytes); a larger one is refused.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// How long a document without caching headers is reused (seconds).
pub const DEFAULT_LIFETIME: u64 = 300;
/// The longest a document is reused, whatever its headers say (seconds).
pub const MAX_LIFETIME: u64 = 86_400;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub &'static str);

/// A fetched document: its bytes, and for how many seconds it may be reused (`None`:
/// not at all).
pub struct Fetched {
    pub body: Vec<u8>,
    pub lifetime: Option<u64>,
}

pub struct Fetcher {
    http: reqwest::Client,
    allow_private: bool,
}

impl Fetcher {
    /// A fetcher giving up after `timeout`; `allow_private` lets it reach special-use
    /// addresses (tests, local development).
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        let http = crate::util::http_client()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .user_agent(concat!("Surety/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            allow_private,
        }
    }

    pub async fn get(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !self.allow_private && !is_public(ip)) {
            return Err(FetchError("the host is not a public address"));
        }
        let mut resp = self
            .http
            .get(url.as_str())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    FetchError("timed out")
                } else {
                    FetchError("unreachable, or not on a public address")
                }
            })?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(FetchError("the answer is not 200 OK"));
        }
        let header = |h| resp.headers().get(h).and_then(|v| v.to_str().ok());
        if !header(CONTENT_TYPE).is_some_and(is_json) {
            return Err(FetchError("the content type is not JSON"));
        }
        let lifetime = cache_lifetime(header(CACHE_CONTROL), header(AGE));
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError("the document is too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            if e.is_timeout() {
                FetchError("timed out")
            } else {
                FetchError("the answer broke off")
            }
        })? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError("the document is too large"));
            }
        }
        Ok(Fetched { body, lifetime })
    }
}

/// `application/json` or a `+json` type, parameters aside.
fn is_json(ct: &str) -> bool {
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
pub fn cache_lifetime(cache_control: Option<&str>, age: Option<&str>) -> Option<u64> {
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

/// Resolves through the system, keeping only public addresses (all of them when
/// `allow_private`); a name with none left does not resolve.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let addrs: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("the host has no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether `url` is https on a host that is not `localhost` nor a special-use address:
/// what a client describing itself (a registration, a metadata document) may ask the
/// server to contact (`jwks_uri`, `backchannel_logout_uri`). A name is judged as written;
/// its addresses are not resolved here.
pub fn is_public_https(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    u.scheme() == "https"
        && match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d != "localhost" && !d.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => public_v4(ip),
            Some(url::Host::Ipv6(ip)) => public_v6(ip),
            None => false,
        }
}

/// Whether `ip` is an ordinary public unicast address: none of the special-use ranges of
/// RFC 6890 and its successors.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking (RFC 2544)
        || a >= 240) // reserved
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
    if nat64 {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || s[0] == 0 // IPv4-compatible and other reserved
        || (s[0] == 0x2001 && s[1] < 0x0200)) // IETF protocol assignments (Teredo, ORCHID…)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_use_addresses_are_not_public() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.7",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for ok in ["93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(ok.parse().unwrap()), "{ok}");
        }
    }

    #[test]
    fn urls_a_client_may_point_the_server_at() {
        assert!(is_public_https("https://rp.example/jwks"));
        assert!(is_public_https("https://93.184.216.34/jwks"));
        for bad in [
            "http://rp.example/jwks",
            "https://localhost/jwks",
            "https://api.localhost/jwks",
            "https://127.0.0.1/jwks",
            "https://10.0.0.8/jwks",
            "https://[::1]/jwks",
            "https://169.254.169.254/latest",
        ] {
            assert!(!is_public_https(bad), "{bad}");
        }
    }

    #[test]
    fn lifetimes_follow_cache_control() {
        assert_eq!(cache_lifetime(None, None), Some(DEFAULT_LIFETIME));
        assert_eq!(cache_lifetime(Some("public, max-age=60"), None), Some(60));
        assert_eq!(cache_lifetime(Some("max-age=60"), Some("50")), Some(10));
        assert_eq!(cache_lifetime(Some("max-age=60"), Some("70")), None);
        assert_eq!(cache_lifetime(Some("no-store"), None), None);
        assert_eq!(cache_lifetime(Some("max-age=60, no-cache"), None), None);
        assert_eq!(
            cache_lifetime(Some("max-age=999999999"), None),
            Some(MAX_LIFETIME)
        );
        assert_eq!(cache_lifetime(Some("max-age=soon"), None), None);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/oauth-client+json"));
        assert!(!is_json("text/html"));
        assert!(!is_json("application/jsonp"));
    }
}
