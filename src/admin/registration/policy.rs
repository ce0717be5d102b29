//! What a client registering itself may ask for (RFC 7591 §3: the server decides what a
//! registration may hold). The policy is an initial access token's, chosen by the
//! administrator who minted it, or [`open`] for open registration: it names the grant
//! types, the scope values and the redirect URI patterns a client may register, and is
//! kept with the registration so an update (RFC 7592 §2.2) is held to it too.

use super::super::FieldError;
use crate::oauth::grants::device_code;
use crate::scope::Scope;
use crate::store::{ClientMetadata, RegistrationPolicy};

/// Most redirect URI patterns one policy holds, and their longest length.
pub const MAX_PATTERNS: usize = 32;
const MAX_PATTERN_LEN: usize = 512;

/// The grants of open registration: a client proves nothing about itself, so it gets
/// what any relying party needs and nothing that acts without a user.
pub const OPEN_GRANT_TYPES: [&str; 3] = [
    "authorization_code",
    "refresh_token",
    device_code::GRANT_TYPE,
];

/// The policy of open registration (`SURETY_REGISTRATION=open` without an initial access
/// token): [`OPEN_GRANT_TYPES`], any scope, any valid redirect URI.
pub fn open() -> RegistrationPolicy {
    RegistrationPolicy {
        grant_types: OPEN_GRANT_TYPES.map(str::to_owned).to_vec(),
        scope: None,
        redirect_uris: Vec::new(),
    }
}

/// Checks a policy an administrator mints: grant types this server has, at most
/// [`MAX_PATTERNS`] well-formed patterns.
pub fn check(policy: &RegistrationPolicy, known_grants: &[&str]) -> Result<(), FieldError> {
    if policy.grant_types.is_empty()
        || policy
            .grant_types
            .iter()
            .any(|g| !known_grants.contains(&g.as_str()))
    {
        return Err(FieldError::invalid("grant_types", "unsupported grant type"));
    }
    if policy.redirect_uris.len() > MAX_PATTERNS {
        return Err(FieldError::invalid("redirect_uris", "at most 32 patterns"));
    }
    for p in &policy.redirect_uris {
        check_pattern(p).map_err(|m| FieldError::invalid("redirect_uris", m))?;
    }
    Ok(())
}

/// A pattern: at most 512 characters of [`crate::uri::check_redirect_pattern`]'s grammar.
fn check_pattern(p: &str) -> Result<(), &'static str> {
    if p.chars().count() > MAX_PATTERN_LEN {
        return Err("each pattern: at most 512 characters");
    }
    crate::uri::check_redirect_pattern(p)
}

/// Holds validated metadata `m` to `policy`: every grant type allowed, the scope within
/// the policy's (a client registering without `scope` gets the policy's), every redirect
/// URI matching a pattern. A refusal names the field, as RFC 7591 §3.2.2 asks.
pub fn apply(policy: &RegistrationPolicy, m: &mut ClientMetadata) -> Result<(), FieldError> {
    if let Some(g) = m
        .grant_types
        .iter()
        .find(|g| !policy.grant_types.contains(g))
    {
        return Err(FieldError::new(
            "grant_types",
            format!("{g} is not allowed to this registration"),
        ));
    }
    if let Some(allowed) = &policy.scope {
        match m.scope.as_deref().map(Scope::parse) {
            None => m.scope = Some(allowed.to_string()),
            Some(Some(asked)) if asked.is_subset(allowed) => {}
            Some(_) => {
                return Err(FieldError::new(
                    "scope",
                    format!("this registration allows the scope \"{allowed}\" at most"),
                ));
            }
        }
    }
    if !policy.redirect_uris.is_empty()
        && let Some(u) = m
            .redirect_uris
            .iter()
            .find(|u| !policy.redirect_uris.iter().any(|p| matches(p, u)))
    {
        return Err(FieldError::new(
            "redirect_uris",
            format!("{u} is not allowed to this registration"),
        ));
    }
    Ok(())
}

/// The URLs in `m` the server will contact (`jwks_uri`, `backchannel_logout_uri`) are
/// public https URLs: a client describing itself may not point the server at its own
/// network (`localhost`, private or other special-use addresses).
pub fn fetched_urls_public(m: &ClientMetadata) -> Result<(), FieldError> {
    for (field, u) in [
        ("jwks_uri", &m.jwks_uri),
        ("backchannel_logout_uri", &m.backchannel_logout_uri),
    ] {
        if u.as_deref().is_some_and(|u| !crate::fetch::public_https(u)) {
            return Err(FieldError::new(
                field,
                "a public https URL (the server contacts it)",
            ));
        }
    }
    Ok(())
}

/// One piece of a pattern.
#[derive(Clone, Copy, PartialEq)]
enum Piece {
    Byte(u8),
    /// `*` in the host: one or more letters, digits or hyphens (within one label).
    Label,
    /// `*` after the host: any run of characters, empty too.
    Any,
}

/// Whether redirect URI `uri` matches `pattern`: byte for byte, except that a `*` in the
/// host or port stands for one or more letters, digits or hyphens (so never crosses a
/// `.`, `:` or `/`), and a `*` after the host (path, query; anywhere in a private-use
/// scheme URI after its scheme) for any run.
pub fn matches(pattern: &str, uri: &str) -> bool {
    let host_end = pattern.find("://").map(|i| {
        let start = i + 3;
        start
            + pattern[start..]
                .find(['/', '?', '#'])
                .unwrap_or(pattern.len() - start)
    });
    let pieces: Vec<Piece> = pattern
        .bytes()
        .enumerate()
        .map(|(i, b)| match (b, host_end) {
            (b'*', Some(end)) if i < end => Piece::Label,
            (b'*', _) => Piece::Any,
            (b, _) => Piece::Byte(b),
        })
        .collect();
    glob(&pieces, uri.as_bytes())
}

/// Matching by dynamic programming over (pieces, bytes): linear memory, no backtracking
/// blow-up on many stars.
fn glob(pieces: &[Piece], s: &[u8]) -> bool {
    let label = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    // `row[j]`: the pieces so far match `s[..j]`.
    let mut row = vec![false; s.len() + 1];
    row[0] = true;
    for piece in pieces {
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            next[j] = match *piece {
                Piece::Byte(b) => j > 0 && row[j - 1] && s[j - 1] == b,
                Piece::Any => row[j] || (j > 0 && next[j - 1]),
                // One or more label bytes: the previous pieces matched up to a byte of
                // this run.
                Piece::Label => j > 0 && label(s[j - 1]) && (row[j - 1] || next[j - 1]),
            };
        }
        row = next;
    }
    row[s.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_hosts_by_label_and_paths_by_run() {
        let p = "https://*.example.com/cb/*";
        assert!(matches(p, "https://app.example.com/cb/x"));
        assert!(matches(p, "https://app-2.example.com/cb/"));
        assert!(matches(p, "https://app.example.com/cb/a/b?c=d"));
        assert!(!matches(p, "https://evil.com/.example.com/cb/x"));
        assert!(
            !matches(p, "https://a.b.example.com/cb/x"),
            "one label only"
        );
        assert!(
            !matches(p, "https://.example.com/cb/x"),
            "a label is not empty"
        );
        assert!(!matches(p, "https://app.example.com/cbx"));
        assert!(!matches(p, "http://app.example.com/cb/x"));
        assert!(matches("http://127.0.0.1:*/cb", "http://127.0.0.1:8123/cb"));
        assert!(matches("com.example.app:/*", "com.example.app:/oauth/cb"));
        assert!(matches("https://rp.example/cb", "https://rp.example/cb"));
        assert!(!matches("https://rp.example/cb", "https://rp.example/cb2"));
        let many = format!("https://a/{}", "*".repeat(40));
        assert!(!matches(&many, &format!("http://a/{}", "b".repeat(200))));
    }

    #[test]
    fn policies_are_checked_and_applied() {
        let grants = ["authorization_code", "refresh_token", "client_credentials"];
        let mut p = open();
        assert!(
            check(&p, &grants).is_err(),
            "the device grant is not registered here"
        );
        p.grant_types = vec!["authorization_code".into()];
        p.redirect_uris = vec!["https://*.rp.example/*".into()];
        p.scope = Scope::parse("openid profile");
        check(&p, &grants).unwrap();
        let bad = RegistrationPolicy {
            redirect_uris: vec!["*://x/".into()],
            ..p.clone()
        };
        assert_eq!(check(&bad, &grants).unwrap_err().field, "redirect_uris");

        let m = ClientMetadata {
            grant_types: vec!["authorization_code".into()],
            redirect_uris: vec!["https://app.rp.example/cb".into()],
            ..ClientMetadata::default()
        };
        let mut ok = m.clone();
        apply(&p, &mut ok).unwrap();
        assert_eq!(ok.scope.as_deref(), Some("openid profile"));
        for (changed, field) in [
            (
                ClientMetadata {
                    grant_types: vec!["client_credentials".into()],
                    ..m.clone()
                },
                "grant_types",
            ),
            (
                ClientMetadata {
                    scope: Some("openid email".into()),
                    ..m.clone()
                },
                "scope",
            ),
            (
                ClientMetadata {
                    redirect_uris: vec!["https://rp.example.evil/cb".into()],
                    ..m.clone()
                },
                "redirect_uris",
            ),
        ] {
            let mut c = changed;
            assert_eq!(apply(&p, &mut c).unwrap_err().field, field);
        }
    }
}
