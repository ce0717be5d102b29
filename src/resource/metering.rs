//! Usage metering: each successful metered call (sending a message, placing a call)
//! counts once against the acting account and once against every ancestor above it, per
//! calendar month (UTC). An account's limit is `max_monthly_api_calls` in its `limits`,
//! or else its partner's `limits.max_monthly_api_calls`; past the limit at the account
//! or any ancestor the call is refused. The counting itself is one SQL transaction in
//! the store (exact under concurrency, durable across restarts).

use crate::clock::Timestamp;
use crate::store::{AccountNode, Charge, PartnerLimits};

/// A calendar month (UTC), the metering period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub year: i64,
    pub month: u32,
}

impl Period {
    /// The month `t` falls in.
    pub fn of(t: Timestamp) -> Self {
        let (year, month, _) = civil_from_days(t.div_euclid(86_400));
        Self { year, month }
    }

    /// The stored key, `YYYY-MM`.
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// When the next period starts (Unix seconds).
    pub fn next_start(&self) -> Timestamp {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        days_from_civil(y, m, 1) * 86_400
    }
}

/// The monthly limit of `limits`, if it sets one.
pub fn limit_in(limits: &PartnerLimits) -> Option<i64> {
    limits
        .max_monthly_api_calls
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// An account's effective limit: its own, else its partner's default.
pub fn effective_limit(node: &AccountNode) -> Option<i64> {
    limit_in(&node.account.limits).or_else(|| node.partner_limits.as_ref().and_then(limit_in))
}

/// What one metered call charges: the acting account and every ancestor, nearest first
/// (so concurrent transactions lock counters in one order: descendants first).
pub fn charges(lineage: &[AccountNode]) -> Vec<Charge> {
    lineage
        .iter()
        .map(|n| Charge {
            account_sid: n.account.sid.to_string(),
            limit: effective_limit(n),
        })
        .collect()
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01 (the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccountRecord, AccountStatus};

    #[test]
    fn periods_are_utc_calendar_months() {
        assert_eq!(Period::of(0).key(), "1970-01");
        // 2024-02-29T23:59:59Z and the next second.
        assert_eq!(Period::of(1_709_251_199).key(), "2024-02");
        assert_eq!(Period::of(1_709_251_200).key(), "2024-03");
        // 2023-12-31T23:59:59Z.
        assert_eq!(Period::of(1_704_067_199).key(), "2023-12");
        assert_eq!(Period::of(1_704_067_199).next_start(), 1_704_067_200);
        assert_eq!(Period::of(1_709_251_199).next_start(), 1_709_251_200);
        for t in [0, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let p = Period::of(t);
            let start = days_from_civil(p.year, p.month, 1) * 86_400;
            assert!(start <= t && t < p.next_start(), "{t}");
        }
    }

    fn limit(n: u64) -> PartnerLimits {
        PartnerLimits {
            max_monthly_api_calls: Some(n),
            ..PartnerLimits::default()
        }
    }

    fn node(limits: PartnerLimits, partner: Option<PartnerLimits>) -> AccountNode {
        AccountNode {
            account: AccountRecord {
                sid: crate::store::AccountSid::parse("AC00000000000000000000000000000001").unwrap(),
                partner_id: None,
                parent_sid: None,
                friendly_name: "a".into(),
                status: AccountStatus::Active,
                limits,
                auth_token_hash: String::new(),
                created_at: 0,
            },
            partner_status: None,
            partner_limits: partner,
        }
    }

    #[test]
    fn the_account_limit_wins_over_the_partner_default() {
        let none = PartnerLimits::default;
        assert_eq!(effective_limit(&node(none(), None)), None);
        assert_eq!(effective_limit(&node(none(), Some(limit(5)))), Some(5));
        assert_eq!(effective_limit(&node(limit(0), Some(limit(5)))), Some(0));
        assert_eq!(
            effective_limit(&node(limit(u64::MAX), None)),
            Some(i64::MAX)
        );
    }
}
