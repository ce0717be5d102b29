//! [`SqlStore`]: every store trait over sqlx's `Any` driver, one SQL dialect for SQLite
//! and PostgreSQL (`$n` placeholders, `ON CONFLICT`, `RETURNING`; only `i64`, `String`,
//! `Vec<u8>` and their `Option`s cross the driver). JSON values are stored as TEXT.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AssertSqlSafe;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyQueryResult, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::{
    ClientRecord, ClientStore, ConsentStore, Health, KeyStore, StoreError, StoreResult, StoredKey,
    UserRecord, UserStore,
};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::scope::Scope;

pub(crate) mod grants;
mod resource_servers;

pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL store (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time; its busy handler makes waiting writers sleep
    /// and retry, which collapses throughput under concurrent writes. Writers of this
    /// process queue here instead (`None` on PostgreSQL, which has row locks).
    gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

/// Held while writing to SQLite (see [`SqlStore::gate`]).
pub(crate) type WriteGuard = Option<tokio::sync::OwnedMutexGuard<()>>;

/// Opens a pool on `url` (`sqlite://path`, `sqlite::memory:` or `postgres://…`).
pub async fn connect(url: &str) -> StoreResult<SqlStore> {
    SqlStore::connect(url).await
}

/// A pooled connection idle at least this long is pinged before it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

impl SqlStore {
    /// Opens a pool on `url`. A SQLite file is created if missing and put in WAL mode;
    /// an in-memory SQLite database gets a single long-lived connection.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let memory = backend == Backend::Sqlite && is_memory(url);
        let url = match backend {
            Backend::Sqlite if !memory => with_create_mode(url),
            _ => url.to_owned(),
        };
        // sqlx pings every connection it hands out by default: one more round trip per
        // query. Only a connection idle for a while (which the server or a proxy may have
        // closed) is checked; a failed check discards it and another is taken.
        let mut opts = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        if backend == Backend::Sqlite {
            // Reads run concurrently under WAL; writes are serialised by the gate, so a
            // few connections suffice and keep page caches (memory) small. In WAL mode
            // `synchronous=NORMAL` stays consistent after a crash and only syncs at
            // checkpoints, instead of on every commit (SQLite's recommended setting).
            opts = opts.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        if memory {
            // Every connection to `:memory:` is its own database: keep exactly one.
            opts = opts
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = opts.connect(&url).await.map_err(map_err)?;
        if backend == Backend::Sqlite && !memory {
            ensure_wal(&pool).await?;
        }
        let gate =
            (backend == Backend::Sqlite).then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            gate,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies every pending embedded migration (see [`super::migrate`]).
    pub async fn migrate(&self) -> StoreResult<()> {
        super::migrate::run(&self.pool, self.backend, SystemClock.now()).await
    }

    /// Deletes revoked `jti`s, refresh tokens, device authorizations and e-mailed links
    /// whose expiry is at or before `now` (housekeeping; none is needed once expired).
    /// Returns the number of rows removed.
    pub async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let jtis = sqlx::query("DELETE FROM revoked_jtis WHERE expires_at <= $1");
        let jtis = self.exec(jtis.bind(now)).await?;
        let refresh = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1");
        let refresh = self.exec(refresh.bind(now)).await?;
        let horizons = sqlx::query("DELETE FROM replay_horizons WHERE until < $1");
        let horizons = self.exec(horizons.bind(now)).await?;
        let devices = sqlx::query("DELETE FROM device_authorizations WHERE expires_at <= $1");
        let devices = self.exec(devices.bind(now)).await?;
        let sessions = super::sessions_sql::purge_expired(self, now).await?;
        let links = super::links_sql::purge_expired(self, now).await?;
        Ok(jtis.rows_affected()
            + refresh.rows_affected()
            + horizons.rows_affected()
            + devices.rows_affected()
            + sessions
            + links)
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of
    /// failing to upgrade a read lock.
    pub(crate) async fn begin_write(&self) -> StoreResult<(WriteGuard, Transaction<'static, Any>)> {
        let gate = self.write_gate().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        Ok((gate, tx.map_err(map_err)?))
    }
}

/// Puts a SQLite file in WAL mode. The mode is a property of the file, so setting it
/// once covers every connection; it is only set when needed because switching takes a
/// lock that does not wait on the busy timeout.
async fn ensure_wal(pool: &AnyPool) -> StoreResult<()> {
    let current: (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    if !current.0.eq_ignore_ascii_case("wal") {
        sqlx::raw_sql("PRAGMA journal_mode = WAL")
            .execute(pool)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        // Never echo the URL: it may carry a password.
        Err(StoreError::Backend(
            "unsupported database URL (expected sqlite: or postgres://)".into(),
        ))
    }
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Adds `mode=rwc` (create if missing) unless the URL already chooses a mode.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Maps a sqlx error onto [`StoreError`]. Conflicts are named by table on both backends.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => {
                StoreError::Conflict(conflict_name(db.as_ref()))
            }
            _ => StoreError::Backend(db.message().to_owned()),
        },
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(e.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}

fn conflict_name(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(table) = db.table() {
        return table.to_owned();
    }
    // SQLite: "UNIQUE constraint failed: users.username".
    let msg = db.message();
    if let Some((_, cols)) = msg.split_once("failed: ")
        && let Some((table, _)) = cols.split_once('.')
    {
        return table.trim().to_owned();
    }
    db.constraint().unwrap_or("constraint").to_owned()
}

/// A column of a row, decoded; a decode failure is `Corrupt`.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

/// A value stored as text that must parse: a status ([`super::types`]) or an id
/// ([`super::ids`]).
pub(crate) trait TextEnum: Sized {
    fn from_text(s: &str) -> Option<Self>;
}

/// A text column holding a [`TextEnum`]; unknown text is `Corrupt`.
pub(crate) fn text_col<T: TextEnum>(row: &AnyRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    T::from_text(&text).ok_or_else(|| StoreError::Corrupt(format!("column {name}: {text:?}")))
}

/// A nullable text column holding a [`TextEnum`].
pub(crate) fn opt_text_col<T: TextEnum>(row: &AnyRow, name: &str) -> StoreResult<Option<T>> {
    let text: Option<String> = col(row, name)?;
    text.map(|t| {
        T::from_text(&t).ok_or_else(|| StoreError::Corrupt(format!("column {name}: {t:?}")))
    })
    .transpose()
}

/// A JSON TEXT column, decoded.
pub(crate) fn json_col<T: DeserializeOwned>(row: &AnyRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

/// A value as JSON TEXT.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("encode json: {e}")))
}

/// `NotFound` unless the statement touched a row.
pub(crate) fn expect_row(r: AnyQueryResult) -> StoreResult<()> {
    if r.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn client_from(row: &AnyRow) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        client_id: text_col(row, "client_id")?,
        secret_hash: col(row, "secret_hash")?,
        metadata: json_col(row, "metadata")?,
        created_at: col(row, "created_at")?,
    })
}

pub(crate) fn user_from(row: &AnyRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        sub: col(row, "sub")?,
        username: col(row, "username")?,
        password_hash: col(row, "password_hash")?,
        email: col(row, "email")?,
        email_verified_at: col(row, "email_verified_at")?,
        name: col(row, "name")?,
        created_at: col(row, "created_at")?,
    })
}

fn key_from(row: &AnyRow) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: col(row, "kid")?,
        alg: col(row, "alg")?,
        public_jwk: json_col(row, "public_jwk")?,
        sealed_private: col(row, "sealed_private")?,
        created_at: col(row, "created_at")?,
        activates_at: col(row, "activates_at")?,
    })
}

// --- SQL (one dialect for both backends) ---

const CLIENT_INSERT: &str = "INSERT INTO clients (client_id, secret_hash, metadata, created_at) \
    VALUES ($1, $2, $3, $4)";
const CLIENT_SELECT: &str = "SELECT client_id, secret_hash, metadata, created_at FROM clients";
const CLIENT_UPDATE: &str =
    "UPDATE clients SET secret_hash = $2, metadata = $3 WHERE client_id = $1";

/// The statement storing a new client (also run inside a registration's transaction).
pub(crate) fn client_insert(c: &ClientRecord) -> StoreResult<AnyQuery<'_>> {
    Ok(sqlx::query(CLIENT_INSERT)
        .bind(c.client_id.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(to_json(&c.metadata)?)
        .bind(c.created_at))
}

/// The statement replacing a client's secret hash and metadata.
pub(crate) fn client_update(c: &ClientRecord) -> StoreResult<AnyQuery<'_>> {
    Ok(sqlx::query(CLIENT_UPDATE)
        .bind(c.client_id.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(to_json(&c.metadata)?))
}
const USER_INSERT: &str = "INSERT INTO users \
    (sub, username, password_hash, email, name, created_at, email_verified_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const USER_SELECT: &str = "SELECT sub, username, password_hash, email, \
    email_verified_at, name, created_at FROM users";
const CONSENT_UPSERT: &str = "INSERT INTO consents (sub, client_id, scope, updated_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (sub, client_id) \
    DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at";
const KEY_INSERT: &str = "INSERT INTO signing_keys \
    (kid, alg, public_jwk, sealed_private, created_at, activates_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";
const KEY_LIST: &str = "SELECT kid, alg, public_jwk, sealed_private, created_at, activates_at \
    FROM signing_keys ORDER BY activates_at, created_at, kid";

impl SqlStore {
    pub(crate) async fn exec(&self, q: AnyQuery<'_>) -> StoreResult<AnyQueryResult> {
        let _gate = self.write_gate().await;
        q.execute(&self.pool).await.map_err(map_err)
    }

    /// Queues behind other writers of this process (SQLite only).
    pub(crate) async fn write_gate(&self) -> WriteGuard {
        match &self.gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        }
    }

    /// The one row `q` selects; `NotFound` if there is none.
    pub(crate) async fn one(&self, q: AnyQuery<'_>) -> StoreResult<AnyRow> {
        q.fetch_one(&self.pool).await.map_err(map_err)
    }

    pub(crate) async fn all(&self, q: AnyQuery<'_>) -> StoreResult<Vec<AnyRow>> {
        q.fetch_all(&self.pool).await.map_err(map_err)
    }

    /// Whether `q` selects any row.
    async fn exists(&self, q: AnyQuery<'_>) -> StoreResult<bool> {
        let row = q.fetch_optional(&self.pool).await.map_err(map_err)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.exec(client_insert(c)?).await?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<ClientRecord> {
        let sql = format!("{CLIENT_SELECT} WHERE client_id = $1");
        client_from(
            &self
                .one(sqlx::query(AssertSqlSafe(sql)).bind(client_id))
                .await?,
        )
    }

    async fn update_client(&self, c: &ClientRecord) -> StoreResult<()> {
        expect_row(self.exec(client_update(c)?).await?)
    }

    async fn delete_client(&self, client_id: &str, now: Timestamp) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            // Dropping the transaction rolls it back; nothing was written.
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM client_registrations WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // Every token the client holds dies with it: its grants (and so their access
        // tokens) revoked, its refresh tokens killed.
        for sql in [
            "UPDATE grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL",
            "UPDATE refresh_tokens SET rotated_at = $2 WHERE client_id = $1 AND rotated_at IS NULL",
        ] {
            let q = sqlx::query(sql).bind(client_id).bind(now);
            q.execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        let sql = format!("{CLIENT_SELECT} ORDER BY client_id");
        self.all(sqlx::query(AssertSqlSafe(sql)))
            .await?
            .iter()
            .map(client_from)
            .collect()
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<()> {
        let q = sqlx::query(USER_INSERT)
            .bind(&u.sub)
            .bind(&u.username)
            .bind(&u.password_hash);
        let q = q
            .bind(u.email.as_deref())
            .bind(u.name.as_deref())
            .bind(u.created_at)
            .bind(u.email_verified_at);
        self.exec(q).await?;
        Ok(())
    }

    async fn get_user(&self, sub: &str) -> StoreResult<UserRecord> {
        let sql = format!("{USER_SELECT} WHERE sub = $1");
        user_from(&self.one(sqlx::query(AssertSqlSafe(sql)).bind(sub)).await?)
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<UserRecord> {
        let sql = format!("{USER_SELECT} WHERE username = $1");
        user_from(
            &self
                .one(sqlx::query(AssertSqlSafe(sql)).bind(username))
                .await?,
        )
    }

    /// The user and, in the same transaction, their authenticators (passkeys, TOTP,
    /// recovery codes): nothing of theirs can sign in afterwards.
    async fn delete_user(&self, sub: &str) -> StoreResult<()> {
        let (_gate, mut tx) = self.begin_write().await?;
        for table in ["passkeys", "totp_credentials", "recovery_codes"] {
            let sql = format!("DELETE FROM {table} WHERE user_id = $1");
            let q = sqlx::query(AssertSqlSafe(sql)).bind(sub);
            q.execute(&mut *tx).await.map_err(map_err)?;
        }
        let q = sqlx::query("DELETE FROM users WHERE sub = $1").bind(sub);
        let done = q.execute(&mut *tx).await.map_err(map_err)?;
        expect_row(done)?;
        tx.commit().await.map_err(map_err)
    }
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn get_consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Scope>> {
        let q = sqlx::query("SELECT scope FROM consents WHERE sub = $1 AND client_id = $2");
        let q = q.bind(sub).bind(client_id);
        let row = q.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.map(|r| text_col(&r, "scope")).transpose()
    }

    async fn put_consent(
        &self,
        sub: &str,
        client_id: &str,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let q = sqlx::query(CONSENT_UPSERT).bind(sub).bind(client_id);
        self.exec(q.bind(scope).bind(now)).await?;
        Ok(())
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_key(&self, k: &StoredKey) -> StoreResult<()> {
        let q = sqlx::query(KEY_INSERT)
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(to_json(&k.public_jwk)?);
        let q = q
            .bind(k.sealed_private.as_slice())
            .bind(k.created_at)
            .bind(k.activates_at);
        self.exec(q).await?;
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.all(sqlx::query(KEY_LIST))
            .await?
            .iter()
            .map(key_from)
            .collect()
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM signing_keys WHERE kid = $1").bind(kid);
        expect_row(self.exec(q).await?)
    }

    async fn server_secret_or_insert(
        &self,
        name: &str,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<Vec<u8>> {
        let q = sqlx::query(
            "INSERT INTO server_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .bind(now);
        self.exec(q).await?;
        let q = sqlx::query("SELECT sealed FROM server_secrets WHERE name = $1").bind(name);
        col(&self.one(q).await?, "sealed")
    }
}

#[async_trait]
impl Health for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.exec(sqlx::query("SELECT 1")).await?;
        Ok(())
    }

    async fn purge(
        &self,
        now: Timestamp,
        verifications_before: Timestamp,
        delivered_before: Timestamp,
        grants_before: Timestamp,
    ) -> StoreResult<u64> {
        // First: the expired tokens name the grants that may have ended.
        let ended = grants::purge_ended(self, now, grants_before).await?;
        let expired = ended + self.purge_expired(now).await?;
        let old =
            sqlx::query("DELETE FROM verifications WHERE created_at < $1 AND expires_at <= $2")
                .bind(verifications_before)
                .bind(now);
        let old = self.exec(old).await?.rows_affected();
        let sent =
            sqlx::query("DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < $1")
                .bind(delivered_before);
        Ok(expired + old + self.exec(sent).await?.rows_affected())
    }
}
