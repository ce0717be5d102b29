//! SQL for scoped API keys: several credentials per account, each bound to its own
//! permission set. Only the SHA-256 hex of a key's secret is stored.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, expect_row, map_err};
use super::{StoreError, StoreResult};
use crate::clock::Timestamp;

/// A scoped API key of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    /// `SK` + 32 lowercase hex.
    pub sid: String,
    /// The account the key acts as.
    pub account_sid: String,
    pub friendly_name: String,
    /// SHA-256 hex of the secret (`crate::util::secret_hash`).
    pub secret_hash: String,
    /// Registry permission names.
    pub permissions: crate::scope::Scope,
    pub status: super::GrantStatus,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// `Conflict("api_keys")` when the SID exists.
    async fn insert_api_key(&self, k: &ApiKeyRecord) -> StoreResult<()>;
    async fn get_api_key(&self, sid: &str) -> StoreResult<ApiKeyRecord>;
    /// An account's keys (active and revoked), oldest first.
    async fn list_api_keys(&self, account_sid: &str) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Revokes key `sid` of `account_sid` (a revoked key stays revoked, with its first
    /// `revoked_at`); `NotFound` unless that account has it.
    async fn revoke_api_key(&self, account_sid: &str, sid: &str, now: Timestamp)
    -> StoreResult<()>;
}

const COLS: &str =
    "sid, account_sid, friendly_name, secret_hash, permissions, status, created_at, revoked_at";

fn key_from(r: &AnyRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        sid: col(r, "sid")?,
        account_sid: col(r, "account_sid")?,
        friendly_name: col(r, "friendly_name")?,
        secret_hash: col(r, "secret_hash")?,
        permissions: super::sql::text_col(r, "permissions")?,
        status: super::sql::text_col(r, "status")?,
        created_at: col(r, "created_at")?,
        revoked_at: col(r, "revoked_at")?,
    })
}

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn insert_api_key(&self, k: &ApiKeyRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!("INSERT INTO api_keys ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(&k.sid)
            .bind(&k.account_sid)
            .bind(&k.friendly_name)
            .bind(&k.secret_hash)
            .bind(k.permissions.to_string())
            .bind(k.status.as_str())
            .bind(k.created_at)
            .bind(k.revoked_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_api_key(&self, sid: &str) -> StoreResult<ApiKeyRecord> {
        let sql = format!("SELECT {COLS} FROM api_keys WHERE sid = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(sid)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        key_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn list_api_keys(&self, account_sid: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql =
            format!("SELECT {COLS} FROM api_keys WHERE account_sid = $1 ORDER BY created_at, sid");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_sid)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(key_from).collect()
    }

    async fn revoke_api_key(
        &self,
        account_sid: &str,
        sid: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, $3) \
             WHERE sid = $1 AND account_sid = $2",
        )
        .bind(sid)
        .bind(account_sid)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        expect_row(r)
    }
}
