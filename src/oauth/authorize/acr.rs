//! Authentication context classes: the levels Surety can assert (`acr`, OpenID Connect
//! Core §2; one per registered authentication step, see [`super::steps`]), what a
//! request asks for (`acr_values`, Core §3.1.2.1, or the `acr` member of the `claims`
//! parameter, Core §5.5.1.1, possibly essential), and the decision rules:
//! whether the session must step up, and which `acr` a code may carry. An essential
//! request that cannot be met ends in `unmet_authentication_requirements` (OpenID
//! Connect Core errata 2 §3.1.2.6 / OIDC4IDA), never in a silently lower level.

use serde::{Deserialize, Serialize};

/// Most `acr` values one request may name.
const MAX_VALUES: usize = 8;
/// Longest `acr` value accepted.
const MAX_VALUE_LEN: usize = 256;

/// A level of an OpenID Connect session: the rank of an authentication step among the
/// registered ones (see [`super::steps`]), weakest first. The lowest is the login's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(usize);

impl Level {
    /// The login's level, which every session holds.
    pub const BASE: Level = Level(0);
}

/// The `acr` values Surety can assert, weakest first (one per authentication step).
#[derive(Debug, Clone, Default)]
pub struct Levels(Vec<&'static str>);

impl Levels {
    /// Adds a level above those already known.
    pub fn push(&mut self, acr: &'static str) {
        self.0.push(acr);
    }

    /// An `acr` value Surety knows; any other (e.g. a partner's portal session) is `None`.
    pub fn parse(&self, s: &str) -> Option<Level> {
        self.0.iter().position(|a| *a == s).map(Level)
    }

    /// The `acr` value of a level.
    pub fn name(&self, l: Level) -> Option<&'static str> {
        self.0.get(l.0).copied()
    }

    /// Every level's `acr`, as advertised in discovery (`acr_values_supported`).
    pub fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }
}

/// What a request asks of the authentication: `acr` values in order of preference, and
/// whether one of them is required (`essential`) or only wished for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcrRequest {
    pub values: Vec<String>,
    pub essential: bool,
}

/// An essential `acr` request cannot be met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmet;

impl AcrRequest {
    /// `acr_values`: space-separated, voluntary (Core §3.1.2.1).
    pub fn from_acr_values(s: &str) -> Result<Self, &'static str> {
        let values: Vec<String> = s
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        Self::new(values, false)
    }

    /// Checks the bounds of a list of values.
    pub fn new(values: Vec<String>, essential: bool) -> Result<Self, &'static str> {
        if values.len() > MAX_VALUES {
            return Err("too many acr values");
        }
        if values
            .iter()
            .any(|v| v.is_empty() || v.len() > MAX_VALUE_LEN || v.chars().any(char::is_control))
        {
            return Err("an acr value is empty, too long or malformed");
        }
        Ok(Self { values, essential })
    }

    /// The requested values Surety supports, in the request's order of preference.
    fn supported(&self, levels: &Levels) -> Vec<Level> {
        self.values.iter().filter_map(|v| levels.parse(v)).collect()
    }

    /// At validation: an essential request naming no level Surety has is unmet at once.
    pub fn check_supported(&self, levels: &Levels) -> Result<(), Unmet> {
        if self.essential && !self.values.is_empty() && self.supported(levels).is_empty() {
            return Err(Unmet);
        }
        Ok(())
    }

    /// The level the request prefers, if it names one Surety has.
    pub fn target(&self, levels: &Levels) -> Option<Level> {
        self.supported(levels).first().copied()
    }

    /// Whether a session at `level` should run a stronger step first: the preferred level
    /// is above it.
    pub fn wants_step_up(&self, levels: &Levels, level: Level) -> bool {
        self.target(levels).is_some_and(|t| t > level)
    }

    /// The `acr` a code for a session at `level` carries: the first requested value the
    /// session meets (a stronger session also meets a weaker level), or — when
    /// nothing Surety has was asked for, or the request was voluntary — the session's
    /// own level. An essential request the session does not meet is [`Unmet`].
    pub fn issued(&self, levels: &Levels, level: Level) -> Result<Level, Unmet> {
        let supported = self.supported(levels);
        if let Some(l) = supported.iter().find(|l| **l <= level) {
            return Ok(*l);
        }
        if self.essential && !self.values.is_empty() {
            return Err(Unmet);
        }
        Ok(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACR_PASSWORD: &str = "urn:surety:acr:password";
    const ACR_VERIFIED: &str = "urn:surety:acr:verified";
    const PASSWORD: Level = Level(0);
    const VERIFIED: Level = Level(1);

    fn levels() -> Levels {
        Levels(vec![ACR_PASSWORD, ACR_VERIFIED])
    }

    fn req(values: &[&str], essential: bool) -> AcrRequest {
        AcrRequest::new(values.iter().map(|v| v.to_string()).collect(), essential).unwrap()
    }

    #[test]
    fn acr_values_parse_with_bounds() {
        let r = AcrRequest::from_acr_values(" urn:surety:acr:verified  urn:x ").unwrap();
        assert_eq!(r.values, vec!["urn:surety:acr:verified", "urn:x"]);
        assert!(!r.essential);
        let many = ["a"; 9].join(" ");
        assert!(AcrRequest::from_acr_values(&many).is_err());
        assert!(AcrRequest::from_acr_values(&"a".repeat(257)).is_err());
        assert!(AcrRequest::new(vec!["a\nb".into()], true).is_err());
        assert_eq!(
            AcrRequest::from_acr_values("").unwrap(),
            AcrRequest::default()
        );
    }

    #[test]
    fn levels_are_ordered_and_named() {
        let l = levels();
        assert!(PASSWORD < VERIFIED && Level::BASE == PASSWORD);
        for a in l.all() {
            assert_eq!(l.parse(a).and_then(|x| l.name(x)), Some(a));
        }
        assert_eq!(l.parse("urn:surety:acr:partner"), None);
        assert_eq!(l.name(Level(2)), None);
    }

    #[test]
    fn step_up_follows_the_preferred_level() {
        let v = req(&[ACR_VERIFIED], false);
        assert!(v.wants_step_up(&levels(), PASSWORD));
        assert!(!v.wants_step_up(&levels(), VERIFIED));
        // Preference order: password first means no step-up.
        assert!(!req(&[ACR_PASSWORD, ACR_VERIFIED], false).wants_step_up(&levels(), PASSWORD));
        assert!(!req(&["urn:other"], false).wants_step_up(&levels(), PASSWORD));
        assert!(!AcrRequest::default().wants_step_up(&levels(), PASSWORD));
    }

    #[test]
    fn essential_requests_are_never_met_by_a_lower_level() {
        let v = req(&[ACR_VERIFIED], true);
        assert_eq!(v.issued(&levels(), PASSWORD), Err(Unmet));
        assert_eq!(v.issued(&levels(), VERIFIED), Ok(VERIFIED));
        // Voluntary: the session's level.
        assert_eq!(
            req(&[ACR_VERIFIED], false).issued(&levels(), PASSWORD),
            Ok(PASSWORD)
        );
        // A verified session meets a password request.
        assert_eq!(
            req(&[ACR_PASSWORD], true).issued(&levels(), VERIFIED),
            Ok(PASSWORD)
        );
        // Essential with a fallback the session meets.
        assert_eq!(
            req(&[ACR_VERIFIED, ACR_PASSWORD], true).issued(&levels(), PASSWORD),
            Ok(PASSWORD)
        );
        assert_eq!(
            AcrRequest::default().issued(&levels(), VERIFIED),
            Ok(VERIFIED)
        );
    }

    #[test]
    fn unsupported_essential_values_are_unmet_at_once() {
        assert_eq!(
            req(&["urn:mace:loa:4"], true).check_supported(&levels()),
            Err(Unmet)
        );
        assert!(
            req(&["urn:mace:loa:4"], false)
                .check_supported(&levels())
                .is_ok()
        );
        assert!(
            req(&["urn:mace:loa:4", ACR_VERIFIED], true)
                .check_supported(&levels())
                .is_ok()
        );
        assert_eq!(
            req(&["urn:mace:loa:4"], true).issued(&levels(), VERIFIED),
            Err(Unmet)
        );
    }
}
