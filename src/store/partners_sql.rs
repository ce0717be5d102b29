//! SQL for partners, accounts and the audit log, on the same `Any` pool as the rest.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{
    Backend, SqlStore, col, expect_row, json_col, map_err, opt_text_col, text_col, to_json,
};
use super::{
    AccountRecord, AccountStatus, AccountStore, AuditEvent, AuditStore, PartnerRecord,
    PartnerStore, StoreError, StoreResult,
};

/// One change to an account ([`AccountStore::change_account`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccountChange<'a> {
    /// The status becomes `to`; with `from`, only from that status.
    Status {
        from: Option<AccountStatus>,
        to: AccountStatus,
    },
    /// A new auth token: its SHA-256 hex.
    AuthTokenHash(&'a str),
    FriendlyName(&'a str),
    Limits(&'a super::PartnerLimits),
}

const PARTNER_COLS: &str =
    "id, name, status, jwks, jwks_uri, sealed_secret, allowed_cidrs, limits, branding, created_at";

fn partner_from(r: &AnyRow) -> StoreResult<PartnerRecord> {
    let jwks: Option<String> = col(r, "jwks")?;
    let cidrs: String = col(r, "allowed_cidrs")?;
    Ok(PartnerRecord {
        id: text_col(r, "id")?,
        name: col(r, "name")?,
        status: text_col(r, "status")?,
        jwks: jwks
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        jwks_uri: col(r, "jwks_uri")?,
        sealed_secret: col(r, "sealed_secret")?,
        allowed_cidrs: serde_json::from_str(&cidrs)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        limits: json_col(r, "limits")?,
        branding: json_col(r, "branding")?,
        created_at: col(r, "created_at")?,
    })
}

#[async_trait]
impl PartnerStore for SqlStore {
    async fn insert_partner(&self, p: &PartnerRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!(
            "INSERT INTO partners ({PARTNER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.status.as_str())
            .bind(p.jwks.as_ref().map(to_json).transpose()?)
            .bind(p.jwks_uri.as_deref())
            .bind(p.sealed_secret.clone())
            .bind(to_json(&p.allowed_cidrs)?)
            .bind(to_json(&p.limits)?)
            .bind(to_json(&p.branding)?)
            .bind(p.created_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_partner(&self, id: &str) -> StoreResult<PartnerRecord> {
        let sql = format!("SELECT {PARTNER_COLS} FROM partners WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        partner_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn update_partner(&self, p: &PartnerRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("UPDATE partners SET name = $2, status = $3, jwks = $4, jwks_uri = $5, sealed_secret = $6, allowed_cidrs = $7, limits = $8, branding = $9 WHERE id = $1")
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.status.as_str())
            .bind(p.jwks.as_ref().map(to_json).transpose()?)
            .bind(p.jwks_uri.as_deref())
            .bind(p.sealed_secret.clone())
            .bind(to_json(&p.allowed_cidrs)?)
            .bind(to_json(&p.limits)?)
            .bind(to_json(&p.branding)?)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        expect_row(r)
    }

    async fn delete_partner(&self, id: &str) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("DELETE FROM partners WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        expect_row(r)
    }
}

/// Rows per multi-row audit insert (6 parameters each: well under SQLite's and
/// PostgreSQL's limits).
const AUDIT_ROWS_PER_INSERT: usize = 200;

/// An account's columns, as a literal (so statements built with it are literals too).
macro_rules! account_cols {
    () => {
        "sid, partner_id, parent_sid, friendly_name, status, limits, auth_token_hash, created_at"
    };
}

const ACCOUNT_COLS: &str = account_cols!();

/// The conditional statements of [`AccountStore::change_account`]: one column each, never
/// on a closed account.
const SET_STATUS: &str = concat!(
    "UPDATE accounts SET status = $2 WHERE sid = $1 AND status <> 'closed' RETURNING ",
    account_cols!()
);
const SET_STATUS_FROM: &str = concat!(
    "UPDATE accounts SET status = $2 WHERE sid = $1 AND status = $3 AND status <> 'closed' RETURNING ",
    account_cols!()
);
const SET_AUTH_TOKEN: &str = concat!(
    "UPDATE accounts SET auth_token_hash = $2 WHERE sid = $1 AND status <> 'closed' RETURNING ",
    account_cols!()
);
const SET_NAME: &str = concat!(
    "UPDATE accounts SET friendly_name = $2 WHERE sid = $1 AND status <> 'closed' RETURNING ",
    account_cols!()
);
const SET_LIMITS: &str = concat!(
    "UPDATE accounts SET limits = $2 WHERE sid = $1 AND status <> 'closed' RETURNING ",
    account_cols!()
);

fn account_from(r: &AnyRow) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        sid: text_col(r, "sid")?,
        partner_id: opt_text_col(r, "partner_id")?,
        parent_sid: opt_text_col(r, "parent_sid")?,
        friendly_name: col(r, "friendly_name")?,
        status: text_col(r, "status")?,
        limits: json_col(r, "limits")?,
        auth_token_hash: col(r, "auth_token_hash")?,
        created_at: col(r, "created_at")?,
    })
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn insert_account(&self, a: &AccountRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!(
            "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(a.sid.as_str())
            .bind(a.partner_id.as_deref())
            .bind(a.parent_sid.as_deref())
            .bind(&a.friendly_name)
            .bind(a.status.as_str())
            .bind(to_json(&a.limits)?)
            .bind(&a.auth_token_hash)
            .bind(a.created_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_account(&self, sid: &str) -> StoreResult<AccountRecord> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE sid = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(sid)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        account_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn update_account(&self, a: &AccountRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("UPDATE accounts SET friendly_name = $2, status = $3, limits = $4, auth_token_hash = $5 WHERE sid = $1")
            .bind(a.sid.as_str())
            .bind(&a.friendly_name)
            .bind(a.status.as_str())
            .bind(to_json(&a.limits)?)
            .bind(&a.auth_token_hash)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        expect_row(r)
    }

    async fn list_accounts(
        &self,
        partner_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<AccountRecord>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE partner_id = $1 AND sid > $2 ORDER BY sid LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(partner_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(account_from).collect()
    }

    async fn change_account(
        &self,
        sid: &str,
        change: AccountChange<'_>,
    ) -> StoreResult<Option<AccountRecord>> {
        let q = match change {
            AccountChange::Status { from: None, to } => {
                sqlx::query(SET_STATUS).bind(sid).bind(to.as_str())
            }
            AccountChange::Status { from: Some(f), to } => sqlx::query(SET_STATUS_FROM)
                .bind(sid)
                .bind(to.as_str())
                .bind(f.as_str()),
            AccountChange::AuthTokenHash(h) => sqlx::query(SET_AUTH_TOKEN).bind(sid).bind(h),
            AccountChange::FriendlyName(n) => sqlx::query(SET_NAME).bind(sid).bind(n),
            AccountChange::Limits(l) => sqlx::query(SET_LIMITS).bind(sid).bind(to_json(l)?),
        };
        let _gate = self.write_gate().await;
        let row = q.fetch_optional(self.pool()).await.map_err(map_err)?;
        row.as_ref().map(account_from).transpose()
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record(&self, e: &AuditEvent) -> StoreResult<()> {
        self.record_many(std::slice::from_ref(e)).await
    }

    async fn record_many(&self, es: &[AuditEvent]) -> StoreResult<()> {
        for chunk in es.chunks(AUDIT_ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO audit_log (at, actor, action, subject, outcome, detail) VALUES ",
            );
            // SQLite looks numbered parameters up by name, in time growing with their
            // number (quadratic over a long statement); plain `?` binds by position.
            let sqlite = self.backend() == Backend::Sqlite;
            for i in 0..chunk.len() {
                sql.push_str(if i > 0 { ", (" } else { "(" });
                for k in 1..=6 {
                    if k > 1 {
                        sql.push_str(", ");
                    }
                    if sqlite {
                        sql.push('?');
                    } else {
                        sql.push_str(&format!("${}", i * 6 + k));
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.at)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.subject)
                    .bind(&e.outcome)
                    .bind(&e.detail);
            }
            let _gate = self.write_gate().await;
            q.execute(self.pool()).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn events_for(&self, subject: &str, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT at, actor, action, subject, outcome, detail FROM audit_log WHERE subject = $1 ORDER BY id DESC LIMIT $2")
            .bind(subject)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: col(r, "at")?,
                    actor: col(r, "actor")?,
                    action: col(r, "action")?,
                    subject: col(r, "subject")?,
                    outcome: col(r, "outcome")?,
                    detail: col(r, "detail")?,
                })
            })
            .collect()
    }
}
