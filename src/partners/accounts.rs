//! A partner's accounts over their lifetime (docs/product.md §1), shared by the Partner API,
//! the admin API and the account portal: open one, rename it, set its limits, give it a
//! new auth token, suspend, reactivate and close it.
//!
//! The status is a state machine: `active` ⇄ `suspended`, either → `closed`, and closing
//! is final (a closed account changes no more: not its status, name, limits or token).
//! The store enforces it with conditional updates ([`AccountStore::change_account`]):
//! each change writes only its own column, and only while the account is not closed, so
//! a change racing a close can never reopen the account (a token rotation that read the
//! account before the close cannot write `active` back over `closed`).
//!
//! A partner sees only its own accounts: another partner's is [`AccountError::NotFound`],
//! exactly like a missing one. Changes through the Partner API and the portal are
//! audited.
//!
//! [`AccountStore::change_account`]: crate::store::AccountStore::change_account

use super::{AccountInput, PartnerLimits, build_account, is_account_sid};
use crate::admin::FieldError;
use crate::clock::{Entropy, Timestamp};
use crate::oauth::backchannel::{self, Ending};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::store::{
    AccountChange, AccountRecord, AuditEvent, PartnerId, PartnerRecord, PartnerStatus, StoreError,
    StoreResult, Stores,
};
use crate::util::{ct_eq, secret_hash};

/// Longest friendly name (characters, once trimmed).
const MAX_NAME_CHARS: usize = 128;
/// Accounts per page: the default and the most.
const PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 200;
/// How many of the account's newest audit events [`usage`] counts.
const USAGE_WINDOW: i64 = 1000;

/// Why a change to an account was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The partner does not exist.
    #[error("no such partner")]
    NoPartner,
    /// No such account, or not this partner's.
    #[error("no such account")]
    NotFound,
    /// The account is closed: closing is final.
    #[error("the account is closed")]
    Closed,
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AccountError::NotFound,
            e => AccountError::Store(e),
        }
    }
}

type Result<T> = std::result::Result<T, AccountError>;

pub use crate::store::AccountStatus as Status;

/// Through which door a partner acts on its accounts (it names the audit line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The Partner API: audited as `account.<change>`.
    Api,
    /// The account's own portal session: a rotation is audited as `auth-token-rotate`.
    Portal,
    /// An operator through the admin API: not audited.
    Admin,
}

/// Who acts: the partner that owns the accounts, and through which door.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub partner_id: &'a PartnerId,
    pub channel: Channel,
}

/// What was done, for the audit line.
#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    Rename,
    Status(Status),
    Limits,
    RotateToken,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Rename => "update",
            Op::Status(s) => s.as_str(),
            Op::Limits => "limits",
            Op::RotateToken => "rotate-auth-token",
        }
    }
}

impl Actor<'_> {
    /// The audit action and detail of `op` by this actor; `None`: not audited.
    fn audit_line(&self, op: Op) -> Option<(String, &'static str)> {
        match (self.channel, op) {
            (Channel::Admin, _) => None,
            (Channel::Portal, Op::RotateToken) => {
                Some(("auth-token-rotate".into(), "account portal"))
            }
            (Channel::Portal, op) => Some((format!("account.{}", op.name()), "account portal")),
            (Channel::Api, op) => Some((format!("account.{}", op.name()), "")),
        }
    }

    async fn audit(&self, stores: &Stores, op: Op, sid: &str, now: Timestamp) {
        let Some((action, detail)) = self.audit_line(op) else {
            return;
        };
        let e = AuditEvent {
            at: now,
            actor: self.partner_id.to_string(),
            action,
            subject: sid.to_owned(),
            outcome: "ok".into(),
            detail: detail.into(),
        };
        if let Err(err) = stores.audit.record(&e).await {
            tracing::warn!(error = %err, "audit record failed");
        }
    }
}

/// A friendly name: trimmed, 1 to 128 characters.
pub(crate) fn friendly_name(raw: &str) -> std::result::Result<&str, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::invalid("friendly_name", "1 to 128 characters"));
    }
    Ok(name)
}

/// Opens an account for the actor's partner; returns it with its auth token (shown once).
pub async fn open(
    stores: &Stores,
    rng: &dyn Entropy,
    by: &Actor<'_>,
    input: AccountInput,
    now: Timestamp,
) -> Result<(AccountRecord, String)> {
    match stores.partners.get_partner(by.partner_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(AccountError::NoPartner),
        Err(e) => return Err(AccountError::Store(e)),
    }
    let (rec, token) = build_account(rng, by.partner_id, input, now)?;
    stores.accounts.insert_account(&rec).await?;
    by.audit(stores, Op::Create, &rec.sid, now).await;
    Ok((rec, token))
}

/// The account `sid` if the actor's partner owns it.
pub async fn owned(stores: &Stores, by: &Actor<'_>, sid: &str) -> Result<AccountRecord> {
    if !is_account_sid(sid) {
        return Err(AccountError::NotFound);
    }
    let a = stores.accounts.get_account(sid).await?;
    if a.partner_id.as_ref() != Some(by.partner_id) {
        return Err(AccountError::NotFound);
    }
    Ok(a)
}

/// Account `sid` and its partner, while both are active (what a partner-vouched
/// portal session may act on); `None` otherwise.
pub async fn active_with_partner(
    stores: &Stores,
    sid: &str,
) -> StoreResult<Option<(AccountRecord, PartnerRecord)>> {
    let account = match stores.accounts.get_account(sid).await {
        Ok(a) if a.status == Status::Active => a,
        Ok(_) | Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(id) = &account.partner_id else {
        return Ok(None);
    };
    match stores.partners.get_partner(id).await {
        Ok(pt) if pt.status == PartnerStatus::Active => Ok(Some((account, pt))),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One page of the partner's accounts in SID order after `after` (`size`: 1 to 200,
/// default 50), and the token of the next page if there is one.
pub async fn page(
    stores: &Stores,
    partner_id: &str,
    size: Option<i64>,
    after: Option<&str>,
) -> Result<(Vec<AccountRecord>, Option<String>)> {
    let size = size.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let mut rows = stores
        .accounts
        .list_accounts(partner_id, after, size + 1)
        .await
        .map_err(AccountError::Store)?;
    let next = (rows.len() as i64 > size).then(|| rows[size as usize - 1].sid.to_string());
    rows.truncate(size as usize);
    Ok((rows, next))
}

/// Applies one change to an account the actor owns, unless it is closed.
async fn change(
    stores: &Stores,
    by: &Actor<'_>,
    sid: &str,
    change: AccountChange<'_>,
    op: Op,
    now: Timestamp,
) -> Result<AccountRecord> {
    owned(stores, by, sid).await?;
    // It exists and is the partner's: nothing changed means it is closed (now).
    let a = stores
        .accounts
        .change_account(sid, change)
        .await
        .map_err(AccountError::Store)?
        .ok_or(AccountError::Closed)?;
    by.audit(stores, op, sid, now).await;
    Ok(a)
}

/// Suspends (`Suspended`), reactivates (`Active`) or closes (`Closed`) the account; from
/// `closed` nothing moves.
pub async fn set_status(
    stores: &Stores,
    by: &Actor<'_>,
    sid: &str,
    to: Status,
    now: Timestamp,
) -> Result<AccountRecord> {
    let c = AccountChange::Status { from: None, to };
    change(stores, by, sid, c, Op::Status(to), now).await
}

/// [`set_status`], and on a suspension or closure ends the account's browser sessions
/// (OpenID Connect Back-Channel Logout 1.0): its own portal sessions and those of a user
/// whose own account it is, each client they signed in to getting a logout token and
/// losing the grants issued under them, `offline_access` ones included. The status
/// change stands even if ending a session fails (logged; the sessions then end at their
/// expiry).
pub async fn set_status_and_sign_out(
    p: &Provider,
    by: &Actor<'_>,
    sid: &str,
    to: Status,
) -> Result<AccountRecord> {
    let a = set_status(&p.stores, by, sid, to, p.now()).await?;
    if to != Status::Active
        && let Err(e) = backchannel::end_account_sessions(p, sid, Ending::Account).await
    {
        tracing::warn!(error = ?e, account = %sid, "ending the account's sessions failed");
    }
    Ok(a)
}

/// Renames the account.
pub async fn rename(
    stores: &Stores,
    by: &Actor<'_>,
    sid: &str,
    name: &str,
    now: Timestamp,
) -> Result<AccountRecord> {
    let name = friendly_name(name)?;
    let c = AccountChange::FriendlyName(name);
    change(stores, by, sid, c, Op::Rename, now).await
}

/// Sets the account's limits: the partner's own kind less `max_assertion_lifetime`,
/// which is the partner's alone.
pub async fn set_limits(
    stores: &Stores,
    by: &Actor<'_>,
    sid: &str,
    limits: PartnerLimits,
    now: Timestamp,
) -> Result<AccountRecord> {
    let m = "set on the partner, not on an account";
    if limits.max_assertion_lifetime.is_some() {
        return Err(FieldError::invalid("max_assertion_lifetime", m).into());
    }
    if limits.minimum_acr.is_some() || limits.max_acr.is_some() {
        return Err(FieldError::invalid("minimum_acr", m).into());
    }
    if Scope::parse(&limits.denied_scopes.join(" ")).is_none() {
        return Err(FieldError::invalid("denied_scopes", "malformed scope").into());
    }
    super::limits::check(&limits)?;
    let c = AccountChange::Limits(&limits);
    change(stores, by, sid, c, Op::Limits, now).await
}

/// Gives the account a new auth token (the old one stops at once); returns it, shown
/// this once.
pub async fn rotate_token(
    stores: &Stores,
    rng: &dyn Entropy,
    by: &Actor<'_>,
    sid: &str,
    now: Timestamp,
) -> Result<(AccountRecord, String)> {
    let token = rng.token(32);
    let hash = secret_hash(&token);
    let c = AccountChange::AuthTokenHash(&hash);
    let a = change(stores, by, sid, c, Op::RotateToken, now).await?;
    Ok((a, token))
}

/// An account's usage, from its newest audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Tokens issued through the jwt-bearer grant.
    pub delegated_tokens: u64,
    /// Sign-ins through the signed login link.
    pub login_links: u64,
    /// Management actions through the Partner API.
    pub api_actions: u64,
}

/// The usage of an account the actor owns.
pub async fn usage(stores: &Stores, by: &Actor<'_>, sid: &str) -> Result<Usage> {
    owned(stores, by, sid).await?;
    let events = stores.audit.events_for(sid, USAGE_WINDOW).await?;
    let count = |f: &dyn Fn(&str) -> bool| {
        events
            .iter()
            .filter(|e| e.outcome == "ok" && f(&e.action))
            .count() as u64
    };
    Ok(Usage {
        delegated_tokens: count(&|a| a == "jwt-bearer"),
        login_links: count(&|a| a == "login-link"),
        api_actions: count(&|a| a.starts_with("account.")),
    })
}

/// The account whose SID and auth token these are (compared by hash in constant time),
/// whatever its status; `None` for anything else.
pub async fn authenticate(
    stores: &Stores,
    sid: &str,
    token: &str,
) -> StoreResult<Option<AccountRecord>> {
    if !is_account_sid(sid) {
        return Ok(None);
    }
    let a = match stores.accounts.get_account(sid).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let presented = secret_hash(token);
    Ok(ct_eq(presented.as_bytes(), a.auth_token_hash.as_bytes()).then_some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(friendly_name("  Acme  ").unwrap(), "Acme");
        assert_eq!(
            friendly_name(&"é".repeat(128)).unwrap().chars().count(),
            128
        );
        for bad in ["", "   ", &"x".repeat(129)] {
            assert_eq!(friendly_name(bad).unwrap_err().field, "friendly_name");
        }
    }

    #[test]
    fn each_door_names_its_audit_line() {
        let line = |channel, op| {
            Actor {
                partner_id: &PartnerId::parse("PN0123456789abcdef0123456789abcdef").unwrap(),
                channel,
            }
            .audit_line(op)
        };
        assert_eq!(
            line(Channel::Api, Op::Status(Status::Closed)),
            Some(("account.closed".into(), ""))
        );
        assert_eq!(
            line(Channel::Api, Op::RotateToken),
            Some(("account.rotate-auth-token".into(), ""))
        );
        assert_eq!(
            line(Channel::Portal, Op::RotateToken),
            Some(("auth-token-rotate".into(), "account portal"))
        );
        assert_eq!(line(Channel::Admin, Op::Create), None);
    }
}
