//! The URLs Surety accepts in registered metadata, parsed at the edge: redirect URIs
//! (RFC 6749 §3.1.2, RFC 8252 §7.1 and §7.3, OAuth 2.0 Security BCP §4.1.1) and URLs it
//! will fetch from (`jwks_uri`, RFC 7591 §2).
//!
//! Each rule is a grammar written twice: once as a pattern for the OpenAPI documents
//! ([`WEB_URL_PATTERN`], [`REDIRECT_URI_PATTERN`]) and once here as code, so what the
//! documents allow is exactly what the server accepts. On top of the grammar the URL
//! must parse (`url::Url`).
//!
//! - web URL: `https://` and a host name (letters, digits, hyphens, dot-separated, the
//!   last label starting with a letter) or an IPv4 address, or `http://` on loopback (`localhost`,
//!   `127.0.0.1`, `[::1]`); an optional port 1–65535; an optional path starting with
//!   `/` without whitespace, control characters or `#` (no fragment).
//! - redirect URI: a web URL, or a private-use scheme holding a dot (reverse domain
//!   name) followed by `:/` and such a path.

/// An IPv4 address in dotted decimal, no leading zeros.
macro_rules! ipv4 {
    () => {
        r"((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    };
}

/// A port, 1–65535.
macro_rules! port {
    () => {
        r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
    };
}

/// Scheme, host and port of a web URL (ECMAScript / Python regex syntax).
macro_rules! origin {
    () => {
        concat!(
            r"(https://(([A-Za-z0-9-]{1,63}\.)*[A-Za-z][A-Za-z0-9-]{0,62}|",
            ipv4!(),
            r")|http://(localhost|127\.0\.0\.1|\[::1\]))(:",
            port!(),
            ")?"
        )
    };
}

/// An origin in which `*` may stand for host characters, or for the whole port.
macro_rules! wild_origin {
    () => {
        concat!(
            r"(https://(([A-Za-z0-9*-]{1,63}\.)*[A-Za-z*][A-Za-z0-9*-]{0,62}|",
            ipv4!(),
            r")|http://(localhost|127\.0\.0\.1|\[::1\]))(:(",
            port!(),
            r"|\*))?"
        )
    };
}

/// A path (with its query), without whitespace, control characters or `#`.
macro_rules! path {
    () => {
        r"(/[^\s#\u0000-\u001f\u007f-\u009f]*)?"
    };
}

/// A private-use scheme URI (RFC 8252 §7.1): a reverse domain name, `:/` and a path.
macro_rules! private_use {
    () => {
        r"[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:/[^\s#\u0000-\u001f\u007f-\u009f]*"
    };
}

/// A web URL: an origin and an optional path.
macro_rules! web_url {
    () => {
        concat!(origin!(), path!())
    };
}

/// An origin (`scheme://host[:port]`, a trailing `/` tolerated), as a frame ancestor.
pub const ORIGIN_PATTERN: &str = concat!("^", origin!(), "/?$");

/// An audience a client may name: an identifier (no whitespace, control characters,
/// `:`, `/` or `#`) or a web URL; at most 512 characters.
pub const AUDIENCE_PATTERN: &str =
    concat!(r"^([^\s:/#\u0000-\u001f\u007f-\u009f]+|", web_url!(), ")$");

/// A web URL: see the module documentation.
pub const WEB_URL_PATTERN: &str = concat!("^", web_url!(), "$");
/// A redirect URI: see the module documentation.
pub const REDIRECT_URI_PATTERN: &str = concat!("^(", web_url!(), "|", private_use!(), ")$");
/// A redirect URI pattern (a registration policy's): see [`check_redirect_pattern`].
pub const REDIRECT_PATTERN_PATTERN: &str =
    concat!("^(", wild_origin!(), path!(), "|", private_use!(), ")$");

/// Whether `c` may appear in a path (after its leading `/`).
fn path_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || c == '#')
}

fn path(s: &str) -> bool {
    s.is_empty() || (s.starts_with('/') && s.chars().all(path_char))
}

fn port(s: &str) -> bool {
    s.len() <= 5
        && !s.starts_with('0')
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

fn host_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    let ok = |l: &str| {
        (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.iter().all(|l| ok(l))
        && labels
            .last()
            .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
}

/// Splits `authority[:port]` from the path.
fn authority_and_path(rest: &str) -> (&str, &str) {
    let end = rest.find('/').unwrap_or(rest.len());
    rest.split_at(end)
}

fn web_grammar(s: &str) -> bool {
    let (rest, loopback) = if let Some(r) = s.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = s.strip_prefix("http://") {
        (r, true)
    } else {
        return false;
    };
    let (authority, p) = authority_and_path(rest);
    // `[::1]` holds colons: split the port off after the closing bracket.
    let split = if authority.starts_with("[::1]") {
        Some(5).filter(|&i| i < authority.len())
    } else {
        authority.find(':')
    };
    let (host, port_part) = match split {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    if authority
        .as_bytes()
        .get(host.len())
        .is_some_and(|&b| b != b':')
    {
        return false;
    }
    let host_ok = if loopback {
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    } else {
        host_name(host) || host.parse::<std::net::Ipv4Addr>().is_ok()
    };
    host_ok && port_part.is_none_or(port) && path(p)
}

fn private_use_grammar(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut parts = scheme.split('.');
    let first_ok = parts.next().is_some_and(|f| {
        f.as_bytes().first().is_some_and(u8::is_ascii_lowercase) && f.bytes().all(scheme_byte)
    });
    let rest_labels: Vec<&str> = parts.collect();
    first_ok
        && !rest_labels.is_empty()
        && rest_labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(scheme_byte))
        && rest.starts_with('/')
        && rest.chars().all(path_char)
}

fn scheme_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'+' || b == b'-'
}

fn parses(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| u.fragment().is_none())
}

/// An origin a partner may embed the portal in: the web-URL grammar with no path but an
/// optional `/`.
pub fn check_origin(s: &str) -> Result<(), &'static str> {
    let bare = s.strip_suffix('/').unwrap_or(s);
    let authority = bare.split_once("://").map_or("", |(_, a)| a);
    if !authority.contains('/') && web_grammar(bare) && parses(s) {
        Ok(())
    } else {
        Err("an origin: https://host[:port] (http only on localhost)")
    }
}

/// A URL Surety may fetch from (`jwks_uri`): the web-URL grammar, and it parses.
pub fn check_web_url(s: &str) -> Result<(), &'static str> {
    if web_grammar(s) && parses(s) {
        Ok(())
    } else {
        Err("an https URL with a host name (http only on localhost), without a fragment")
    }
}

/// An audience a client may be allowed to name (token exchange policy, RFC 8693 §2.1).
pub fn check_audience(s: &str) -> Result<(), &'static str> {
    let identifier = !s.is_empty() && s.chars().all(|c| path_char(c) && !matches!(c, ':' | '/'));
    if s.chars().count() <= 512 && (identifier || check_web_url(s).is_ok()) {
        Ok(())
    } else {
        Err(
            "each audience: an identifier (no spaces, control characters, ':', '/' or '#') or an https URL, at most 512 characters",
        )
    }
}

/// A redirect URI a client may register: a web URL or a private-use scheme URI.
pub fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    if (web_grammar(s) || private_use_grammar(s)) && parses(s) {
        Ok(())
    } else {
        Err(
            "an https URL (http only on loopback) or a reverse-domain private-use scheme followed by :/, without a fragment",
        )
    }
}

/// A redirect URI pattern: a redirect URI in which `*` may stand for characters of the
/// host (not of `localhost` or an IP address) or for the whole port, and may appear
/// anywhere in the path (where it is an ordinary path character). Checked as the
/// redirect URI it becomes with each such `*` written as `x` (`1` for the port).
pub fn check_redirect_pattern(s: &str) -> Result<(), &'static str> {
    let concrete = match s.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, p) = authority_and_path(rest);
            let authority = match authority.strip_suffix(":*") {
                Some(host) => format!("{host}:1"),
                None => authority.to_owned(),
            };
            format!("{scheme}://{}{p}", authority.replace('*', "x"))
        }
        None => s.to_owned(),
    };
    check_redirect_uri(&concrete).map_err(|_| {
        "a redirect URI in which * stands for characters of the host, the whole port, or anything in the path"
    })
}

/// A web URL in the OpenAPI documents: a string with [`WEB_URL_PATTERN`].
pub struct WebUrl;
/// A redirect URI in the OpenAPI documents: a string with [`REDIRECT_URI_PATTERN`].
pub struct RedirectUri;

fn string_with(pattern: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .into()
}

impl utoipa::PartialSchema for WebUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_with(WEB_URL_PATTERN)
    }
}
impl utoipa::ToSchema for WebUrl {}

/// An origin in the OpenAPI documents: a string with [`ORIGIN_PATTERN`].
pub struct Origin;

impl utoipa::PartialSchema for Origin {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_with(ORIGIN_PATTERN)
    }
}
impl utoipa::ToSchema for Origin {}

impl utoipa::PartialSchema for RedirectUri {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_with(REDIRECT_URI_PATTERN)
    }
}
impl utoipa::ToSchema for RedirectUri {}

/// A redirect URI pattern in the OpenAPI documents: a string of at most 512 characters
/// with [`REDIRECT_PATTERN_PATTERN`].
pub struct RedirectPattern;

impl utoipa::PartialSchema for RedirectPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(512))
            .pattern(Some(REDIRECT_PATTERN_PATTERN))
            .into()
    }
}
impl utoipa::ToSchema for RedirectPattern {}

/// An audience in the OpenAPI documents: see [`check_audience`].
pub struct Audience;

impl utoipa::PartialSchema for Audience {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(512))
            .pattern(Some(AUDIENCE_PATTERN))
            .into()
    }
}
impl utoipa::ToSchema for Audience {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls() {
        for ok in [
            "https://a",
            "https://login.example.com/jwks.json",
            "https://EXAMPLE.com:8443/x?y=1",
            "https://a-b.c:65535",
            "http://localhost:5/jwks",
            "http://127.0.0.1",
            "http://[::1]:8080/cb",
            "https://x.org/ü",
            "https://127.0.0.1:8443/logo.svg",
            "https://10.0.0.255",
        ] {
            assert!(check_web_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://",
            "https://0.0.0.0.0",
            "https://1.2.3.999",
            "https://01.2.3.4",
            "https://a:0",
            "https://a:65536",
            "https://a:080",
            "https://a/ b",
            "https://a/#f",
            "https://a#f",
            "http://example.com/",
            "ftp://localhost/",
            "https://a..b/",
            "https://a_b/",
            "http://[::1]x/",
            "https://a/\u{7f}",
        ] {
            assert!(check_web_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8000/cb",
            "com.example.app:/cb",
            "com.example.app:/",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "myapp:/cb",
            "com.example.app:cb",
            "Com.example:/cb",
            "com.example.:/cb",
            "com.example.app:/#x",
            "http://evil.example/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins() {
        for ok in [
            "https://shop.example",
            "https://Shop.example:8443/",
            "http://localhost:3000",
        ] {
            assert!(check_origin(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://shop.example/x",
            "https://shop.example//",
            "https://*.example",
            "http://shop.example",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audiences() {
        for ok in ["client-1", "https://api.example/orders", "ü", "a.b~c"] {
            assert!(check_audience(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "urn:x",
            "a/b",
            "https://a/#f",
            "http://api.example/",
        ] {
            assert!(check_audience(bad).is_err(), "{bad}");
        }
        assert!(check_audience(&"a".repeat(513)).is_err());
    }

    #[test]
    fn redirect_patterns() {
        for ok in [
            "https://*.rp.example/cb/*",
            "https://app.example/*",
            "http://127.0.0.1:*/cb",
            "http://[::1]:*/cb",
            "https://*:*/x",
            "com.example.app:/*",
        ] {
            assert!(check_redirect_pattern(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "*://x/",
            "https://*.rp.example/cb#*",
            "http://*.example/cb",
            "http://localhost*/cb",
            "https://app.example:8*/cb",
            "https://*@evil.example/",
            "com.*.app:/cb",
        ] {
            assert!(check_redirect_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_hold_the_same_grammar() {
        assert!(WEB_URL_PATTERN.starts_with("^(https://"));
        assert!(REDIRECT_URI_PATTERN.contains(web_url!()));
        assert!(REDIRECT_URI_PATTERN.ends_with(r":/[^\s#\u0000-\u001f\u007f-\u009f]*)$"));
        assert!(REDIRECT_PATTERN_PATTERN.ends_with(concat!(private_use!(), ")$")));
    }
}
