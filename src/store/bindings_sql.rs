//! SQL for entity bindings: which verified entity a user proved to be by passing a
//! step-up challenge. One binding per user; a later pass replaces it.

use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::StoreResult;
use super::sql::{SqlStore, col, map_err};
use crate::clock::Timestamp;

/// A user bound to the entity they proved to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityBinding {
    pub user_id: String,
    pub entity_id: String,
    /// When the last challenge against the entity passed.
    pub verified_at: Timestamp,
    /// How it passed: `kba`, `network`, `region+kba` …
    pub method: String,
}

#[async_trait]
pub trait EntityBindingStore: Send + Sync {
    /// Binds `b.user_id` to `b.entity_id`, replacing an earlier binding of that user.
    /// `Conflict` when the user does not exist.
    async fn bind_entity(&self, b: &EntityBinding) -> StoreResult<()>;
    /// The user's binding; `NotFound` when the user never passed a challenge.
    async fn entity_binding(&self, user_id: &str) -> StoreResult<EntityBinding>;
}

const UPSERT: &str = "INSERT INTO entity_bindings (user_id, entity_id, verified_at, method) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
    entity_id = excluded.entity_id, verified_at = excluded.verified_at, method = excluded.method";

fn binding_from(r: &AnyRow) -> StoreResult<EntityBinding> {
    Ok(EntityBinding {
        user_id: col(r, "user_id")?,
        entity_id: col(r, "entity_id")?,
        verified_at: col(r, "verified_at")?,
        method: col(r, "method")?,
    })
}

#[async_trait]
impl EntityBindingStore for SqlStore {
    async fn bind_entity(&self, b: &EntityBinding) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(UPSERT)
            .bind(&b.user_id)
            .bind(&b.entity_id)
            .bind(b.verified_at)
            .bind(&b.method)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn entity_binding(&self, user_id: &str) -> StoreResult<EntityBinding> {
        let row = sqlx::query(
            "SELECT user_id, entity_id, verified_at, method FROM entity_bindings \
             WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        binding_from(&row)
    }
}
