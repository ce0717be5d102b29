//! The single-use links Surety e-mails to users (e-mail verification, password reset)
//! and the user changes they make, and their SQL. A link is stored by the SHA-256 of its
//! random part, bound to the user and to the address it was sent to. Redeeming one is one
//! transaction: the conditional `UPDATE … WHERE consumed_at IS NULL AND expires_at > now
//! RETURNING` picks the one winner among racing redemptions (house rule 9), and only the
//! winner changes the user — and only while the user's address is still the one the link
//! went to, so a link outlives no change of address. Changing the password or the address
//! voids the links still outstanding.

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use super::sql::{SqlStore, USER_SELECT, col, map_err, text_col, user_from};
use super::{LinkPurpose, OutboxEvent, StoreError, StoreResult, UserRecord, outbox_sql};
use crate::clock::Timestamp;

/// A link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    /// SHA-256 hex of the link's random part.
    pub token_hash: String,
    pub purpose: LinkPurpose,
    pub sub: String,
    /// The address the link was sent to (the user's address then, as stored).
    pub email: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub consumed_at: Option<Timestamp>,
}

/// Users a password reset may be asked for by one identifier, at most this many.
pub const MAX_RESET_CANDIDATES: i64 = 5;

#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores `link` and queues `email` (the message carrying it), in one transaction.
    async fn issue_link(&self, link: &LinkRecord, email: &OutboxEvent) -> StoreResult<()>;
    /// The link, if neither used nor expired at `now` (`NotFound` otherwise). Only for
    /// showing the page a link opens; redeeming is [`LinkStore::redeem_verification`] or
    /// [`LinkStore::redeem_reset`].
    async fn live_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: Timestamp,
    ) -> StoreResult<LinkRecord>;
    /// Uses a verification link: marks the user's address verified at `now`. `NotFound`,
    /// with nothing changed, when the link is unknown, used, expired, or its address is
    /// no longer the user's.
    async fn redeem_verification(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<LinkRecord>;
    /// Uses a reset link: sets the password hash, marks the address verified (the link
    /// reached it) and voids the user's other reset links. `NotFound` as for
    /// [`LinkStore::redeem_verification`].
    async fn redeem_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<LinkRecord>;
    /// Replaces the password hash `old` of `sub` by `new` and voids the user's reset
    /// links; `false`, with nothing changed, if the hash is no longer `old` (a racing
    /// change or reset won).
    async fn change_password(
        &self,
        sub: &str,
        old: &str,
        new: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Sets the address of `sub` (not verified) and voids every outstanding link of the
    /// user; `NotFound` if there is no such user.
    async fn change_email(&self, sub: &str, email: &str, now: Timestamp) -> StoreResult<()>;
    /// The users a reset asked for by `login` may be for: the one with that username and
    /// those whose address is `login` (any case), at most [`MAX_RESET_CANDIDATES`].
    async fn reset_candidates(&self, login: &str) -> StoreResult<Vec<UserRecord>>;
}

const COLUMNS: &str = "token_hash, purpose, sub, email, created_at, expires_at, consumed_at";

fn link_from(r: &AnyRow) -> StoreResult<LinkRecord> {
    Ok(LinkRecord {
        token_hash: col(r, "token_hash")?,
        purpose: text_col(r, "purpose")?,
        sub: col(r, "sub")?,
        email: col(r, "email")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        consumed_at: col(r, "consumed_at")?,
    })
}

/// Upkeep: deletes links expired at `now` (used or not).
pub(super) async fn purge_expired(s: &SqlStore, now: Timestamp) -> StoreResult<u64> {
    let _gate = s.write_gate().await;
    let r = sqlx::query("DELETE FROM account_links WHERE expires_at <= $1")
        .bind(now)
        .execute(s.pool())
        .await
        .map_err(map_err)?;
    Ok(r.rows_affected())
}

/// Marks the link used, if it is live: the one winner gets it back.
async fn consume(
    tx: &mut Transaction<'static, Any>,
    token_hash: &str,
    purpose: LinkPurpose,
    now: Timestamp,
) -> StoreResult<LinkRecord> {
    let q = format!(
        "UPDATE account_links SET consumed_at = $3 WHERE token_hash = $1 AND purpose = $2 \
         AND consumed_at IS NULL AND expires_at > $3 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?;
    row.as_ref()
        .map(link_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Voids the user's outstanding links (of one purpose, or all).
async fn void_links(
    tx: &mut Transaction<'static, Any>,
    sub: &str,
    purpose: Option<LinkPurpose>,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE account_links SET consumed_at = $2 WHERE sub = $1 AND consumed_at IS NULL \
         AND ($3 = '' OR purpose = $3)",
    )
    .bind(sub)
    .bind(now)
    .bind(purpose.map_or("", LinkPurpose::as_str))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Runs `update` (a change of user `sub`) in `tx`; if it changed a row, voids the user's
/// outstanding links (of `void`, or all) and commits, else rolls back. Whether it changed.
async fn change_user(
    mut tx: Transaction<'static, Any>,
    update: Query<'_, Any, AnyArguments>,
    sub: &str,
    void: Option<LinkPurpose>,
    now: Timestamp,
) -> StoreResult<bool> {
    let changed = update.execute(&mut *tx).await.map_err(map_err)?;
    if changed.rows_affected() == 0 {
        tx.rollback().await.map_err(map_err)?;
        return Ok(false);
    }
    void_links(&mut tx, sub, void, now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(true)
}

/// The used link, if the change it made happened; `NotFound` otherwise.
fn used(changed: bool, link: LinkRecord) -> StoreResult<LinkRecord> {
    if changed {
        Ok(link)
    } else {
        Err(StoreError::NotFound)
    }
}

#[async_trait]
impl LinkStore for SqlStore {
    async fn issue_link(&self, link: &LinkRecord, email: &OutboxEvent) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        let q =
            format!("INSERT INTO account_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(&link.token_hash)
            .bind(link.purpose.as_str())
            .bind(&link.sub)
            .bind(&link.email)
            .bind(link.created_at)
            .bind(link.expires_at)
            .bind(link.consumed_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        outbox_sql::insert(email)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn live_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: Timestamp,
    ) -> StoreResult<LinkRecord> {
        let q = format!(
            "SELECT {COLUMNS} FROM account_links WHERE token_hash = $1 AND purpose = $2 \
             AND consumed_at IS NULL AND expires_at > $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(now)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        link_from(&row)
    }

    async fn redeem_verification(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<LinkRecord> {
        let (_gate, mut tx) = self.begin_write().await?;
        let link = consume(&mut tx, token_hash, LinkPurpose::VerifyEmail, now).await?;
        let q =
            sqlx::query("UPDATE users SET email_verified_at = $3 WHERE sub = $1 AND email = $2")
                .bind(&link.sub)
                .bind(&link.email)
                .bind(now);
        let changed = change_user(tx, q, &link.sub, Some(LinkPurpose::VerifyEmail), now).await?;
        used(changed, link)
    }

    async fn redeem_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<LinkRecord> {
        let (_gate, mut tx) = self.begin_write().await?;
        let link = consume(&mut tx, token_hash, LinkPurpose::ResetPassword, now).await?;
        let q = sqlx::query(
            "UPDATE users SET password_hash = $3, \
             email_verified_at = COALESCE(email_verified_at, $4) WHERE sub = $1 AND email = $2",
        )
        .bind(&link.sub)
        .bind(&link.email)
        .bind(password_hash)
        .bind(now);
        let changed = change_user(tx, q, &link.sub, Some(LinkPurpose::ResetPassword), now).await?;
        used(changed, link)
    }

    async fn change_password(
        &self,
        sub: &str,
        old: &str,
        new: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let (_gate, tx) = self.begin_write().await?;
        let q = sqlx::query(
            "UPDATE users SET password_hash = $3 WHERE sub = $1 AND password_hash = $2",
        )
        .bind(sub)
        .bind(old)
        .bind(new);
        change_user(tx, q, sub, Some(LinkPurpose::ResetPassword), now).await
    }

    async fn change_email(&self, sub: &str, email: &str, now: Timestamp) -> StoreResult<()> {
        let (_gate, tx) = self.begin_write().await?;
        let q = sqlx::query("UPDATE users SET email = $2, email_verified_at = NULL WHERE sub = $1")
            .bind(sub)
            .bind(email);
        if change_user(tx, q, sub, None, now).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn reset_candidates(&self, login: &str) -> StoreResult<Vec<UserRecord>> {
        let q = format!(
            "{USER_SELECT} WHERE username = $1 OR lower(email) = $2 ORDER BY created_at, sub \
             LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(login)
            .bind(login.to_lowercase())
            .bind(MAX_RESET_CANDIDATES)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(user_from).collect()
    }
}
