//! Authentication context classes: the levels Surety can assert (`acr`, OpenID Connect
//! Core §2), what a request asks for (`acr_values`, Core §3.1.2.1, or the `acr` member of
//! the `claims` parameter, Core §5.5.1.1, possibly essential), and the decision rules:
//! whether the session must step up, and which `acr` a code may carry. An essential
//! request that cannot be met ends in `unmet_authentication_requirements` (OpenID
//! Connect Core errata 2 §3.1.2.6 / OIDC4IDA), never in a silently lower level.

use serde::{Deserialize, Serialize};

use crate::accounts::session::{ACR_PASSWORD, ACR_VERIFIED};

/// Most `acr` values one request may name.
const MAX_VALUES: usize = 8;
/// Longest `acr` value accepted.
const MAX_VALUE_LEN: usize = 256;

/// The levels of an OpenID Connect session, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Username and password (`amr` `["pwd"]`).
    Password,
    /// Password, then a verified-entity challenge (`amr` `["pwd", "kba"]`).
    Verified,
}

impl Level {
    /// Every level, as advertised in discovery (`acr_values_supported`).
    pub const ALL: [Level; 2] = [Level::Password, Level::Verified];

    /// An `acr` value Surety knows; any other (e.g. a partner's portal session) is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            ACR_PASSWORD => Some(Level::Password),
            ACR_VERIFIED => Some(Level::Verified),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Password => ACR_PASSWORD,
            Level::Verified => ACR_VERIFIED,
        }
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
    fn supported(&self) -> Vec<Level> {
        self.values.iter().filter_map(|v| Level::parse(v)).collect()
    }

    /// At validation: an essential request naming no level Surety has is unmet at once.
    pub fn check_supported(&self) -> Result<(), Unmet> {
        if self.essential && !self.values.is_empty() && self.supported().is_empty() {
            return Err(Unmet);
        }
        Ok(())
    }

    /// The level the request prefers, if it names one Surety has.
    pub fn target(&self) -> Option<Level> {
        self.supported().first().copied()
    }

    /// Whether a session at `level` should run the challenge step first: the preferred
    /// level is above it.
    pub fn wants_step_up(&self, level: Level) -> bool {
        self.target().is_some_and(|t| t > level)
    }

    /// The `acr` a code for a session at `level` carries: the first requested value the
    /// session meets (a verified session also meets the password level), or — when
    /// nothing Surety has was asked for, or the request was voluntary — the session's
    /// own level. An essential request the session does not meet is [`Unmet`].
    pub fn issued(&self, level: Level) -> Result<Level, Unmet> {
        let supported = self.supported();
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
        assert!(Level::Password < Level::Verified);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::parse("urn:surety:acr:partner"), None);
    }

    #[test]
    fn step_up_follows_the_preferred_level() {
        let v = req(&[ACR_VERIFIED], false);
        assert!(v.wants_step_up(Level::Password));
        assert!(!v.wants_step_up(Level::Verified));
        // Preference order: password first means no step-up.
        assert!(!req(&[ACR_PASSWORD, ACR_VERIFIED], false).wants_step_up(Level::Password));
        assert!(!req(&["urn:other"], false).wants_step_up(Level::Password));
        assert!(!AcrRequest::default().wants_step_up(Level::Password));
    }

    #[test]
    fn essential_requests_are_never_met_by_a_lower_level() {
        let v = req(&[ACR_VERIFIED], true);
        assert_eq!(v.issued(Level::Password), Err(Unmet));
        assert_eq!(v.issued(Level::Verified), Ok(Level::Verified));
        // Voluntary: the session's level.
        assert_eq!(
            req(&[ACR_VERIFIED], false).issued(Level::Password),
            Ok(Level::Password)
        );
        // A verified session meets a password request.
        assert_eq!(
            req(&[ACR_PASSWORD], true).issued(Level::Verified),
            Ok(Level::Password)
        );
        // Essential with a fallback the session meets.
        assert_eq!(
            req(&[ACR_VERIFIED, ACR_PASSWORD], true).issued(Level::Password),
            Ok(Level::Password)
        );
        assert_eq!(
            AcrRequest::default().issued(Level::Verified),
            Ok(Level::Verified)
        );
    }

    #[test]
    fn unsupported_essential_values_are_unmet_at_once() {
        assert_eq!(req(&["urn:mace:loa:4"], true).check_supported(), Err(Unmet));
        assert!(req(&["urn:mace:loa:4"], false).check_supported().is_ok());
        assert!(
            req(&["urn:mace:loa:4", ACR_VERIFIED], true)
                .check_supported()
                .is_ok()
        );
        assert_eq!(
            req(&["urn:mace:loa:4"], true).issued(Level::Verified),
            Err(Unmet)
        );
    }
}
