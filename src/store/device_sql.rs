//! Device authorizations (RFC 8628 §3.2–§3.5) and their SQL: one row per device code,
//! keyed by the code's hash (the code itself is never stored), with the user code's hash
//! unique among live rows. A row moves `pending` → `approved` (who, what, how) or
//! `denied`, and `approved` → `redeemed`; every move is one conditional `UPDATE`, so of
//! racing approvals, denials or redemptions — on any number of nodes — exactly one
//! wins. Rows past their expiry are deleted by the upkeep pass (`purge_expired`).

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, map_err};
use super::{StoreError, StoreResult};
use crate::clock::Timestamp;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user (RFC 8628 `authorization_pending`).
    Pending,
    /// The user approved; the device may redeem it once.
    Approved,
    /// The user denied (`access_denied`).
    Denied,
    /// Redeemed for tokens: never again.
    Redeemed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "denied" => Ok(Self::Denied),
            "redeemed" => Ok(Self::Redeemed),
            other => Err(StoreError::Corrupt(format!("device status {other}"))),
        }
    }
}

/// What the user approved: who, when and how they authenticated, the scope granted, and
/// what the tokens will carry (`grant`: the engine's JSON, opaque here).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceApproval {
    pub sub: String,
    pub scope: String,
    pub auth_time: Timestamp,
    pub acr: Option<String>,
    pub grant: String,
}

/// A device authorization request and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAuthorization {
    /// SHA-256 hex of the device code.
    pub device_code_hash: String,
    /// SHA-256 hex of the normalized user code.
    pub user_code_hash: String,
    pub client_id: String,
    /// The scope asked for.
    pub scope: String,
    /// The validated request as the engine keeps it (JSON, opaque here).
    pub request: String,
    /// The polling interval given to the client (seconds).
    pub poll_interval: i64,
    pub status: DeviceStatus,
    /// Set once approved (kept when redeemed).
    pub approval: Option<DeviceApproval>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new pending authorization; `Conflict` when its user code (or device
    /// code) is taken by a row not yet purged.
    async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()>;
    /// The authorization a device code's hash names; `NotFound` if none.
    async fn device_by_code(&self, device_code_hash: &str) -> StoreResult<DeviceAuthorization>;
    /// The authorization a user code's hash names; `NotFound` if none.
    async fn device_by_user_code(&self, user_code_hash: &str) -> StoreResult<DeviceAuthorization>;
    /// `pending` → `approved` with `a`, if still pending and unexpired at `now`; `false`
    /// (nothing written) otherwise.
    async fn approve_device(
        &self,
        device_code_hash: &str,
        a: &DeviceApproval,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// `pending` → `denied`, if still pending and unexpired at `now`.
    async fn deny_device(&self, device_code_hash: &str, now: Timestamp) -> StoreResult<bool>;
    /// `approved` → `redeemed` for `client_id`, if unexpired at `now`: the authorization
    /// for exactly one caller, `None` for every other.
    async fn redeem_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceAuthorization>>;
}

const COLUMNS: &str = "device_code_hash, user_code_hash, client_id, scope, request, \
    poll_interval, status, sub, granted_scope, auth_time, acr, grant_data, created_at, expires_at";

fn device_from(r: &AnyRow) -> StoreResult<DeviceAuthorization> {
    let status = DeviceStatus::parse(&col::<String>(r, "status")?)?;
    let sub: Option<String> = col(r, "sub")?;
    let approval = match sub {
        Some(sub) => Some(DeviceApproval {
            sub,
            scope: col::<Option<String>>(r, "granted_scope")?.unwrap_or_default(),
            auth_time: col::<Option<i64>>(r, "auth_time")?.unwrap_or_default(),
            acr: col(r, "acr")?,
            grant: col::<Option<String>>(r, "grant_data")?.unwrap_or_default(),
        }),
        None => None,
    };
    if matches!(status, DeviceStatus::Approved | DeviceStatus::Redeemed) && approval.is_none() {
        return Err(StoreError::Corrupt(
            "an approved device row without its user".into(),
        ));
    }
    Ok(DeviceAuthorization {
        device_code_hash: col(r, "device_code_hash")?,
        user_code_hash: col(r, "user_code_hash")?,
        client_id: col(r, "client_id")?,
        scope: col(r, "scope")?,
        request: col(r, "request")?,
        poll_interval: col(r, "poll_interval")?,
        status,
        approval,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
    })
}

impl SqlStore {
    async fn device_where(&self, column: &str, value: &str) -> StoreResult<DeviceAuthorization> {
        let q = format!("SELECT {COLUMNS} FROM device_authorizations WHERE {column} = $1");
        let row = sqlx::query(AssertSqlSafe(q))
            .bind(value)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        device_from(&row)
    }
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO device_authorizations (device_code_hash, user_code_hash, client_id, \
             scope, request, poll_interval, status, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&d.device_code_hash)
        .bind(&d.user_code_hash)
        .bind(&d.client_id)
        .bind(&d.scope)
        .bind(&d.request)
        .bind(d.poll_interval)
        .bind(d.status.as_str())
        .bind(d.created_at)
        .bind(d.expires_at)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn device_by_code(&self, device_code_hash: &str) -> StoreResult<DeviceAuthorization> {
        self.device_where("device_code_hash", device_code_hash)
            .await
    }

    async fn device_by_user_code(&self, user_code_hash: &str) -> StoreResult<DeviceAuthorization> {
        self.device_where("user_code_hash", user_code_hash).await
    }

    async fn approve_device(
        &self,
        device_code_hash: &str,
        a: &DeviceApproval,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE device_authorizations SET status = 'approved', sub = $2, \
             granted_scope = $3, auth_time = $4, acr = $5, grant_data = $6, decided_at = $7 \
             WHERE device_code_hash = $1 AND status = 'pending' AND expires_at > $7",
        )
        .bind(device_code_hash)
        .bind(&a.sub)
        .bind(&a.scope)
        .bind(a.auth_time)
        .bind(a.acr.as_deref())
        .bind(&a.grant)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn deny_device(&self, device_code_hash: &str, now: Timestamp) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE device_authorizations SET status = 'denied', decided_at = $2 \
             WHERE device_code_hash = $1 AND status = 'pending' AND expires_at > $2",
        )
        .bind(device_code_hash)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn redeem_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let _gate = self.write_gate().await;
        let q = format!(
            "UPDATE device_authorizations SET status = 'redeemed', redeemed_at = $3 \
             WHERE device_code_hash = $1 AND client_id = $2 AND status = 'approved' \
             AND expires_at > $3 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(q))
            .bind(device_code_hash)
            .bind(client_id)
            .bind(now)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.as_ref().map(device_from).transpose()
    }
}
