//! SQL for verifications (`verify::engine`): the verification rows with their
//! questions' expected-answer digests, the history of decisions per entity, the office
//! networks learned for businesses, and the windowed samples of other records that
//! multiple-choice distractors are drawn from (`migrations/*/0008_verifications.sql`).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::sql::{SqlStore, col, json_col, map_err, to_json};
use super::{EntityRecord, StoreResult};
use crate::clock::Timestamp;

/// One verification as stored. `input`, `candidates` and `questions` are JSON owned by
/// the engine (`questions` holds the expected answers' digests: never sent anywhere).
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRecord {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub account: Option<String>,
    /// `person` or `business`.
    pub kind: String,
    pub entity_id: Option<String>,
    /// `definite`, `probable` or `none`.
    pub tier: String,
    /// `more_info`, `candidates`, `questions` or `done`.
    pub state: String,
    pub input: Value,
    pub candidates: Value,
    pub questions: Value,
    pub method: String,
    /// Questions were issued: counts toward the entity's attempt limit unless it passed.
    pub attempt: bool,
    /// `passed`, `failed` or `locked` once decided.
    pub outcome: Option<String>,
    pub correct: i64,
    pub asked: i64,
    pub required: i64,
    pub source_ip: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

/// One decision about an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationHistoryRecord {
    pub verification_id: String,
    pub entity_id: String,
    pub client_id: String,
    pub client_name: String,
    pub account: Option<String>,
    pub outcome: String,
    pub method: String,
    pub decided_at: Timestamp,
}

/// A few columns of another entity, for distractors: those the lists are made of and,
/// from its attributes, the two facts they compare (parsed here, without the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySample {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// The street as the record wrote it (what a list of choices shows).
    pub street: Option<String>,
    pub street_norm: Option<String>,
    pub city: Option<String>,
    pub city_norm: Option<String>,
    pub region: Option<String>,
    /// The `title` attribute (people), as stored.
    pub title: Option<String>,
    /// The `industry` attribute (businesses), as stored.
    pub industry: Option<String>,
}

impl From<&EntityRecord> for EntitySample {
    fn from(r: &EntityRecord) -> Self {
        let text = |k: &str| {
            r.attributes
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        EntitySample {
            id: r.id.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            street: r.street.clone(),
            street_norm: r.street_norm.clone(),
            city: r.city.clone(),
            city_norm: r.city_norm.clone(),
            region: r.region.clone(),
            title: text("title"),
            industry: text("industry"),
        }
    }
}

/// What [`VerificationStore::entity_samples`] read in its one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitySamples {
    /// The entity asked for by id, if stored.
    pub entity: Option<EntitySample>,
    /// The windows, each in id order, in the order their kinds were given.
    pub windows: Vec<EntitySample>,
}

/// What [`VerificationStore::entity_samples`] reads.
#[derive(Debug, Clone, Copy)]
pub struct SamplesQuery<'a> {
    /// An entity to read by id (any kind), e.g. a person's employer.
    pub id: Option<&'a str>,
    /// A window per kind, in this order.
    pub kinds: &'a [&'a str],
    pub from_id: &'a str,
    /// Rows per window.
    pub limit: i64,
}

/// Attempts against an entity and the questions of the newest ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptState {
    /// As [`VerificationStore::count_attempts`].
    pub count: i64,
    /// The questions of the newest attempts (that issued questions), newest first, as
    /// stored: JSON text (the caller parses what it needs of them).
    pub recent_questions: Vec<String>,
}

#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// `Conflict("verifications")` when the id exists.
    async fn insert_verification(&self, v: &VerificationRecord) -> StoreResult<()>;
    async fn get_verification(&self, id: &str) -> StoreResult<VerificationRecord>;
    /// Writes `v` over the stored row if (and only if) that row is still in state
    /// `from_state`, and, when given, records `history` in the same transaction. `false`
    /// when another writer moved the row first (single use: one of two concurrent
    /// submissions wins).
    async fn update_verification(
        &self,
        v: &VerificationRecord,
        from_state: &str,
        history: Option<&VerificationHistoryRecord>,
    ) -> StoreResult<bool>;
    /// Verifications against `entity_id` created after `since` that issued questions and
    /// did not pass.
    async fn count_attempts(&self, entity_id: &str, since: Timestamp) -> StoreResult<i64>;
    /// In one statement: the attempts [`Self::count_attempts`] counts, and the questions
    /// JSON of the newest `limit` verifications that issued questions for `entity_id`
    /// (whatever their outcome or age), newest first.
    async fn attempt_state(
        &self,
        entity_id: &str,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<AttemptState>;
    /// Every decision about `entity_id`, newest first, at most `limit`.
    async fn history(
        &self,
        entity_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<VerificationHistoryRecord>>;
    /// Records a network learned for `entity_id` (a network already known is kept).
    async fn add_network(
        &self,
        entity_id: &str,
        cidr: &str,
        learned_from: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The networks learned for `entity_id`, in CIDR order.
    async fn learned_networks(&self, entity_id: &str) -> StoreResult<Vec<String>>;
    /// Up to `limit` entities of `kind` from id `from_id` on, in id order (a bounded range
    /// scan of the primary key: fast whatever the table's size).
    async fn entity_window(
        &self,
        kind: &str,
        from_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<EntitySample>>;
    /// In one statement: the entity `q.id` (any kind; when given) and, for each of
    /// `q.kinds`, the window [`Self::entity_window`] reads from `q.from_id`.
    async fn entity_samples(&self, q: &SamplesQuery<'_>) -> StoreResult<EntitySamples>;
    /// [`Self::attempt_state`] then [`Self::entity_samples`], on one pooled connection.
    async fn attempt_state_and_samples(
        &self,
        entity_id: &str,
        since: Timestamp,
        limit: i64,
        q: &SamplesQuery<'_>,
    ) -> StoreResult<(AttemptState, EntitySamples)>;
    /// [`Self::insert_verification`], then (the row committed) [`Self::count_attempts`]
    /// against `v`'s entity since `since`, on one pooled connection: the count includes
    /// `v` and every attempt committed before it ran.
    async fn insert_and_count(&self, v: &VerificationRecord, since: Timestamp) -> StoreResult<i64>;
}

mod one_conn;
use one_conn::{SAMPLE_COLS, sample_from};

const COLS: &str = "id, client_id, client_name, account, kind, entity_id, tier, state, input, \
    candidates, questions, method, attempt, outcome, correct, asked, required, source_ip, \
    created_at, expires_at, decided_at";

fn verification_from(r: &AnyRow) -> StoreResult<VerificationRecord> {
    Ok(VerificationRecord {
        id: col(r, "id")?,
        client_id: col(r, "client_id")?,
        client_name: col(r, "client_name")?,
        account: col(r, "account")?,
        kind: col(r, "kind")?,
        entity_id: col(r, "entity_id")?,
        tier: col(r, "tier")?,
        state: col(r, "state")?,
        input: json_col(r, "input")?,
        candidates: json_col(r, "candidates")?,
        questions: json_col(r, "questions")?,
        method: col(r, "method")?,
        attempt: col::<i64>(r, "attempt")? != 0,
        outcome: col(r, "outcome")?,
        correct: col(r, "correct")?,
        asked: col(r, "asked")?,
        required: col(r, "required")?,
        source_ip: col(r, "source_ip")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        decided_at: col(r, "decided_at")?,
    })
}

fn history_from(r: &AnyRow) -> StoreResult<VerificationHistoryRecord> {
    Ok(VerificationHistoryRecord {
        verification_id: col(r, "verification_id")?,
        entity_id: col(r, "entity_id")?,
        client_id: col(r, "client_id")?,
        client_name: col(r, "client_name")?,
        account: col(r, "account")?,
        outcome: col(r, "outcome")?,
        method: col(r, "method")?,
        decided_at: col(r, "decided_at")?,
    })
}

#[async_trait]
impl VerificationStore for SqlStore {
    async fn insert_verification(&self, v: &VerificationRecord) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        one_conn::insert(self.pool(), v).await
    }

    async fn get_verification(&self, id: &str) -> StoreResult<VerificationRecord> {
        let sql = format!("SELECT {COLS} FROM verifications WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        verification_from(&row)
    }

    async fn update_verification(
        &self,
        v: &VerificationRecord,
        from_state: &str,
        history: Option<&VerificationHistoryRecord>,
    ) -> StoreResult<bool> {
        let (_gate, mut tx) = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE verifications SET entity_id = $1, tier = $2, state = $3, input = $4, \
             candidates = $5, questions = $6, method = $7, attempt = $8, outcome = $9, \
             correct = $10, asked = $11, required = $12, expires_at = $13, decided_at = $14 \
             WHERE id = $15 AND state = $16",
        )
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
        .bind(v.expires_at)
        .bind(v.decided_at)
        .bind(&v.id)
        .bind(from_state)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if moved.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        if let Some(h) = history {
            sqlx::query(
                "INSERT INTO verification_history (verification_id, entity_id, client_id, \
                 client_name, account, outcome, method, decided_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&h.verification_id)
            .bind(&h.entity_id)
            .bind(&h.client_id)
            .bind(&h.client_name)
            .bind(&h.account)
            .bind(&h.outcome)
            .bind(&h.method)
            .bind(h.decided_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn count_attempts(&self, entity_id: &str, since: Timestamp) -> StoreResult<i64> {
        one_conn::count_attempts(self.pool(), entity_id, since).await
    }

    async fn attempt_state(
        &self,
        entity_id: &str,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<AttemptState> {
        one_conn::attempt_state(self.pool(), entity_id, since, limit).await
    }

    async fn history(
        &self,
        entity_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<VerificationHistoryRecord>> {
        let rows = sqlx::query(
            "SELECT verification_id, entity_id, client_id, client_name, account, outcome, \
             method, decided_at FROM verification_history WHERE entity_id = $1 \
             ORDER BY decided_at DESC, verification_id DESC LIMIT $2",
        )
        .bind(entity_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(history_from).collect()
    }

    async fn add_network(
        &self,
        entity_id: &str,
        cidr: &str,
        learned_from: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO entity_networks (entity_id, cidr, learned_from, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (entity_id, cidr) DO NOTHING",
        )
        .bind(entity_id)
        .bind(cidr)
        .bind(learned_from)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn learned_networks(&self, entity_id: &str) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT cidr FROM entity_networks WHERE entity_id = $1 ORDER BY cidr")
                .bind(entity_id)
                .fetch_all(self.pool())
                .await
                .map_err(map_err)?;
        rows.iter().map(|r| col(r, "cidr")).collect()
    }

    async fn entity_window(
        &self,
        kind: &str,
        from_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<EntitySample>> {
        let sql = format!(
            "SELECT {SAMPLE_COLS} FROM entities WHERE kind = $1 AND id >= $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(kind)
            .bind(from_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.iter().map(sample_from).collect()
    }

    async fn entity_samples(&self, q: &SamplesQuery<'_>) -> StoreResult<EntitySamples> {
        one_conn::entity_samples(self.pool(), q).await
    }

    async fn attempt_state_and_samples(
        &self,
        entity_id: &str,
        since: Timestamp,
        limit: i64,
        q: &SamplesQuery<'_>,
    ) -> StoreResult<(AttemptState, EntitySamples)> {
        let mut conn = self.pool().acquire().await.map_err(map_err)?;
        let state = one_conn::attempt_state(&mut *conn, entity_id, since, limit).await?;
        let samples = one_conn::entity_samples(&mut *conn, q).await?;
        Ok((state, samples))
    }

    async fn insert_and_count(&self, v: &VerificationRecord, since: Timestamp) -> StoreResult<i64> {
        let mut conn = self.pool().acquire().await.map_err(map_err)?;
        {
            let _gate = self.write_gate().await;
            one_conn::insert(&mut *conn, v).await?;
        }
        let entity = v.entity_id.as_deref().unwrap_or_default();
        one_conn::count_attempts(&mut *conn, entity, since).await
    }
}
