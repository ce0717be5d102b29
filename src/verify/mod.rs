//! Verified entities (docs/product.md §3): previously verified facts about people and
//! businesses that step-up challenges are built from. This part holds the records and
//! their bulk import:
//!
//! - [`normalize`]: the core identifying elements (name, street address, city, region,
//!   postal code, phone in E.164, email) normalized on the way in and for every probe;
//! - [`facts`]: the typed verified attributes of people and businesses;
//! - [`record`]: one input record (JSON object or CSV row) parsed into what the store
//!   writes, or refused with a reason;
//! - [`import`]: `surety entities import FILE`, streaming and batched;
//! - [`generate`]: `surety entities generate`, a deterministic synthetic data set;
//! - [`cli`]: the `surety entities …` sub-commands;
//! - [`step`]: the challenge as an authentication step of the OpenID Connect flow;
//! - [`claims`]: the bound entity's record as the source of `verified_claims`.

pub mod agents;
pub mod alerts;
pub mod claims;
pub mod eligibility;
pub mod engine;
pub mod facts;
#[cfg(test)]
mod fixtures;
pub mod import;
pub mod matching;
pub mod normalize;
pub mod questions;
pub mod record;
pub mod regions;
pub mod rules;
pub mod step;

use std::fmt;

use crate::clock::Timestamp;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Person,
    Business,
}

impl EntityKind {
    /// `person` or `business` (any case; `company` and `organization` mean business).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" => Ok(EntityKind::Person),
            "business" | "company" | "organization" | "organisation" => Ok(EntityKind::Business),
            other => Err(format!("unknown kind {other:?} (person or business)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Business => "business",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identifier a record has in its source system: 1–128 characters, no control
/// characters, surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty".into());
        }
        if t.chars().count() > 128 {
            return Err("longer than 128 characters".into());
        }
        if t.chars().any(char::is_control) {
            return Err("contains control characters".into());
        }
        Ok(ExternalId(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored entity id this external id maps to.
    pub fn entity_id(&self) -> String {
        entity_id(&self.0)
    }
}

/// `EN` + 32 hex of SHA-256(external id): the same external id always names the same
/// entity, so links can be written before (or without) their other end.
pub fn entity_id(external_id: &str) -> String {
    let digest = crate::util::sha256(external_id.as_bytes());
    format!("EN{}", hex::encode(&digest[..16]))
}

/// The role of a child in a parent–child link (`employee`, `owner`, `manager`,
/// `ambassador` …): 1–32 of `a-z`, `0-9`, `_`, `-`, lower-cased, spaces become `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkRole(String);

impl LinkRole {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase().replace(' ', "_");
        let ok = !t.is_empty()
            && t.len() <= 32
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(LinkRole(t))
        } else {
            Err(format!(
                "role {s:?} must be 1-32 letters, digits, '_' or '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The date a fact was verified, `YYYY-MM-DD` (an RFC 3339 date-time is cut to its
/// date), never after today.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VerifiedDate(String);

impl VerifiedDate {
    pub fn parse(s: &str, today: &CivilDate) -> Result<Self, String> {
        let t = s.trim();
        let date = t.get(..10).unwrap_or(t);
        let rest = t.get(10..).unwrap_or("");
        if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
            return Err(format!("date {s:?} is not YYYY-MM-DD"));
        }
        let d = CivilDate::parse(date).ok_or_else(|| format!("date {s:?} is not YYYY-MM-DD"))?;
        if d > *today {
            return Err(format!("date {s:?} is in the future"));
        }
        Ok(VerifiedDate(d.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl CivilDate {
    /// The UTC date of a Unix time (H. Hinnant's `civil_from_days`).
    pub fn from_unix(t: Timestamp) -> Self {
        let z = t.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        CivilDate { year, month, day }
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD`, checking the day exists.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i32 = s[..4].parse().ok()?;
        let month: u32 = s[5..7].parse().ok()?;
        let day: u32 = s[8..10].parse().ok()?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(CivilDate { year, month, day })
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_roles_and_ids_parse() {
        assert_eq!(EntityKind::parse(" Person ").unwrap(), EntityKind::Person);
        assert_eq!(EntityKind::parse("company").unwrap(), EntityKind::Business);
        assert!(EntityKind::parse("robot").is_err());
        assert_eq!(
            LinkRole::parse("Ambassador").unwrap().as_str(),
            "ambassador"
        );
        assert_eq!(
            LinkRole::parse("vice president").unwrap().as_str(),
            "vice_president"
        );
        assert!(LinkRole::parse("").is_err());
        assert!(LinkRole::parse("boss!").is_err());
        assert!(ExternalId::parse("  ").is_err());
        assert!(ExternalId::parse("a\u{7}b").is_err());
        let id = ExternalId::parse(" P-1 ").unwrap();
        assert_eq!(id.as_str(), "P-1");
        assert_eq!(id.entity_id(), entity_id("P-1"));
        assert_eq!(id.entity_id().len(), 34);
        assert_ne!(entity_id("P-1"), entity_id("P-2"));
    }

    #[test]
    fn dates_are_calendar_dates_not_in_the_future() {
        let today = CivilDate::from_unix(1_700_000_000); // 2023-11-14
        assert_eq!(today.to_string(), "2023-11-14");
        assert_eq!(CivilDate::from_unix(0).to_string(), "1970-01-01");
        assert_eq!(CivilDate::from_unix(951_782_400).to_string(), "2000-02-29");
        for t in [0, 951_782_400, 1_700_000_000, -86_400 * 400] {
            let d = CivilDate::from_unix(t);
            assert_eq!(d.to_days() * 86_400, t - t.rem_euclid(86_400), "{d}");
        }
        let ok = |s: &str| VerifiedDate::parse(s, &today).map(|d| d.as_str().to_owned());
        assert_eq!(ok("2023-05-01").unwrap(), "2023-05-01");
        assert_eq!(ok("2020-02-29T10:00:00Z").unwrap(), "2020-02-29");
        assert!(ok("2021-02-29").is_err());
        assert!(ok("2023-13-01").is_err());
        assert!(ok("2023-11-15").is_err(), "future");
        assert!(ok("01/05/2023").is_err());
        assert!(ok("2023-05-01garbage").is_err());
    }
}
