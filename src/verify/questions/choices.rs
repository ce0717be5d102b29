//! Multiple-choice lists: plausible distractors from other records of the same kind,
//! neighbouring years and adjacent bands.

use super::super::matching::{UNITS, title_case};
use super::super::normalize;
use super::Chance;
use crate::clock::Entropy;
use crate::store::EntitySample;

/// Distractors per question (with the right answer: four choices).
const DISTRACTORS: usize = 3;

/// Industries offered when the window holds too few other ones.
const INDUSTRIES: &[&str] = &[
    "Construction",
    "Retail",
    "Manufacturing",
    "Healthcare",
    "Software",
    "Logistics",
    "Hospitality",
    "Financial Services",
];

/// Other records near the entity's window (see [`super::window_start`]).
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub people: Vec<EntitySample>,
    pub businesses: Vec<EntitySample>,
}

/// A stored fact of a sample, trimmed; `None` when absent or blank.
fn attr(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Up to [`DISTRACTORS`] of `items` (label, preferred), preferred ones first, whose
/// normalized forms differ from `answer`'s and from each other.
fn distinct(
    answer: &str,
    items: impl Iterator<Item = (String, bool)>,
    norm: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut items: Vec<(String, bool)> = items.collect();
    // Stable: keeps the window's (deterministic) order within each group.
    items.sort_by_key(|(_, preferred)| !preferred);
    let mut seen: Vec<String> = norm(answer).into_iter().collect();
    let mut out = Vec::new();
    for (label, _) in items {
        let Some(n) = norm(&label) else { continue };
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        out.push(label);
        if out.len() == DISTRACTORS {
            break;
        }
    }
    out
}

/// A normalized street as shown in a list: `77 ELM AVE APT 4` → `77 Elm Ave`.
fn street_label(norm: &str) -> String {
    norm.split(' ')
        .take_while(|w| !UNITS.contains(w))
        .map(title_case)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a word of a recorded street starts its unit part (`Apt.`, `Suite`, `#4`).
fn starts_unit(word: &str) -> bool {
    normalize::street(word).is_some_and(|n| n.split(' ').next().is_some_and(|w| UNITS.contains(&w)))
}

/// A street as a list shows it: as the record wrote it, without its unit part
/// (`88 Old Mill Road, Apt 4` → `88 Old Mill Road`); from the normalized form
/// (`77 ELM AVE` → `77 Elm Ave`) when the record kept no written form.
pub fn street_shown(recorded: Option<&str>, norm: &str) -> String {
    let words: Vec<&str> = recorded
        .unwrap_or_default()
        .split_whitespace()
        .take_while(|w| !starts_unit(w))
        .collect();
    let shown = words.join(" ");
    let shown = shown.trim_end_matches([',', ';', '-']).trim_end();
    if shown.is_empty() {
        street_label(norm)
    } else {
        shown.to_owned()
    }
}

impl Pool {
    /// Other streets as their records wrote them, those in `city` first (`answer` as
    /// shown).
    pub fn streets(&self, answer: &str, city: Option<&str>) -> Vec<String> {
        let items = self.people.iter().chain(&self.businesses).filter_map(|s| {
            let n = s.street_norm.as_deref()?;
            Some((
                street_shown(s.street.as_deref(), n),
                city.is_some() && s.city_norm.as_deref() == city,
            ))
        });
        distinct(answer, items, normalize::street)
    }

    /// Other businesses, those in `industry` first.
    pub fn businesses(&self, answer: &str, industry: Option<&str>) -> Vec<String> {
        let items = self.businesses.iter().map(|s| {
            let same = industry
                .is_some_and(|i| attr(&s.industry).is_some_and(|x| x.eq_ignore_ascii_case(i)));
            (s.name.trim().to_owned(), same)
        });
        distinct(answer, items, normalize::name)
    }

    /// Other job titles.
    pub fn titles(&self, answer: &str) -> Vec<String> {
        let items = self
            .people
            .iter()
            .filter_map(|s| Some((attr(&s.title)?.to_owned(), true)));
        distinct(answer, items, normalize::name)
    }

    /// Other industries (a built-in list fills in).
    pub fn industries(&self, answer: &str) -> Vec<String> {
        let items = self
            .businesses
            .iter()
            .filter_map(|s| Some((attr(&s.industry)?.to_owned(), true)))
            .chain(INDUSTRIES.iter().map(|i| ((*i).to_owned(), false)));
        distinct(answer, items, normalize::name)
    }

    /// Other cities, those in `region` first.
    pub fn cities(&self, answer: &str, region: Option<&str>) -> Vec<String> {
        let items = self.businesses.iter().chain(&self.people).filter_map(|s| {
            let city = s.city.as_deref()?.trim();
            let same = region.is_some() && s.region.as_deref() == region;
            (!city.is_empty()).then(|| (city.to_owned(), same))
        });
        distinct(answer, items, normalize::city)
    }
}

/// `answer` among `distractors`, in random order.
pub fn shuffled(rng: &dyn Entropy, answer: &str, distractors: Vec<String>) -> Vec<String> {
    let mut v = distractors;
    v.push(answer.to_owned());
    Chance(rng).shuffle(&mut v);
    v
}

/// `year` and three neighbours (within four years, none after `max_year`, chosen by
/// `seed`), in ascending order.
pub fn years(year: i32, seed: &[u8; 32], max_year: i32) -> Vec<String> {
    let mut offsets: Vec<(u8, i32)> = [-4, -3, -2, -1, 1, 2, 3, 4]
        .into_iter()
        .enumerate()
        .map(|(i, o)| (seed[i], o))
        .collect();
    offsets.sort();
    let mut ys: Vec<i32> = offsets
        .into_iter()
        .map(|(_, o)| year + o)
        .filter(|y| *y <= max_year)
        .take(DISTRACTORS)
        .collect();
    ys.push(year);
    ys.sort();
    ys.into_iter().map(|y| y.to_string()).collect()
}

/// The label of band `idx` and four bands around it (in band order).
pub fn bands(bands: &[(i64, &str)], idx: usize) -> (String, Vec<String>) {
    let mut near: Vec<usize> = (0..bands.len()).collect();
    near.sort_by_key(|&i| (i.abs_diff(idx), i));
    let mut pick: Vec<usize> = near.into_iter().take(DISTRACTORS + 1).collect();
    pick.sort();
    (
        bands[idx].1.to_owned(),
        pick.into_iter().map(|i| bands[i].1.to_owned()).collect(),
    )
}
