//! The resource operations: each checks the permission it needs, resolves the target
//! account (tenancy and status), validates its input, then reads or writes the store.

use super::metering::{self, Period};
use super::permissions::Permission;
use super::values::{MessageBody, PhoneNumber, SidKind};
use super::{Caller, ResourceError};
use crate::clock::{Entropy, Timestamp};
use crate::store::{
    AccountNode, AccountSid, AccountStatus, ActivityKind, ActivityRecord, Cursor, Metered,
    NumberRecord, PartnerStatus, StoreError, Stores,
};

/// How many parents the tenancy walk follows up from the target.
pub const MAX_DEPTH: i64 = 8;

/// Largest page a list returns.
pub const MAX_PAGE_SIZE: i64 = 200;

type Result<T> = std::result::Result<T, ResourceError>;

/// A page request: how many, and where to resume (a `page_token` from a previous page).
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub size: Option<i64>,
    pub token: Option<String>,
}

/// A page of records and the token of the next page, if there may be one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// This month's metered calls of an account (its own and its descendants') and its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub account_sid: String,
    pub period: String,
    pub count: i64,
    pub limit: Option<i64>,
}

fn require(caller: &Caller, p: Permission) -> Result<()> {
    if caller.permissions.allows(p) {
        Ok(())
    } else {
        Err(ResourceError::MissingPermission(p))
    }
}

/// The target's lineage (target first) if `caller` may act on it; `write` for changes.
pub async fn resolve(
    stores: &Stores,
    caller: &Caller,
    target: &str,
    write: bool,
) -> Result<Vec<AccountNode>> {
    if AccountSid::parse(target).is_none() {
        return Err(ResourceError::NotFound);
    }
    let lineage = stores.resources.lineage(target, MAX_DEPTH).await?;
    let pos = lineage
        .iter()
        .position(|n| n.account.sid == caller.account_sid)
        .ok_or(ResourceError::NotFound)?;
    check_status(&lineage[..=pos], write)?;
    Ok(lineage)
}

/// `line` runs from the target up to the caller (last).
fn check_status(line: &[AccountNode], write: bool) -> Result<()> {
    let Some(caller) = line.last() else {
        return Err(ResourceError::NotFound);
    };
    let suspended = |n: &AccountNode| {
        n.account.status == AccountStatus::Suspended
            || n.partner_status.is_some_and(|s| s != PartnerStatus::Active)
    };
    if caller.account.status == AccountStatus::Closed {
        return Err(ResourceError::CallerClosed);
    }
    if suspended(caller) {
        return Err(ResourceError::Suspended);
    }
    if write {
        if line
            .iter()
            .any(|n| n.account.status == AccountStatus::Closed)
        {
            return Err(ResourceError::Closed);
        }
        if line.iter().any(suspended) {
            return Err(ResourceError::Suspended);
        }
    }
    Ok(())
}

fn phone(field: &'static str, s: &str) -> Result<PhoneNumber> {
    PhoneNumber::parse(s).ok_or(ResourceError::Invalid {
        field,
        message: "an E.164 phone number, e.g. +15005550006".into(),
    })
}

/// `page_token` ⇄ cursor: `<created_at>.<sid>`.
fn cursor_of(token: &str) -> Result<Cursor> {
    let bad = ResourceError::Invalid {
        field: "page_token",
        message: "not a page token from a previous page".into(),
    };
    let (t, sid) = token.split_once('.').ok_or(bad)?;
    let created_at = t.parse().map_err(|_| ResourceError::Invalid {
        field: "page_token",
        message: "not a page token from a previous page".into(),
    })?;
    Ok(Cursor {
        created_at,
        sid: sid.to_owned(),
    })
}

fn token_of(created_at: Timestamp, sid: &str) -> String {
    format!("{created_at}.{sid}")
}

fn page_bounds(p: &PageRequest) -> Result<(i64, Option<Cursor>)> {
    let size = p.size.unwrap_or(50).clamp(1, MAX_PAGE_SIZE);
    Ok((size, p.token.as_deref().map(cursor_of).transpose()?))
}

fn paged<T>(mut rows: Vec<T>, size: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next_page_token = if more { rows.last().map(key) } else { None };
    Page {
        items: rows,
        next_page_token,
    }
}

/// Lists the target's messages or calls, newest first.
pub async fn list_activity(
    stores: &Stores,
    caller: &Caller,
    target: &str,
    kind: ActivityKind,
    page: &PageRequest,
) -> Result<Page<ActivityRecord>> {
    require(caller, Permission::Read)?;
    resolve(stores, caller, target, false).await?;
    let (size, after) = page_bounds(page)?;
    let rows = stores
        .resources
        .list_activity(kind, target, after.as_ref(), size + 1)
        .await?;
    Ok(paged(rows, size, |r| token_of(r.created_at, &r.sid)))
}

/// Lists the target's phone numbers, newest first.
pub async fn list_numbers(
    stores: &Stores,
    caller: &Caller,
    target: &str,
    page: &PageRequest,
) -> Result<Page<NumberRecord>> {
    require(caller, Permission::Read)?;
    resolve(stores, caller, target, false).await?;
    let (size, after) = page_bounds(page)?;
    let rows = stores
        .resources
        .list_numbers(target, after.as_ref(), size + 1)
        .await?;
    Ok(paged(rows, size, |r| token_of(r.created_at, &r.sid)))
}

/// What a message or a call asks for.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub to: String,
    pub from: String,
    /// Messages only.
    pub body: Option<String>,
}

/// Sends a message (metered).
pub async fn send_message(
    stores: &Stores,
    rng: &dyn Entropy,
    caller: &Caller,
    target: &str,
    req: NewActivity,
    now: Timestamp,
) -> Result<ActivityRecord> {
    require(caller, Permission::MessagesSend)?;
    record(stores, rng, caller, target, ActivityKind::Message, req, now).await
}

/// Places a call (metered).
pub async fn create_call(
    stores: &Stores,
    rng: &dyn Entropy,
    caller: &Caller,
    target: &str,
    req: NewActivity,
    now: Timestamp,
) -> Result<ActivityRecord> {
    require(caller, Permission::CallsWrite)?;
    record(stores, rng, caller, target, ActivityKind::Call, req, now).await
}

async fn record(
    stores: &Stores,
    rng: &dyn Entropy,
    caller: &Caller,
    target: &str,
    kind: ActivityKind,
    req: NewActivity,
    now: Timestamp,
) -> Result<ActivityRecord> {
    let lineage = resolve(stores, caller, target, true).await?;
    let to = phone("to", &req.to)?;
    let from = phone("from", &req.from)?;
    let body = match kind {
        ActivityKind::Message => {
            let b = MessageBody::parse(req.body.as_deref().unwrap_or_default()).ok_or(
                ResourceError::Invalid {
                    field: "body",
                    message: "1 to 1600 characters".into(),
                },
            )?;
            Some(b.into_inner())
        }
        ActivityKind::Call => None,
    };
    check_caller_id(stores, caller, &lineage, &from).await?;
    let sid_kind = match kind {
        ActivityKind::Message => SidKind::Message,
        ActivityKind::Call => SidKind::Call,
    };
    let rec = ActivityRecord {
        sid: sid_kind.new_sid(rng),
        kind,
        account_sid: target.to_owned(),
        to: to.to_string(),
        from: from.to_string(),
        body,
        status: "queued".into(),
        created_at: now,
    };
    let period = Period::of(now);
    let charges = metering::charges(&lineage);
    match stores
        .resources
        .record_metered(&rec, &charges, &period.key())
        .await?
    {
        Metered::Recorded => Ok(rec),
        Metered::LimitReached { limit, .. } => Err(ResourceError::LimitReached {
            limit,
            retry_after: (period.next_start() - now).max(1),
        }),
    }
}

/// `from` must be owned by the target; with `callerids:all` also by its parent or a
/// sibling (an account with the same parent). Any other number — a stranger's or
/// nobody's — is refused the same way.
async fn check_caller_id(
    stores: &Stores,
    caller: &Caller,
    lineage: &[AccountNode],
    from: &PhoneNumber,
) -> Result<()> {
    let target = &lineage
        .first()
        .ok_or(ResourceError::CallerIdRefused)?
        .account;
    let owner = match stores.resources.find_number(from.as_str()).await {
        Ok(n) => n.account_sid,
        Err(StoreError::NotFound) => return Err(ResourceError::CallerIdRefused),
        Err(e) => return Err(ResourceError::Store(e)),
    };
    if owner == target.sid {
        return Ok(());
    }
    let Some(parent) = target.parent_sid.as_deref() else {
        return Err(ResourceError::CallerIdRefused);
    };
    let family = owner == parent
        || match stores.accounts.get_account(&owner).await {
            Ok(a) => a.parent_sid.as_deref() == Some(parent),
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(ResourceError::Store(e)),
        };
    if !family {
        return Err(ResourceError::CallerIdRefused);
    }
    require(caller, Permission::CallerIdsAll)
}

/// Buys `phone_number` for the target.
pub async fn buy_number(
    stores: &Stores,
    rng: &dyn Entropy,
    caller: &Caller,
    target: &str,
    phone_number: &str,
    now: Timestamp,
) -> Result<NumberRecord> {
    require(caller, Permission::NumbersManage)?;
    resolve(stores, caller, target, true).await?;
    let number = phone("phone_number", phone_number)?;
    let rec = NumberRecord {
        sid: SidKind::PhoneNumber.new_sid(rng),
        account_sid: target.to_owned(),
        phone_number: number.to_string(),
        created_at: now,
    };
    match stores.resources.insert_number(&rec).await {
        Ok(()) => Ok(rec),
        Err(StoreError::Conflict(_)) => Err(ResourceError::NumberTaken),
        Err(e) => Err(e.into()),
    }
}

/// Releases the target's number `number_sid`.
pub async fn release_number(
    stores: &Stores,
    caller: &Caller,
    target: &str,
    number_sid: &str,
) -> Result<()> {
    require(caller, Permission::NumbersManage)?;
    resolve(stores, caller, target, true).await?;
    if !SidKind::PhoneNumber.is_sid(number_sid) {
        return Err(ResourceError::NotFound);
    }
    Ok(stores.resources.delete_number(target, number_sid).await?)
}

/// This month's usage of the target and its effective limit.
pub async fn usage(
    stores: &Stores,
    caller: &Caller,
    target: &str,
    now: Timestamp,
) -> Result<Usage> {
    require(caller, Permission::Read)?;
    let lineage = resolve(stores, caller, target, false).await?;
    let period = Period::of(now).key();
    let count = stores.resources.usage(target, &period).await?;
    let limit = lineage.first().and_then(metering::effective_limit);
    Ok(Usage {
        account_sid: target.to_owned(),
        period,
        count,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountRecord;

    fn node(sid: &str, status: &str, partner: Option<&str>) -> AccountNode {
        AccountNode {
            account: AccountRecord {
                sid: AccountSid::parse(&format!("AC{:0>32}", &sid[2..])).unwrap(),
                partner_id: partner.map(|_| {
                    crate::store::PartnerId::parse("PN00000000000000000000000000000001").unwrap()
                }),
                parent_sid: None,
                friendly_name: "a".into(),
                status: AccountStatus::parse(status).unwrap(),
                limits: Default::default(),
                auth_token_hash: String::new(),
                created_at: 0,
            },
            partner_status: partner.map(|s| PartnerStatus::parse(s).unwrap()),
            partner_limits: None,
        }
    }

    #[test]
    fn status_rules() {
        let ok = || node("AC2", "active", Some("active"));
        assert!(check_status(&[ok()], true).is_ok());
        let closed = [node("AC1", "closed", None)];
        assert!(matches!(
            check_status(&closed, false),
            Err(ResourceError::CallerClosed)
        ));
        let susp = [node("AC1", "suspended", None)];
        assert!(matches!(
            check_status(&susp, false),
            Err(ResourceError::Suspended)
        ));
        let partner_susp = [node("AC1", "active", Some("suspended"))];
        assert!(matches!(
            check_status(&partner_susp, false),
            Err(ResourceError::Suspended)
        ));
        // An ancestor reads a suspended or closed subaccount's records, but changes none.
        let sub_susp = [node("AC3", "suspended", None), ok()];
        assert!(check_status(&sub_susp, false).is_ok());
        assert!(matches!(
            check_status(&sub_susp, true),
            Err(ResourceError::Suspended)
        ));
        let sub_closed = [node("AC3", "closed", None), ok()];
        assert!(check_status(&sub_closed, false).is_ok());
        assert!(matches!(
            check_status(&sub_closed, true),
            Err(ResourceError::Closed)
        ));
    }

    #[test]
    fn page_tokens_round_trip() {
        let t = token_of(42, "SM00");
        assert_eq!(
            cursor_of(&t).unwrap(),
            Cursor {
                created_at: 42,
                sid: "SM00".into()
            }
        );
        assert!(cursor_of("nope").is_err());
        assert!(cursor_of("x.SM00").is_err());
        let p = paged(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next_page_token.as_deref(), Some("2"));
        assert!(
            paged(vec![1], 2, |n| n.to_string())
                .next_page_token
                .is_none()
        );
    }
}
