//! Matching basic identifying information against the entity records.
//!
//! The input is normalized exactly as records are ([`super::normalize`]), candidates are
//! looked up through the indexed elements ([`crate::store::EntityStore::candidates`]),
//! and each candidate is scored by the core elements that agree: name, street address,
//! phone and email. A street only agrees when the city or the postal code supplied
//! agrees too (they support it; alone they are not elements), and a street with either
//! one is looked up. Tiers:
//!
//! - **definite**: exactly one candidate with three or more agreeing elements;
//! - **probable**: two agree (or several candidates have three: ambiguity);
//! - **none**: fewer.
//!
//! A source region agreeing with a probable candidate's region counts as one more
//! element (probable → definite); it never lifts a single element.

use serde::{Deserialize, Serialize};

use super::EntityKind;
use super::engine::{IdentityInput, Tier};
use super::normalize::{self, E164, Email};
use crate::store::{ElementProbe, EntityRecord};

/// Longest accepted value of any input element, in characters.
pub const MAX_ELEMENT_CHARS: usize = 200;

/// The core elements, by the names the API uses.
pub const CORE_ELEMENTS: [&str; 4] = ["name", "street", "phone", "email"];

/// The input, normalized. Serialized into the verification row (server side) so a later
/// `more_info` can add to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub kind: String,
    pub name: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

fn bounded<'a>(field: &str, v: &'a Option<String>) -> Result<Option<&'a str>, String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > MAX_ELEMENT_CHARS => Err(format!(
            "{field}: longer than {MAX_ELEMENT_CHARS} characters"
        )),
        Some(s) if s.chars().any(char::is_control) => {
            Err(format!("{field}: contains control characters"))
        }
        Some(s) => Ok(Some(s)),
    }
}

impl Probe {
    /// Parses and normalizes the input; a malformed phone or email, an unknown kind or
    /// an over-long element is refused with a reason naming the field.
    pub fn from_input(input: &IdentityInput) -> Result<Self, String> {
        let kind = match bounded("kind", &input.kind)? {
            None => EntityKind::Person,
            Some(k) => EntityKind::parse(k).map_err(|e| format!("kind: {e}"))?,
        };
        let phone = bounded("phone", &input.phone)?
            .map(|p| E164::parse(p).map(E164::into_string))
            .transpose()
            .map_err(|e| format!("phone: {e}"))?;
        let email = bounded("email", &input.email)?
            .map(|e| Email::parse(e).map(Email::into_string))
            .transpose()
            .map_err(|e| format!("email: {e}"))?;
        Ok(Probe {
            kind: kind.as_str().to_owned(),
            name: bounded("name", &input.name)?.and_then(normalize::name),
            street: bounded("street", &input.street)?.and_then(normalize::street),
            city: bounded("city", &input.city)?.and_then(normalize::city),
            region: bounded("region", &input.region)?.and_then(normalize::region),
            postal: bounded("postal", &input.postal)?.and_then(normalize::postal),
            phone,
            email,
        })
    }

    /// Adds the elements of `more` this probe lacks (what was supplied stays).
    pub fn merge(&mut self, more: Probe) {
        fn fill(a: &mut Option<String>, b: Option<String>) {
            if a.is_none() {
                *a = b;
            }
        }
        fill(&mut self.name, more.name);
        fill(&mut self.street, more.street);
        fill(&mut self.city, more.city);
        fill(&mut self.region, more.region);
        fill(&mut self.postal, more.postal);
        fill(&mut self.phone, more.phone);
        fill(&mut self.email, more.email);
    }

    /// The indexed lookups this probe allows.
    pub fn element_probe(&self) -> ElementProbe {
        ElementProbe {
            name_norm: self.name.clone(),
            street_norm: self.street.clone(),
            city_norm: self.city.clone(),
            postal: self.postal.clone(),
            phone_e164: self.phone.clone(),
            email_norm: self.email.clone(),
        }
    }

    /// Core elements not supplied (what a `MoreInfo` step can ask for).
    pub fn missing(&self) -> Vec<String> {
        let have = [&self.name, &self.street, &self.phone, &self.email];
        CORE_ELEMENTS
            .iter()
            .zip(have)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| (*n).to_owned())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.street.is_none()
            && self.phone.is_none()
            && self.email.is_none()
            && self.postal.is_none()
            && self.city.is_none()
    }
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y)
}

/// How many core elements of `p` agree with `r`.
pub fn score(p: &Probe, r: &EntityRecord) -> u32 {
    let name = p.name.as_deref() == Some(r.name_norm.as_str());
    let supported = same(&p.postal, &r.postal) || same(&p.city, &r.city_norm);
    let street = same(&p.street, &r.street_norm) && supported;
    let phone = same(&p.phone, &r.phone_e164);
    let email = same(&p.email, &r.email_norm);
    [name, street, phone, email]
        .iter()
        .map(|b| u32::from(*b))
        .sum()
}

/// The result of matching.
#[derive(Debug, Clone)]
pub struct MatchResult {
    pub tier: Tier,
    /// Definite: the one record. Probable: the records in play (best first). None: the
    /// records that agreed on one element (for the alternative checks).
    pub records: Vec<EntityRecord>,
    /// The source region lifted the match from probable to definite.
    pub by_region: bool,
}

/// Most candidates shown to a person to pick from.
pub const MAX_CANDIDATES: usize = 5;

/// Scores `candidates` (already looked up) of the probe's kind and assigns the tier.
/// `source_region` is the region of the request's source network, if known.
pub fn classify(
    p: &Probe,
    candidates: Vec<EntityRecord>,
    source_region: Option<&str>,
) -> MatchResult {
    let mut scored: Vec<(u32, bool, EntityRecord)> = candidates
        .into_iter()
        .filter(|r| r.kind == p.kind)
        .map(|r| {
            let base = score(p, &r);
            let lifted =
                base == 2 && source_region.is_some() && r.region.as_deref() == source_region;
            (base + u32::from(lifted), lifted, r)
        })
        .filter(|(s, _, _)| *s >= 1)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.id.cmp(&b.2.id)));
    let strong = scored.iter().filter(|(s, _, _)| *s >= 3).count();
    let two = scored.iter().filter(|(s, _, _)| *s >= 2).count();
    let (tier, keep) = if strong == 1 {
        (Tier::Definite, 1)
    } else if two >= 1 {
        (Tier::Probable, two.min(MAX_CANDIDATES))
    } else {
        (Tier::None, scored.len().min(MAX_CANDIDATES))
    };
    let by_region = tier == Tier::Definite && scored[0].1;
    MatchResult {
        tier,
        records: scored.into_iter().take(keep).map(|(_, _, r)| r).collect(),
        by_region,
    }
}

/// `MAIN` → `Main`.
pub(crate) fn title_case(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Normalized words that start the unit part of a street address.
pub(crate) const UNITS: &[&str] = &[
    "APT", "STE", "UNIT", "#", "FL", "RM", "BLDG", "DEPT", "LOT", "SPC",
];

/// A record shown so that its owner recognizes it and others learn little:
/// `J. Sm••• , ••• Main St, Los Angeles` (initial and two letters of the surname, the
/// street without its number or unit, the city in clear). Businesses show two letters of
/// their name.
pub fn mask(r: &EntityRecord) -> String {
    let words: Vec<&str> = r.name_norm.split(' ').filter(|w| !w.is_empty()).collect();
    let two = |w: &str| {
        let t: String = w.chars().take(2).collect();
        format!("{}•••", title_case(&t))
    };
    let name = match (r.kind.as_str(), words.as_slice()) {
        ("person", [first, .., last]) => {
            let initial: String = first.chars().take(1).collect();
            format!("{initial}. {}", two(last))
        }
        (_, [first, ..]) => two(first),
        (_, []) => "•••".to_owned(),
    };
    let street: Vec<String> = r
        .street_norm
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .skip_while(|w| w.chars().any(|c| c.is_ascii_digit()))
        .take_while(|w| !UNITS.contains(w))
        .map(title_case)
        .collect();
    let mut label = name;
    if !street.is_empty() {
        label.push_str(&format!(" , ••• {}", street.join(" ")));
    }
    if let Some(city) = r.city.as_deref().filter(|c| !c.trim().is_empty()) {
        label.push_str(&format!(", {}", city.trim()));
    }
    label
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
