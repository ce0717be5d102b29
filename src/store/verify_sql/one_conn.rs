//! The statements of [`super::VerificationStore`] that the engine runs back to back on one
//! pooled connection (each checkout costs the pool a round trip to the server when the
//! connection goes back): generic over the executor, a pool or a connection.

use serde::Deserialize;
use serde_json::Value;
use sqlx::Any;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::super::sql::{col, map_err, to_json};
use super::super::{StoreError, StoreResult};
use super::{AttemptState, COLS, EntitySample, EntitySamples, SamplesQuery, VerificationRecord};
use crate::clock::Timestamp;

/// The columns of a sample.
pub(super) const SAMPLE_COLS: &str =
    "id, kind, name, street, street_norm, city, city_norm, region, attributes";

/// The attributes a sample keeps (any other key is skipped unparsed).
#[derive(Deserialize)]
struct SampleFacts {
    #[serde(default)]
    title: Option<Value>,
    #[serde(default)]
    industry: Option<Value>,
}

pub(super) fn sample_from(r: &AnyRow) -> StoreResult<EntitySample> {
    let attributes: String = col(r, "attributes")?;
    let facts: SampleFacts = serde_json::from_str(&attributes)
        .map_err(|e| StoreError::Corrupt(format!("column attributes: {e}")))?;
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(EntitySample {
        id: col(r, "id")?,
        kind: col(r, "kind")?,
        name: col(r, "name")?,
        street: col(r, "street")?,
        street_norm: col(r, "street_norm")?,
        city: col(r, "city")?,
        city_norm: col(r, "city_norm")?,
        region: col(r, "region")?,
        title: text(facts.title),
        industry: text(facts.industry),
    })
}

/// `SELECT` of the entity `$1` (part `e`) and one window per kind (part `0`, `1`, …),
/// ordered by part, then id.
fn samples_sql(with_entity: bool, kinds: usize) -> String {
    let mut parts = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if with_entity {
        parts.push(format!(
            "SELECT 'e' AS part, {SAMPLE_COLS} FROM entities WHERE id = {}",
            next()
        ));
    }
    for i in 0..kinds {
        let (kind, from, limit) = (next(), next(), next());
        parts.push(format!(
            "SELECT * FROM (SELECT '{i}' AS part, {SAMPLE_COLS} FROM entities \
             WHERE kind = {kind} AND id >= {from} ORDER BY id LIMIT {limit}) w{i}"
        ));
    }
    format!("{} ORDER BY part, id", parts.join(" UNION ALL "))
}

pub(super) async fn entity_samples<'c, E>(e: E, q: &SamplesQuery<'_>) -> StoreResult<EntitySamples>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    if q.id.is_none() && q.kinds.is_empty() {
        return Ok(EntitySamples::default());
    }
    let sql = samples_sql(q.id.is_some(), q.kinds.len());
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(id) = q.id {
        query = query.bind(id);
    }
    for k in q.kinds {
        query = query.bind(*k).bind(q.from_id).bind(q.limit);
    }
    let rows = query.fetch_all(e).await.map_err(map_err)?;
    let mut out = EntitySamples::default();
    for r in &rows {
        let s = sample_from(r)?;
        match col::<String>(r, "part")?.as_str() {
            "e" => out.entity = Some(s),
            _ => out.windows.push(s),
        }
    }
    Ok(out)
}

pub(super) async fn attempt_state<'c, E>(
    e: E,
    entity_id: &str,
    since: Timestamp,
    limit: i64,
) -> StoreResult<AttemptState>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    // One row per recent attempt (or one with no questions), each with the count.
    let rows = sqlx::query(
        "SELECT c.n AS n, q.questions AS questions FROM \
         (SELECT COUNT(*) AS n FROM verifications WHERE entity_id = $1 \
            AND created_at > $2 AND attempt = 1 \
            AND (outcome IS NULL OR outcome <> 'passed')) c \
         LEFT JOIN (SELECT questions, created_at, id FROM verifications \
            WHERE entity_id = $3 AND attempt = 1 \
            ORDER BY created_at DESC, id DESC LIMIT $4) q ON 1 = 1 \
         ORDER BY q.created_at DESC, q.id DESC",
    )
    .bind(entity_id)
    .bind(since)
    .bind(entity_id)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err)?;
    let mut state = AttemptState::default();
    for r in &rows {
        state.count = col(r, "n")?;
        if let Some(questions) = col::<Option<String>>(r, "questions")? {
            state.recent_questions.push(questions);
        }
    }
    Ok(state)
}

pub(super) async fn count_attempts<'c, E>(
    e: E,
    entity_id: &str,
    since: Timestamp,
) -> StoreResult<i64>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM verifications WHERE entity_id = $1 AND created_at > $2 \
         AND attempt = 1 AND (outcome IS NULL OR outcome <> 'passed')",
    )
    .bind(entity_id)
    .bind(since)
    .fetch_one(e)
    .await
    .map_err(map_err)?;
    col(&row, "n")
}

/// The insert (the caller holds the SQLite write gate).
pub(super) async fn insert<'c, E>(e: E, v: &VerificationRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let sql = format!(
        "INSERT INTO verifications ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(&v.id)
        .bind(&v.client_id)
        .bind(&v.client_name)
        .bind(&v.account)
        .bind(&v.kind)
        .bind(&v.entity_id)
        .bind(&v.tier)
        .bind(&v.state)
        .bind(to_json(&v.input)?)
        .bind(to_json(&v.candidates)?)
        .bind(to_json(&v.questions)?)
        .bind(&v.method)
        .bind(i64::from(v.attempt))
        .bind(&v.outcome)
        .bind(v.correct)
        .bind(v.asked)
        .bind(v.required)
        .bind(&v.source_ip)
        .bind(v.created_at)
        .bind(v.expires_at)
        .bind(v.decided_at)
        .execute(e)
        .await
        .map_err(map_err)?;
    Ok(())
}
