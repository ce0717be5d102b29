//! The reference resource API's records (messages and calls in one activity log, phone
//! numbers), the account lineage its tenancy checks walk, and metering: usage counters
//! per account and month, charged for an account and each ancestor in one transaction
//! with the record, so a limit is exact under concurrency and survives restarts.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, map_err};
use super::{AccountRecord, StoreError, StoreResult};
use crate::clock::Timestamp;

/// An account with what its partner contributes to checks on it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountNode {
    pub account: AccountRecord,
    /// The partner's status (`active`/`suspended`), when the account has a partner.
    pub partner_status: Option<super::PartnerStatus>,
    /// The partner's `limits`, when the account has a partner.
    pub partner_limits: Option<super::PartnerLimits>,
}

/// Which activity a record logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Message,
    Call,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Message => "message",
            ActivityKind::Call => "call",
        }
    }
}

/// A message sent or a call placed.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    pub sid: String,
    pub kind: ActivityKind,
    pub account_sid: String,
    pub to: String,
    pub from: String,
    /// The message text (messages only).
    pub body: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
}

/// A phone number an account owns.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberRecord {
    pub sid: String,
    pub account_sid: String,
    pub phone_number: String,
    pub created_at: Timestamp,
}

/// Where a page of records resumes: lists run newest first, by (`created_at`, `sid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub created_at: Timestamp,
    pub sid: String,
}

/// One counter a metered call increments, and its cap (`None`: uncapped).
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub account_sid: String,
    pub limit: Option<i64>,
}

/// The outcome of a metered write.
#[derive(Debug, Clone, PartialEq)]
pub enum Metered {
    /// Every counter was incremented and the record stored.
    Recorded,
    /// This account's counter is at its limit: nothing was counted or stored.
    LimitReached { account_sid: String, limit: i64 },
}

#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// `sid` and its ancestors, nearest first, following `parent_sid` at most
    /// `max_depth` times. `NotFound` if `sid` does not exist.
    async fn lineage(&self, sid: &str, max_depth: i64) -> StoreResult<Vec<AccountNode>>;
    /// Increments every charge's counter for `period` and stores `r`, all or nothing.
    async fn record_metered(
        &self,
        r: &ActivityRecord,
        charges: &[Charge],
        period: &str,
    ) -> StoreResult<Metered>;
    /// An account's records of `kind`, newest first, after `after`, at most `limit`.
    async fn list_activity(
        &self,
        kind: ActivityKind,
        account_sid: &str,
        after: Option<&Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<ActivityRecord>>;
    /// `Conflict("resource_numbers")` when the number is already owned.
    async fn insert_number(&self, n: &NumberRecord) -> StoreResult<()>;
    async fn list_numbers(
        &self,
        account_sid: &str,
        after: Option<&Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<NumberRecord>>;
    /// The owner record of `phone_number`.
    async fn find_number(&self, phone_number: &str) -> StoreResult<NumberRecord>;
    /// Releases number `sid` of `account_sid`; `NotFound` unless that account owns it.
    async fn delete_number(&self, account_sid: &str, sid: &str) -> StoreResult<()>;
    /// The counter of `account_sid` for `period` (0 when nothing was counted).
    async fn usage(&self, account_sid: &str, period: &str) -> StoreResult<i64>;
}

fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const LINEAGE: &str = "WITH RECURSIVE chain(sid, depth) AS ( \
        SELECT sid, CAST(0 AS BIGINT) FROM accounts WHERE sid = $1 \
        UNION ALL \
        SELECT a.parent_sid, chain.depth + 1 FROM chain JOIN accounts a ON a.sid = chain.sid \
        WHERE a.parent_sid IS NOT NULL AND chain.depth < $2) \
    SELECT a.sid, a.partner_id, a.parent_sid, a.friendly_name, a.status, a.limits, \
        a.auth_token_hash, a.created_at, p.status AS partner_status, p.limits AS partner_limits \
    FROM chain JOIN accounts a ON a.sid = chain.sid LEFT JOIN partners p ON p.id = a.partner_id \
    ORDER BY chain.depth";

fn node_from(r: &AnyRow) -> StoreResult<AccountNode> {
    let partner_limits: Option<String> = col(r, "partner_limits")?;
    Ok(AccountNode {
        account: AccountRecord {
            sid: super::sql::text_col(r, "sid")?,
            partner_id: super::sql::opt_text_col(r, "partner_id")?,
            parent_sid: super::sql::opt_text_col(r, "parent_sid")?,
            friendly_name: col(r, "friendly_name")?,
            status: super::sql::text_col(r, "status")?,
            limits: parse_json(&col::<String>(r, "limits")?)?,
            auth_token_hash: col(r, "auth_token_hash")?,
            created_at: col(r, "created_at")?,
        },
        partner_status: col::<Option<String>>(r, "partner_status")?
            .map(|s| {
                super::PartnerStatus::parse(&s)
                    .ok_or_else(|| StoreError::Corrupt(format!("column partner_status: {s:?}")))
            })
            .transpose()?,
        partner_limits: partner_limits.as_deref().map(parse_json).transpose()?,
    })
}

const ACTIVITY_COLS: &str =
    "sid, kind, account_sid, to_number, from_number, body, status, created_at";

fn activity_from(r: &AnyRow) -> StoreResult<ActivityRecord> {
    let kind = match col::<String>(r, "kind")?.as_str() {
        "message" => ActivityKind::Message,
        "call" => ActivityKind::Call,
        other => return Err(StoreError::Corrupt(format!("activity kind {other}"))),
    };
    Ok(ActivityRecord {
        sid: col(r, "sid")?,
        kind,
        account_sid: col(r, "account_sid")?,
        to: col(r, "to_number")?,
        from: col(r, "from_number")?,
        body: col(r, "body")?,
        status: col(r, "status")?,
        created_at: col(r, "created_at")?,
    })
}

const NUMBER_COLS: &str = "sid, account_sid, phone_number, created_at";

fn number_from(r: &AnyRow) -> StoreResult<NumberRecord> {
    Ok(NumberRecord {
        sid: col(r, "sid")?,
        account_sid: col(r, "account_sid")?,
        phone_number: col(r, "phone_number")?,
        created_at: col(r, "created_at")?,
    })
}

/// Increments a counter unless it is at `$3`; a row comes back only when it counted.
const CHARGE: &str = "INSERT INTO usage_counters (account_sid, period, used) VALUES ($1, $2, 1) \
    ON CONFLICT (account_sid, period) DO UPDATE SET used = usage_counters.used + 1 \
    WHERE usage_counters.used < $3 RETURNING used";

/// The (`created_at`, `sid`) bounds of a newest-first page.
fn bounds(after: Option<&Cursor>) -> (Timestamp, String) {
    after.map_or((Timestamp::MAX, String::new()), |c| {
        (c.created_at, c.sid.clone())
    })
}

#[async_trait]
impl ResourceStore for SqlStore {
    async fn lineage(&self, sid: &str, max_depth: i64) -> StoreResult<Vec<AccountNode>> {
        let rows = sqlx::query(LINEAGE)
            .bind(sid)
            .bind(max_depth)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        rows.iter().map(node_from).collect()
    }

    async fn record_metered(
        &self,
        r: &ActivityRecord,
        charges: &[Charge],
        period: &str,
    ) -> StoreResult<Metered> {
        // Counters are taken in the given order (descendants first), so concurrent
        // transactions on PostgreSQL lock shared ancestors in one order; on SQLite the
        // write gate and `BEGIN IMMEDIATE` serialise them.
        let (_gate, mut tx) = self.begin_write().await?;
        for c in charges {
            let limit = c.limit.unwrap_or(i64::MAX);
            let counted = if limit <= 0 {
                None
            } else {
                sqlx::query(CHARGE)
                    .bind(&c.account_sid)
                    .bind(period)
                    .bind(limit)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
            };
            if counted.is_none() {
                tx.rollback().await.map_err(map_err)?;
                return Ok(Metered::LimitReached {
                    account_sid: c.account_sid.clone(),
                    limit: limit.max(0),
                });
            }
        }
        let sql = format!(
            "INSERT INTO resource_activity ({ACTIVITY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(&r.sid)
            .bind(r.kind.as_str())
            .bind(&r.account_sid)
            .bind(&r.to)
            .bind(&r.from)
            .bind(r.body.as_deref())
            .bind(&r.status)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Metered::Recorded)
    }

    async fn list_activity(
        &self,
        kind: ActivityKind,
        account_sid: &str,
        after: Option<&Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<ActivityRecord>> {
        let (t, s) = bounds(after);
        let sql = format!(
            "SELECT {ACTIVITY_COLS} FROM resource_activity WHERE account_sid = $1 AND kind = $2 \
             AND (created_at < $3 OR (created_at = $3 AND sid < $4)) \
             ORDER BY created_at DESC, sid DESC LIMIT $5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_sid)
            .bind(kind.as_str())
            .bind(t)
            .bind(s)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(activity_from).collect()
    }

    async fn insert_number(&self, n: &NumberRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!("INSERT INTO resource_numbers ({NUMBER_COLS}) VALUES ($1, $2, $3, $4)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(&n.sid)
            .bind(&n.account_sid)
            .bind(&n.phone_number)
            .bind(n.created_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_numbers(
        &self,
        account_sid: &str,
        after: Option<&Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<NumberRecord>> {
        let (t, s) = bounds(after);
        let sql = format!(
            "SELECT {NUMBER_COLS} FROM resource_numbers WHERE account_sid = $1 \
             AND (created_at < $2 OR (created_at = $2 AND sid < $3)) \
             ORDER BY created_at DESC, sid DESC LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_sid)
            .bind(t)
            .bind(s)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(number_from).collect()
    }

    async fn find_number(&self, phone_number: &str) -> StoreResult<NumberRecord> {
        let sql = format!("SELECT {NUMBER_COLS} FROM resource_numbers WHERE phone_number = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(phone_number)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        number_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn delete_number(&self, account_sid: &str, sid: &str) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("DELETE FROM resource_numbers WHERE sid = $1 AND account_sid = $2")
            .bind(sid)
            .bind(account_sid)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn usage(&self, account_sid: &str, period: &str) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT used FROM usage_counters WHERE account_sid = $1 AND period = $2")
                .bind(account_sid)
                .bind(period)
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?;
        row.map_or(Ok(0), |r| col(&r, "used"))
    }
}

#[cfg(test)]
mod tests;
