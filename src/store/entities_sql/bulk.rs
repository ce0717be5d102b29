//! The entities' bulk path on SQLite (through sqlx's `Any` driver): each batch is one
//! write transaction of multi-row upserts (40 rows a statement) by external id that
//! skip rows whose content hash is already stored, then the links of the rows written
//! are replaced. Each batch commits on its own, so the server's writers never wait for
//! more than one batch. PostgreSQL loads take `pg_bulk` instead.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::{Any, Transaction};

use super::super::StoreResult;
use super::super::sql::{SqlStore, WriteGuard, map_err};
use super::{COLS, EntityBulk, EntityLink, EntityWrite, UpsertOutcome, col};

/// Rows per multi-row statement. sqlx matches each SQLite argument to its `$n` by
/// scanning the statement's parameter names, which grows with the square of their
/// number: ~1000 parameters a statement keeps that negligible.
const ROWS_PER_STATEMENT: usize = 40;
const LINKS_PER_STATEMENT: usize = 250;
const IDS_PER_STATEMENT: usize = 1000;

/// The indexes an initial PostgreSQL load drops and rebuilds, as
/// `migrations/postgres/0007_entities.sql` and `0012_entity_kind_index.sql` create them
/// (a contract case checks that a load leaves the same indexes).
pub(crate) const REBUILT_INDEXES: &[(&str, &str)] = &[
    ("entities_phone_idx", "ON entities (phone_e164)"),
    ("entities_email_idx", "ON entities (email_norm)"),
    (
        "entities_name_postal_idx",
        "ON entities (name_norm, postal)",
    ),
    (
        "entities_street_postal_idx",
        "ON entities (street_norm, postal)",
    ),
    ("entities_kind_id_idx", "ON entities (kind, id)"),
    ("entity_links_child_idx", "ON entity_links (child_id)"),
];

pub(super) struct SqliteBulk {
    pub(super) store: SqlStore,
}

#[async_trait]
impl EntityBulk for SqliteBulk {
    async fn write(&mut self, batch: &[EntityWrite]) -> StoreResult<UpsertOutcome> {
        let items = last_per_external_id(batch);
        if items.is_empty() {
            return Ok(UpsertOutcome::default());
        }
        let (_gate, mut tx): (WriteGuard, _) = self.store.begin_write().await?;
        let out = write_items(&mut tx, &items).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(out)
    }

    async fn finish(self: Box<Self>) -> StoreResult<()> {
        Ok(())
    }
}

/// Upserts `items` (distinct external ids) and replaces the links of those written.
async fn write_items(
    tx: &mut Transaction<'static, Any>,
    items: &[&EntityWrite],
) -> StoreResult<UpsertOutcome> {
    let mut written = HashSet::with_capacity(items.len());
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        let sql = upsert_sql(chunk.len());
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for w in chunk {
            q = bind_entity(q, w);
        }
        for r in q.fetch_all(&mut **tx).await.map_err(map_err)? {
            written.insert(col::<String>(&r, "id")?);
        }
    }
    let mut clear: Vec<&String> = written.iter().collect();
    clear.sort();
    delete_links(tx, &clear).await?;
    let links: Vec<&EntityLink> = items
        .iter()
        .filter(|w| written.contains(&w.record.id))
        .flat_map(|w| w.links.iter())
        .collect();
    insert_links(tx, &links).await?;
    Ok(UpsertOutcome {
        written: written.len() as u64,
        links: links.len() as u64,
    })
}

async fn delete_links(tx: &mut Transaction<'static, Any>, children: &[&String]) -> StoreResult<()> {
    for chunk in children.chunks(IDS_PER_STATEMENT) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "DELETE FROM entity_links WHERE child_id IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}

async fn insert_links(
    tx: &mut Transaction<'static, Any>,
    links: &[&EntityLink],
) -> StoreResult<()> {
    for chunk in links.chunks(LINKS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO entity_links (parent_id, child_id, role, created_at) VALUES {} \
             ON CONFLICT (parent_id, child_id, role) DO NOTHING",
            placeholders(chunk.len(), 4)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for l in chunk {
            q = q
                .bind(&l.parent_id)
                .bind(&l.child_id)
                .bind(&l.role)
                .bind(l.created_at);
        }
        q.execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}

/// `($1, …, $w), ($w+1, …)`: `rows` groups of `width` placeholders.
fn placeholders(rows: usize, width: usize) -> String {
    let mut s = String::with_capacity(rows * width * 6);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * width + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// The multi-row upsert of `rows` entities: rows stored with the same content hash are
/// skipped; the ids of the rows written come back.
fn upsert_sql(rows: usize) -> String {
    let updates: Vec<String> = COLS
        .iter()
        .filter(|c| !matches!(**c, "id" | "external_id" | "created_at"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO entities ({}) VALUES {} ON CONFLICT (external_id) DO UPDATE SET {} \
         WHERE entities.content_hash <> excluded.content_hash RETURNING id",
        COLS.join(", "),
        placeholders(rows, COLS.len()),
        updates.join(", ")
    )
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn bind_entity<'q>(q: AnyQuery<'q>, w: &'q EntityWrite) -> AnyQuery<'q> {
    let e = &w.record;
    q.bind(&e.id)
        .bind(&e.external_id)
        .bind(&e.kind)
        .bind(&e.name)
        .bind(e.street.as_deref())
        .bind(e.city.as_deref())
        .bind(e.phone.as_deref())
        .bind(e.email.as_deref())
        .bind(&e.name_norm)
        .bind(e.street_norm.as_deref())
        .bind(e.city_norm.as_deref())
        .bind(e.region.as_deref())
        .bind(e.postal.as_deref())
        .bind(e.phone_e164.as_deref())
        .bind(e.email_norm.as_deref())
        .bind(w.attributes_json())
        .bind(&e.source)
        .bind(&e.verified_at)
        .bind(w.provenance_json())
        .bind(&e.content_hash)
        .bind(e.created_at)
        .bind(e.updated_at)
}

/// Keeps the last item per external id (one statement may not update a row twice).
pub(super) fn last_per_external_id(batch: &[EntityWrite]) -> Vec<&EntityWrite> {
    let mut seen = HashSet::with_capacity(batch.len());
    let mut out: Vec<&EntityWrite> = batch
        .iter()
        .rev()
        .filter(|w| seen.insert(w.record.external_id.as_str()))
        .collect();
    out.reverse();
    out
}
