//! The fixed schema rules are written against: which paths exist, their types, how their
//! values are normalized, and [`EntityView`], an entity's values read once from its
//! stored record (core elements plus the typed facts of `verify::facts`).
//!
//! | path | type | value |
//! |---|---|---|
//! | `entity.kind`, `parent.kind` | string | `person` or `business` |
//! | `….region` | string | two-letter code (`"California"` is read as `"CA"`) |
//! | `….city` | string | normalized city (`"Saint Louis"` is read as `"ST LOUIS"`) |
//! | `….birth_year`, `….start_year` | int | a person's facts |
//! | `….title` | string | a person's job title, compared case-insensitively |
//! | `….founded_year`, `….annual_revenue`, `….employee_count` | int | a business's facts |
//! | `….industry` | string | a business's industry, compared case-insensitively |
//! | `role` | string | the person's role in the link to `parent` (`employee`, `manager` …) |
//! | `now.year` | int | the current UTC year |

use crate::store::EntityRecord;
use crate::verify::facts::{BusinessFacts, PersonFacts};
use crate::verify::normalize;
use crate::verify::{EntityKind, LinkRole};

/// The type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Str,
    Bool,
    /// A list of the given element type (`None`: the empty list, whose elements could be
    /// of any type).
    List(Option<Scalar>),
}

/// The types a list element may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Int,
    Str,
    Bool,
}

impl Scalar {
    pub fn ty(self) -> Ty {
        match self {
            Scalar::Int => Ty::Int,
            Scalar::Str => Ty::Str,
            Scalar::Bool => Ty::Bool,
        }
    }
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Str => "string",
            Ty::Bool => "bool",
            Ty::List(Some(Scalar::Int)) => "list of int",
            Ty::List(Some(Scalar::Str)) => "list of string",
            Ty::List(Some(Scalar::Bool)) => "list of bool",
            Ty::List(None) => "empty list",
        }
    }
}

/// An attribute of an entity (the same set under `entity.` and `parent.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    Kind,
    Region,
    City,
    BirthYear,
    StartYear,
    Title,
    FoundedYear,
    AnnualRevenue,
    EmployeeCount,
    Industry,
}

const ATTRS: &[(&str, Attr)] = &[
    ("kind", Attr::Kind),
    ("region", Attr::Region),
    ("city", Attr::City),
    ("birth_year", Attr::BirthYear),
    ("start_year", Attr::StartYear),
    ("title", Attr::Title),
    ("founded_year", Attr::FoundedYear),
    ("annual_revenue", Attr::AnnualRevenue),
    ("employee_count", Attr::EmployeeCount),
    ("industry", Attr::Industry),
];

/// A path a rule can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Entity(Attr),
    Parent(Attr),
    Role,
    NowYear,
}

/// How a string field's values (and the literals compared with it) are normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    Kind,
    Region,
    City,
    Role,
    /// Trimmed, lower-cased, inner whitespace collapsed.
    Folded,
}

impl Norm {
    /// The normalized form of a literal, or why it can never match.
    pub fn literal(self, s: &str) -> Result<String, String> {
        match self {
            Norm::Kind => EntityKind::parse(s).map(|k| k.as_str().to_owned()),
            Norm::Region => normalize::region(s).ok_or_else(|| format!("{s:?} is not a region")),
            Norm::City => normalize::city(s).ok_or_else(|| format!("{s:?} is not a city")),
            Norm::Role => LinkRole::parse(s).map(|r| r.as_str().to_owned()),
            Norm::Folded => Ok(fold(s)),
        }
    }
}

/// Lower case, whitespace collapsed to single spaces.
pub fn fold(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Field {
    /// Resolves a dotted path (`["parent", "founded_year"]`).
    pub fn resolve(path: &[String]) -> Result<Field, String> {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        let attr = |name: &str| ATTRS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a);
        let found = match names.as_slice() {
            ["role"] => Some(Field::Role),
            ["now", "year"] => Some(Field::NowYear),
            ["entity", a] => attr(a).map(Field::Entity),
            ["parent", a] => attr(a).map(Field::Parent),
            _ => None,
        };
        found.ok_or_else(|| {
            let known: Vec<&str> = ATTRS.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown field `{}` (known: entity.<attr>, parent.<attr>, role, now.year; \
                 attr is one of {})",
                names.join("."),
                known.join(", ")
            )
        })
    }

    pub fn ty(self) -> Ty {
        match self {
            Field::Role => Ty::Str,
            Field::NowYear => Ty::Int,
            Field::Entity(a) | Field::Parent(a) => match a {
                Attr::Kind | Attr::Region | Attr::City | Attr::Title | Attr::Industry => Ty::Str,
                _ => Ty::Int,
            },
        }
    }

    pub fn norm(self) -> Option<Norm> {
        match self {
            Field::Role => Some(Norm::Role),
            Field::NowYear => None,
            Field::Entity(a) | Field::Parent(a) => match a {
                Attr::Kind => Some(Norm::Kind),
                Attr::Region => Some(Norm::Region),
                Attr::City => Some(Norm::City),
                Attr::Title | Attr::Industry => Some(Norm::Folded),
                _ => None,
            },
        }
    }
}

/// A value a field can have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Int(i64),
    Str(String),
}

/// An entity's values as rules see them (normalized; absent facts are `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityView {
    pub kind: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub person: PersonFacts,
    pub business: BusinessFacts,
}

impl EntityView {
    /// Reads a stored entity. Facts that do not decode are treated as absent.
    pub fn from_record(r: &EntityRecord) -> Self {
        let decode = |what: &str| {
            tracing::warn!(entity = %r.id, "stored {what} facts do not decode; rules see none");
        };
        let (mut person, mut business) = (PersonFacts::default(), BusinessFacts::default());
        match r.kind.as_str() {
            "person" => match serde_json::from_value(r.attributes.clone()) {
                Ok(f) => person = f,
                Err(_) => decode("person"),
            },
            "business" => match serde_json::from_value(r.attributes.clone()) {
                Ok(f) => business = f,
                Err(_) => decode("business"),
            },
            _ => {}
        }
        EntityView {
            kind: EntityKind::parse(&r.kind)
                .ok()
                .map(|k| k.as_str().to_owned()),
            region: r.region.clone(),
            city: r.city_norm.clone(),
            person,
            business,
        }
    }

    pub fn get(&self, a: Attr) -> Option<FieldValue> {
        let int = |v: Option<i32>| v.map(|y| FieldValue::Int(i64::from(y)));
        let text = |v: &Option<String>| v.as_deref().map(|s| FieldValue::Str(fold(s)));
        match a {
            Attr::Kind => self.kind.clone().map(FieldValue::Str),
            Attr::Region => self.region.clone().map(FieldValue::Str),
            Attr::City => self.city.clone().map(FieldValue::Str),
            Attr::BirthYear => int(self.person.birth_year),
            Attr::StartYear => int(self.person.start_year),
            Attr::Title => text(&self.person.title),
            Attr::FoundedYear => int(self.business.founded_year),
            Attr::AnnualRevenue => self.business.annual_revenue.map(FieldValue::Int),
            Attr::EmployeeCount => self.business.employee_count.map(FieldValue::Int),
            Attr::Industry => text(&self.business.industry),
        }
    }
}
