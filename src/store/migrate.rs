//! A tiny embedded migration runner. Each backend's SQL files are compiled in with
//! `include_str!`; applied versions are recorded in `schema_migrations`. Every pending
//! migration runs in its own transaction that first claims its version row, so a
//! migration is applied exactly once even when several nodes start together (on
//! PostgreSQL each step also holds a transaction-scoped advisory lock). Running the
//! migrations again is a no-op.

use sqlx::{Any, AnyPool, Executor, Transaction};

use super::StoreResult;
use super::sql::{Backend, map_err};
use crate::clock::Timestamp;

/// One schema step, in both dialects.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sqlite: include_str!("../../migrations/sqlite/0001_core.sql"),
        postgres: include_str!("../../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "partners",
        sqlite: include_str!("../../migrations/sqlite/0002_partners.sql"),
        postgres: include_str!("../../migrations/postgres/0002_partners.sql"),
    },
    Migration {
        version: 3,
        name: "resources",
        sqlite: include_str!("../../migrations/sqlite/0003_resources.sql"),
        postgres: include_str!("../../migrations/postgres/0003_resources.sql"),
    },
    Migration {
        version: 4,
        name: "outbox",
        sqlite: include_str!("../../migrations/sqlite/0004_outbox.sql"),
        postgres: include_str!("../../migrations/postgres/0004_outbox.sql"),
    },
    Migration {
        version: 5,
        name: "apps",
        sqlite: include_str!("../../migrations/sqlite/0005_apps.sql"),
        postgres: include_str!("../../migrations/postgres/0005_apps.sql"),
    },
    Migration {
        version: 6,
        name: "api_keys",
        sqlite: include_str!("../../migrations/sqlite/0006_api_keys.sql"),
        postgres: include_str!("../../migrations/postgres/0006_api_keys.sql"),
    },
    Migration {
        version: 7,
        name: "entities",
        sqlite: include_str!("../../migrations/sqlite/0007_entities.sql"),
        postgres: include_str!("../../migrations/postgres/0007_entities.sql"),
    },
    Migration {
        version: 8,
        name: "verifications",
        sqlite: include_str!("../../migrations/sqlite/0008_verifications.sql"),
        postgres: include_str!("../../migrations/postgres/0008_verifications.sql"),
    },
    Migration {
        version: 9,
        name: "promotions",
        sqlite: include_str!("../../migrations/sqlite/0009_promotions.sql"),
        postgres: include_str!("../../migrations/postgres/0009_promotions.sql"),
    },
    Migration {
        version: 10,
        name: "agent_links",
        sqlite: include_str!("../../migrations/sqlite/0010_agent_links.sql"),
        postgres: include_str!("../../migrations/postgres/0010_agent_links.sql"),
    },
    Migration {
        version: 11,
        name: "entity_bindings",
        sqlite: include_str!("../../migrations/sqlite/0011_entity_bindings.sql"),
        postgres: include_str!("../../migrations/postgres/0011_entity_bindings.sql"),
    },
    Migration {
        version: 12,
        name: "entity_kind_index",
        sqlite: include_str!("../../migrations/sqlite/0012_entity_kind_index.sql"),
        postgres: include_str!("../../migrations/postgres/0012_entity_kind_index.sql"),
    },
    Migration {
        version: 13,
        name: "refresh_successor",
        sqlite: include_str!("../../migrations/sqlite/0013_refresh_successor.sql"),
        postgres: include_str!("../../migrations/postgres/0013_refresh_successor.sql"),
    },
    Migration {
        version: 14,
        name: "replay_horizons",
        sqlite: include_str!("../../migrations/sqlite/0014_replay_horizons.sql"),
        postgres: include_str!("../../migrations/postgres/0014_replay_horizons.sql"),
    },
    Migration {
        version: 15,
        name: "resource_servers",
        sqlite: include_str!("../../migrations/sqlite/0015_resource_servers.sql"),
        postgres: include_str!("../../migrations/postgres/0015_resource_servers.sql"),
    },
    Migration {
        version: 16,
        name: "declined_permissions",
        sqlite: include_str!("../../migrations/sqlite/0016_declined_permissions.sql"),
        postgres: include_str!("../../migrations/postgres/0016_declined_permissions.sql"),
    },
    Migration {
        version: 17,
        name: "dpop_refresh",
        sqlite: include_str!("../../migrations/sqlite/0017_dpop_refresh.sql"),
        postgres: include_str!("../../migrations/postgres/0017_dpop_refresh.sql"),
    },
    Migration {
        version: 18,
        name: "device_authorizations",
        sqlite: include_str!("../../migrations/sqlite/0018_device_authorizations.sql"),
        postgres: include_str!("../../migrations/postgres/0018_device_authorizations.sql"),
    },
    Migration {
        version: 19,
        name: "browser_sessions",
        sqlite: include_str!("../../migrations/sqlite/0019_browser_sessions.sql"),
        postgres: include_str!("../../migrations/postgres/0019_browser_sessions.sql"),
    },
    Migration {
        version: 20,
        name: "client_registrations",
        sqlite: include_str!("../../migrations/sqlite/0020_client_registrations.sql"),
        postgres: include_str!("../../migrations/postgres/0020_client_registrations.sql"),
    },
    Migration {
        version: 21,
        name: "server_secrets",
        sqlite: include_str!("../../migrations/sqlite/0021_server_secrets.sql"),
        postgres: include_str!("../../migrations/postgres/0021_server_secrets.sql"),
    },
    Migration {
        version: 22,
        name: "authenticators",
        sqlite: include_str!("../../migrations/sqlite/0022_authenticators.sql"),
        postgres: include_str!("../../migrations/postgres/0022_authenticators.sql"),
    },
    Migration {
        version: 23,
        name: "account_links",
        sqlite: include_str!("../../migrations/sqlite/0023_account_links.sql"),
        postgres: include_str!("../../migrations/postgres/0023_account_links.sql"),
    },
];

/// Advisory lock key serialising migrations across nodes (arbitrary; "surety" in ASCII).
const PG_LOCK_KEY: i64 = 0x7375_7265_7479_i64; // "surety"

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
    (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Every schema version this binary knows, ascending (numbers may skip: a version is a
/// name, reserved by the branch that adds it).
pub fn known_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies every pending migration; `now` is recorded as the application time.
pub(crate) async fn run(pool: &AnyPool, backend: Backend, now: Timestamp) -> StoreResult<()> {
    let mut tx = begin_locked(pool, backend).await?;
    sqlx::query(CREATE_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;

    let applied = applied_versions(pool).await?;
    for m in MIGRATIONS {
        if applied.contains(&m.version) {
            continue;
        }
        if apply(pool, backend, m, now).await? {
            tracing::info!(
                version = m.version,
                name = m.name,
                "applied schema migration"
            );
        }
    }
    Ok(())
}

/// The versions recorded in `schema_migrations`, ascending.
pub async fn applied_versions(pool: &AnyPool) -> StoreResult<Vec<i64>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(map_err)?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// Applies `m` unless another node got there first; `true` if this call applied it.
async fn apply(
    pool: &AnyPool,
    backend: Backend,
    m: &Migration,
    now: Timestamp,
) -> StoreResult<bool> {
    let mut tx = begin_locked(pool, backend).await?;
    let claimed = sqlx::query(
        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2) \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(m.version)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if claimed.rows_affected() == 0 {
        tx.rollback().await.map_err(map_err)?;
        return Ok(false);
    }
    let sql = match backend {
        Backend::Sqlite => m.sqlite,
        Backend::Postgres => m.postgres,
    };
    // Multi-statement text: sent unprepared (simple query protocol on PostgreSQL).
    (&mut *tx)
        .execute(sqlx::raw_sql(sql))
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(true)
}

/// A write transaction holding the migration lock: `BEGIN IMMEDIATE` on SQLite, an
/// advisory transaction lock on PostgreSQL (released at commit or rollback).
async fn begin_locked(pool: &AnyPool, backend: Backend) -> StoreResult<Transaction<'static, Any>> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err),
        Backend::Postgres => {
            let mut tx = pool.begin().await.map_err(map_err)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Ok(tx)
        }
    }
}
