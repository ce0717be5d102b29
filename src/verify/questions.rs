//! Challenge questions: drawn at random (from the engine's [`Entropy`]: the operating
//! system's CSPRNG, through aws-lc, unless a test gives a seeded source) from the matched
//! record's verified facts other than what was supplied.
//!
//! A question is open-ended (the answer is normalized like the fact, then compared in
//! constant time) or multiple choice: the right answer among plausible distractors taken
//! from other records of the same kind (other streets in the same city, other businesses
//! in the same industry, neighbouring years, adjacent bands). Distractors for a given
//! entity and fact are the same on every attempt (they come from a window of records
//! chosen by a digest of the entity id), so comparing the choices of several attempts
//! does not single out the right answer; only their order is random.
//!
//! Expected answers leave this module only as salted SHA-256 digests of their normalized
//! form, stored with the verification ([`StoredQuestion`]); nothing here is logged.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::engine::{PublicQuestion, QuestionKind};
use super::facts::{BusinessFacts, PersonFacts};
use super::matching::Probe;
use super::normalize;
use crate::clock::Entropy;
use crate::store::{EntityRecord, EntitySample};
use crate::util::{ct_eq, sha256};

mod choices;
pub use choices::Pool;

/// Random choices drawn from an [`Entropy`].
#[derive(Clone, Copy)]
pub struct Chance<'a>(pub &'a dyn Entropy);

impl Chance<'_> {
    /// Uniform in `0..n` (`n > 0`), by rejection sampling.
    pub fn below(self, n: usize) -> usize {
        let n = n.max(1) as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.0.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    pub fn coin(self) -> bool {
        self.below(2) == 1
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// How an answer is normalized before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    Year,
    Street,
    Name,
    City,
    Code,
}

/// `answer` as compared for a question normalized by `norm`.
pub fn normalized(norm: Norm, answer: &str) -> Option<String> {
    let a = answer.trim();
    match norm {
        Norm::Year => {
            let y: i32 = a.parse().ok()?;
            Some(y.to_string())
        }
        Norm::Street => normalize::street(a),
        Norm::Name => normalize::name(a),
        Norm::City => normalize::city(a),
        Norm::Code => {
            let c: String = a
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase())
                .collect();
            (!c.is_empty()).then_some(c)
        }
    }
}

/// A verified fact a question can be asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    BirthYear(i32),
    StartYear(i32),
    /// A past street address (as recorded, without its unit: what the question shows),
    /// its normalized form and its city.
    PreviousStreet {
        street: String,
        street_norm: String,
        city_norm: Option<String>,
    },
    /// The employing business's name and industry.
    Employer {
        name: String,
        industry: Option<String>,
    },
    Title(String),
    FoundedYear(i32),
    Industry(String),
    EmployeeBand(usize),
    RevenueBand(usize),
    /// The last 4 characters of the registration number.
    RegistrationLast4(String),
    City {
        city: String,
        region: Option<String>,
    },
}

impl Fact {
    /// The fact's name (stored with the question; "different questions on each attempt"
    /// compares these).
    pub fn key(&self) -> &'static str {
        match self {
            Fact::BirthYear(_) => "birth_year",
            Fact::StartYear(_) => "start_year",
            Fact::PreviousStreet { .. } => "previous_address",
            Fact::Employer { .. } => "employer",
            Fact::Title(_) => "title",
            Fact::FoundedYear(_) => "founded_year",
            Fact::Industry(_) => "industry",
            Fact::EmployeeBand(_) => "employee_count",
            Fact::RevenueBand(_) => "annual_revenue",
            Fact::RegistrationLast4(_) => "registration_number",
            Fact::City { .. } => "city",
        }
    }
}

/// Employee-count bands (lower bound, label).
pub const EMPLOYEE_BANDS: &[(i64, &str)] = &[
    (0, "1 to 9"),
    (10, "10 to 49"),
    (50, "50 to 249"),
    (250, "250 to 999"),
    (1000, "1000 or more"),
];

/// Annual revenue bands in US dollars (lower bound, label).
pub const REVENUE_BANDS: &[(i64, &str)] = &[
    (0, "Under $1 million"),
    (1_000_000, "$1 million to $10 million"),
    (10_000_000, "$10 million to $50 million"),
    (50_000_000, "$50 million to $250 million"),
    (250_000_000, "Over $250 million"),
];

fn band(bands: &[(i64, &str)], v: i64) -> usize {
    bands.iter().rposition(|(lo, _)| v >= *lo).unwrap_or(0)
}

/// The facts of `r` questions may be drawn from, without what `supplied` gave.
/// `employer` is the person's employing business, when stored.
pub fn facts_of(r: &EntityRecord, employer: Option<&EntitySample>, supplied: &Probe) -> Vec<Fact> {
    let mut out = Vec::new();
    if r.kind == "person" {
        let f = PersonFacts::deserialize(&r.attributes).unwrap_or_default();
        out.extend(f.birth_year.map(Fact::BirthYear));
        out.extend(f.start_year.map(Fact::StartYear));
        out.extend(f.title.map(Fact::Title));
        if let Some(e) = employer {
            out.push(Fact::Employer {
                name: e.name.clone(),
                industry: e.industry.clone(),
            });
        }
        let past = f.previous_addresses.into_iter().find_map(|a| {
            let norm = a
                .street_norm
                .or_else(|| a.street.as_deref().and_then(normalize::street))?;
            let new =
                Some(&norm) != r.street_norm.as_ref() && Some(&norm) != supplied.street.as_ref();
            new.then(|| Fact::PreviousStreet {
                street: choices::street_shown(a.street.as_deref(), &norm),
                street_norm: norm,
                city_norm: a
                    .city_norm
                    .or_else(|| a.city.as_deref().and_then(normalize::city)),
            })
        });
        out.extend(past);
    } else {
        let f = BusinessFacts::deserialize(&r.attributes).unwrap_or_default();
        out.extend(f.founded_year.map(Fact::FoundedYear));
        out.extend(f.industry.map(Fact::Industry));
        out.extend(
            f.employee_count
                .map(|n| Fact::EmployeeBand(band(EMPLOYEE_BANDS, n))),
        );
        out.extend(
            f.annual_revenue
                .map(|n| Fact::RevenueBand(band(REVENUE_BANDS, n))),
        );
        let last4 = f.registration_number.as_deref().and_then(|n| {
            let code = normalized(Norm::Code, n)?;
            (code.len() >= 4).then(|| code[code.len() - 4..].to_owned())
        });
        out.extend(last4.map(Fact::RegistrationLast4));
        if let (Some(city), None) = (&r.city, &supplied.city) {
            out.push(Fact::City {
                city: city.trim().to_owned(),
                region: r.region.clone(),
            });
        }
    }
    out
}

/// `n` of `items` at random; when there are more than `n`, a set of facts (named by
/// `key`) other than each of the `recent` attempts' sets if there is one.
pub fn pick<T>(
    rng: &dyn Entropy,
    mut items: Vec<T>,
    n: usize,
    recent: &[BTreeSet<String>],
    key: impl Fn(&T) -> &str,
) -> Vec<T> {
    for _ in 0..32 {
        Chance(rng).shuffle(&mut items);
        let set: BTreeSet<String> = items.iter().take(n).map(|t| key(t).to_owned()).collect();
        if items.len() <= n || !recent.contains(&set) {
            break;
        }
    }
    items.truncate(n);
    items
}

/// A question with its expected answer's digest, as stored with the verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredQuestion {
    pub id: String,
    pub fact: String,
    pub kind: QuestionKind,
    pub prompt: String,
    #[serde(default)]
    pub choices: Vec<String>,
    pub norm: Norm,
    /// Random, hex.
    pub salt: String,
    /// SHA-256 hex of `salt`, NUL, the normalized expected answer.
    pub digest: String,
}

fn digest(salt: &str, value: &str) -> String {
    let mut buf = Vec::with_capacity(salt.len() + 1 + value.len());
    buf.extend_from_slice(salt.as_bytes());
    buf.push(0);
    buf.extend_from_slice(value.as_bytes());
    hex::encode(sha256(&buf))
}

impl StoredQuestion {
    fn new(
        rng: &dyn Entropy,
        id: String,
        fact: &Fact,
        prompt: &str,
        choices: Vec<String>,
        norm: Norm,
        answer: &str,
    ) -> Option<Self> {
        let value = normalized(norm, answer)?;
        let salt = rng.hex16();
        Some(StoredQuestion {
            id,
            fact: fact.key().to_owned(),
            kind: if choices.is_empty() {
                QuestionKind::Open
            } else {
                QuestionKind::Choice
            },
            prompt: prompt.to_owned(),
            choices,
            norm,
            digest: digest(&salt, &value),
            salt,
        })
    }

    /// Whether `answer` is the expected one (normalized, compared in constant time).
    pub fn check(&self, answer: &str) -> bool {
        let value = normalized(self.norm, answer);
        let presented = digest(&self.salt, value.as_deref().unwrap_or(""));
        ct_eq(presented.as_bytes(), self.digest.as_bytes()) && value.is_some()
    }

    /// What the person sees.
    pub fn public(&self) -> PublicQuestion {
        PublicQuestion {
            id: self.id.clone(),
            kind: self.kind,
            prompt: self.prompt.clone(),
            choices: self.choices.clone(),
        }
    }
}

/// Builds the question for `fact` (`id` given), with distractors from `pool` and years
/// up to `year`, its form, choice order and salt drawn from `rng`. `None` when the fact
/// cannot make a fair question.
pub fn question(
    rng: &dyn Entropy,
    id: String,
    fact: &Fact,
    pool: &Pool,
    seed: &[u8; 32],
    year: i32,
) -> Option<StoredQuestion> {
    let open = Chance(rng).coin();
    let q = |prompt: &str, choices: Vec<String>, norm: Norm, answer: &str| {
        StoredQuestion::new(rng, id.clone(), fact, prompt, choices, norm, answer)
    };
    let choice_or_open = |answer: &str,
                          distractors: Vec<String>,
                          norm: Norm,
                          choice_prompt: &str,
                          open_prompt: &str| {
        if distractors.len() >= 2 && (!open || open_prompt.is_empty()) {
            q(
                choice_prompt,
                choices::shuffled(rng, answer, distractors),
                norm,
                answer,
            )
        } else if !open_prompt.is_empty() {
            q(open_prompt, Vec::new(), norm, answer)
        } else {
            None
        }
    };
    match fact {
        Fact::BirthYear(y) | Fact::StartYear(y) | Fact::FoundedYear(y) => {
            let prompt = match fact {
                Fact::BirthYear(_) => "In what year were you born?",
                Fact::StartYear(_) => {
                    "In what year did you start working for your current employer?"
                }
                _ => "In what year was the business founded?",
            };
            let answer = y.to_string();
            if open {
                q(prompt, Vec::new(), Norm::Year, &answer)
            } else {
                q(prompt, choices::years(*y, seed, year), Norm::Year, &answer)
            }
        }
        Fact::PreviousStreet {
            street,
            street_norm: _,
            city_norm,
        } => {
            let d = pool.streets(street, city_norm.as_deref());
            choice_or_open(
                street,
                d,
                Norm::Street,
                "Which of these streets have you lived on?",
                "",
            )
        }
        Fact::Employer { name, industry } => {
            let d = pool.businesses(name, industry.as_deref());
            choice_or_open(
                name,
                d,
                Norm::Name,
                "Which of these organizations do you work for?",
                "What is the name of your employer?",
            )
        }
        Fact::Title(t) => {
            let d = pool.titles(t);
            choice_or_open(
                t,
                d,
                Norm::Name,
                "Which of these is your job title?",
                "What is your job title?",
            )
        }
        Fact::Industry(i) => {
            let d = pool.industries(i);
            choice_or_open(i, d, Norm::Name, "Which industry is the business in?", "")
        }
        Fact::EmployeeBand(b) => {
            let (answer, list) = choices::bands(EMPLOYEE_BANDS, *b);
            q(
                "How many people does the business employ?",
                list,
                Norm::Name,
                &answer,
            )
        }
        Fact::RevenueBand(b) => {
            let (answer, list) = choices::bands(REVENUE_BANDS, *b);
            q(
                "What is the business's annual revenue?",
                list,
                Norm::Name,
                &answer,
            )
        }
        Fact::RegistrationLast4(code) => q(
            "What are the last 4 characters of the business's registration number?",
            Vec::new(),
            Norm::Code,
            code,
        ),
        Fact::City { city, region } => {
            let d = pool.cities(city, region.as_deref());
            choice_or_open(
                city,
                d,
                Norm::City,
                "In which city is the business located?",
                "In which city is the business located?",
            )
        }
    }
}

/// Which windows of other records the distractors of `facts` come from: (people,
/// businesses).
pub fn pools_needed(facts: &[Fact]) -> (bool, bool) {
    let people = facts
        .iter()
        .any(|f| matches!(f, Fact::PreviousStreet { .. } | Fact::Title(_)));
    let businesses = facts.iter().any(|f| {
        matches!(
            f,
            Fact::Employer { .. } | Fact::Industry(_) | Fact::City { .. }
        )
    });
    (people, businesses)
}

/// The window of other records distractors come from, per entity: the id to start at.
pub fn window_start(entity_id: &str, kind: &str) -> (String, [u8; 32]) {
    let seed = sha256(format!("surety-distractors\0{entity_id}\0{kind}").as_bytes());
    (format!("EN{}", hex::encode(&seed[..16])), seed)
}

/// Keeps samples other than the entity itself.
pub fn others(samples: Vec<EntitySample>, entity_id: &str) -> Vec<EntitySample> {
    samples.into_iter().filter(|s| s.id != entity_id).collect()
}

#[cfg(test)]
#[path = "questions_tests.rs"]
mod tests;
