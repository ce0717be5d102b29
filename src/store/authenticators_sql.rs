//! A user's authenticators beyond the password, and their SQL: the TOTP credential
//! (RFC 6238), recovery codes and passkeys (WebAuthn). Every single use is a conditional
//! `UPDATE` (house rule 9): a TOTP time step is accepted once (`last_step` only rises),
//! a recovery code is spent once (`used_at IS NULL`), and a passkey's signature counter
//! only moves forward, whichever node answers.

use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::outbox_sql;
use super::sql::{SqlStore, col, map_err};
use super::{OutboxEvent, StoreResult};
use crate::clock::Timestamp;

/// A user's TOTP credential.
#[derive(Debug, Clone, PartialEq)]
pub struct TotpRecord {
    pub user_id: String,
    /// The shared secret, sealed under the key-encryption key (AAD: the user id).
    pub sealed_secret: Vec<u8>,
    pub created_at: Timestamp,
    /// The latest time step whose code was accepted.
    pub last_step: i64,
}

/// One passkey of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRecord {
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    pub user_id: String,
    /// The WebAuthn user handle (a UUID, the same for all of a user's passkeys).
    pub user_handle: String,
    /// The user's name for it.
    pub name: String,
    /// The credential as webauthn-rs serialises it (public key, counter, flags).
    pub credential: String,
    pub counter: i64,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[async_trait]
pub trait TotpStore: Send + Sync {
    /// Stores the user's credential, replacing any earlier one.
    async fn put_totp(&self, t: &TotpRecord) -> StoreResult<()>;
    async fn get_totp(&self, user_id: &str) -> StoreResult<TotpRecord>;
    /// Accepts time step `step` for the user if it is later than every step accepted
    /// before: `true` for the one caller that raised it.
    async fn advance_totp(&self, user_id: &str, step: i64) -> StoreResult<bool>;
    /// `true` if there was one.
    async fn delete_totp(&self, user_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait RecoveryCodeStore: Send + Sync {
    /// Replaces the user's codes with `hashes` (a new set; the old ones stop at once).
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Spends the code hashing to `hash` if it is unspent, queueing `notice` in the same
    /// transaction: `true` for the one caller that spent it.
    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: Timestamp,
        notice: Option<&OutboxEvent>,
    ) -> StoreResult<bool>;
    /// Unspent codes the user has left.
    async fn recovery_codes_left(&self, user_id: &str) -> StoreResult<i64>;
    async fn delete_recovery_codes(&self, user_id: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// A credential id registered twice (to anyone) is `Conflict`.
    async fn insert_passkey(&self, k: &PasskeyRecord) -> StoreResult<()>;
    async fn get_passkey(&self, credential_id: &str) -> StoreResult<PasskeyRecord>;
    /// The user's passkeys, oldest first.
    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;
    /// Records a use: the new credential state and counter, if the counter moved forward
    /// (or both are 0: authenticators without a counter). `false`: another use with a
    /// counter as high was recorded first (a cloned authenticator, or a replay).
    async fn use_passkey(
        &self,
        credential_id: &str,
        credential: &str,
        counter: i64,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// `true` if the user had it.
    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool>;
}

const PASSKEY_COLUMNS: &str =
    "credential_id, user_id, user_handle, name, credential, counter, created_at, last_used_at";

fn passkey_from(r: &AnyRow) -> StoreResult<PasskeyRecord> {
    Ok(PasskeyRecord {
        credential_id: col(r, "credential_id")?,
        user_id: col(r, "user_id")?,
        user_handle: col(r, "user_handle")?,
        name: col(r, "name")?,
        credential: col(r, "credential")?,
        counter: col(r, "counter")?,
        created_at: col(r, "created_at")?,
        last_used_at: col(r, "last_used_at")?,
    })
}

#[async_trait]
impl TotpStore for SqlStore {
    async fn put_totp(&self, t: &TotpRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, sealed_secret, created_at, last_step) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             sealed_secret = excluded.sealed_secret, created_at = excluded.created_at, \
             last_step = excluded.last_step",
        )
        .bind(&t.user_id)
        .bind(t.sealed_secret.clone())
        .bind(t.created_at)
        .bind(t.last_step)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_totp(&self, user_id: &str) -> StoreResult<TotpRecord> {
        let r = sqlx::query(
            "SELECT user_id, sealed_secret, created_at, last_step FROM totp_credentials \
             WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        Ok(TotpRecord {
            user_id: col(&r, "user_id")?,
            sealed_secret: col(&r, "sealed_secret")?,
            created_at: col(&r, "created_at")?,
            last_step: col(&r, "last_step")?,
        })
    }

    async fn advance_totp(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE totp_credentials SET last_step = $2 WHERE user_id = $1 AND last_step < $2",
        )
        .bind(user_id)
        .bind(step)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_totp(&self, user_id: &str) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() > 0)
    }
}

#[async_trait]
impl RecoveryCodeStore for SqlStore {
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: Timestamp,
    ) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) \
                 VALUES ($1, $2, $3, NULL)",
            )
            .bind(user_id)
            .bind(h)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: Timestamp,
        notice: Option<&OutboxEvent>,
    ) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let spent = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 \
             AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if spent != 1 {
            return Ok(false);
        }
        if let Some(ev) = notice {
            outbox_sql::insert(ev)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn recovery_codes_left(&self, user_id: &str) -> StoreResult<i64> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        col(&r, "n")
    }

    async fn delete_recovery_codes(&self, user_id: &str) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn insert_passkey(&self, k: &PasskeyRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let q = format!(
            "INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(&k.credential_id)
            .bind(&k.user_id)
            .bind(&k.user_handle)
            .bind(&k.name)
            .bind(&k.credential)
            .bind(k.counter)
            .bind(k.created_at)
            .bind(k.last_used_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_passkey(&self, credential_id: &str) -> StoreResult<PasskeyRecord> {
        // Only a passkey whose user exists (an account deleted before its passkeys were
        // deleted with it signs nobody in).
        let q = format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1 \
             AND EXISTS (SELECT 1 FROM users u WHERE u.sub = passkeys.user_id)"
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(credential_id)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        passkey_from(&r)
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let q = format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 \
             ORDER BY created_at, credential_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(passkey_from).collect()
    }

    async fn use_passkey(
        &self,
        credential_id: &str,
        credential: &str,
        counter: i64,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE passkeys SET credential = $2, counter = $3, last_used_at = $4 \
             WHERE credential_id = $1 AND (counter < $3 OR (counter = 0 AND $3 = 0))",
        )
        .bind(credential_id)
        .bind(credential)
        .bind(counter)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
            .bind(user_id)
            .bind(credential_id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() > 0)
    }
}
