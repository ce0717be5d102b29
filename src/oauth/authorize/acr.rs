//! Authentication context classes: the levels Surety can assert (`acr`, OpenID Connect
//! Core §2), what a request asks for (`acr_values`, Core §3.1.2.1, or the `acr` member of
//! the `claims` parameter, Core §5.5.1.1, possibly essential), and the decision rules:
//! whether the session must step up, and which `acr` a code may carry. An essential
//! request that cannot be met ends in `unmet_authentication_requirements` (OpenID
//! Connect Core errata 2 §3.1.2.6 / OIDC4IDA), never in a silently lower level.
//!
//! A level is a set of *properties* a sign-in proved (multi-factor, phishing-resistant,
//! verified identity …; each established by an authentication step, see
//! [`super::steps`]), so levels form a lattice rather than a line: one level meets
//! another when it has every property of it. Products name the levels relying parties
//! may ask for ([`Levels::define`]); a request may also be raised to a minimum level
//! ([`AcrRequest::with_minimum`]: a client's, a partner's or the server's policy).

use serde::{Deserialize, Serialize};

/// Most `acr` values one request may name.
const MAX_VALUES: usize = 8;
/// Longest `acr` value accepted.
const MAX_VALUE_LEN: usize = 256;

/// A level of an OpenID Connect session: the set of properties its sign-in proved. The
/// login's, with none, is [`Level::BASE`], which every session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Level(u32);

impl Level {
    /// The login's level, which every session holds.
    pub const BASE: Level = Level(0);

    /// The level with property number `n` alone (`n` < 32).
    pub const fn property(n: u32) -> Level {
        Level(1 << n)
    }

    /// The level with the properties of both.
    pub const fn and(self, other: Level) -> Level {
        Level(self.0 | other.0)
    }

    /// Whether a session at this level meets `need`: it has every property of `need`.
    pub const fn meets(self, need: Level) -> bool {
        self.0 & need.0 == need.0
    }

    /// The properties both have (a claimed level within a cap).
    pub const fn within(self, cap: Level) -> Level {
        Level(self.0 & cap.0)
    }

    /// The properties of `self` that `have` lacks.
    pub const fn beyond(self, have: Level) -> Level {
        Level(self.0 & !have.0)
    }

    /// How many properties the level has.
    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }
}

/// The named levels (`acr` values) Surety can assert, in the order discovery lists them.
#[derive(Debug, Clone, Default)]
pub struct Levels(Vec<(&'static str, Level)>);

impl Levels {
    /// Names a level (the first name given to a level is the one asserted for it).
    pub fn define(&mut self, acr: &'static str, level: Level) {
        self.0.push((acr, level));
    }

    /// An `acr` value Surety knows; any other (e.g. a partner's portal session) is `None`.
    pub fn parse(&self, s: &str) -> Option<Level> {
        self.0.iter().find(|(a, _)| *a == s).map(|(_, l)| *l)
    }

    /// The `acr` value of a level: its own name, or else the name of the strongest named
    /// level it meets (the most properties; the first defined among equals).
    pub fn name(&self, l: Level) -> Option<&'static str> {
        if let Some((a, _)) = self.0.iter().find(|(_, x)| *x == l) {
            return Some(a);
        }
        let mut best: Option<(&'static str, Level)> = None;
        for (a, x) in &self.0 {
            if l.meets(*x) && best.is_none_or(|(_, b)| x.count() > b.count()) {
                best = Some((a, *x));
            }
        }
        best.map(|(a, _)| a)
    }

    /// Every level's `acr`, as advertised in discovery (`acr_values_supported`).
    pub fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(a, _)| *a)
    }

    /// Whether a session whose `acr` is `have` meets the level named `need` (both must
    /// be known).
    pub fn acr_meets(&self, have: &str, need: &str) -> bool {
        match (self.parse(have), self.parse(need)) {
            (Some(h), Some(n)) => h.meets(n),
            _ => false,
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

    /// The request under a policy's minimum level `min` (a client's, a partner's or the
    /// server's): only the requested values that meet the minimum count, the minimum's
    /// own name when none does, and the request becomes essential — a sign-in below the
    /// minimum is never answered with a code.
    pub fn with_minimum(self, levels: &Levels, min: Level) -> Self {
        if min == Level::BASE {
            return self;
        }
        let kept: Vec<String> = self
            .values
            .into_iter()
            .filter(|v| levels.parse(v).is_some_and(|l| l.meets(min)))
            .collect();
        let values = match (kept.is_empty(), levels.name(min)) {
            (true, Some(name)) => vec![name.to_owned()],
            _ => kept,
        };
        Self {
            values,
            essential: true,
        }
    }

    /// The level the request prefers, if it names one Surety has.
    pub fn target(&self, levels: &Levels) -> Option<Level> {
        self.supported(levels).first().copied()
    }

    /// Whether a session at `level` should run a stronger step first: it does not meet
    /// the preferred level.
    pub fn wants_step_up(&self, levels: &Levels, level: Level) -> bool {
        self.target(levels).is_some_and(|t| !level.meets(t))
    }

    /// The `acr` a code for a session at `level` carries: the first requested value the
    /// session meets (a stronger session also meets a weaker level), or — when
    /// nothing Surety has was asked for, or the request was voluntary — the session's
    /// own level. An essential request the session does not meet is [`Unmet`].
    pub fn issued(&self, levels: &Levels, level: Level) -> Result<Level, Unmet> {
        let supported = self.supported(levels);
        if let Some(l) = supported.iter().find(|l| level.meets(**l)) {
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

    const PASSWORD: &str = "urn:surety:acr:password";
    const MFA_NAME: &str = "urn:surety:acr:mfa";
    const PHR_NAME: &str = "urn:surety:acr:phishing-resistant";
    const VERIFIED_NAME: &str = "urn:surety:acr:verified";
    const VERIFIED_PHR_NAME: &str = "urn:surety:acr:verified:phishing-resistant";
    const MFA: Level = Level::property(0);
    const PHR: Level = MFA.and(Level::property(1));
    const VERIFIED: Level = Level::property(2);

    fn levels() -> Levels {
        let mut l = Levels::default();
        l.define(PASSWORD, Level::BASE);
        l.define(MFA_NAME, MFA);
        l.define(PHR_NAME, PHR);
        l.define(VERIFIED_NAME, VERIFIED);
        l.define("urn:surety:acr:verified:mfa", VERIFIED.and(MFA));
        l.define(VERIFIED_PHR_NAME, VERIFIED.and(PHR));
        l
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
    fn levels_form_a_lattice_and_are_named() {
        let l = levels();
        for a in l.all() {
            assert_eq!(l.parse(a).and_then(|x| l.name(x)), Some(a));
        }
        assert!(PHR.meets(MFA) && !MFA.meets(PHR));
        assert!(!VERIFIED.meets(MFA) && !MFA.meets(VERIFIED));
        assert!(VERIFIED.and(PHR).meets(VERIFIED) && VERIFIED.and(PHR).meets(PHR));
        assert!(l.acr_meets(VERIFIED_PHR_NAME, PHR_NAME));
        assert!(!l.acr_meets(VERIFIED_NAME, MFA_NAME));
        assert!(!l.acr_meets("urn:surety:acr:partner", PASSWORD));
        assert_eq!(l.parse("urn:surety:acr:partner"), None);
        // An unnamed level is named by the strongest named level it meets.
        assert_eq!(l.name(Level::property(5).and(MFA)), Some(MFA_NAME));
        assert_eq!(PHR.beyond(MFA), Level::property(1));
    }

    #[test]
    fn step_up_follows_the_preferred_level() {
        let l = levels();
        let v = req(&[VERIFIED_NAME], false);
        assert!(v.wants_step_up(&l, Level::BASE));
        assert!(!v.wants_step_up(&l, VERIFIED));
        assert!(!v.wants_step_up(&l, VERIFIED.and(PHR)));
        // A phishing-resistant session is no verified one.
        assert!(v.wants_step_up(&l, PHR));
        // Preference order: password first means no step-up.
        assert!(!req(&[PASSWORD, VERIFIED_NAME], false).wants_step_up(&l, Level::BASE));
        assert!(!req(&["urn:other"], false).wants_step_up(&l, Level::BASE));
        assert!(!AcrRequest::default().wants_step_up(&l, Level::BASE));
    }

    #[test]
    fn essential_requests_are_never_met_by_a_lower_level() {
        let l = levels();
        let v = req(&[VERIFIED_NAME], true);
        assert_eq!(v.issued(&l, Level::BASE), Err(Unmet));
        assert_eq!(v.issued(&l, PHR), Err(Unmet));
        assert_eq!(v.issued(&l, VERIFIED), Ok(VERIFIED));
        assert_eq!(
            req(&[VERIFIED_NAME], false).issued(&l, Level::BASE),
            Ok(Level::BASE)
        );
        // A verified session meets a password request.
        assert_eq!(req(&[PASSWORD], true).issued(&l, VERIFIED), Ok(Level::BASE));
        // Essential with a fallback the session meets.
        assert_eq!(
            req(&[VERIFIED_PHR_NAME, MFA_NAME], true).issued(&l, PHR),
            Ok(MFA)
        );
        assert_eq!(AcrRequest::default().issued(&l, VERIFIED), Ok(VERIFIED));
    }

    #[test]
    fn a_minimum_level_filters_the_request_and_makes_it_essential() {
        let l = levels();
        let r = req(&[PASSWORD, PHR_NAME], false).with_minimum(&l, MFA);
        assert_eq!(r, req(&[PHR_NAME], true));
        let r = req(&[VERIFIED_NAME], false).with_minimum(&l, MFA);
        assert_eq!(r, req(&[MFA_NAME], true));
        assert_eq!(
            AcrRequest::default().with_minimum(&l, VERIFIED.and(MFA)),
            req(&["urn:surety:acr:verified:mfa"], true)
        );
        let untouched = req(&[VERIFIED_NAME], false);
        assert_eq!(untouched.clone().with_minimum(&l, Level::BASE), untouched);
        assert_eq!(
            req(&[PASSWORD], false)
                .with_minimum(&l, MFA)
                .issued(&l, Level::BASE),
            Err(Unmet)
        );
    }

    #[test]
    fn unsupported_essential_values_are_unmet_at_once() {
        let l = levels();
        assert_eq!(
            req(&["urn:mace:loa:4"], true).check_supported(&l),
            Err(Unmet)
        );
        assert!(req(&["urn:mace:loa:4"], false).check_supported(&l).is_ok());
        assert!(
            req(&["urn:mace:loa:4", VERIFIED_NAME], true)
                .check_supported(&l)
                .is_ok()
        );
        assert_eq!(
            req(&["urn:mace:loa:4"], true).issued(&l, VERIFIED),
            Err(Unmet)
        );
    }
}
