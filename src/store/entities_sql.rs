//! Verified entities (people and businesses) and their parent–child links: records with
//! their core identifying elements as given and normalized, verified attributes as JSON,
//! and the bulk path the importer writes through ([`bulk`] on SQLite, [`pg_bulk`] with
//! `COPY` on PostgreSQL). Match lookups use the
//! indexes on the normalized elements (`migrations/*/0007_entities.sql`).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::StoreResult;
use super::sql::{Backend, SqlStore, col, json_col, map_err};
use crate::clock::Timestamp;

mod bulk;
mod pg_bulk;

/// An entity as stored. `kind` is `person` or `business`; the `*_norm`, `region`,
/// `postal` and `phone_e164` columns hold normalized values (see `verify::normalize`),
/// the others what the source gave, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    /// `EN` + 32 hex, derived from the external id.
    pub id: String,
    pub external_id: String,
    pub kind: String,
    pub name: String,
    pub street: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name_norm: String,
    pub street_norm: Option<String>,
    pub city_norm: Option<String>,
    pub region: Option<String>,
    pub postal: Option<String>,
    pub phone_e164: Option<String>,
    pub email_norm: Option<String>,
    /// Verified facts (`verify::facts`), a JSON object.
    pub attributes: Value,
    /// Where the record's facts were verified, and when (`YYYY-MM-DD`)…
    pub source: String,
    pub verified_at: String,
    /// …unless overridden per fact: `{"birth_year": {"source": …, "verified_at": …}}`.
    pub provenance: Value,
    /// A digest of everything above and the record's links: an import that brings the
    /// same content leaves the row untouched.
    pub content_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A parent–child link (a business and its employee), with the child's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityLink {
    pub parent_id: String,
    pub child_id: String,
    pub role: String,
    pub created_at: Timestamp,
}

/// One entity to write with the links naming it as the child (these replace its links).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityWrite {
    pub record: EntityRecord,
    pub links: Vec<EntityLink>,
    /// `record.attributes` and `record.provenance` as stored, serialized once (by the
    /// importer's parsing thread, off the write path).
    attributes_json: String,
    provenance_json: String,
}

impl EntityWrite {
    /// The JSON columns are serialized here: change `record` before, not after.
    pub fn new(record: EntityRecord, links: Vec<EntityLink>) -> Self {
        let attributes_json = record.attributes.to_string();
        let provenance_json = record.provenance.to_string();
        EntityWrite {
            record,
            links,
            attributes_json,
            provenance_json,
        }
    }

    pub fn attributes_json(&self) -> &str {
        &self.attributes_json
    }

    pub fn provenance_json(&self) -> &str {
        &self.provenance_json
    }
}

/// What a bulk upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Rows inserted or changed (the others were already stored with the same content).
    pub written: u64,
    /// Links written for those rows.
    pub links: u64,
}

/// Row counts, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    pub people: i64,
    pub businesses: i64,
    pub links: i64,
    /// Links whose parent is not (yet) stored.
    pub dangling_links: i64,
}

/// Normalized elements to look candidates up by; absent elements are not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementProbe {
    pub name_norm: Option<String>,
    pub street_norm: Option<String>,
    /// Supports the street as the postal code does (the name is not looked up by city).
    pub city_norm: Option<String>,
    pub postal: Option<String>,
    pub phone_e164: Option<String>,
    pub email_norm: Option<String>,
}

/// A bulk load in progress (see [`EntityStore::bulk`]).
#[async_trait]
pub trait EntityBulk: Send {
    /// Inserts or updates `batch` by external id (a later item wins over an earlier one
    /// with the same external id) and replaces the links of every entity written. Items
    /// whose `content_hash` is already stored are left untouched.
    async fn write(&mut self, batch: &[EntityWrite]) -> StoreResult<UpsertOutcome>;
    /// Makes every write visible (PostgreSQL) and rebuilds what an initial load set aside.
    async fn finish(self: Box<Self>) -> StoreResult<()>;
}

#[async_trait]
pub trait EntityStore: Send + Sync {
    /// Starts the bulk path. On PostgreSQL the whole load is one transaction (all or
    /// nothing; concurrent loads queue), and a load into empty tables drops the match
    /// indexes and rebuilds them by sort at `finish` (readers of the entity tables wait
    /// for that first load). On SQLite each `write` is its own transaction, so the
    /// server's writers are never held up for longer than one batch.
    async fn bulk(&self) -> StoreResult<Box<dyn EntityBulk>>;
    /// One batch through the bulk path.
    async fn upsert_entities(&self, batch: &[EntityWrite]) -> StoreResult<UpsertOutcome> {
        let mut bulk = self.bulk().await?;
        let out = bulk.write(batch).await?;
        bulk.finish().await?;
        Ok(out)
    }
    async fn get_entity(&self, id: &str) -> StoreResult<EntityRecord>;
    async fn find_by_external_id(&self, external_id: &str) -> StoreResult<EntityRecord>;
    /// The links naming `child_id` as the child.
    async fn parents_of(&self, child_id: &str) -> StoreResult<Vec<EntityLink>>;
    /// The links naming `parent_id` as the parent, in child id order, at most `limit`.
    async fn children_of(&self, parent_id: &str, limit: i64) -> StoreResult<Vec<EntityLink>>;
    /// Entities agreeing with the probe on an indexed element or pair: phone, email,
    /// name + postal code, street + postal code, or street + city. At most `limit`, in
    /// id order.
    async fn candidates(&self, probe: &ElementProbe, limit: i64) -> StoreResult<Vec<EntityRecord>>;
    async fn entity_counts(&self) -> StoreResult<EntityCounts>;
}

/// The columns of `entities`, in insert order.
const COLS: &[&str] = &[
    "id",
    "external_id",
    "kind",
    "name",
    "street",
    "city",
    "phone",
    "email",
    "name_norm",
    "street_norm",
    "city_norm",
    "region",
    "postal",
    "phone_e164",
    "email_norm",
    "attributes",
    "source",
    "verified_at",
    "provenance",
    "content_hash",
    "created_at",
    "updated_at",
];

fn entity_from(r: &AnyRow) -> StoreResult<EntityRecord> {
    Ok(EntityRecord {
        id: col(r, "id")?,
        external_id: col(r, "external_id")?,
        kind: col(r, "kind")?,
        name: col(r, "name")?,
        street: col(r, "street")?,
        city: col(r, "city")?,
        phone: col(r, "phone")?,
        email: col(r, "email")?,
        name_norm: col(r, "name_norm")?,
        street_norm: col(r, "street_norm")?,
        city_norm: col(r, "city_norm")?,
        region: col(r, "region")?,
        postal: col(r, "postal")?,
        phone_e164: col(r, "phone_e164")?,
        email_norm: col(r, "email_norm")?,
        attributes: json_col(r, "attributes")?,
        source: col(r, "source")?,
        verified_at: col(r, "verified_at")?,
        provenance: json_col(r, "provenance")?,
        content_hash: col(r, "content_hash")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

fn link_from(r: &AnyRow) -> StoreResult<EntityLink> {
    Ok(EntityLink {
        parent_id: col(r, "parent_id")?,
        child_id: col(r, "child_id")?,
        role: col(r, "role")?,
        created_at: col(r, "created_at")?,
    })
}

const SELECT_ENTITY: &str = "SELECT id, external_id, kind, name, street, city, phone, email, \
    name_norm, street_norm, city_norm, region, postal, phone_e164, email_norm, attributes, \
    source, verified_at, provenance, content_hash, created_at, updated_at FROM entities";

#[async_trait]
impl EntityStore for SqlStore {
    async fn bulk(&self) -> StoreResult<Box<dyn EntityBulk>> {
        Ok(match self.backend() {
            Backend::Postgres => Box::new(pg_bulk::PgBulk::begin(self).await?),
            Backend::Sqlite => Box::new(bulk::SqliteBulk {
                store: self.clone(),
            }),
        })
    }

    async fn get_entity(&self, id: &str) -> StoreResult<EntityRecord> {
        let sql = format!("{SELECT_ENTITY} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        entity_from(&row)
    }

    async fn find_by_external_id(&self, external_id: &str) -> StoreResult<EntityRecord> {
        let sql = format!("{SELECT_ENTITY} WHERE external_id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(external_id)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        entity_from(&row)
    }

    async fn parents_of(&self, child_id: &str) -> StoreResult<Vec<EntityLink>> {
        let rows = sqlx::query(
            "SELECT parent_id, child_id, role, created_at FROM entity_links \
             WHERE child_id = $1 ORDER BY parent_id, role",
        )
        .bind(child_id)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }

    async fn children_of(&self, parent_id: &str, limit: i64) -> StoreResult<Vec<EntityLink>> {
        let rows = sqlx::query(
            "SELECT parent_id, child_id, role, created_at FROM entity_links \
             WHERE parent_id = $1 ORDER BY child_id, role LIMIT $2",
        )
        .bind(parent_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }

    async fn candidates(&self, probe: &ElementProbe, limit: i64) -> StoreResult<Vec<EntityRecord>> {
        let (sql, binds) = candidates_sql(probe);
        if binds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{SELECT_ENTITY} WHERE id IN ({sql}) ORDER BY id LIMIT ${}",
            binds.len() + 1
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(*b);
        }
        let rows = q
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(entity_from).collect()
    }

    async fn entity_counts(&self) -> StoreResult<EntityCounts> {
        let kinds = sqlx::query("SELECT kind, COUNT(*) AS n FROM entities GROUP BY kind")
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        let mut c = EntityCounts::default();
        for r in &kinds {
            let n: i64 = col(r, "n")?;
            match col::<String>(r, "kind")?.as_str() {
                "person" => c.people = n,
                "business" => c.businesses = n,
                _ => {}
            }
        }
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM entity_links) AS links, \
             (SELECT COUNT(*) FROM entity_links l WHERE NOT EXISTS \
                (SELECT 1 FROM entities e WHERE e.id = l.parent_id)) AS dangling",
        )
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        c.links = col(&row, "links")?;
        c.dangling_links = col(&row, "dangling")?;
        Ok(c)
    }
}

/// A `UNION` of one indexed lookup per element (or pair) present in `probe`.
fn candidates_sql(p: &ElementProbe) -> (String, Vec<&str>) {
    fn arg<'a>(binds: &mut Vec<&'a str>, v: &'a str) -> String {
        binds.push(v);
        format!("${}", binds.len())
    }
    let mut parts = Vec::new();
    let mut binds: Vec<&str> = Vec::new();
    for (column, value) in [("phone_e164", &p.phone_e164), ("email_norm", &p.email_norm)] {
        if let Some(v) = value.as_deref() {
            let a = arg(&mut binds, v);
            parts.push(format!("SELECT id FROM entities WHERE {column} = {a}"));
        }
    }
    if let Some(postal) = p.postal.as_deref() {
        for (column, value) in [("name_norm", &p.name_norm), ("street_norm", &p.street_norm)] {
            if let Some(v) = value.as_deref() {
                let a = arg(&mut binds, v);
                let b = arg(&mut binds, postal);
                parts.push(format!(
                    "SELECT id FROM entities WHERE {column} = {a} AND postal = {b}"
                ));
            }
        }
    }
    if let (Some(street), Some(city)) = (p.street_norm.as_deref(), p.city_norm.as_deref()) {
        // Served by the (street_norm, postal) index's leading column.
        let a = arg(&mut binds, street);
        let b = arg(&mut binds, city);
        parts.push(format!(
            "SELECT id FROM entities WHERE street_norm = {a} AND city_norm = {b}"
        ));
    }
    (parts.join(" UNION "), binds)
}
