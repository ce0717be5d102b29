//! SQL for promotions: what a relying party registers to ask about a verified entity's
//! eligibility. A code is unique per client; the rule is stored as its source
//! (`verify::rules`), already checked by the caller.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, expect_row, map_err};
use super::{StoreError, StoreResult};
use crate::clock::Timestamp;

/// A promotion as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRecord {
    /// `PR` + 32 lowercase hex.
    pub id: String,
    /// The relying party (OAuth client) that registered it.
    pub client_id: String,
    pub code: String,
    pub description: String,
    /// The rule's source.
    pub rule: String,
    /// The client must run a verification before asking about eligibility.
    pub requires_challenge: bool,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait PromotionStore: Send + Sync {
    /// `Conflict("promotions")` when the client already has the code.
    async fn insert_promotion(&self, p: &PromotionRecord) -> StoreResult<()>;
    /// A client's promotion by code; `NotFound` for another client's.
    async fn get_promotion(&self, client_id: &str, code: &str) -> StoreResult<PromotionRecord>;
    /// A client's promotions, oldest first.
    async fn list_promotions(&self, client_id: &str) -> StoreResult<Vec<PromotionRecord>>;
    /// Deletes a client's promotion; `NotFound` unless the client has it.
    async fn delete_promotion(&self, client_id: &str, code: &str) -> StoreResult<()>;
    /// Every client's promotions that need no challenge first, oldest first, at most
    /// `limit` (what a verified person's passport is checked against).
    async fn open_promotions(&self, limit: i64) -> StoreResult<Vec<PromotionRecord>>;
}

const COLS: &str = "id, client_id, code, description, rule, requires_challenge, created_at";

fn promotion_from(r: &AnyRow) -> StoreResult<PromotionRecord> {
    let requires: i64 = col(r, "requires_challenge")?;
    Ok(PromotionRecord {
        id: col(r, "id")?,
        client_id: col(r, "client_id")?,
        code: col(r, "code")?,
        description: col(r, "description")?,
        rule: col(r, "rule")?,
        requires_challenge: match requires {
            0 => false,
            1 => true,
            n => {
                return Err(StoreError::Corrupt(format!(
                    "column requires_challenge: {n} is not 0 or 1"
                )));
            }
        },
        created_at: col(r, "created_at")?,
    })
}

#[async_trait]
impl PromotionStore for SqlStore {
    async fn insert_promotion(&self, p: &PromotionRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let sql = format!("INSERT INTO promotions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(&p.id)
            .bind(&p.client_id)
            .bind(&p.code)
            .bind(&p.description)
            .bind(&p.rule)
            .bind(i64::from(p.requires_challenge))
            .bind(p.created_at)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_promotion(&self, client_id: &str, code: &str) -> StoreResult<PromotionRecord> {
        let sql = format!("SELECT {COLS} FROM promotions WHERE client_id = $1 AND code = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(client_id)
            .bind(code)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        promotion_from(&row.ok_or(StoreError::NotFound)?)
    }

    async fn list_promotions(&self, client_id: &str) -> StoreResult<Vec<PromotionRecord>> {
        let sql =
            format!("SELECT {COLS} FROM promotions WHERE client_id = $1 ORDER BY created_at, code");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(promotion_from).collect()
    }

    async fn delete_promotion(&self, client_id: &str, code: &str) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        let r = sqlx::query("DELETE FROM promotions WHERE client_id = $1 AND code = $2")
            .bind(client_id)
            .bind(code)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        expect_row(r)
    }

    async fn open_promotions(&self, limit: i64) -> StoreResult<Vec<PromotionRecord>> {
        let sql = format!(
            "SELECT {COLS} FROM promotions WHERE requires_challenge = 0 \
             ORDER BY created_at, id LIMIT $1"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(promotion_from).collect()
    }
}
