//! Browser sessions and the clients each signed in to (OpenID Connect Back-Channel Logout
//! 1.0 §2.1 `sid`, §2.7 what a logout revokes), and their SQL. The live session stays in
//! the ephemeral cache; a row here names its cache entry (`cache_key`, built from the
//! cookie's hash) so the session can be listed and ended from anywhere. Ending is one
//! transaction: the conditional `UPDATE … WHERE ended_at IS NULL` picks one winner among
//! racing ends, and only the winner revokes the grants and queues the logout tokens
//! ([`SessionEnd`]), so nothing is revoked without its notices and no notice is sent twice.

use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::outbox_sql;
use super::sql::grants::revoke_grant_in;
use super::sql::{SqlStore, col, map_err};
use super::{GrantRecord, OutboxEvent, StoreResult};
use crate::clock::Timestamp;

/// One browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session id (`sid` in ID and logout tokens).
    pub sid: String,
    pub sub: String,
    /// The ephemeral cache's key of the live session.
    pub cache_key: String,
    pub acr: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A grant a client received under a session (recorded when its code was issued).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionClient {
    pub sid: String,
    pub grant_id: String,
    pub client_id: String,
    pub sub: String,
    pub scope: crate::scope::Scope,
    /// The scope held `offline_access` (Back-Channel Logout §2.7).
    pub offline: bool,
    pub created_at: Timestamp,
}

/// What ending one session does, in one transaction.
#[derive(Debug, Clone)]
pub struct SessionEnd {
    pub sid: String,
    pub at: Timestamp,
    /// Grants to revoke with their refresh tokens (tombstones when never redeemed).
    pub revoke: Vec<GrantRecord>,
    /// Outbox events to queue (the logout tokens).
    pub events: Vec<OutboxEvent>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()>;
    /// Points a live session at a new cache entry (a re-authentication or step-up kept
    /// the session); `false` if it has ended or does not exist.
    async fn rekey_session(
        &self,
        sid: &str,
        cache_key: &str,
        acr: &str,
        expires_at: Timestamp,
    ) -> StoreResult<bool>;
    async fn get_session(&self, sid: &str) -> StoreResult<SessionRecord>;
    /// `sub`'s sessions neither ended nor expired at `now`, newest first, at most `limit`.
    async fn live_sessions(
        &self,
        sub: &str,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// The live sessions of an account: those whose subject is the account itself (a
    /// partner's portal session) or a user whose own account it is.
    async fn account_sessions(
        &self,
        account_sid: &str,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Records a grant issued under a session (a second record of it changes nothing).
    async fn record_client(&self, c: &SessionClient) -> StoreResult<()>;
    /// The grants issued under a session, oldest first.
    async fn session_clients(&self, sid: &str) -> StoreResult<Vec<SessionClient>>;
    /// The session a grant was issued under, if recorded.
    async fn sid_of_grant(&self, grant_id: &str) -> StoreResult<Option<String>>;
    /// Ends the session and applies `e`, if it has not ended yet: `true` for the one
    /// caller that ended it, `false` (nothing written) for every other.
    async fn end_session(&self, e: &SessionEnd) -> StoreResult<bool>;
}

const COLUMNS: &str = "sid, sub, cache_key, acr, created_at, expires_at, ended_at";
const CLIENT_COLUMNS: &str = "sid, grant_id, client_id, sub, scope, offline, created_at";

fn session_from(r: &AnyRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        sid: col(r, "sid")?,
        sub: col(r, "sub")?,
        cache_key: col(r, "cache_key")?,
        acr: col(r, "acr")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        ended_at: col(r, "ended_at")?,
    })
}

fn client_from(r: &AnyRow) -> StoreResult<SessionClient> {
    Ok(SessionClient {
        sid: col(r, "sid")?,
        grant_id: col(r, "grant_id")?,
        client_id: col(r, "client_id")?,
        sub: col(r, "sub")?,
        scope: super::sql::text_col(r, "scope")?,
        offline: col::<i64>(r, "offline")? != 0,
        created_at: col(r, "created_at")?,
    })
}

/// Upkeep: deletes sessions expired at `now` and what they recorded.
pub(super) async fn purge_expired(s: &SqlStore, now: Timestamp) -> StoreResult<u64> {
    let _gate = s.write_gate().await;
    let clients = sqlx::query(
        "DELETE FROM session_clients WHERE sid IN \
         (SELECT sid FROM browser_sessions WHERE expires_at <= $1)",
    )
    .bind(now)
    .execute(s.pool())
    .await
    .map_err(map_err)?;
    let sessions = sqlx::query("DELETE FROM browser_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(s.pool())
        .await
        .map_err(map_err)?;
    Ok(clients.rows_affected() + sessions.rows_affected())
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO browser_sessions (sid, sub, cache_key, acr, created_at, expires_at, \
             ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.sid)
        .bind(&s.sub)
        .bind(&s.cache_key)
        .bind(&s.acr)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.ended_at)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn rekey_session(
        &self,
        sid: &str,
        cache_key: &str,
        acr: &str,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let r = sqlx::query(
            "UPDATE browser_sessions SET cache_key = $2, acr = $3, expires_at = $4 \
             WHERE sid = $1 AND ended_at IS NULL",
        )
        .bind(sid)
        .bind(cache_key)
        .bind(acr)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn get_session(&self, sid: &str) -> StoreResult<SessionRecord> {
        let q = format!("SELECT {COLUMNS} FROM browser_sessions WHERE sid = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(sid)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        session_from(&row)
    }

    async fn live_sessions(
        &self,
        sub: &str,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<SessionRecord>> {
        let q = format!(
            "SELECT {COLUMNS} FROM browser_sessions WHERE sub = $1 AND ended_at IS NULL \
             AND expires_at > $2 ORDER BY created_at DESC, sid LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(sub)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(session_from).collect()
    }

    async fn account_sessions(
        &self,
        account_sid: &str,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<SessionRecord>> {
        let q = format!(
            "SELECT {COLUMNS} FROM browser_sessions WHERE ended_at IS NULL AND expires_at > $2 \
             AND (sub = $1 OR sub IN (SELECT sub FROM user_accounts WHERE account_sid = $1)) \
             ORDER BY created_at DESC, sid LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(account_sid)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(session_from).collect()
    }

    async fn record_client(&self, c: &SessionClient) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO session_clients (sid, grant_id, client_id, sub, scope, offline, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sid, grant_id) DO NOTHING",
        )
        .bind(&c.sid)
        .bind(&c.grant_id)
        .bind(&c.client_id)
        .bind(&c.sub)
        .bind(c.scope.to_string())
        .bind(i64::from(c.offline))
        .bind(c.created_at)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn session_clients(&self, sid: &str) -> StoreResult<Vec<SessionClient>> {
        let q = format!(
            "SELECT {CLIENT_COLUMNS} FROM session_clients WHERE sid = $1 \
             ORDER BY created_at, grant_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(sid)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(client_from).collect()
    }

    async fn sid_of_grant(&self, grant_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT sid FROM session_clients WHERE grant_id = $1 LIMIT 1")
            .bind(grant_id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.map(|r| col(&r, "sid")).transpose()
    }

    async fn end_session(&self, e: &SessionEnd) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE browser_sessions SET ended_at = $2 WHERE sid = $1 AND ended_at IS NULL",
        )
        .bind(&e.sid)
        .bind(e.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if ended == 0 {
            return Ok(false);
        }
        for g in &e.revoke {
            revoke_grant_in(&mut tx, g, e.at).await?;
        }
        for ev in &e.events {
            outbox_sql::insert(ev)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}
