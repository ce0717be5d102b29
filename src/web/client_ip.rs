//! The client's address: the socket peer, or — only when the peer is a configured
//! trusted proxy — the right-most `X-Forwarded-For` entry that is not itself a trusted
//! proxy. A stranger cannot choose the address Surety sees by sending the header. A
//! forwarded request from an untrusted peer is logged once (a missing
//! `SURETY_TRUSTED_PROXIES` makes everyone behind a proxy share one address).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::partners::cidr::Cidr;

/// Says once per process that requests arrive through a proxy Surety does not trust:
/// every client behind it then shares the proxy's address for rate limits and the login
/// lockout.
fn warn_untrusted_proxy(peer: IpAddr) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            %peer,
            "requests carry X-Forwarded-For from an address not in SURETY_TRUSTED_PROXIES: \
             all clients behind it share one address for rate limits and login lockouts"
        );
    });
}

pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[String]) -> IpAddr {
    let proxies: Vec<Cidr> = trusted.iter().filter_map(|c| Cidr::parse(c)).collect();
    let is_proxy = |ip: IpAddr| proxies.iter().any(|c| c.contains(ip));
    let mut ip = peer.ip();
    if !is_proxy(ip) {
        if headers.contains_key("x-forwarded-for") {
            warn_untrusted_proxy(ip);
        }
        return ip;
    }
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    for hop in chain.into_iter().rev() {
        ip = hop;
        if !is_proxy(hop) {
            break;
        }
    }
    ip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("x-forwarded-for", v.parse().unwrap());
        m
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let peer: SocketAddr = "10.0.0.5:1234".parse().unwrap();
        let trusted = vec!["10.0.0.0/24".to_owned()];
        assert_eq!(
            client_ip(peer, &h("203.0.113.9"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, &h("1.1.1.1, 203.0.113.9, 10.0.0.7"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let stranger: SocketAddr = "198.51.100.1:1".parse().unwrap();
        assert_eq!(client_ip(stranger, &h("10.0.0.1"), &trusted), stranger.ip());
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer.ip());
    }
}
