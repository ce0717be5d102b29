//! The PostgreSQL bulk path. sqlx's `Any` driver cannot `COPY`, so a load opens its own
//! native connection (same URL as the pool) and runs as one transaction on it:
//!
//! 1. each batch is `COPY`'d (text format) into temporary staging tables, which costs
//!    the client almost nothing to encode and the server little to parse;
//! 2. one `INSERT … SELECT … ON CONFLICT (external_id) DO UPDATE … WHERE the content
//!    hash differs` moves it into `entities`, returning which ids were written and
//!    whether each was inserted (`xmax = 0`);
//! 3. the links of updated rows are cleared (by id list, through the child index) and
//!    the batch's links of written rows added.
//!
//! A load into empty tables drops the match indexes and the primary key (random ids:
//! the costliest B-trees to grow row by row) and builds them by sort at `finish` (see
//! [`super::bulk::REBUILT_INDEXES`]); the unique external id stays, for the upserts. Dropping the connection without
//! `finish` closes it, and the server rolls the whole load back.

use async_trait::async_trait;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor, Row};

use super::super::StoreResult;
use super::super::sql::{SqlStore, map_err};
use super::bulk::REBUILT_INDEXES;
use super::{COLS, EntityBulk, EntityWrite, UpsertOutcome};

pub(super) struct PgBulk {
    conn: PgConnection,
    /// The tables were empty: the match indexes are dropped until `finish`.
    initial: bool,
    /// `INSERT … SELECT` from the staging table, built once (from [`COLS`] only).
    upsert: Arc<str>,
}

const BEGIN: &str = "BEGIN; \
    SET LOCAL synchronous_commit = off; \
    SET LOCAL maintenance_work_mem = '256MB'; \
    LOCK TABLE entities, entity_links IN SHARE ROW EXCLUSIVE MODE; \
    CREATE TEMP TABLE entities_in (LIKE entities) ON COMMIT DROP; \
    CREATE TEMP TABLE links_in (LIKE entity_links) ON COMMIT DROP; \
    CREATE TEMP TABLE written (id TEXT NOT NULL, inserted BOOLEAN NOT NULL) ON COMMIT DROP";

impl PgBulk {
    pub(super) async fn begin(store: &SqlStore) -> StoreResult<Self> {
        let url = store.pool().connect_options().database_url.clone();
        // Index builds and batch upserts are slow statements by design: not logged.
        let opts = PgConnectOptions::from_str(url.as_str())
            .map_err(map_err)?
            .disable_statement_logging();
        let mut conn = PgConnection::connect_with(&opts).await.map_err(map_err)?;
        conn.execute(sqlx::raw_sql(BEGIN)).await.map_err(map_err)?;
        let row = sqlx::query(
            "SELECT NOT EXISTS (SELECT 1 FROM entities) \
             AND NOT EXISTS (SELECT 1 FROM entity_links) AS empty",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(map_err)?;
        let initial: bool = row.try_get("empty").map_err(map_err)?;
        if initial {
            let names: Vec<&str> = REBUILT_INDEXES.iter().map(|(n, _)| *n).collect();
            let sql = format!(
                "DROP INDEX IF EXISTS {}; ALTER TABLE entities DROP CONSTRAINT entities_pkey",
                names.join(", ")
            );
            conn.execute(sqlx::raw_sql(AssertSqlSafe(sql)))
                .await
                .map_err(map_err)?;
        }
        Ok(PgBulk {
            conn,
            initial,
            upsert: upsert_sql().into(),
        })
    }
}

fn upsert_sql() -> String {
    let cols = COLS.join(", ");
    let updates: Vec<String> = COLS
        .iter()
        .filter(|c| !matches!(**c, "id" | "external_id" | "created_at"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "WITH w AS (INSERT INTO entities ({cols}) SELECT {cols} FROM entities_in \
         ON CONFLICT (external_id) DO UPDATE SET {} \
         WHERE entities.content_hash <> excluded.content_hash \
         RETURNING id, (xmax = 0) AS inserted), \
         x AS (INSERT INTO written SELECT id, inserted FROM w) \
         SELECT id, inserted FROM w",
        updates.join(", ")
    )
}

#[async_trait]
impl EntityBulk for PgBulk {
    async fn write(&mut self, batch: &[EntityWrite]) -> StoreResult<UpsertOutcome> {
        let items = super::bulk::last_per_external_id(batch);
        if items.is_empty() {
            return Ok(UpsertOutcome::default());
        }
        let (entities, links) = encode(&items);
        let c = &mut self.conn;
        c.execute(sqlx::raw_sql("TRUNCATE entities_in, links_in, written"))
            .await
            .map_err(map_err)?;
        copy(
            c,
            &format!("COPY entities_in ({}) FROM STDIN", COLS.join(", ")),
            entities,
        )
        .await?;
        copy(
            c,
            "COPY links_in (parent_id, child_id, role, created_at) FROM STDIN",
            links,
        )
        .await?;
        let rows = sqlx::query(AssertSqlSafe(Arc::clone(&self.upsert)))
            .fetch_all(&mut *c)
            .await
            .map_err(map_err)?;
        let mut clear = Vec::new();
        for r in &rows {
            let inserted: bool = r.try_get("inserted").map_err(map_err)?;
            // A row just inserted has no links to clear; in an initial load that spares
            // the search for them while the child index is dropped.
            if !(inserted && self.initial) {
                clear.push(r.try_get::<String, _>("id").map_err(map_err)?);
            }
        }
        if !clear.is_empty() {
            sqlx::query("DELETE FROM entity_links WHERE child_id = ANY($1)")
                .bind(&clear)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
        }
        let linked = c
            .execute(sqlx::raw_sql(
                "INSERT INTO entity_links (parent_id, child_id, role, created_at) \
                 SELECT l.parent_id, l.child_id, l.role, l.created_at FROM links_in l \
                 WHERE l.child_id IN (SELECT id FROM written) \
                 ON CONFLICT (parent_id, child_id, role) DO NOTHING",
            ))
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(UpsertOutcome {
            written: rows.len() as u64,
            links: linked,
        })
    }

    async fn finish(mut self: Box<Self>) -> StoreResult<()> {
        if self.initial {
            // Ids derive from the unique external ids, so this cannot fail short of a
            // SHA-256 collision.
            self.conn
                .execute(sqlx::raw_sql(
                    "ALTER TABLE entities ADD CONSTRAINT entities_pkey PRIMARY KEY (id)",
                ))
                .await
                .map_err(map_err)?;
            for (name, def) in REBUILT_INDEXES {
                let sql = format!("CREATE INDEX IF NOT EXISTS {name} {def}");
                self.conn
                    .execute(sqlx::raw_sql(AssertSqlSafe(sql)))
                    .await
                    .map_err(map_err)?;
            }
        }
        self.conn
            .execute(sqlx::raw_sql("COMMIT"))
            .await
            .map_err(map_err)?;
        // Fresh statistics: without them the planner of a freshly loaded table (autovacuum
        // may be off, or not yet around) scans it for every match lookup (seconds at 1M
        // rows instead of a millisecond). ANALYZE samples, so this takes about a second.
        self.conn
            .execute(sqlx::raw_sql("ANALYZE entities, entity_links"))
            .await
            .map_err(map_err)?;
        self.conn.close().await.map_err(map_err)
    }
}

async fn copy(conn: &mut PgConnection, statement: &str, data: Vec<u8>) -> StoreResult<()> {
    let mut sink = conn.copy_in_raw(statement).await.map_err(map_err)?;
    sink.send(data).await.map_err(map_err)?;
    sink.finish().await.map_err(map_err)?;
    Ok(())
}

/// The batch in `COPY` text format: entities (columns in [`COLS`] order) and links.
fn encode(items: &[&EntityWrite]) -> (Vec<u8>, Vec<u8>) {
    let mut e = Vec::with_capacity(items.len() * 768);
    let mut l = Vec::with_capacity(items.len() * 96);
    for w in items {
        let r = &w.record;
        let texts = [
            Some(r.id.as_str()),
            Some(r.external_id.as_str()),
            Some(r.kind.as_str()),
            Some(r.name.as_str()),
            r.street.as_deref(),
            r.city.as_deref(),
            r.phone.as_deref(),
            r.email.as_deref(),
            Some(r.name_norm.as_str()),
            r.street_norm.as_deref(),
            r.city_norm.as_deref(),
            r.region.as_deref(),
            r.postal.as_deref(),
            r.phone_e164.as_deref(),
            r.email_norm.as_deref(),
        ];
        for t in texts {
            field(&mut e, t);
            e.push(b'\t');
        }
        field(&mut e, Some(w.attributes_json()));
        e.push(b'\t');
        field(&mut e, Some(&r.source));
        e.push(b'\t');
        field(&mut e, Some(&r.verified_at));
        e.push(b'\t');
        field(&mut e, Some(w.provenance_json()));
        e.push(b'\t');
        field(&mut e, Some(&r.content_hash));
        e.extend_from_slice(format!("\t{}\t{}\n", r.created_at, r.updated_at).as_bytes());
        for k in &w.links {
            field(&mut l, Some(&k.parent_id));
            l.push(b'\t');
            field(&mut l, Some(&k.child_id));
            l.push(b'\t');
            field(&mut l, Some(&k.role));
            l.extend_from_slice(format!("\t{}\n", k.created_at).as_bytes());
        }
    }
    (e, l)
}

/// One `COPY` text field: `\N` for NULL; backslash, tab, newline and carriage return
/// escaped.
fn field(out: &mut Vec<u8>, v: Option<&str>) {
    let Some(s) = v else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_fields_are_escaped() {
        let mut out = Vec::new();
        super::field(&mut out, Some("a\tb\\c\nd\re"));
        super::field(&mut out, None);
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re\\N");
    }
}
