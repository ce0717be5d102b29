//! A scope value (RFC 6749 §3.3): a set of space-delimited tokens of printable ASCII
//! without `"` or `\`. Parsed once at the edge — a request parameter, a stored column,
//! a token's claim — and held as a set everywhere else; what may be issued is the
//! engine's (`oauth::scope::ScopeRegistry`). Serialized as its space-separated text.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest scope string accepted.
const MAX_SCOPE_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// A scope read back from storage (`what` names the row): one that no longer parses is
    /// a corrupt row — an error the caller answers and logs — never an empty scope.
    pub fn stored(s: &str, what: &str) -> Result<Scope, crate::store::StoreError> {
        Scope::parse(s).ok_or_else(|| {
            crate::store::StoreError::Corrupt(format!("{what}: the stored scope does not parse"))
        })
    }

    /// Parses a scope parameter; `None` for an invalid token.
    pub fn parse(s: &str) -> Option<Scope> {
        if s.len() > MAX_SCOPE_LEN {
            return None;
        }
        let mut set = BTreeSet::new();
        for tok in s.split(' ').filter(|t| !t.is_empty()) {
            let ok = tok
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !ok {
                return None;
            }
            set.insert(tok.to_owned());
        }
        Some(Scope(set))
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }
    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }
    /// Tokens in `self` not in `other`.
    pub fn difference(&self, other: &Scope) -> Scope {
        Scope(self.0.difference(&other.0).cloned().collect())
    }
    /// A scope of tokens already known to be valid (a registry's).
    pub(crate) fn of_valid(tokens: BTreeSet<String>) -> Scope {
        Scope(tokens)
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).ok_or_else(|| serde::de::Error::custom("not a scope"))
    }
}

/// Test fixtures write scopes as text; a malformed one is the fixture's bug.
#[cfg(test)]
impl From<&str> for Scope {
    fn from(s: &str) -> Scope {
        Scope::parse(s).unwrap_or_else(|| panic!("not a scope: {s:?}"))
    }
}

impl crate::store::sql::TextEnum for Scope {
    fn from_text(s: &str) -> Option<Self> {
        Scope::parse(s)
    }
}
