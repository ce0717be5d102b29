//! SQL for developer apps, users' owner accounts and app authorizations.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::grants::revoke_client_tokens;
use super::sql::{SqlStore, col, json_col, map_err, text_col, to_json};
use super::{
    AppRecord, AppStore, AuthorizationRecord, ClientRecord, Revocation, StoreError, StoreResult,
};
use crate::clock::Timestamp;

const APP_COLS: &str = "client_id, developer_sid, display_name, homepage, logo_url, permissions, usage_limits, deauthorize_uri, webhook_secret_sealed, created_at";

fn app_from(r: &AnyRow) -> StoreResult<AppRecord> {
    Ok(AppRecord {
        client_id: text_col(r, "client_id")?,
        developer_sid: text_col(r, "developer_sid")?,
        display_name: col(r, "display_name")?,
        homepage: col(r, "homepage")?,
        logo_url: col(r, "logo_url")?,
        permissions: json_col(r, "permissions")?,
        usage_limits: json_col(r, "usage_limits")?,
        deauthorize_uri: col(r, "deauthorize_uri")?,
        webhook_secret_sealed: col(r, "webhook_secret_sealed")?,
        created_at: col(r, "created_at")?,
    })
}

const AUTH_COLS: &str = "parent_sid, client_id, sub, subaccount_sid, permissions, usage_limits, status, created_at, updated_at, declined";

fn auth_from(r: &AnyRow) -> StoreResult<AuthorizationRecord> {
    Ok(AuthorizationRecord {
        parent_sid: text_col(r, "parent_sid")?,
        client_id: text_col(r, "client_id")?,
        sub: col(r, "sub")?,
        subaccount_sid: text_col(r, "subaccount_sid")?,
        permissions: text_col(r, "permissions")?,
        declined: text_col(r, "declined")?,
        usage_limits: json_col(r, "usage_limits")?,
        status: text_col(r, "status")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

#[async_trait]
impl AppStore for SqlStore {
    async fn get_app(&self, client_id: &str) -> StoreResult<AppRecord> {
        let sql = format!("SELECT {APP_COLS} FROM apps WHERE client_id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        app_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn list_apps(&self, developer_sid: &str) -> StoreResult<Vec<AppRecord>> {
        let sql = format!(
            "SELECT {APP_COLS} FROM apps WHERE developer_sid = $1 ORDER BY created_at, client_id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(developer_sid)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(app_from).collect()
    }

    async fn user_account(&self, sub: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT account_sid FROM user_accounts WHERE sub = $1")
            .bind(sub)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.map(|r| col(&r, "account_sid")).transpose()
    }

    async fn link_user_account(&self, sub: &str, account_sid: &str) -> StoreResult<String> {
        {
            let _gate = self.write_gate().await;
            sqlx::query("INSERT INTO user_accounts (sub, account_sid) VALUES ($1, $2) ON CONFLICT (sub) DO NOTHING")
                .bind(sub)
                .bind(account_sid)
                .execute(self.pool())
                .await
                .map_err(map_err)?;
        }
        self.user_account(sub).await?.ok_or(StoreError::NotFound)
    }

    async fn get_authorization(
        &self,
        parent_sid: &str,
        client_id: &str,
    ) -> StoreResult<Option<AuthorizationRecord>> {
        let sql = format!(
            "SELECT {AUTH_COLS} FROM app_authorizations WHERE parent_sid = $1 AND client_id = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(parent_sid)
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.as_ref().map(auth_from).transpose()
    }

    async fn put_authorization(&self, a: &AuthorizationRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!(
            "INSERT INTO app_authorizations ({AUTH_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (parent_sid, client_id) DO UPDATE SET sub = $3, subaccount_sid = $4, permissions = $5, \
             usage_limits = $6, status = $7, updated_at = $9, declined = $10"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(a.parent_sid.as_str())
            .bind(a.client_id.as_str())
            .bind(&a.sub)
            .bind(a.subaccount_sid.as_str())
            .bind(a.permissions.to_string())
            .bind(to_json(&a.usage_limits)?)
            .bind(a.status.as_str())
            .bind(a.created_at)
            .bind(a.updated_at)
            .bind(a.declined.to_string())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_authorizations(&self, parent_sid: &str) -> StoreResult<Vec<AuthorizationRecord>> {
        let sql = format!(
            "SELECT {AUTH_COLS} FROM app_authorizations WHERE parent_sid = $1 ORDER BY created_at, client_id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(parent_sid)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(auth_from).collect()
    }

    async fn revoke_authorization(&self, r: &Revocation) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let revoked = sqlx::query(
            "UPDATE app_authorizations SET status = 'revoked', updated_at = $3 \
             WHERE parent_sid = $1 AND client_id = $2 AND status = 'active'",
        )
        .bind(&r.parent_sid)
        .bind(r.client_id.as_str())
        .bind(r.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if revoked == 0 {
            // Dropping the transaction rolls it back; nothing was changed anyway.
            return Ok(false);
        }
        revoke_client_tokens(&mut tx, &r.client_id, &r.sub, r.at).await?;
        sqlx::query(
            "UPDATE accounts SET status = 'suspended' WHERE sid = $1 AND status = 'active'",
        )
        .bind(r.subaccount_sid.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(e) = &r.event {
            super::outbox_sql::insert(e)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn narrow_authorization(
        &self,
        a: &AuthorizationRecord,
        permissions: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let narrowed = sqlx::query(
            "UPDATE app_authorizations SET permissions = $3, updated_at = $4 \
             WHERE parent_sid = $1 AND client_id = $2 AND status = 'active'",
        )
        .bind(a.parent_sid.as_str())
        .bind(a.client_id.as_str())
        .bind(permissions)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if narrowed == 0 {
            return Ok(false);
        }
        revoke_client_tokens(&mut tx, &a.client_id, &a.sub, at).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn create_app(&self, client: &ClientRecord, a: &AppRecord) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, metadata, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(client.client_id.as_str())
        .bind(client.secret_hash.as_deref())
        .bind(to_json(&client.metadata)?)
        .bind(client.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let sql = format!(
            "INSERT INTO apps ({APP_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(a.client_id.as_str())
            .bind(a.developer_sid.as_str())
            .bind(&a.display_name)
            .bind(a.homepage.as_deref())
            .bind(a.logo_url.as_deref())
            .bind(to_json(&a.permissions)?)
            .bind(to_json(&a.usage_limits)?)
            .bind(a.deauthorize_uri.as_deref())
            .bind(a.webhook_secret_sealed.clone())
            .bind(a.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_app_and_client(&self, client_id: &str) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        let apps = sqlx::query("DELETE FROM apps WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if apps.rows_affected() == 0 {
            // Dropping the transaction rolls it back; nothing was deleted.
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}
