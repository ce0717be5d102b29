//! [`GrantStore`] on [`SqlStore`]: grants, refresh tokens (rotation with reuse detection
//! and a bounded grace), revoked access-token ids.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Transaction};

use super::{AnyQuery, SqlStore, col, json_col, map_err, to_json};
use crate::clock::Timestamp;
use crate::store::{GrantRecord, GrantStore, RefreshRead, RefreshRecord, Rotation, StoreResult};

/// Seconds a rotated token must be old before a re-presentation counts as the retry of a
/// lost response: anything sooner is racing the rotation (concurrent presentations) and
/// is refused, so concurrency never yields a second token.
pub const RETRY_MIN_AGE: i64 = 2;

fn grant_from(row: &AnyRow) -> StoreResult<GrantRecord> {
    grant_from_columns(row, "")
}

/// A grant from columns named with `prefix` (`g_` where a join renames them).
fn grant_from_columns(row: &AnyRow, prefix: &str) -> StoreResult<GrantRecord> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(GrantRecord {
        id: col(row, &c("id"))?,
        client_id: col(row, &c("client_id"))?,
        sub: col(row, &c("sub"))?,
        scope: super::text_col(row, &c("scope"))?,
        auth_time: col(row, &c("auth_time"))?,
        acr: col(row, &c("acr"))?,
        amr: json_col(row, &c("amr"))?,
        created_at: col(row, &c("created_at"))?,
        revoked_at: col(row, &c("revoked_at"))?,
        resources: col::<String>(row, &c("resources"))?
            .split(' ')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn refresh_from(row: &AnyRow) -> StoreResult<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        client_id: col(row, "client_id")?,
        sub: col(row, "sub")?,
        scope: super::text_col(row, "scope")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        rotated_at: col(row, "rotated_at")?,
        jkt: col(row, "jkt")?,
    })
}

const GRANT_INSERT: &str = "INSERT INTO grants \
    (id, client_id, sub, scope, auth_time, acr, amr, created_at, revoked_at, resources) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
/// Keeps the earliest revocation time; inserts a tombstone if the grant is unknown.
const GRANT_REVOKE: &str = "ON CONFLICT (id) DO UPDATE SET revoked_at = CASE \
    WHEN grants.revoked_at IS NULL OR grants.revoked_at > excluded.revoked_at \
    THEN excluded.revoked_at ELSE grants.revoked_at END";
const GRANT_SELECT: &str = "SELECT id, client_id, sub, scope, auth_time, acr, amr, created_at, \
    revoked_at, resources FROM grants WHERE id = $1";
const REFRESH_INSERT: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, sub, \
    scope, created_at, expires_at, rotated_at, jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const REFRESH_KILL: &str =
    "UPDATE refresh_tokens SET rotated_at = $2 WHERE grant_id = $1 AND rotated_at IS NULL";
/// Kills the live refresh tokens of the grants `$1` holds for `$2`.
const REFRESH_KILL_CLIENT: &str = "UPDATE refresh_tokens SET rotated_at = $3 \
    WHERE grant_id IN (SELECT id FROM grants WHERE client_id = $1 AND sub = $2) \
    AND rotated_at IS NULL";
/// Claims a live token: the single statement that decides which concurrent rotation wins
/// (and, being a write, takes SQLite's write lock first). The claimed row remembers its
/// successor, so a later retry can revoke exactly that one.
const ROTATE_CLAIM: &str = "UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3 \
    WHERE token_hash = $1 AND rotated_at IS NULL AND expires_at > $2 \
    AND EXISTS (SELECT 1 FROM grants g WHERE g.id = refresh_tokens.grant_id AND g.revoked_at IS NULL) \
    RETURNING token_hash, grant_id, client_id, sub, scope, created_at, expires_at, rotated_at, jkt";
/// A refresh token with its grant's state (`g_id` is NULL when the grant is missing).
const REFRESH_WITH_GRANT: &str = "SELECT r.token_hash, r.grant_id, r.client_id, r.sub, \
    r.scope, r.created_at, r.expires_at, r.rotated_at, r.jkt, r.successor_hash, r.retried_at, \
    g.id AS g_id, g.revoked_at AS g_revoked_at \
    FROM refresh_tokens r LEFT JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1";
/// A refresh token, its grant (columns `g_…`) and the session the grant was signed in
/// under: everything a refresh reads, in one statement.
const REFRESH_FOR_ROTATION: &str = "SELECT r.token_hash, r.grant_id, r.client_id, r.sub, \
    r.scope, r.created_at, r.expires_at, r.rotated_at, r.jkt, g.id AS g_id, \
    g.client_id AS g_client_id, g.sub AS g_sub, g.scope AS g_scope, g.auth_time AS g_auth_time, \
    g.acr AS g_acr, g.amr AS g_amr, g.created_at AS g_created_at, g.revoked_at AS g_revoked_at, \
    g.resources AS g_resources, \
    (SELECT sc.sid FROM session_clients sc WHERE sc.grant_id = r.grant_id LIMIT 1) AS sid \
    FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1";
/// Claims the one retry a rotated token may have, pointing it at the new successor.
const RETRY_CLAIM: &str = "UPDATE refresh_tokens SET retried_at = $2, successor_hash = $3 \
    WHERE token_hash = $1 AND retried_at IS NULL";
/// Revokes the successor a retry replaces, if nobody has used it yet.
const SUCCESSOR_KILL: &str =
    "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL";
/// Keeps the later horizon of one cache contents.
const HORIZON_RAISE: &str = "INSERT INTO replay_horizons (contents, until) VALUES ($1, $2) \
    ON CONFLICT (contents) DO UPDATE SET until = CASE \
    WHEN replay_horizons.until < excluded.until THEN excluded.until ELSE replay_horizons.until END";
/// The grants named by a refresh token expired at `$1`: those that may have ended.
const GRANT_ENDED_CANDIDATES: &str =
    "SELECT DISTINCT grant_id FROM refresh_tokens WHERE expires_at <= $1";
/// Deletes the grants among the listed ids (`$3`…) every refresh token of which has expired
/// at `$1`, none issued after `$2`.
const GRANT_PURGE_ENDED: &str = "DELETE FROM grants WHERE created_at <= $2 \
    AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id \
    AND (r.expires_at > $1 OR r.created_at > $2)) AND id IN ";
/// Grant ids per deletion (bound parameters, well under SQLite's limit).
const PURGE_BATCH: usize = 500;
/// Idempotent; keeps the later expiry.
const JTI_REVOKE: &str = "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
    ON CONFLICT (jti) DO UPDATE SET expires_at = CASE \
    WHEN revoked_jtis.expires_at < excluded.expires_at \
    THEN excluded.expires_at ELSE revoked_jtis.expires_at END";

/// Binds a grant's ten columns in `GRANT_INSERT` order, with `revoked_at` given.
fn bind_grant<'q>(
    q: AnyQuery<'q>,
    g: &'q GrantRecord,
    revoked_at: Option<Timestamp>,
) -> StoreResult<AnyQuery<'q>> {
    let q = q
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.sub)
        .bind(g.scope.to_string());
    let q = q
        .bind(g.auth_time)
        .bind(g.acr.as_deref())
        .bind(to_json(&g.amr)?);
    Ok(q.bind(g.created_at)
        .bind(revoked_at)
        .bind(g.resources.join(" ")))
}

async fn insert_refresh_with<'e, E>(e: E, r: &RefreshRecord) -> StoreResult<()>
where
    E: Executor<'e, Database = Any>,
{
    let q = sqlx::query(REFRESH_INSERT)
        .bind(&r.token_hash)
        .bind(&r.grant_id);
    let q = q.bind(&r.client_id).bind(&r.sub).bind(r.scope.to_string());
    let q = q.bind(r.created_at).bind(r.expires_at).bind(r.rotated_at);
    let q = q.bind(r.jkt.as_deref());
    q.execute(e).await.map_err(map_err)?;
    Ok(())
}

/// Decides a rotation the claim did not win: unknown, expired, reused, a presentation
/// racing the rotation, or the one retry of a lost response inside the grace window.
async fn rotation_fallback(
    tx: &mut Transaction<'static, Any>,
    old_hash: &str,
    successor: &RefreshRecord,
    now: Timestamp,
    grace: i64,
) -> StoreResult<Rotation> {
    let q = sqlx::query(REFRESH_WITH_GRANT).bind(old_hash);
    let Some(row) = q.fetch_optional(&mut **tx).await.map_err(map_err)? else {
        return Ok(Rotation::Invalid);
    };
    let old = refresh_from(&row)?;
    let grant_id: Option<String> = col(&row, "g_id")?;
    let grant_revoked: Option<Timestamp> = col(&row, "g_revoked_at")?;
    if old.expires_at <= now || grant_id.is_none() {
        return Ok(Rotation::Invalid);
    }
    if grant_revoked.is_some() {
        return Ok(Rotation::Reused(old));
    }
    let Some(rotated_at) = old.rotated_at else {
        // Live but not claimable: only a racing insert can get here; refuse.
        return Ok(Rotation::Invalid);
    };
    let age = now - rotated_at;
    if grace <= 0 || age > grace {
        return Ok(Rotation::Reused(old));
    }
    let retried: Option<Timestamp> = col(&row, "retried_at")?;
    if age < RETRY_MIN_AGE || retried.is_some() {
        // Racing the rotation, or a second retry: refused, the family is left as it is.
        return Ok(Rotation::Refused);
    }
    let replaced: Option<String> = col(&row, "successor_hash")?;
    let claim = sqlx::query(RETRY_CLAIM)
        .bind(old_hash)
        .bind(now)
        .bind(&successor.token_hash);
    if claim
        .execute(&mut **tx)
        .await
        .map_err(map_err)?
        .rows_affected()
        == 0
    {
        return Ok(Rotation::Refused);
    }
    let kill = sqlx::query(SUCCESSOR_KILL)
        .bind(replaced.as_deref().unwrap_or(""))
        .bind(now);
    if kill
        .execute(&mut **tx)
        .await
        .map_err(map_err)?
        .rows_affected()
        == 0
    {
        // The successor was used (or revoked): the response was not lost, this is reuse.
        return Ok(Rotation::Reused(old));
    }
    insert_refresh_with(&mut **tx, successor).await?;
    Ok(Rotation::Rotated(old))
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn insert_grant(&self, g: &GrantRecord) -> StoreResult<()> {
        let sql = format!("{GRANT_INSERT} ON CONFLICT (id) DO NOTHING");
        self.exec(bind_grant(
            sqlx::query(AssertSqlSafe(sql)),
            g,
            g.revoked_at,
        )?)
        .await?;
        Ok(())
    }

    async fn get_grant(&self, id: &str) -> StoreResult<GrantRecord> {
        grant_from(&self.one(sqlx::query(GRANT_SELECT).bind(id)).await?)
    }

    async fn revoke_grant(&self, g: &GrantRecord, now: Timestamp) -> StoreResult<()> {
        let sql = format!("{GRANT_INSERT} {GRANT_REVOKE}");
        let (_gate, mut tx) = self.begin_write().await?;
        let upsert = bind_grant(sqlx::query(AssertSqlSafe(sql)), g, Some(now))?;
        upsert.execute(&mut *tx).await.map_err(map_err)?;
        let kill = sqlx::query(REFRESH_KILL).bind(&g.id).bind(now);
        kill.execute(&mut *tx).await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn insert_refresh(&self, r: &RefreshRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        insert_refresh_with(&self.pool, r).await
    }

    /// A token under a revoked grant is reported with `rotated_at` set (to the
    /// revocation time if it was not rotated before), so it never looks live.
    async fn find_refresh(&self, token_hash: &str) -> StoreResult<RefreshRecord> {
        let row = self
            .one(sqlx::query(REFRESH_WITH_GRANT).bind(token_hash))
            .await?;
        let mut rec = refresh_from(&row)?;
        let grant_revoked: Option<Timestamp> = col(&row, "g_revoked_at")?;
        rec.rotated_at = rec.rotated_at.or(grant_revoked);
        Ok(rec)
    }

    async fn find_refresh_grant(&self, token_hash: &str) -> StoreResult<RefreshRead> {
        let row = self
            .one(sqlx::query(REFRESH_FOR_ROTATION).bind(token_hash))
            .await?;
        let grant = grant_from_columns(&row, "g_")?;
        let mut token = refresh_from(&row)?;
        token.rotated_at = token.rotated_at.or(grant.revoked_at);
        Ok(RefreshRead {
            token,
            grant,
            sid: col(&row, "sid")?,
        })
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        successor: &RefreshRecord,
        now: Timestamp,
        grace: i64,
    ) -> StoreResult<Rotation> {
        let (_gate, mut tx) = self.begin_write().await?;
        let claim = sqlx::query(ROTATE_CLAIM)
            .bind(old_hash)
            .bind(now)
            .bind(&successor.token_hash);
        let claimed = claim.fetch_optional(&mut *tx).await.map_err(map_err)?;
        let outcome = match claimed {
            Some(row) => {
                let old = refresh_from(&row)?;
                insert_refresh_with(&mut *tx, successor).await?;
                Rotation::Rotated(old)
            }
            None => rotation_fallback(&mut tx, old_hash, successor, now, grace).await?,
        };
        tx.commit().await.map_err(map_err)?;
        Ok(outcome)
    }

    async fn revoke_client_grants(
        &self,
        client_id: &str,
        sub: &str,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let (_gate, mut tx) = self.begin_write().await?;
        let n = revoke_client_tokens(&mut tx, client_id, sub, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }

    async fn revoke_jti(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
        self.exec(sqlx::query(JTI_REVOKE).bind(jti).bind(expires_at))
            .await?;
        Ok(())
    }

    async fn raise_replay_horizon(&self, contents: &str, until: Timestamp) -> StoreResult<()> {
        let q = sqlx::query(HORIZON_RAISE).bind(contents).bind(until);
        self.exec(q).await?;
        Ok(())
    }

    async fn replay_horizon_besides(&self, contents: &str) -> StoreResult<Option<Timestamp>> {
        let q = sqlx::query("SELECT MAX(until) AS until FROM replay_horizons WHERE contents <> $1")
            .bind(contents);
        let row = self.one(q).await?;
        col(&row, "until")
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let q = sqlx::query("SELECT jti FROM revoked_jtis WHERE jti = $1").bind(jti);
        self.exists(q).await
    }
}

/// Upkeep, before the expired refresh tokens are deleted: deletes the grants whose refresh
/// tokens have all expired at `now`, none issued after `issued_before` (an access token
/// minted with the last one has then expired too; nothing else refers to a grant). The
/// expired tokens name the candidates, which are then deleted by id, batch by batch: the
/// work follows what expired, whatever the planner thinks of the table. A grant that never
/// had a refresh token is kept.
pub(crate) async fn purge_ended(
    s: &SqlStore,
    now: Timestamp,
    issued_before: Timestamp,
) -> StoreResult<u64> {
    let rows = s.all(sqlx::query(GRANT_ENDED_CANDIDATES).bind(now)).await?;
    let ids = rows
        .iter()
        .map(|r| col::<String>(r, "grant_id"))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut deleted = 0;
    for batch in ids.chunks(PURGE_BATCH) {
        let list = (3..batch.len() + 3).map(|i| format!("${i}"));
        let sql = format!(
            "{GRANT_PURGE_ENDED}({})",
            list.collect::<Vec<_>>().join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(now)
            .bind(issued_before);
        for id in batch {
            q = q.bind(id.as_str());
        }
        deleted += s.exec(q).await?.rows_affected();
    }
    Ok(deleted)
}

/// Inside the caller's transaction: revokes the grants `client_id` holds for `sub` and
/// kills their refresh tokens; returns how many grants were revoked.
pub(crate) async fn revoke_client_tokens(
    tx: &mut Transaction<'static, Any>,
    client_id: &str,
    sub: &str,
    now: Timestamp,
) -> StoreResult<u64> {
    let grants = sqlx::query("UPDATE grants SET revoked_at = $3 WHERE client_id = $1 AND sub = $2 AND revoked_at IS NULL")
        .bind(client_id)
        .bind(sub)
        .bind(now);
    let n = grants
        .execute(&mut **tx)
        .await
        .map_err(map_err)?
        .rows_affected();
    // Through the grants (indexed by `sub`), not by the tokens' own `client_id` and `sub`,
    // which no index covers: that was a scan of every refresh token.
    let kill = sqlx::query(REFRESH_KILL_CLIENT)
        .bind(client_id)
        .bind(sub)
        .bind(now);
    kill.execute(&mut **tx).await.map_err(map_err)?;
    Ok(n)
}

/// Inside the caller's transaction: revokes grant `g` (a revoked tombstone if it was never
/// redeemed, so a later redemption of its code yields dead tokens) and its refresh tokens.
pub(crate) async fn revoke_grant_in(
    tx: &mut Transaction<'static, Any>,
    g: &GrantRecord,
    now: Timestamp,
) -> StoreResult<()> {
    let sql = format!("{GRANT_INSERT} {GRANT_REVOKE}");
    let upsert = bind_grant(sqlx::query(AssertSqlSafe(sql)), g, Some(now))?;
    upsert.execute(&mut **tx).await.map_err(map_err)?;
    let kill = sqlx::query(REFRESH_KILL).bind(&g.id).bind(now);
    kill.execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}
