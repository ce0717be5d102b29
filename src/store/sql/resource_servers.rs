//! [`ResourceServerStore`] on [`SqlStore`].

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::{SqlStore, col, expect_row};
use crate::store::StoreResult;
use crate::store::resource_servers::{ResourceServerRecord, ResourceServerStore};

const SELECT: &str = "SELECT uri, name, scopes, created_at FROM resource_servers";

fn from_row(row: &AnyRow) -> StoreResult<ResourceServerRecord> {
    Ok(ResourceServerRecord {
        uri: col(row, "uri")?,
        name: col(row, "name")?,
        scopes: col(row, "scopes")?,
        created_at: col(row, "created_at")?,
    })
}

#[async_trait]
impl ResourceServerStore for SqlStore {
    async fn insert_resource_server(&self, r: &ResourceServerRecord) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO resource_servers (uri, name, scopes, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&r.uri)
        .bind(&r.name)
        .bind(&r.scopes)
        .bind(r.created_at);
        self.exec(q).await?;
        Ok(())
    }

    async fn get_resource_server(&self, uri: &str) -> StoreResult<ResourceServerRecord> {
        let q = format!("{SELECT} WHERE uri = $1");
        from_row(&self.one(sqlx::query(AssertSqlSafe(q)).bind(uri)).await?)
    }

    async fn list_resource_servers(&self) -> StoreResult<Vec<ResourceServerRecord>> {
        let q = format!("{SELECT} ORDER BY uri");
        self.all(sqlx::query(AssertSqlSafe(q)))
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    async fn delete_resource_server(&self, uri: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM resource_servers WHERE uri = $1").bind(uri);
        expect_row(self.exec(q).await?)
    }
}
