//! Scopes (RFC 6749 §3.3): a set of space-delimited tokens of printable ASCII without `"`
//! or `\`. Parsed once at the edge; the rest of the engine works on [`Scope`] (a value
//! of the lower layer `crate::scope`, so records hold it too).
//! [`ScopeRegistry`] is what may be issued at all: OpenID Connect's scopes (Core §5.4,
//! §11) plus what the products register at start-up; internal scopes belong to one
//! grant and client and are never issued by the code flow, an assertion or an exchange.

use std::collections::BTreeSet;

pub use crate::scope::Scope;

/// Scopes OpenID Connect defines (Core §5.4, §11).
pub const OIDC_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// Every scope the server can issue, and which of them are internal. An extension
/// point: products register theirs when the provider is built.
#[derive(Debug, Clone, Default)]
pub struct ScopeRegistry {
    /// Scopes a resource owner can delegate (a product's permissions, resource servers').
    resource: BTreeSet<String>,
    /// Scopes that belong to one grant and client (`partner:api`, `verify`, …).
    internal: BTreeSet<String>,
}

impl ScopeRegistry {
    /// Registers a delegable scope.
    pub fn register(&mut self, s: &str) {
        self.resource.insert(s.to_owned());
    }
    /// Registers a scope only its own grant and client may hold.
    pub fn register_internal(&mut self, s: &str) {
        self.internal.insert(s.to_owned());
    }
    pub fn is_internal(&self, s: &str) -> bool {
        self.internal.contains(s)
    }
    /// Known and not internal: OIDC's or a registered delegable scope.
    pub fn is_delegable(&self, s: &str) -> bool {
        OIDC_SCOPES.contains(&s) || self.resource.contains(s)
    }
    /// The registered delegable scopes that are not OIDC's: what a token acting on an
    /// account may carry at most.
    pub fn resource_scopes(&self) -> Scope {
        Scope::of_valid(self.resource.clone())
    }
    /// What discovery lists (`scopes_supported`): OpenID Connect's and the registered
    /// delegable scopes, never internal ones.
    pub fn supported(&self) -> Vec<&str> {
        let mut v: Vec<&str> = OIDC_SCOPES.to_vec();
        v.extend(self.resource.iter().map(String::as_str));
        v
    }
    /// The first token of `scope` that is unknown or internal, if any.
    pub fn first_undelegable<'a>(&self, scope: &'a Scope) -> Option<&'a str> {
        scope.iter().find(|s| !self.is_delegable(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_scope_that_does_not_parse_is_a_corrupt_row_not_an_empty_scope() {
        assert_eq!(
            Scope::stored("openid read", "row").unwrap().to_string(),
            "openid read"
        );
        assert!(matches!(
            Scope::stored("open\"id", "refresh token"),
            Err(crate::store::StoreError::Corrupt(m)) if m.starts_with("refresh token")
        ));
    }

    #[test]
    fn the_registry_knows_oidc_registered_and_internal_scopes() {
        let mut r = ScopeRegistry::default();
        r.register("read");
        r.register_internal("verify");
        let s = Scope::parse("openid read").unwrap();
        assert_eq!(r.first_undelegable(&s), None);
        for bad in ["openid verify", "read anything:at-all", "admin"] {
            let s = Scope::parse(bad).unwrap();
            assert!(r.first_undelegable(&s).is_some(), "{bad}");
        }
        assert!(r.is_internal("verify") && !r.is_delegable("verify"));
        assert_eq!(r.resource_scopes().to_string(), "read");
    }

    #[test]
    fn parses_and_normalises() {
        let s = Scope::parse("openid  profile openid").unwrap();
        assert_eq!(s.to_string(), "openid profile");
        assert!(s.contains("openid"));
    }

    #[test]
    fn refuses_bad_characters() {
        assert!(Scope::parse("open\"id").is_none());
        assert!(Scope::parse("a\\b").is_none());
        assert!(Scope::parse("caf\u{e9}").is_none());
        assert!(Scope::parse(&"a".repeat(3000)).is_none());
    }

    #[test]
    fn set_operations() {
        let a = Scope::parse("a b c").unwrap();
        let b = Scope::parse("b c d").unwrap();
        assert_eq!(a.intersection(&b).to_string(), "b c");
        assert_eq!(a.difference(&b).to_string(), "a");
        assert!(Scope::parse("b").unwrap().is_subset(&a));
    }
}
