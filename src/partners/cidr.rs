//! CIDR blocks (IPv4 and IPv6) for partner network allow-lists.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` (or a bare address, meaning a single host).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (address(a)?, Some(prefix_length(p)?)),
            None => (address(s)?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { net: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), 32, self.prefix)
                    == masked(u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), 128, self.prefix) == masked(u128::from(a), 128, self.prefix)
            }
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            _ => false,
        }
    }
}

/// An IPv4 address in dotted decimal, or an IPv6 address in hex groups (no embedded
/// IPv4 form, no zone): exactly what [`CIDR_PATTERN`] describes.
fn address(a: &str) -> Option<IpAddr> {
    let ip = a.parse::<IpAddr>().ok()?;
    (ip.is_ipv4() || !a.contains('.')).then_some(ip)
}

/// Decimal digits without a leading zero (or `0` itself).
fn prefix_length(p: &str) -> Option<u8> {
    let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (digits && (p == "0" || !p.starts_with('0'))).then(|| p.parse().ok())?
}

const IPV4: &str = r"((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/([0-9]|[12][0-9]|3[0-2]))?";
const H: &str = "[0-9a-fA-F]{1,4}";

/// The OpenAPI pattern of an allowed CIDR or address (see [`Cidr::parse`]).
pub fn cidr_pattern() -> String {
    let v6 = [
        format!("({H}:){{7}}{H}"),
        format!("({H}:){{1,7}}:"),
        format!("({H}:){{1,6}}:{H}"),
        format!("({H}:){{1,5}}(:{H}){{1,2}}"),
        format!("({H}:){{1,4}}(:{H}){{1,3}}"),
        format!("({H}:){{1,3}}(:{H}){{1,4}}"),
        format!("({H}:){{1,2}}(:{H}){{1,5}}"),
        format!("{H}:(:{H}){{1,6}}"),
        format!(":((:{H}){{1,7}}|:)"),
    ]
    .join("|");
    format!("^({IPV4}|({v6})(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?)$")
}

/// An allowed CIDR in the OpenAPI documents.
pub struct CidrText;

impl utoipa::PartialSchema for CidrText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(cidr_pattern()))
            .into()
    }
}
impl utoipa::ToSchema for CidrText {}

fn masked(v: u128, bits: u32, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = bits - u32::from(prefix);
    (v >> shift) << shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_membership() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
        let c6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!c6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }
}
