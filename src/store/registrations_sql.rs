//! Dynamic client registration's durable state (RFC 7591 §3, RFC 7592) and its SQL:
//! initial access tokens minted by the admin API, and the registrations of clients that
//! registered themselves (their registration access token's hash, the policy they
//! registered under, the software statement they sent). Tokens are kept as SHA-256 hex
//! only. A client and its registration are written in one transaction; an update
//! rotates the registration access token with a conditional `UPDATE` on the old hash, so
//! of two updates racing with one token exactly one wins.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, expect_row, json_col, map_err, to_json};
use super::{ClientId, ClientRecord, StoreError, StoreResult};
use crate::clock::Timestamp;
use crate::scope::Scope;

/// What a client registering under it may ask for (RFC 7591 §3: the initial access
/// token's policy, or the open policy). Checked by `admin::registration`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegistrationPolicy {
    /// The grant types a client may register.
    pub grant_types: Vec<String>,
    /// The scope values a client may register; unset: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Patterns every redirect URI must match; empty: any valid redirect URI.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// An initial access token (RFC 7591 §3), kept by hash.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialAccessToken {
    pub id: String,
    /// SHA-256 hex of the token.
    pub token_hash: String,
    pub policy: RegistrationPolicy,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl InitialAccessToken {
    /// Whether the token may be used at `now`.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A client's own registration (RFC 7592 §3): how it manages itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub client_id: ClientId,
    /// SHA-256 hex of the registration access token.
    pub token_hash: String,
    /// The policy the client registered under, enforced again on update.
    pub policy: RegistrationPolicy,
    /// The initial access token it registered with, if any.
    pub initial_token_id: Option<String>,
    /// The software statement it sent (RFC 7591 §2.3), returned unmodified.
    pub software_statement: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn insert_initial_token(&self, t: &InitialAccessToken) -> StoreResult<()>;
    /// The token whose hash is `token_hash`, revoked or expired ones included.
    async fn initial_token_by_hash(&self, token_hash: &str) -> StoreResult<InitialAccessToken>;
    /// Every token, newest first.
    async fn list_initial_tokens(&self) -> StoreResult<Vec<InitialAccessToken>>;
    /// Revokes a token (`NotFound` if there is none; revoking twice keeps the first time).
    async fn revoke_initial_token(&self, id: &str, now: Timestamp) -> StoreResult<()>;
    /// Stores a new client and its registration in one transaction.
    async fn register_client(&self, c: &ClientRecord, r: &Registration) -> StoreResult<()>;
    async fn registration(&self, client_id: &str) -> StoreResult<Registration>;
    /// Replaces the client (and the software statement it registered with) and moves its
    /// registration access token from `old_hash` to `new_hash`, in one transaction;
    /// `false` (nothing written) when the registration no longer holds `old_hash`
    /// (another update won) or is gone.
    async fn update_registered(
        &self,
        c: &ClientRecord,
        statement: Option<&str>,
        old_hash: &str,
        new_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

const TOKEN_COLUMNS: &str =
    "id, token_hash, policy, description, created_at, expires_at, revoked_at";
const REGISTRATION_COLUMNS: &str = "client_id, token_hash, policy, initial_token_id, \
    software_statement, created_at, updated_at";

fn token_from(r: &AnyRow) -> StoreResult<InitialAccessToken> {
    Ok(InitialAccessToken {
        id: col(r, "id")?,
        token_hash: col(r, "token_hash")?,
        policy: json_col(r, "policy")?,
        description: col(r, "description")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        revoked_at: col(r, "revoked_at")?,
    })
}

fn registration_from(r: &AnyRow) -> StoreResult<Registration> {
    Ok(Registration {
        client_id: super::sql::text_col(r, "client_id")?,
        token_hash: col(r, "token_hash")?,
        policy: json_col(r, "policy")?,
        initial_token_id: col(r, "initial_token_id")?,
        software_statement: col(r, "software_statement")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

#[async_trait]
impl RegistrationStore for SqlStore {
    async fn insert_initial_token(&self, t: &InitialAccessToken) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO initial_access_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(&t.id)
            .bind(&t.token_hash)
            .bind(to_json(&t.policy)?)
            .bind(t.description.as_deref())
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.revoked_at);
        self.exec(q).await.map(|_| ())
    }

    async fn initial_token_by_hash(&self, token_hash: &str) -> StoreResult<InitialAccessToken> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM initial_access_tokens WHERE token_hash = $1");
        token_from(
            &self
                .one(sqlx::query(AssertSqlSafe(sql)).bind(token_hash))
                .await?,
        )
    }

    async fn list_initial_tokens(&self) -> StoreResult<Vec<InitialAccessToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM initial_access_tokens ORDER BY created_at DESC, id"
        );
        let rows = self.all(sqlx::query(AssertSqlSafe(sql))).await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_initial_token(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE initial_access_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        );
        expect_row(self.exec(q.bind(id).bind(now)).await?)
    }

    async fn register_client(&self, c: &ClientRecord, r: &Registration) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        super::sql::client_insert(c)?
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let sql = format!(
            "INSERT INTO client_registrations ({REGISTRATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(r.client_id.as_str())
            .bind(&r.token_hash)
            .bind(to_json(&r.policy)?)
            .bind(r.initial_token_id.as_deref())
            .bind(r.software_statement.as_deref())
            .bind(r.created_at)
            .bind(r.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn registration(&self, client_id: &str) -> StoreResult<Registration> {
        let sql =
            format!("SELECT {REGISTRATION_COLUMNS} FROM client_registrations WHERE client_id = $1");
        registration_from(
            &self
                .one(sqlx::query(AssertSqlSafe(sql)).bind(client_id))
                .await?,
        )
    }

    async fn update_registered(
        &self,
        c: &ClientRecord,
        statement: Option<&str>,
        old_hash: &str,
        new_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE client_registrations SET token_hash = $3, updated_at = $4, \
             software_statement = $5 WHERE client_id = $1 AND token_hash = $2",
        )
        .bind(c.client_id.as_str())
        .bind(old_hash)
        .bind(new_hash)
        .bind(now)
        .bind(statement)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if moved.rows_affected() == 0 {
            // Dropping the transaction rolls it back; nothing was written.
            return Ok(false);
        }
        let updated = super::sql::client_update(c)?
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}
