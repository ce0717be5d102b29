//! `surety entities generate`: a deterministic synthetic data set of people, businesses
//! and employment links, as JSON Lines in the import format ([`crate::verify::record`]), for
//! demos, tests and benchmarks (there is no real data here).
//!
//! The same `(count, seed)` always gives the same bytes: every choice comes from
//! [`Rng`] (xoshiro256** seeded through SplitMix64), no clock is read and no
//! platform-dependent float function is used. About one record in eleven is a business;
//! most people work for one of the businesses generated just before them (a link with
//! role `owner`, `manager` or `employee`). Raw values vary the way real sources do
//! (`Street`/`St.`, `(415) 555-0100`/`415.555.0100`, state names or codes, ZIP+4,
//! upper-cased names), so the normalization has something to do.

mod data;

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use crate::verify::CivilDate;
use data::{City, INDUSTRIES};

/// The generator's "now": birth, founding and verification dates end here.
pub const REFERENCE_YEAR: i32 = 2025;

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64: small, fast and the same
/// on every platform. Not for secrets.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `0..n` (`n > 0`; Lemire's multiply, bias below 2^-40 for small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// Favours the front of `xs` (the more common names come first).
    pub fn pick_common<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        let n = xs.len() as u64;
        &xs[self.below(n).min(self.below(n)) as usize]
    }
}

/// A business recently generated, that people may work for.
#[derive(Debug, Clone)]
struct Employer {
    external_id: String,
    founded: i32,
    industry: usize,
    domain: String,
    city: usize,
    has_owner: bool,
}

/// Generates records one at a time.
pub struct Generator {
    rng: Rng,
    seed: u64,
    people: u64,
    businesses: u64,
    recent: Vec<Employer>,
    city_weights: u64,
}

#[derive(Serialize)]
struct Out {
    external_id: String,
    kind: &'static str,
    name: String,
    street: String,
    city: String,
    region: String,
    postal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    source: &'static str,
    verified_at: String,
    attributes: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Value>,
}

/// Writes `count` records generated from `seed`, one JSON object per line.
pub fn write_jsonl(w: &mut impl Write, count: u64, seed: u64) -> io::Result<()> {
    let mut g = Generator::new(seed);
    for _ in 0..count {
        g.write_next(w)?;
    }
    Ok(())
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::seeded(seed),
            seed,
            people: 0,
            businesses: 0,
            recent: Vec::with_capacity(8),
            city_weights: data::CITIES.iter().map(|c| u64::from(c.weight)).sum(),
        }
    }

    /// Writes the next record and its newline.
    pub fn write_next(&mut self, w: &mut impl Write) -> io::Result<()> {
        let out = if self.recent.is_empty() || self.rng.below(11) == 0 {
            self.business()
        } else {
            self.person()
        };
        serde_json::to_writer(&mut *w, &out)?;
        w.write_all(b"\n")
    }

    fn city(&mut self) -> usize {
        let mut n = self.rng.below(self.city_weights);
        for (i, c) in data::CITIES.iter().enumerate() {
            let w = u64::from(c.weight);
            if n < w {
                return i;
            }
            n -= w;
        }
        0
    }

    fn business(&mut self) -> Out {
        let r = &mut self.rng;
        let ordinal = self.businesses;
        self.businesses += 1;
        let industry = r.below(INDUSTRIES.len() as u64) as usize;
        let ind = &INDUSTRIES[industry];
        let city_i = self.city();
        let r = &mut self.rng;
        let c = &data::CITIES[city_i];
        let base = match r.below(20) {
            0..=7 => format!("{} {}", r.pick_common(data::SURNAMES), r.pick(ind.nouns)),
            8..=13 => format!(
                "{} {}",
                r.pick(data::BUSINESS_ADJECTIVES),
                r.pick(ind.nouns)
            ),
            14..=16 => format!(
                "{} & {}",
                r.pick_common(data::SURNAMES),
                r.pick_common(data::SURNAMES)
            ),
            _ => format!("{} {}", c.name, r.pick(ind.nouns)),
        };
        let domain = format!("{}.example", slug(&base));
        let name = if r.chance(0.85) {
            let (long, short) = *r.pick(data::BUSINESS_SUFFIXES);
            let sep = if r.chance(0.3) { ", " } else { " " };
            format!("{base}{sep}{}", if r.chance(0.5) { long } else { short })
        } else {
            base
        };
        let founded = REFERENCE_YEAR - (r.unit() * r.unit() * 75.0) as i32;
        let employees = employee_count(r);
        let (lo, hi) = ind.revenue_per_employee;
        let revenue = employees * r.range(lo, hi) / 1000 * 1000;
        let mut networks = vec![format!(
            "10.{}.{}.{}/28",
            (ordinal >> 12) & 255,
            (ordinal >> 4) & 255,
            (ordinal & 15) << 4
        )];
        if r.chance(0.2) {
            networks.push(format!(
                "172.{}.{}.{}/29",
                16 + ((ordinal >> 13) & 15),
                (ordinal >> 5) & 255,
                (ordinal & 31) << 3
            ));
        }
        let registration = format!(
            "{}-{:07}",
            c.state,
            (ordinal.wrapping_mul(7_919_993).wrapping_add(self.seed)) % 10_000_000
        );
        let street = street(r, true);
        let (city, region, postal) = place(r, c);
        let phone = Some(phone(r, c));
        let email = r.chance(0.9).then(|| {
            format!(
                "{}@{domain}",
                r.pick(&["info", "contact", "hello", "office"])
            )
        });
        let external_id = format!("S{}-B{ordinal:07}", self.seed);
        self.recent.push(Employer {
            external_id: external_id.clone(),
            founded,
            industry,
            domain,
            city: city_i,
            has_owner: false,
        });
        if self.recent.len() > 8 {
            self.recent.remove(0);
        }
        let r = &mut self.rng;
        Out {
            external_id,
            kind: "business",
            name: vary_case(r, name),
            street,
            city,
            region,
            postal,
            phone,
            email,
            source: r.pick::<&str>(data::BUSINESS_SOURCES),
            verified_at: date_since(r, founded),
            attributes: json!({
                "founded_year": founded,
                "annual_revenue": revenue,
                "employee_count": employees,
                "industry": ind.name,
                "registration_number": registration,
                "office_networks": networks,
            }),
            provenance: None,
            links: Vec::new(),
        }
    }

    fn person(&mut self) -> Out {
        let ordinal = self.people;
        self.people += 1;
        let birth = self.rng.range(1945, i64::from(REFERENCE_YEAR) - 19) as i32;
        let employer = self.employer_for(birth);
        let r = &mut self.rng;
        let female = r.chance(0.5);
        let first = *r.pick_common(if female {
            data::FEMALE_NAMES
        } else {
            data::MALE_NAMES
        });
        let last = *r.pick_common(data::SURNAMES);
        let mut name = match r.below(10) {
            0 => format!("{first} {}. {last}", (b'A' + r.below(26) as u8) as char),
            _ => format!("{first} {last}"),
        };
        if !female && r.chance(0.03) {
            name.push_str(if r.chance(0.5) { " Jr." } else { ", Jr." });
        }
        let city_i = match &employer {
            Some((e, _)) if self.rng.chance(0.7) => e.city,
            _ => self.city(),
        };
        let r = &mut self.rng;
        let c = &data::CITIES[city_i];
        let street = street(r, false);
        let (city, region, postal) = place(r, c);
        let phone = r.chance(0.97).then(|| phone(r, c));
        let email = r
            .chance(0.95)
            .then(|| email(r, first, last, birth, employer.as_ref().map(|e| &e.0)));
        let mut attributes = json!({ "birth_year": birth });
        let mut previous = Vec::new();
        for _ in 0..[0, 0, 1, 1, 2][r.below(5) as usize] {
            previous.push(self.past_address());
        }
        if !previous.is_empty() {
            attributes["previous_addresses"] = Value::Array(previous);
        }
        let r = &mut self.rng;
        let mut links = Vec::new();
        let mut provenance = None;
        let mut since = birth + 18;
        if let Some((e, title)) = &employer {
            let start = r.range(
                i64::from(e.founded.max(birth + 18)),
                i64::from(REFERENCE_YEAR),
            );
            let role = if title.1 {
                "owner"
            } else if title.0.contains("Manager") || title.0.contains("Supervisor") {
                "manager"
            } else {
                "employee"
            };
            attributes["employer"] = json!(e.external_id);
            attributes["title"] = json!(title.0);
            attributes["start_year"] = json!(start);
            since = start as i32;
            links.push(json!({"parent": e.external_id, "role": role}));
            if r.chance(0.4) {
                let p = json!({"source": "synthetic:payroll", "verified_at": date_since(r, since)});
                provenance = Some(json!({"employer": p, "title": p, "start_year": p}));
            }
        }
        let r = &mut self.rng;
        Out {
            external_id: format!("S{}-P{ordinal:08}", self.seed),
            kind: "person",
            name: vary_case(r, name),
            street,
            city,
            region,
            postal,
            phone,
            email,
            source: r.pick::<&str>(data::PERSON_SOURCES),
            verified_at: date_since(r, since),
            attributes,
            provenance,
            links,
        }
    }

    /// A recent business this person works for, with (title, is owner), if any.
    fn employer_for(&mut self, birth: i32) -> Option<(Employer, (String, bool))> {
        if !self.rng.chance(0.85) {
            return None;
        }
        let n = self.recent.len();
        let i = if self.rng.chance(0.7) {
            n - 1
        } else {
            self.rng.below(n as u64) as usize
        };
        let e = &mut self.recent[i];
        if e.founded.max(birth + 18) > REFERENCE_YEAR {
            return None;
        }
        let title = if e.has_owner {
            (
                (*self.rng.pick(INDUSTRIES[e.industry].titles)).to_owned(),
                false,
            )
        } else {
            e.has_owner = true;
            ((*self.rng.pick(data::OWNER_TITLES)).to_owned(), true)
        };
        Some((e.clone(), title))
    }

    fn past_address(&mut self) -> Value {
        let c = &data::CITIES[self.city()];
        let r = &mut self.rng;
        json!({
            "street": street(r, false),
            "city": c.name,
            "region": c.state,
            "postal": format!("{:05}", r.range(i64::from(c.zip.0), i64::from(c.zip.1))),
        })
    }
}

/// 1–10,000 employees, most businesses small.
fn employee_count(r: &mut Rng) -> i64 {
    match r.below(100) {
        0..=69 => r.range(1, 19),
        70..=91 => r.range(20, 199),
        92..=98 => r.range(200, 1999),
        _ => r.range(2000, 10_000),
    }
}

/// A street line, written long or short (`North`/`N.`, `Street`/`St`), with a unit
/// (apartment for people, suite for businesses) some of the time.
fn street(r: &mut Rng, business: bool) -> String {
    let number = if r.chance(0.7) {
        r.range(1, 9999)
    } else {
        r.range(10, 99_999)
    };
    let mut s = number.to_string();
    if r.chance(0.15) {
        let (long, short) = *r.pick(data::DIRECTIONS);
        s.push(' ');
        s.push_str(&abbrev(r, long, short));
    }
    s.push(' ');
    if r.chance(0.08) {
        let (word, digits) = *r.pick(data::ORDINALS);
        s.push_str(if r.chance(0.5) { word } else { digits });
    } else {
        s.push_str(r.pick_common::<&str>(data::STREET_NAMES));
    }
    let total: u32 = data::SUFFIXES.iter().map(|x| x.2).sum();
    let mut n = r.below(u64::from(total)) as u32;
    for (long, short, w) in data::SUFFIXES {
        if n < *w {
            s.push(' ');
            s.push_str(&abbrev(r, long, short));
            break;
        }
        n -= w;
    }
    if business && r.chance(0.5) {
        let unit = r.range(1, 24) * 100 + r.range(0, 50);
        s.push_str(&match r.below(4) {
            0 => format!(" Suite {unit}"),
            1 => format!(", Ste. {unit}"),
            2 => format!(" #{unit}"),
            _ => format!(" Floor {}", r.range(2, 40)),
        });
    } else if !business && r.chance(0.2) {
        let unit = format!(
            "{}{}",
            r.range(1, 40),
            ["", "", "A", "B", "C"][r.below(5) as usize]
        );
        s.push_str(&match r.below(4) {
            0 => format!(" Apartment {unit}"),
            1 => format!(" Apt {unit}"),
            2 => format!(", Apt. #{unit}"),
            _ => format!(" Unit {unit}"),
        });
    }
    s
}

fn abbrev(r: &mut Rng, long: &str, short: &str) -> String {
    match r.below(10) {
        0..=4 => long.to_owned(),
        5..=7 => short.to_owned(),
        _ if long != short => format!("{short}."),
        _ => short.to_owned(),
    }
}

/// (city, region, postal) as written: city variants, state names or codes, ZIP+4.
fn place(r: &mut Rng, c: &City) -> (String, String, String) {
    let city = if !c.variants.is_empty() && r.chance(0.2) {
        (*r.pick(c.variants)).to_owned()
    } else {
        c.name.to_owned()
    };
    let region = if r.chance(0.15) {
        c.state_name
    } else {
        c.state
    };
    let zip = r.range(i64::from(c.zip.0), i64::from(c.zip.1));
    let postal = if r.chance(0.1) {
        format!("{zip:05}-{:04}", r.range(1, 9999))
    } else {
        format!("{zip:05}")
    };
    (city, region.to_owned(), postal)
}

/// A 555 number (the exchange kept for fiction) with an area code of the city (or,
/// for one in five, of another city: people keep their numbers when they move).
fn phone(r: &mut Rng, c: &City) -> String {
    let area = if r.chance(0.8) {
        *r.pick(c.area_codes)
    } else {
        let other = r.pick(data::CITIES);
        *r.pick(other.area_codes)
    };
    let line = r.range(100, 9999);
    match r.below(6) {
        0 => format!("({area}) 555-{line:04}"),
        1 => format!("{area}-555-{line:04}"),
        2 => format!("{area}.555.{line:04}"),
        3 => format!("+1 {area} 555 {line:04}"),
        4 => format!("1-{area}-555-{line:04}"),
        _ => format!("{area}555{line:04}"),
    }
}

fn email(r: &mut Rng, first: &str, last: &str, birth: i32, employer: Option<&Employer>) -> String {
    let (f, l) = (slug(first), slug(last));
    let (local, domain) = match employer {
        Some(e) if r.chance(0.25) => (format!("{f}.{l}"), e.domain.clone()),
        _ => {
            let local = match r.below(5) {
                0 => format!("{f}.{l}"),
                1 => format!("{f}{l}{:02}", birth % 100),
                2 => format!("{}{l}", &f[..1.min(f.len())]),
                3 => format!("{f}_{l}{}", r.range(1, 999)),
                _ => format!("{f}.{l}{}", r.range(1, 99)),
            };
            (local, (*r.pick(data::EMAIL_DOMAINS)).to_owned())
        }
    };
    let addr = format!("{local}@{domain}");
    match r.below(20) {
        0 => addr.to_uppercase(),
        1 => capitalize_words(&addr),
        _ => addr,
    }
}

/// Lower-case ASCII letters and digits of `s` (`José O'Brien` → `joseobrien`).
fn slug(s: &str) -> String {
    crate::verify::normalize::name(s)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn capitalize_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = !c.is_ascii_alphanumeric();
    }
    out
}

/// Most names as written; some upper- or lower-cased, or with doubled spaces.
fn vary_case(r: &mut Rng, s: String) -> String {
    match r.below(50) {
        0 | 1 => s.to_uppercase(),
        2 => s.to_lowercase(),
        3 => s.replacen(' ', "  ", 1),
        _ => s,
    }
}

/// A verification date from 2018 (or the year the fact began, if later) to the end of
/// [`REFERENCE_YEAR`].
fn date_since(r: &mut Rng, year: i32) -> String {
    let day = |year, month, day| CivilDate { year, month, day }.to_days();
    let from = day(year.clamp(2018, REFERENCE_YEAR), 1, 1);
    let to = day(REFERENCE_YEAR, 12, 31);
    CivilDate::from_unix(r.range(from, to) * 86_400).to_string()
}

#[cfg(test)]
mod tests;
