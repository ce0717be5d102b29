//! The verified attributes of an entity, typed: what challenge questions and eligibility
//! rules are drawn from. Stored as the `attributes` JSON of an entity row (this type's
//! serde form); attributes Surety has no type for are kept as given in `other`.
//!
//! Parsing from an input record is lenient about form (numbers may come as strings, as
//! CSV cells do; a list of networks may be one `;`-separated string) and strict about
//! content (years in range, counts not negative, networks that parse).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EntityKind;
use super::normalize;

/// A person's verified facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_addresses: Vec<PastAddress>,
    /// The external id of the employing business (also a parent link, role `employee`
    /// unless the record gives another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    /// Job title (`role` in input is accepted as a synonym).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The year the person started with the employer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_year: Option<i32>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// An address a person lived at, as given and normalized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PastAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_norm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city_norm: Option<String>,
}

/// A business's verified facts (its city and region are those of its address).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub founded_year: Option<i32>,
    /// US dollars a year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_revenue: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    /// Known office networks, canonical CIDR (`203.0.113.0/28`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub office_networks: Vec<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

const PERSON_KEYS: &[&str] = &[
    "birth_year",
    "previous_addresses",
    "employer",
    "title",
    "role",
    "start_year",
];
const BUSINESS_KEYS: &[&str] = &[
    "founded_year",
    "annual_revenue",
    "employee_count",
    "industry",
    "registration_number",
    "office_networks",
];

/// Parses a person's attributes; `year` is the current year.
pub fn person(attrs: Map<String, Value>, year: i32) -> Result<PersonFacts, String> {
    let mut f = PersonFacts::default();
    for (k, v) in attrs {
        if v.is_null() {
            continue;
        }
        let at = |e: String| format!("{k}: {e}");
        match k.as_str() {
            "birth_year" => f.birth_year = Some(year_in(&v, 1900, year).map_err(at)?),
            "start_year" => f.start_year = Some(year_in(&v, 1900, year).map_err(at)?),
            "previous_addresses" => f.previous_addresses = addresses(&v).map_err(at)?,
            "employer" => f.employer = Some(text(&v).map_err(at)?),
            "title" | "role" => f.title = Some(text(&v).map_err(at)?),
            _ if BUSINESS_KEYS.contains(&k.as_str()) => {
                return Err(format!("{k}: not an attribute of a person"));
            }
            _ => {
                f.other.insert(k, v);
            }
        }
    }
    if let (Some(b), Some(s)) = (f.birth_year, f.start_year)
        && s < b + 14
    {
        return Err(format!("start_year: {s} is before age 14 (born {b})"));
    }
    Ok(f)
}

/// Parses a business's attributes; `year` is the current year.
pub fn business(attrs: Map<String, Value>, year: i32) -> Result<BusinessFacts, String> {
    let mut f = BusinessFacts::default();
    for (k, v) in attrs {
        if v.is_null() {
            continue;
        }
        let at = |e: String| format!("{k}: {e}");
        match k.as_str() {
            "founded_year" => f.founded_year = Some(year_in(&v, 1600, year).map_err(at)?),
            "annual_revenue" => f.annual_revenue = Some(count(&v).map_err(at)?),
            "employee_count" => f.employee_count = Some(count(&v).map_err(at)?),
            "industry" => f.industry = Some(text(&v).map_err(at)?),
            "registration_number" => f.registration_number = Some(text(&v).map_err(at)?),
            "office_networks" => f.office_networks = networks(&v).map_err(at)?,
            _ if PERSON_KEYS.contains(&k.as_str()) => {
                return Err(format!("{k}: not an attribute of a business"));
            }
            _ => {
                f.other.insert(k, v);
            }
        }
    }
    Ok(f)
}

/// Whether `name` is an attribute a record of `kind` may carry provenance for.
pub fn is_attribute_of(kind: EntityKind, name: &str, attrs: &Value) -> bool {
    attrs.get(name).is_some()
        || match kind {
            EntityKind::Person => PERSON_KEYS.contains(&name),
            EntityKind::Business => BUSINESS_KEYS.contains(&name),
        }
}

/// A non-empty string (a number is accepted and written out).
fn text(v: &Value) -> Result<String, String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err("expected text".into()),
    };
    if s.is_empty() {
        return Err("empty".into());
    }
    Ok(s)
}

/// An integer, from a JSON number or a string like `"$12,500,000"`.
fn integer(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| format!("{n} is not a whole number")),
        Value::String(s) => {
            let cleaned: String = s
                .trim()
                .chars()
                .filter(|c| !matches!(c, '$' | ',' | '_' | ' '))
                .collect();
            cleaned
                .parse::<i64>()
                .map_err(|_| format!("{s:?} is not a whole number"))
        }
        _ => Err("expected a number".into()),
    }
}

fn year_in(v: &Value, lo: i32, hi: i32) -> Result<i32, String> {
    let y = integer(v)?;
    if y < i64::from(lo) || y > i64::from(hi) {
        return Err(format!("{y} is not a year between {lo} and {hi}"));
    }
    Ok(y as i32)
}

fn count(v: &Value) -> Result<i64, String> {
    let n = integer(v)?;
    if n < 0 {
        return Err(format!("{n} is negative"));
    }
    Ok(n)
}

fn addresses(v: &Value) -> Result<Vec<PastAddress>, String> {
    let Value::Array(items) = v else {
        return Err("expected a list of addresses".into());
    };
    items.iter().map(address).collect()
}

fn address(v: &Value) -> Result<PastAddress, String> {
    let Value::Object(o) = v else {
        return Err("an address is an object {street, city, region, postal}".into());
    };
    let mut a = PastAddress::default();
    for (k, v) in o {
        let s = match v {
            Value::Null => continue,
            other => text(other).map_err(|e| format!("{k}: {e}"))?,
        };
        match k.as_str() {
            "street" => {
                a.street_norm = normalize::street(&s);
                a.street = Some(s);
            }
            "city" => {
                a.city_norm = normalize::city(&s);
                a.city = Some(s);
            }
            "region" => a.region = normalize::region(&s),
            "postal" => a.postal = normalize::postal(&s),
            other => return Err(format!("unknown address field {other:?}")),
        }
    }
    if a.street.is_none() && a.city.is_none() && a.postal.is_none() {
        return Err("an address needs a street, city or postal code".into());
    }
    Ok(a)
}

/// CIDRs from a list or from one string separated by `;`, `,` or spaces.
fn networks(v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<String> = match v {
        Value::Array(a) => a.iter().map(text).collect::<Result<_, _>>()?,
        Value::String(s) => s
            .split([';', ',', ' '])
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => return Err("expected a list of CIDR blocks".into()),
    };
    items.iter().map(|s| canonical_cidr(s)).collect()
}

/// `10.1.2.3/24` → `10.1.2.0/24`; a bare address is a single host (`/32`, `/128`).
pub fn canonical_cidr(s: &str) -> Result<String, String> {
    let bad = || format!("{s:?} is not a CIDR block");
    let (addr, prefix) = match s.trim().split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
        None => (s.trim(), None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    Ok(match ip {
        IpAddr::V4(v4) => {
            let p = prefix.unwrap_or(32);
            if p > 32 {
                return Err(bad());
            }
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            format!("{}/{p}", std::net::Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let p = prefix.unwrap_or(128);
            if p > 128 {
                return Err(bad());
            }
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            format!("{}/{p}", std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn person_facts_parse_from_json_or_csv_strings() {
        let f = person(
            obj(
                json!({"birth_year": "1984", "title": " Office Manager ", "start_year": 2015,
                "employer": "B1", "previous_addresses": [{"street": "12 North Oak Street",
                "city": "Saint Louis", "region": "Missouri", "postal": "63101-1234"}],
                "favorite_color": "teal", "nickname": null}),
            ),
            2025,
        )
        .unwrap();
        assert_eq!(f.birth_year, Some(1984));
        assert_eq!(f.title.as_deref(), Some("Office Manager"));
        assert_eq!(f.employer.as_deref(), Some("B1"));
        let a = &f.previous_addresses[0];
        assert_eq!(a.street_norm.as_deref(), Some("12 N OAK ST"));
        assert_eq!(a.city_norm.as_deref(), Some("ST LOUIS"));
        assert_eq!(a.region.as_deref(), Some("MO"));
        assert_eq!(a.postal.as_deref(), Some("63101"));
        assert_eq!(f.other.get("favorite_color"), Some(&json!("teal")));
        assert!(!f.other.contains_key("nickname"));
        // The stored form reads back as the same facts.
        let stored = serde_json::to_value(&f).unwrap();
        assert_eq!(serde_json::from_value::<PersonFacts>(stored).unwrap(), f);
    }

    #[test]
    fn out_of_range_or_misplaced_facts_are_refused() {
        let bad = [
            json!({"birth_year": 1850}),
            json!({"birth_year": 2031}),
            json!({"birth_year": "nineteen"}),
            json!({"birth_year": 1990, "start_year": 2000}),
            json!({"founded_year": 1999}),
            json!({"previous_addresses": "12 Oak St"}),
        ];
        for b in bad {
            assert!(person(obj(b.clone()), 2025).is_err(), "{b}");
        }
        for b in [
            json!({"employee_count": -1}),
            json!({"annual_revenue": 1.5}),
            json!({"office_networks": ["10.0.0.0/33"]}),
            json!({"birth_year": 1980}),
        ] {
            assert!(business(obj(b.clone()), 2025).is_err(), "{b}");
        }
    }

    #[test]
    fn business_facts_and_networks() {
        let f = business(
            obj(
                json!({"founded_year": 2009, "annual_revenue": "$12,500,000",
                "employee_count": 48.0, "industry": "Logistics", "registration_number": 123,
                "office_networks": "203.0.113.7/28; 2001:db8::1/48"}),
            ),
            2025,
        )
        .unwrap();
        assert_eq!(f.annual_revenue, Some(12_500_000));
        assert_eq!(f.employee_count, Some(48));
        assert_eq!(f.registration_number.as_deref(), Some("123"));
        assert_eq!(f.office_networks, ["203.0.113.0/28", "2001:db8::/48"]);
        assert_eq!(canonical_cidr("10.1.2.3").unwrap(), "10.1.2.3/32");
        assert!(canonical_cidr("10.1.2/24").is_err());
    }
}
