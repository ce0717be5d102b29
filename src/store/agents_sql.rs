//! SQL for agents of businesses (`verify::agents`, `migrations/*/0010_agent_links.sql`):
//! the business → person links made by the agent stage of a verification, and the
//! pre-approvals an ambassador of a business submits for its employees. A verified link
//! is also written to `entity_links`, where the rest of Surety (eligibility rules) reads
//! parent–child links.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, map_err};
use super::{StoreError, StoreResult};
use crate::clock::Timestamp;

/// Link states, as stored.
pub mod agent_status {
    pub const PRE_APPROVED: &str = "pre_approved";
    pub const VERIFIED: &str = "verified";
}

/// A business (parent) → person (child) link made through Surety.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLink {
    pub parent_id: String,
    pub child_id: String,
    /// `employee`, `manager`, `ambassador` … (`verify::LinkRole`).
    pub role: String,
    /// `pre_approved` or `verified`.
    pub status: String,
    /// How the business stage passed (`kba`, `network`, `ambassador`), or `list` for a
    /// pre-approval.
    pub method: String,
    /// For a pre-approval (and a link verified by one): the ambassador's entity id.
    pub approved_by: Option<String>,
    /// The relying party through which the link was made.
    pub client_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait AgentLinkStore: Send + Sync {
    /// Stores `link` as verified (replacing a pre-approval or an earlier link between
    /// the same two entities) and adds `(parent, child, role)` to `entity_links`, in one
    /// transaction.
    async fn put_verified_agent(&self, link: &AgentLink) -> StoreResult<()>;
    /// Stores pre-approvals in one transaction; a pair that already has a verified link
    /// keeps it. Returns how many pre-approvals were written.
    async fn pre_approve_agents(&self, links: &[AgentLink]) -> StoreResult<u64>;
    /// The link between `parent_id` and `child_id` (`NotFound` if none).
    async fn agent_link(&self, parent_id: &str, child_id: &str) -> StoreResult<AgentLink>;
    /// The links naming `child_id`, in parent id order.
    async fn agent_links_of(&self, child_id: &str) -> StoreResult<Vec<AgentLink>>;
}

const COLS: &str =
    "parent_id, child_id, role, status, method, approved_by, client_id, created_at, updated_at";

/// Insert, or on an existing pair overwrite everything but `created_at`; `{guard}` may
/// restrict which existing rows are overwritten.
fn upsert_sql(guard: &str) -> String {
    format!(
        "INSERT INTO agent_links ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (parent_id, child_id) DO UPDATE SET role = excluded.role, \
         status = excluded.status, method = excluded.method, \
         approved_by = excluded.approved_by, client_id = excluded.client_id, \
         updated_at = excluded.updated_at{guard}"
    )
}

fn link_from(r: &AnyRow) -> StoreResult<AgentLink> {
    Ok(AgentLink {
        parent_id: col(r, "parent_id")?,
        child_id: col(r, "child_id")?,
        role: col(r, "role")?,
        status: col(r, "status")?,
        method: col(r, "method")?,
        approved_by: col(r, "approved_by")?,
        client_id: col(r, "client_id")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

fn bind_link<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    l: &'q AgentLink,
    status: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&l.parent_id)
        .bind(&l.child_id)
        .bind(&l.role)
        .bind(status)
        .bind(&l.method)
        .bind(&l.approved_by)
        .bind(&l.client_id)
        .bind(l.updated_at)
}

#[async_trait]
impl AgentLinkStore for SqlStore {
    async fn put_verified_agent(&self, link: &AgentLink) -> StoreResult<()> {
        let sql = upsert_sql("");
        let (_gate, mut tx) = self.begin_write().await?;
        bind_link(
            sqlx::query(AssertSqlSafe(sql)),
            link,
            agent_status::VERIFIED,
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO entity_links (parent_id, child_id, role, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (parent_id, child_id, role) DO NOTHING",
        )
        .bind(&link.parent_id)
        .bind(&link.child_id)
        .bind(&link.role)
        .bind(link.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn pre_approve_agents(&self, links: &[AgentLink]) -> StoreResult<u64> {
        let sql: std::sync::Arc<str> =
            upsert_sql(" WHERE agent_links.status = 'pre_approved'").into();
        let (_gate, mut tx) = self.begin_write().await?;
        let mut written = 0;
        for l in links {
            let r = bind_link(
                sqlx::query(AssertSqlSafe(sql.clone())),
                l,
                agent_status::PRE_APPROVED,
            )
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            written += r.rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(written)
    }

    async fn agent_link(&self, parent_id: &str, child_id: &str) -> StoreResult<AgentLink> {
        let sql = format!("SELECT {COLS} FROM agent_links WHERE parent_id = $1 AND child_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(parent_id)
            .bind(child_id)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        link_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn agent_links_of(&self, child_id: &str) -> StoreResult<Vec<AgentLink>> {
        let sql = format!("SELECT {COLS} FROM agent_links WHERE child_id = $1 ORDER BY parent_id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(child_id)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }
}
