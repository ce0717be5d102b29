//! Normalization of the core identifying elements of an entity (name, street address,
//! city, region, postal code, phone, email), applied on the way in and to every probe,
//! so that matching compares like with like: upper case, diacritics folded, punctuation
//! and runs of whitespace removed, the common US address words abbreviated as in USPS
//! Publication 28 (Street→ST, Avenue→AVE, Suite→STE, North→N …), states to their
//! two-letter codes, ZIP codes to five digits, phones to E.164 (ITU-T E.164; a 10-digit
//! number is taken as North American, +1) and emails trimmed and lower-cased.
//!
//! Name and address normalization cannot fail (an empty result is `None`); phones and
//! emails that cannot be normalized are refused with a [`NormError`].

use std::fmt;

mod tables;

use tables::{STATES, fold, is_unit, street_word};

/// Why a phone number or email address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormError(pub String);

impl fmt::Display for NormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NormError {}

fn refuse<T>(why: impl Into<String>) -> Result<T, NormError> {
    Err(NormError(why.into()))
}

/// A phone number in E.164 form: `+` and 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct E164(String);

impl E164 {
    /// Normalizes a written phone number: punctuation and spaces are dropped, a trailing
    /// extension (`x12`, `ext. 12`) is ignored, `011` counts as the international prefix,
    /// and 10 digits (or 11 starting with 1) are a North American number (+1) whose area
    /// code and exchange must start with 2–9. Anything else without a leading `+` is
    /// refused, as are letters and numbers outside E.164's 8–15 digits.
    pub fn parse(raw: &str) -> Result<Self, NormError> {
        let main = strip_extension(raw.trim());
        let plus = main.starts_with('+');
        let mut digits = String::with_capacity(16);
        for (i, c) in main.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => return refuse(format!("unexpected character {c:?} in phone number")),
            }
        }
        if plus {
            return international(&digits);
        }
        if let Some(rest) = digits.strip_prefix("011") {
            return international(rest);
        }
        match digits.len() {
            10 => nanp(&digits),
            11 if digits.starts_with('1') => nanp(&digits[1..]),
            0 => refuse("empty phone number"),
            n => refuse(format!(
                "{n} digits without a country code cannot be made E.164"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Cuts a trailing extension: `x123`, `ext 123`, `ext. 123`, `extension 123`, `#123`.
fn strip_extension(s: &str) -> &str {
    let lower = s.to_ascii_lowercase();
    for marker in ["extension", "ext.", "ext", "x", "#"] {
        if let Some(at) = lower.rfind(marker) {
            let tail = &lower[at + marker.len()..];
            let tail_is_number = tail.trim().chars().all(|c| c.is_ascii_digit())
                && tail.chars().any(|c| c.is_ascii_digit());
            let head_has_digits = lower[..at].chars().any(|c| c.is_ascii_digit());
            if tail_is_number && head_has_digits {
                return s[..at].trim_end_matches([' ', ',', ';']);
            }
        }
    }
    s
}

fn international(digits: &str) -> Result<E164, NormError> {
    if let Some(national) = digits.strip_prefix('1') {
        if national.len() != 10 {
            return refuse("a +1 number has 10 digits after the country code");
        }
        return nanp(national);
    }
    if digits.starts_with('0') {
        return refuse("a country code never starts with 0");
    }
    if !(8..=15).contains(&digits.len()) {
        return refuse(format!(
            "{} digits: E.164 numbers have 8 to 15",
            digits.len()
        ));
    }
    Ok(E164(format!("+{digits}")))
}

/// Checks a 10-digit North American number (NXX-NXX-XXXX).
fn nanp(ten: &str) -> Result<E164, NormError> {
    let b = ten.as_bytes();
    if b.len() != 10 {
        return refuse("a North American number has 10 digits");
    }
    if b[0] < b'2' {
        return refuse("a North American area code starts with 2-9");
    }
    if b[3] < b'2' {
        return refuse("a North American exchange starts with 2-9");
    }
    Ok(E164(format!("+1{ten}")))
}

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases; refuses what is not `local@domain.tld` (one `@`, no spaces,
    /// no empty domain labels, at most 254 characters).
    pub fn parse(raw: &str) -> Result<Self, NormError> {
        let s = raw.trim().trim_start_matches("mailto:").to_lowercase();
        if s.is_empty() {
            return refuse("empty email address");
        }
        if s.len() > 254 {
            return refuse("email address longer than 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse("email address contains whitespace");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return refuse("email address has no @");
        };
        if local.is_empty() || domain.contains('@') {
            return refuse("email address needs exactly one @ after a non-empty local part");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return refuse("email domain must be a dotted name");
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Upper-cases, folds Latin diacritics to ASCII, drops apostrophes and periods (so
/// `O'Brien` → `OBRIEN`, `L.L.C.` → `LLC`), turns `&` into `AND` and every other
/// punctuation mark into a separator. `#` is kept as its own token when `keep_hash`.
fn tokens(raw: &str, keep_hash: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for c in raw.chars() {
        match c {
            '\'' | '\u{2019}' | '\u{2018}' | '.' | '`' => {}
            '&' => {
                flush(&mut cur, &mut out);
                out.push("AND".into());
            }
            '#' if keep_hash => {
                flush(&mut cur, &mut out);
                out.push("#".into());
            }
            c if c.is_ascii_alphanumeric() => cur.push(c.to_ascii_uppercase()),
            c if c.is_alphanumeric() => match fold(c) {
                Some(ascii) => cur.push_str(ascii),
                None => cur.extend(c.to_uppercase()),
            },
            _ => flush(&mut cur, &mut out),
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn join(tokens: Vec<String>) -> Option<String> {
    let s = tokens.join(" ");
    (!s.is_empty()).then_some(s)
}

/// A person's or a business's name: `  Acme,  Incorporated ` → `ACME INC`,
/// `José O'Brien Jr.` → `JOSE OBRIEN JR`. A leading `THE` is dropped.
pub fn name(raw: &str) -> Option<String> {
    let mut t: Vec<String> = tokens(raw, false)
        .into_iter()
        .map(|w| match w.as_str() {
            "JUNIOR" => "JR".into(),
            "SENIOR" => "SR".into(),
            "INCORPORATED" => "INC".into(),
            "CORPORATION" => "CORP".into(),
            "COMPANY" => "CO".into(),
            "LIMITED" => "LTD".into(),
            _ => w,
        })
        .collect();
    if t.len() > 1 && t[0] == "THE" {
        t.remove(0);
    }
    join(t)
}

/// A street address line: `123 North Main Street, Suite #200` → `123 N MAIN ST STE 200`.
pub fn street(raw: &str) -> Option<String> {
    let words = tokens(raw, true);
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let next = words.get(i + 1).map(String::as_str);
        // P O BOX / POST OFFICE BOX → PO BOX
        if (w == "P" && next == Some("O")) || (w == "POST" && next == Some("OFFICE")) {
            out.push("PO".into());
            i += 2;
            continue;
        }
        if w == "#" {
            // `Apt #5` → `APT 5`; a bare `#5` stays `# 5`.
            if !out.last().is_some_and(|p| is_unit(p)) {
                out.push("#".into());
            }
            i += 1;
            continue;
        }
        out.push(street_word(w).map_or_else(|| w.to_owned(), str::to_owned));
        i += 1;
    }
    join(out)
}

/// A city: `Saint Louis` and `St. Louis` → `ST LOUIS`; `Fort`→`FT`, `Mount`→`MT`.
pub fn city(raw: &str) -> Option<String> {
    let t = tokens(raw, false)
        .into_iter()
        .map(|w| match w.as_str() {
            "SAINT" => "ST".into(),
            "FORT" => "FT".into(),
            "MOUNT" => "MT".into(),
            _ => w,
        })
        .collect();
    join(t)
}

/// A region: a US state or territory name becomes its two-letter code (`california`,
/// `Calif` is not guessed); anything else is normalized like a city.
pub fn region(raw: &str) -> Option<String> {
    let t = join(tokens(raw, false))?;
    if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(t);
    }
    match STATES.iter().find(|(n, _)| *n == t) {
        Some((_, code)) => Some((*code).to_owned()),
        None => Some(t),
    }
}

/// A postal code: a US ZIP or ZIP+4 (`94103-1234`, `941031234`) becomes its five digits;
/// anything else is upper-cased without spaces or punctuation (`k1a 0b1` → `K1A0B1`).
pub fn postal(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return None;
    }
    let all_digits = compact.chars().all(|c| c.is_ascii_digit());
    if all_digits && (compact.len() == 5 || compact.len() == 9) {
        return Some(compact[..5].to_owned());
    }
    Some(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> String {
        E164::parse(s).unwrap().into_string()
    }

    #[test]
    fn phones_in_every_common_us_format_become_e164() {
        for s in [
            "(415) 555-0100",
            "415.555.0100",
            "+1 415 555 0100",
            "415-555-0100",
            "4155550100",
            "1 (415) 555-0100",
            "1-415-555-0100",
            "  +1 (415) 555.0100  ",
            "415 555 0100 x204",
            "415-555-0100 ext. 12",
            "+14155550100",
        ] {
            assert_eq!(phone(s), "+14155550100", "{s}");
        }
    }

    #[test]
    fn international_numbers_keep_their_country_code() {
        assert_eq!(phone("+44 20 7946 0958"), "+442079460958");
        assert_eq!(phone("011 44 20 7946 0958"), "+442079460958");
        assert_eq!(phone("+33 1 23 45 67 89"), "+33123456789");
    }

    #[test]
    fn what_cannot_be_made_e164_is_refused() {
        for s in [
            "",
            "555-0100",             // 7 digits, no area code
            "415555010",            // 9 digits
            "(015) 555-0100",       // area code starting with 0
            "(415) 155-0100",       // exchange starting with 1
            "1-800-FLOWERS",        // letters
            "+1 415 555 010",       // +1 with 9 digits
            "+0 123 456 789",       // country code 0
            "+123 4567 8901 23456", // 16 digits
            "22 415 555 0100",      // 12 digits without +
        ] {
            assert!(E164::parse(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let e = Email::parse("  Maria.Garcia@Example.COM \t").unwrap();
        assert_eq!(e.as_str(), "maria.garcia@example.com");
        assert_eq!(
            Email::parse("mailto:Bob@Example.org").unwrap().as_str(),
            "bob@example.org"
        );
        for bad in [
            "",
            "no-at.example.com",
            "a@b",
            "two@@example.com",
            "a b@example.com",
            "@example.com",
            "x@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn street_suffixes_directionals_and_units_are_abbreviated() {
        let cases = [
            ("123 North Main Street", "123 N MAIN ST"),
            ("123 N. Main St.", "123 N MAIN ST"),
            ("123 n main st", "123 N MAIN ST"),
            ("  123   North  Main   Street  ", "123 N MAIN ST"),
            ("500 Park Avenue, Suite 200", "500 PARK AVE STE 200"),
            ("500 Park Ave Ste. #200", "500 PARK AVE STE 200"),
            ("77 Sunset Boulevard Apartment 4B", "77 SUNSET BLVD APT 4B"),
            ("77 Sunset Blvd Apt #4B", "77 SUNSET BLVD APT 4B"),
            ("9 Old Mill Road", "9 OLD ML RD"),
            ("1 Southwest Harbor Drive", "1 SW HBR DR"),
            ("12 First Avenue", "12 1ST AVE"),
            ("P.O. Box 42", "PO BOX 42"),
            ("Post Office Box 42", "PO BOX 42"),
            ("8 Elm Ct #3", "8 ELM CT # 3"),
            ("4 Rue de l'Église", "4 RUE DE LEGLISE"),
        ];
        for (raw, want) in cases {
            assert_eq!(street(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(street("  ,. "), None);
    }

    #[test]
    fn names_ignore_case_punctuation_and_whitespace() {
        assert_eq!(name("  maria   GARCIA ").as_deref(), Some("MARIA GARCIA"));
        assert_eq!(name("José O'Brien, Jr.").as_deref(), Some("JOSE OBRIEN JR"));
        assert_eq!(
            name("José O’Brien Junior").as_deref(),
            Some("JOSE OBRIEN JR")
        );
        assert_eq!(name("Acme, Inc.").as_deref(), Some("ACME INC"));
        assert_eq!(name("ACME Incorporated").as_deref(), Some("ACME INC"));
        assert_eq!(
            name("Smith & Sons L.L.C.").as_deref(),
            Some("SMITH AND SONS LLC")
        );
        assert_eq!(name("The Home Company").as_deref(), Some("HOME CO"));
        assert_eq!(name("Mary-Jane Doe").as_deref(), Some("MARY JANE DOE"));
        assert_eq!(name(" - "), None);
    }

    #[test]
    fn cities_regions_and_postal_codes() {
        assert_eq!(city("St. Louis").as_deref(), Some("ST LOUIS"));
        assert_eq!(city("saint  louis").as_deref(), Some("ST LOUIS"));
        assert_eq!(city("Fort Worth").as_deref(), Some("FT WORTH"));
        assert_eq!(region("California").as_deref(), Some("CA"));
        assert_eq!(region(" ca ").as_deref(), Some("CA"));
        assert_eq!(region("new york").as_deref(), Some("NY"));
        assert_eq!(region("District of Columbia").as_deref(), Some("DC"));
        assert_eq!(region("Ontario").as_deref(), Some("ONTARIO"));
        assert_eq!(postal("94103").as_deref(), Some("94103"));
        assert_eq!(postal("94103-1234").as_deref(), Some("94103"));
        assert_eq!(postal(" 941031234 ").as_deref(), Some("94103"));
        assert_eq!(postal("k1a 0b1").as_deref(), Some("K1A0B1"));
        assert_eq!(postal("  "), None);
    }
}
