//! The source-network → region table: `cidr,region` lines (CSV, `#` comments and a
//! `cidr,region` header allowed), loaded once at start. A source address's region is
//! that of the longest matching prefix; the region is normalized like a record's
//! (`California` → `CA`), so the two compare directly.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;

use super::normalize;
use crate::partners::cidr::Cidr;

/// The sample table shipped in `samples/regions.csv` (documentation ranges only).
pub const SAMPLE: &str = include_str!("../../samples/regions.csv");

/// Most lines a table may have (it is scanned per lookup).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct RegionTable {
    /// Longest prefix first.
    entries: Vec<(Cidr, u8, String)>,
}

impl RegionTable {
    /// Parses a table; a line that does not parse is refused with its number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.eq_ignore_ascii_case("cidr,region")
            {
                continue;
            }
            let n = i + 1;
            let (cidr, region) = line
                .split_once(',')
                .ok_or_else(|| format!("line {n}: expected cidr,region"))?;
            let cidr = cidr.trim();
            let net = Cidr::parse(cidr).ok_or_else(|| format!("line {n}: bad CIDR {cidr:?}"))?;
            let prefix = match cidr.split_once('/') {
                Some((_, p)) => p.parse::<u8>().unwrap_or(0),
                None if cidr.contains(':') => 128,
                None => 32,
            };
            let region =
                normalize::region(region).ok_or_else(|| format!("line {n}: empty region"))?;
            entries.push((net, prefix, region));
            if entries.len() > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} entries"));
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.1));
        Ok(Self { entries })
    }

    /// The table in `path`, or the built-in sample when `None`.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading the region table {}", p.display()))?,
            None => SAMPLE.to_owned(),
        };
        Self::parse(&text).map_err(|e| anyhow::anyhow!("region table: {e}"))
    }

    /// The region of `ip` (normalized), if the table covers it.
    pub fn region_of(&self, ip: IpAddr) -> Option<&str> {
        self.entries
            .iter()
            .find(|(net, _, _)| net.contains(ip))
            .map(|(_, _, r)| r.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_sample_maps_documentation_ranges_longest_prefix_first() {
        let t = RegionTable::load(None).unwrap();
        assert!(t.len() >= 8);
        assert_eq!(t.region_of(ip("192.0.2.10")), Some("CA"));
        assert_eq!(t.region_of(ip("192.0.2.200")), Some("NY"));
        assert_eq!(t.region_of(ip("198.51.100.7")), Some("TX"));
        assert_eq!(t.region_of(ip("203.0.113.5")), Some("WA"));
        assert_eq!(t.region_of(ip("203.0.113.70")), Some("OR"), "the /26 wins");
        assert_eq!(t.region_of(ip("2001:db8:100::1")), Some("NY"));
        assert_eq!(t.region_of(ip("2001:db8:ffff::1")), Some("CA"));
        assert_eq!(t.region_of(ip("::ffff:198.51.100.9")), Some("TX"));
        assert_eq!(t.region_of(ip("8.8.8.8")), None);
    }

    #[test]
    fn tables_parse_names_and_refuse_bad_lines() {
        let t = RegionTable::parse("10.0.0.0/8, California\n# c\n\n10.1.0.0/16,new york").unwrap();
        assert_eq!(t.region_of(ip("10.2.0.1")), Some("CA"));
        assert_eq!(t.region_of(ip("10.1.0.1")), Some("NY"));
        assert!(
            RegionTable::parse("10.0.0.0/8")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(RegionTable::parse("ok\n10.0.0.0/99,CA").is_err());
        assert!(RegionTable::parse("10.0.0.0/8,").is_err());
    }
}
