//! One input record, as a JSON Lines object or a CSV row, parsed into what the store
//! writes ([`EntityWrite`]): core elements as given and normalized, typed facts,
//! provenance and parent links. A record that cannot be parsed is refused with a reason
//! naming the field, which the importer reports with the line number.
//!
//! ```json
//! {"external_id": "P1", "kind": "person", "name": "Maria Garcia",
//!  "street": "12 North Oak Street Apt 4", "city": "Oakland", "region": "CA",
//!  "postal": "94607", "phone": "(510) 555-0142", "email": "Maria.Garcia@example.com",
//!  "source": "dmv", "verified_at": "2024-03-01",
//!  "attributes": {"birth_year": 1984, "employer": "B1", "title": "Buyer", "start_year": 2015},
//!  "provenance": {"employer": {"source": "payroll", "verified_at": "2024-06-30"}},
//!  "links": [{"parent": "B1", "role": "employee"}]}
//! ```
//!
//! `street`, `city`, `region`, `postal`, `phone`, `email`, `attributes`, `provenance`
//! and `links` are optional; a person's `employer` implies a link (role `employee`)
//! unless `links` names that parent. CSV rows use the same names as columns; any other
//! column is an attribute, a cell starting with `[` or `{` is JSON, `links` may also be
//! written `B1:employee;B2:owner`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::facts;
use super::normalize::{self, E164, Email};
use super::{CivilDate, EntityKind, ExternalId, LinkRole, VerifiedDate, entity_id};
use crate::clock::Timestamp;
use crate::store::{EntityLink, EntityRecord, EntityWrite};

/// A record as written in the file, before any checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    pub external_id: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub source: String,
    pub verified_at: String,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub provenance: BTreeMap<String, RawProvenance>,
    #[serde(default)]
    pub links: Vec<RawLink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvenance {
    pub source: String,
    pub verified_at: String,
}

/// A parent of this record (the record is the child).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub parent: String,
    pub role: String,
}

/// What parsing needs from outside: the time (dates may not be in the future).
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    pub now: Timestamp,
    pub today: CivilDate,
}

impl ParseContext {
    pub fn at(now: Timestamp) -> Self {
        ParseContext {
            now,
            today: CivilDate::from_unix(now),
        }
    }
}

/// The core element names, which may also carry their own provenance.
const CORE: &[&str] = &[
    "name", "street", "city", "region", "postal", "phone", "email",
];

/// Parses one JSON Lines line.
pub fn from_json_line(line: &str, ctx: &ParseContext) -> Result<EntityWrite, String> {
    let raw: RawRecord = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
    parse(raw, ctx)
}

/// serde's message without its "at line 1 column N" suffix (the importer gives the line).
fn json_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// Parses one CSV row given the header.
pub fn from_csv_row(
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
    ctx: &ParseContext,
) -> Result<EntityWrite, String> {
    let mut top = Map::new();
    let mut attrs = Map::new();
    for (h, cell) in headers.iter().zip(row.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let value = || -> Result<Value, String> {
            if cell.starts_with('[') || cell.starts_with('{') {
                serde_json::from_str(cell).map_err(|e| format!("{h}: {}", json_reason(&e)))
            } else {
                Ok(Value::String(cell.to_owned()))
            }
        };
        match h.trim() {
            "attributes" => match value()? {
                Value::Object(o) => attrs.extend(o),
                _ => return Err("attributes: expected a JSON object".into()),
            },
            "links" if !cell.starts_with('[') => {
                top.insert("links".into(), links_shorthand(cell)?);
            }
            "links" | "provenance" => {
                top.insert(h.trim().into(), value()?);
            }
            k if CORE.contains(&k)
                || matches!(k, "external_id" | "kind" | "source" | "verified_at") =>
            {
                top.insert(k.into(), Value::String(cell.to_owned()));
            }
            k => {
                attrs.insert(k.into(), value()?);
            }
        }
    }
    top.insert("attributes".into(), Value::Object(attrs));
    let raw: RawRecord = serde_json::from_value(Value::Object(top)).map_err(|e| json_reason(&e))?;
    parse(raw, ctx)
}

/// `B1:employee;B2:owner` → `[{"parent": "B1", "role": "employee"}, …]`.
fn links_shorthand(cell: &str) -> Result<Value, String> {
    let mut out = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (parent, role) = part
            .rsplit_once(':')
            .ok_or_else(|| format!("links: {part:?} is not PARENT:ROLE"))?;
        out.push(serde_json::json!({"parent": parent, "role": role}));
    }
    Ok(Value::Array(out))
}

/// `None` for a missing or blank value, the trimmed text otherwise.
fn present(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Checks and normalizes a raw record.
pub fn parse(raw: RawRecord, ctx: &ParseContext) -> Result<EntityWrite, String> {
    let external_id =
        ExternalId::parse(&raw.external_id).map_err(|e| format!("external_id: {e}"))?;
    let kind = EntityKind::parse(&raw.kind).map_err(|e| format!("kind: {e}"))?;
    let name = raw.name.trim().to_owned();
    let name_norm = normalize::name(&name).ok_or("name: empty")?;
    let street = present(raw.street);
    let city = present(raw.city);
    let phone = present(raw.phone);
    let email = present(raw.email);
    let phone_e164 = match &phone {
        Some(p) => Some(
            E164::parse(p)
                .map_err(|e| format!("phone: {e}"))?
                .into_string(),
        ),
        None => None,
    };
    let email_norm = match &email {
        Some(e) => Some(
            Email::parse(e)
                .map_err(|e| format!("email: {e}"))?
                .into_string(),
        ),
        None => None,
    };
    let source = present(Some(raw.source)).ok_or("source: empty")?;
    let verified_at = VerifiedDate::parse(&raw.verified_at, &ctx.today)
        .map_err(|e| format!("verified_at: {e}"))?;
    let year = ctx.today.year;
    let (attributes, employer) = match kind {
        EntityKind::Person => {
            let f = facts::person(raw.attributes, year)?;
            let employer = f.employer.clone();
            (serde_json::to_value(f), employer)
        }
        EntityKind::Business => (
            serde_json::to_value(facts::business(raw.attributes, year)?),
            None,
        ),
    };
    let attributes = attributes.map_err(|e| format!("attributes: {e}"))?;
    let provenance = provenance(raw.provenance, kind, &attributes, ctx)?;
    let id = external_id.entity_id();
    let links = links(raw.links, employer.as_deref(), &external_id, &id, ctx.now)?;
    let record = EntityRecord {
        id,
        external_id: external_id.as_str().to_owned(),
        kind: kind.as_str().to_owned(),
        name,
        street_norm: street.as_deref().and_then(normalize::street),
        city_norm: city.as_deref().and_then(normalize::city),
        region: raw.region.as_deref().and_then(normalize::region),
        postal: raw.postal.as_deref().and_then(normalize::postal),
        street,
        city,
        phone,
        email,
        name_norm,
        phone_e164,
        email_norm,
        attributes,
        source,
        verified_at: verified_at.as_str().to_owned(),
        provenance,
        content_hash: String::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let mut w = EntityWrite::new(record, links);
    w.record.content_hash = content_hash(&w);
    Ok(w)
}

fn provenance(
    raw: BTreeMap<String, RawProvenance>,
    kind: EntityKind,
    attributes: &Value,
    ctx: &ParseContext,
) -> Result<Value, String> {
    let mut out = Map::new();
    for (k, p) in raw {
        if !CORE.contains(&k.as_str()) && !facts::is_attribute_of(kind, &k, attributes) {
            return Err(format!(
                "provenance: {k:?} is neither a core element nor an attribute"
            ));
        }
        let source =
            present(Some(p.source)).ok_or_else(|| format!("provenance.{k}.source: empty"))?;
        let at = VerifiedDate::parse(&p.verified_at, &ctx.today)
            .map_err(|e| format!("provenance.{k}.verified_at: {e}"))?;
        out.insert(
            k,
            serde_json::json!({"source": source, "verified_at": at.as_str()}),
        );
    }
    Ok(Value::Object(out))
}

fn links(
    raw: Vec<RawLink>,
    employer: Option<&str>,
    child: &ExternalId,
    child_id: &str,
    now: Timestamp,
) -> Result<Vec<EntityLink>, String> {
    let mut pairs: Vec<(ExternalId, LinkRole)> = Vec::with_capacity(raw.len() + 1);
    for l in raw {
        let parent = ExternalId::parse(&l.parent).map_err(|e| format!("links: parent {e}"))?;
        let role = LinkRole::parse(&l.role).map_err(|e| format!("links: {e}"))?;
        pairs.push((parent, role));
    }
    if let Some(emp) = employer {
        let parent = ExternalId::parse(emp).map_err(|e| format!("employer: {e}"))?;
        if !pairs.iter().any(|(p, _)| *p == parent) {
            pairs.push((parent, LinkRole::parse("employee")?));
        }
    }
    if pairs.iter().any(|(p, _)| p == child) {
        return Err("links: a record cannot be its own parent".into());
    }
    pairs.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    pairs.dedup();
    Ok(pairs
        .into_iter()
        .map(|(parent, role)| EntityLink {
            parent_id: entity_id(parent.as_str()),
            child_id: child_id.to_owned(),
            role: role.as_str().to_owned(),
            created_at: now,
        })
        .collect())
}

/// 32 hex of SHA-256 over every stored value of the record and its links (normalized
/// values included, so a change of normalization rules rewrites the rows on re-import).
fn content_hash(w: &EntityWrite) -> String {
    let r = &w.record;
    let mut buf = String::with_capacity(512);
    let fields = [
        Some(r.kind.as_str()),
        Some(r.name.as_str()),
        r.street.as_deref(),
        r.city.as_deref(),
        r.phone.as_deref(),
        r.email.as_deref(),
        Some(r.name_norm.as_str()),
        r.street_norm.as_deref(),
        r.city_norm.as_deref(),
        r.region.as_deref(),
        r.postal.as_deref(),
        r.phone_e164.as_deref(),
        r.email_norm.as_deref(),
        Some(r.source.as_str()),
        Some(r.verified_at.as_str()),
    ];
    for f in fields {
        buf.push_str(f.unwrap_or("\u{0}"));
        buf.push('\u{1f}');
    }
    buf.push_str(w.attributes_json());
    buf.push('\u{1f}');
    buf.push_str(w.provenance_json());
    for l in &w.links {
        buf.push('\u{1e}');
        buf.push_str(&l.parent_id);
        buf.push('\u{1f}');
        buf.push_str(&l.role);
    }
    hex::encode(&crate::util::sha256(buf.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::at(1_735_689_600) // 2025-01-01
    }

    const LINE: &str = r#"{"external_id":"P1","kind":"person","name":"  Maria  Garcia ",
        "street":"12 North Oak Street Apt #4","city":"Saint Louis","region":"Missouri",
        "postal":"63101-1234","phone":"(314) 555-0142","email":" Maria.Garcia@Example.com",
        "source":"dmv","verified_at":"2024-03-01",
        "attributes":{"birth_year":1984,"employer":"B1","title":"Buyer","start_year":2015},
        "provenance":{"employer":{"source":"payroll","verified_at":"2024-06-30"}}}"#;

    #[test]
    fn a_json_record_is_normalized() {
        let w = from_json_line(&LINE.replace('\n', " "), &ctx()).unwrap();
        let r = &w.record;
        assert_eq!(r.id, entity_id("P1"));
        assert_eq!(r.name, "Maria  Garcia");
        assert_eq!(r.name_norm, "MARIA GARCIA");
        assert_eq!(r.street_norm.as_deref(), Some("12 N OAK ST APT 4"));
        assert_eq!(r.city_norm.as_deref(), Some("ST LOUIS"));
        assert_eq!(r.region.as_deref(), Some("MO"));
        assert_eq!(r.postal.as_deref(), Some("63101"));
        assert_eq!(r.phone_e164.as_deref(), Some("+13145550142"));
        assert_eq!(r.email_norm.as_deref(), Some("maria.garcia@example.com"));
        assert_eq!(r.attributes["birth_year"], 1984);
        assert_eq!(r.provenance["employer"]["source"], "payroll");
        assert_eq!(w.links.len(), 1, "employer implies a link");
        assert_eq!(w.links[0].parent_id, entity_id("B1"));
        assert_eq!(w.links[0].role, "employee");
        assert_eq!(r.content_hash.len(), 32);
    }

    #[test]
    fn a_csv_row_reads_like_the_json_record() {
        let headers = csv::StringRecord::from(vec![
            "external_id",
            "kind",
            "name",
            "phone",
            "source",
            "verified_at",
            "birth_year",
            "links",
            "previous_addresses",
        ]);
        let row = csv::StringRecord::from(vec![
            "P2",
            "person",
            "Ann Lee",
            "415.555.0100",
            "dmv",
            "2024-01-02",
            "1990",
            "B1:owner;B2:employee",
            r#"[{"city":"Fort Worth"}]"#,
        ]);
        let w = from_csv_row(&headers, &row, &ctx()).unwrap();
        assert_eq!(w.record.phone_e164.as_deref(), Some("+14155550100"));
        assert_eq!(w.record.attributes["birth_year"], 1990);
        assert_eq!(
            w.record.attributes["previous_addresses"][0]["city_norm"],
            "FT WORTH"
        );
        let roles: Vec<&str> = w.links.iter().map(|l| l.role.as_str()).collect();
        assert_eq!(roles, ["owner", "employee"]);
    }

    #[test]
    fn bad_records_are_refused_with_the_field_named() {
        let base: Value = serde_json::from_str(&LINE.replace('\n', " ")).unwrap();
        let cases = [
            ("phone", Value::from("555-0100"), "phone:"),
            ("email", Value::from("maria at example"), "email:"),
            ("kind", Value::from("robot"), "kind:"),
            ("name", Value::from("  "), "name:"),
            ("verified_at", Value::from("2030-01-01"), "verified_at:"),
            ("nmae", Value::from("typo"), "unknown field `nmae`"),
        ];
        for (field, value, want) in cases {
            let mut v = base.clone();
            v[field] = value;
            let err = from_json_line(&v.to_string(), &ctx()).unwrap_err();
            assert!(
                err.starts_with(want) || err.contains(want),
                "{field}: {err}"
            );
        }
        let err = from_json_line("{not json", &ctx()).unwrap_err();
        assert!(!err.contains("at line"), "{err}");
        let mut v = base.clone();
        v["links"] = serde_json::json!([{"parent": "P1", "role": "self"}]);
        assert!(from_json_line(&v.to_string(), &ctx()).is_err());
    }

    #[test]
    fn the_content_hash_changes_with_content_only() {
        let line = LINE.replace('\n', " ");
        let a = from_json_line(&line, &ctx()).unwrap();
        let later = ParseContext::at(ctx().now + 3600);
        let b = from_json_line(&line, &later).unwrap();
        assert_eq!(a.record.content_hash, b.record.content_hash);
        let c = from_json_line(&line.replace("Buyer", "Senior Buyer"), &ctx()).unwrap();
        assert_ne!(a.record.content_hash, c.record.content_hash);
    }
}
