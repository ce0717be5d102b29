//! User codes (RFC 8628 §6.1): 8 characters from the 20 consonants
//! `BCDFGHJKLMNPQRSTVWXZ` — no vowels (no words), no digits (no 0/O, 1/I), case
//! insensitive — shown as `XXXX-XXXX`. 20⁸ ≈ 2³⁴·⁶ values: guessing is bounded by the
//! verification page's rate limits (§5.1), not by the code's length.

use std::fmt;

use crate::clock::Entropy;

/// The characters a user code is made of.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code.
pub const LEN: usize = 8;

/// A well-formed user code, normalized (upper case, no separators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// A new random code: each character drawn uniformly (bytes ≥ 240 are redrawn, so
    /// `% 20` has no bias).
    pub fn generate(rng: &dyn Entropy) -> Self {
        let mut out = String::with_capacity(LEN);
        let mut buf = [0u8; 16];
        while out.len() < LEN {
            rng.fill(&mut buf);
            for b in buf.iter().filter(|b| **b < 240) {
                if out.len() == LEN {
                    break;
                }
                out.push(char::from(ALPHABET[usize::from(*b % 20)]));
            }
        }
        Self(out)
    }

    /// What a user typed: any case, with dashes and spaces anywhere. `None` unless it is
    /// exactly [`LEN`] characters of the alphabet once those are removed.
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 64 {
            return None;
        }
        let s: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}'..='\u{2015}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(Self(s))
    }

    /// The normalized form (`BCDFGHJK`), whose hash is stored.
    pub fn normalized(&self) -> &str {
        &self.0
    }
}

/// Shown as `XXXX-XXXX`.
impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(LEN / 2);
        write!(f, "{a}-{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemEntropy;

    #[test]
    fn generated_codes_use_the_alphabet_and_show_with_a_dash() {
        for _ in 0..200 {
            let c = UserCode::generate(&SystemEntropy);
            assert_eq!(c.normalized().len(), LEN);
            assert!(c.normalized().bytes().all(|b| ALPHABET.contains(&b)));
            let shown = c.to_string();
            assert_eq!(shown.len(), LEN + 1);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(UserCode::parse(&shown), Some(c));
        }
    }

    #[test]
    fn typing_mistakes_of_case_and_separators_are_tolerated() {
        let want = UserCode::parse("BCDF-GHJK").unwrap();
        for typed in [
            "bcdfghjk",
            "bcdf-ghjk",
            " BCDF GHJK ",
            "bc-df-gh-jk",
            "Bcdf\u{2013}Ghjk",
        ] {
            assert_eq!(UserCode::parse(typed).as_ref(), Some(&want), "{typed}");
        }
        assert_eq!(want.normalized(), "BCDFGHJK");
    }

    #[test]
    fn anything_else_is_refused() {
        for typed in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ0",
            "BCDF_GHJK",
            "ßCDF-GHJK",
        ] {
            assert_eq!(UserCode::parse(typed), None, "{typed}");
        }
        assert_eq!(UserCode::parse(&"-".repeat(100)), None);
    }
}
