//! The store contract suite: every case is written once against [`SqlStore`] / [`Stores`]
//! and run on a fresh SQLite file and, when `SURETY_TEST_DATABASE_URL` names a
//! PostgreSQL server, on a fresh database created on it for the test. Without that
//! variable the PostgreSQL half is skipped, unless `CI=true`, where it fails.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;

use super::migrate::{applied_versions, known_versions, latest_version};
use super::sql::{Backend, SqlStore};
use super::*;
use crate::clock::{Entropy, SystemEntropy};

const PG_ENV: &str = "SURETY_TEST_DATABASE_URL";

/// A migrated store plus what must be cleaned up after the test.
struct TestDb {
    store: SqlStore,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Database { admin: SqlStore, name: String },
}

impl TestDb {
    async fn finish(self) {
        self.store.pool().close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin, name } => {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(admin.pool())
                    .await;
                admin.pool().close().await;
            }
        }
    }
}

async fn sqlite_db(migrate: bool) -> TestDb {
    let dir = std::env::temp_dir().join(format!("surety-test-{}", SystemEntropy.hex16()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("surety.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    if migrate {
        store.migrate().await.unwrap();
    }
    TestDb {
        store,
        url,
        cleanup: Cleanup::Dir(dir),
    }
}

/// `None` (after a notice) when no PostgreSQL server is configured; panics under CI.
async fn postgres_db(migrate: bool) -> Option<TestDb> {
    let Some(admin_url) = std::env::var(PG_ENV).ok().filter(|v| !v.is_empty()) else {
        skip_notice();
        return None;
    };
    let admin = SqlStore::connect(&admin_url).await.unwrap();
    let name = format!("surety_t_{}", SystemEntropy.hex16());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let store = SqlStore::connect(url.as_str()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    if migrate {
        store.migrate().await.unwrap();
    }
    Some(TestDb {
        store,
        url: url.to_string(),
        cleanup: Cleanup::Database { admin, name },
    })
}

fn skip_notice() {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{PG_ENV} must be set when CI=true: postgres contract tests are mandatory");
    }
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        // Written to the real stderr, past the test harness's output capture.
        let _ = writeln!(
            std::io::stderr(),
            "postgres contract tests SKIPPED (set {PG_ENV})"
        );
    });
}

/// Generates one SQLite and one PostgreSQL test per contract case.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::sqlite_db(true).await;
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::postgres_db(true).await else { return };
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )*
        }
    };
}

contract!(
    clients_crud,
    users_crud,
    consent_upsert,
    grant_insert_and_revoke,
    grant_revoke_creates_tombstone,
    refresh_insert_and_find,
    jti_revocation,
    replay_horizons,
    resource_servers_crud,
    keys_insert_list_delete,
    server_secret_first_writer_wins,
    migrate_twice_is_noop,
    ping_and_purge,
);

mod accounts;
mod agents;
mod audit;
mod authenticators;
mod bindings;
mod devices;
mod entities;
mod links;
mod promotions;
mod refresh;
mod registrations;
mod revocations;
mod sessions;
mod verifications;

fn client(id: &str) -> ClientRecord {
    ClientRecord {
        client_id: ClientId::parse(id).unwrap(),
        secret_hash: Some("ab".repeat(32)),
        metadata: ClientMetadata {
            client_name: Some("Demo «app»".into()),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scope: Some("openid profile".into()),
            jwks: Some(serde_json::json!({"keys": []})),
            ..ClientMetadata::default()
        },
        created_at: 1_700_000_000,
    }
}

fn user(sub: &str, username: &str) -> UserRecord {
    UserRecord {
        sub: sub.into(),
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email: Some(format!("{username}@example.com")),
        email_verified_at: None,
        name: None,
        created_at: 1_700_000_001,
    }
}

fn grant(id: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        client_id: "c1".into(),
        sub: "u1".into(),
        scope: "openid offline_access".into(),
        auth_time: Some(990),
        acr: Some("urn:surety:pwd".into()),
        amr: vec!["pwd".into(), "otp".into()],
        created_at: 1000,
        revoked_at: None,
        resources: vec![
            "https://api.example/a".into(),
            "https://api.example/b".into(),
        ],
    }
}

fn refresh(hash: &str, grant_id: &str, expires_at: Timestamp) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "c1".into(),
        sub: "u1".into(),
        scope: "openid offline_access".into(),
        created_at: 1000,
        expires_at,
        rotated_at: None,
        jkt: None,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn is_not_found<T: std::fmt::Debug>(r: StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::NotFound))
}

async fn clients_crud(s: &SqlStore) {
    let st = Stores::from_sql(s.clone(), std::sync::Arc::new(crate::clock::SystemClock), 0);
    let mut c = client("c1");
    st.clients.insert_client(&c).await.unwrap();
    assert_eq!(st.clients.get_client("c1").await.unwrap(), c);
    assert!(is_conflict(st.clients.insert_client(&c).await));

    let public = ClientRecord {
        secret_hash: None,
        ..client("c0")
    };
    st.clients.insert_client(&public).await.unwrap();
    let all = st.clients.list_clients().await.unwrap();
    assert_eq!(all, vec![public.clone(), c.clone()]);

    c.secret_hash = None;
    c.metadata
        .redirect_uris
        .push("https://app.example/cb2".into());
    st.clients.update_client(&c).await.unwrap();
    assert_eq!(st.clients.get_client("c1").await.unwrap(), c);
    assert!(is_not_found(
        st.clients.update_client(&client("nope")).await
    ));

    st.clients.delete_client("c1", 1).await.unwrap();
    assert!(is_not_found(st.clients.get_client("c1").await));
    assert!(is_not_found(st.clients.delete_client("c1", 1).await));
}

async fn users_crud(s: &SqlStore) {
    let u = user("u1", "alice");
    s.insert_user(&u).await.unwrap();
    assert_eq!(s.get_user("u1").await.unwrap(), u);
    assert_eq!(s.find_user_by_username("alice").await.unwrap(), u);
    assert!(is_conflict(s.insert_user(&user("u2", "alice")).await));
    assert!(is_conflict(s.insert_user(&user("u1", "bob")).await));
    assert!(is_not_found(s.get_user("u2").await));
    assert!(is_not_found(s.find_user_by_username("bob").await));

    let bare = UserRecord {
        email: None,
        ..user("u3", "carol")
    };
    s.insert_user(&bare).await.unwrap();
    assert_eq!(s.get_user("u3").await.unwrap(), bare);

    s.delete_user("u1").await.unwrap();
    assert!(is_not_found(s.get_user("u1").await));
    assert!(is_not_found(s.delete_user("u1").await));
    // The username is free again.
    s.insert_user(&user("u4", "alice")).await.unwrap();
}

async fn consent_upsert(s: &SqlStore) {
    assert_eq!(s.get_consent("u1", "c1").await.unwrap(), None);
    s.put_consent("u1", "c1", "openid", 10).await.unwrap();
    s.put_consent("u1", "c2", "openid email", 10).await.unwrap();
    assert_eq!(
        s.get_consent("u1", "c1")
            .await
            .unwrap()
            .map(|s| s.to_string())
            .as_deref(),
        Some("openid")
    );
    s.put_consent("u1", "c1", "openid profile", 20)
        .await
        .unwrap();
    let got = s.get_consent("u1", "c1").await.unwrap();
    assert_eq!(
        got.map(|s| s.to_string()).as_deref(),
        Some("openid profile")
    );
    let other = s.get_consent("u1", "c2").await.unwrap();
    assert_eq!(
        other.map(|s| s.to_string()).as_deref(),
        Some("email openid"),
        "read back as a scope: a set, in order"
    );
    assert_eq!(s.get_consent("u2", "c1").await.unwrap(), None);
}

async fn grant_insert_and_revoke(s: &SqlStore) {
    let g = grant("g1");
    s.insert_grant(&g).await.unwrap();
    assert_eq!(s.get_grant("g1").await.unwrap(), g);
    // A second insert leaves the first as it is.
    let other = GrantRecord {
        scope: "openid".into(),
        ..grant("g1")
    };
    s.insert_grant(&other).await.unwrap();
    assert_eq!(s.get_grant("g1").await.unwrap(), g);
    assert!(is_not_found(s.get_grant("g2").await));

    s.revoke_grant(&g, 2000).await.unwrap();
    assert_eq!(s.get_grant("g1").await.unwrap().revoked_at, Some(2000));
    s.revoke_grant(&g, 3000).await.unwrap();
    assert_eq!(s.get_grant("g1").await.unwrap().revoked_at, Some(2000));
    s.revoke_grant(&g, 1500).await.unwrap();
    let revoked = s.get_grant("g1").await.unwrap();
    assert_eq!(revoked.revoked_at, Some(1500));
    assert_eq!(revoked.scope, g.scope);
}

async fn grant_revoke_creates_tombstone(s: &SqlStore) {
    let g = grant("g-ghost");
    s.revoke_grant(&g, 1200).await.unwrap();
    let tomb = s.get_grant("g-ghost").await.unwrap();
    assert_eq!(tomb.revoked_at, Some(1200));
    assert_eq!(tomb.amr, g.amr);
    // The code exchange that loses the race must not resurrect it.
    s.insert_grant(&g).await.unwrap();
    assert_eq!(s.get_grant("g-ghost").await.unwrap().revoked_at, Some(1200));
}

async fn refresh_insert_and_find(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    let r = refresh("h1", "g1", 5000);
    s.insert_refresh(&r).await.unwrap();
    assert_eq!(s.find_refresh("h1").await.unwrap(), r);
    assert!(is_conflict(s.insert_refresh(&r).await));
    assert!(is_not_found(s.find_refresh("h2").await));
    // A DPoP-bound token (RFC 9449 §5) keeps its key, and its rotation returns it.
    let bound = RefreshRecord {
        jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
        ..refresh("h3", "g1", 5000)
    };
    s.insert_refresh(&bound).await.unwrap();
    assert_eq!(s.find_refresh("h3").await.unwrap(), bound);
    let next = refresh("h4", "g1", 5000);
    match s.rotate_refresh("h3", &next, 2000, 0).await.unwrap() {
        crate::store::Rotation::Rotated(old) => assert_eq!(old.jkt, bound.jkt),
        other => panic!("{other:?}"),
    }
}

async fn resource_servers_crud(s: &SqlStore) {
    use super::resource_servers::{ResourceServerRecord, ResourceServerStore};
    let r = ResourceServerRecord {
        uri: "https://api.example/orders".into(),
        name: "Orders".into(),
        scopes: "orders:read orders:write".into(),
        created_at: 1000,
    };
    s.insert_resource_server(&r).await.unwrap();
    assert!(is_conflict(s.insert_resource_server(&r).await));
    assert_eq!(s.get_resource_server(&r.uri).await.unwrap(), r);
    assert_eq!(s.list_resource_servers().await.unwrap(), vec![r.clone()]);
    s.delete_resource_server(&r.uri).await.unwrap();
    assert!(is_not_found(s.get_resource_server(&r.uri).await));
    assert!(is_not_found(s.delete_resource_server(&r.uri).await));
}

async fn replay_horizons(s: &SqlStore) {
    assert_eq!(s.replay_horizon_besides("100.a").await.unwrap(), None);
    s.raise_replay_horizon("100.a", 500).await.unwrap();
    s.raise_replay_horizon("100.a", 400).await.unwrap();
    s.raise_replay_horizon("100.b", 900).await.unwrap();
    assert_eq!(
        s.replay_horizon_besides("100.b").await.unwrap(),
        Some(500),
        "the later kept"
    );
    assert_eq!(s.replay_horizon_besides("100.a").await.unwrap(), Some(900));
    assert_eq!(s.replay_horizon_besides("300.c").await.unwrap(), Some(900));
    // Upkeep forgets horizons that have passed.
    s.purge_expired(600).await.unwrap();
    assert_eq!(s.replay_horizon_besides("100.b").await.unwrap(), None);
    assert_eq!(s.replay_horizon_besides("100.a").await.unwrap(), Some(900));
}

async fn jti_revocation(s: &SqlStore) {
    assert!(!s.is_jti_revoked("j1").await.unwrap());
    s.revoke_jti("j1", 5000).await.unwrap();
    s.revoke_jti("j1", 4000).await.unwrap();
    assert!(s.is_jti_revoked("j1").await.unwrap());
    assert!(!s.is_jti_revoked("j2").await.unwrap());
}

async fn keys_insert_list_delete(s: &SqlStore) {
    let k1 = StoredKey {
        kid: "k1".into(),
        alg: "ES256".into(),
        public_jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB"}),
        sealed_private: vec![0, 1, 2, 0xfe, 0xff, 0],
        created_at: 100,
        activates_at: 200,
    };
    let k0 = StoredKey {
        kid: "k0".into(),
        alg: "RS256".into(),
        public_jwk: serde_json::json!({"kty": "RSA", "n": "x", "e": "AQAB"}),
        sealed_private: (0..=255).collect(),
        created_at: 50,
        activates_at: 50,
    };
    s.insert_key(&k1).await.unwrap();
    s.insert_key(&k0).await.unwrap();
    assert!(is_conflict(s.insert_key(&k1).await));
    assert_eq!(s.list_keys().await.unwrap(), vec![k0.clone(), k1.clone()]);
    s.delete_key("k0").await.unwrap();
    assert!(is_not_found(s.delete_key("k0").await));
    assert_eq!(s.list_keys().await.unwrap(), vec![k1]);
}

async fn server_secret_first_writer_wins(s: &SqlStore) {
    let first: Vec<u8> = vec![0, 1, 2, 0xfe, 0xff, 0];
    assert_eq!(
        s.server_secret_or_insert("pairwise", &first, 100)
            .await
            .unwrap(),
        first
    );
    // A second writer (another node starting) gets the first one's secret.
    assert_eq!(
        s.server_secret_or_insert("pairwise", b"other", 200)
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        s.server_secret_or_insert("other", b"x", 200).await.unwrap(),
        b"x".to_vec()
    );
}

async fn migrate_twice_is_noop(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    let before = applied_versions(s.pool()).await.unwrap();
    assert_eq!(before.last().copied(), Some(latest_version()));
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    assert_eq!(applied_versions(s.pool()).await.unwrap(), before);
    assert_eq!(s.get_user("u1").await.unwrap().username, "alice");
}

async fn ping_and_purge(s: &SqlStore) {
    s.ping().await.unwrap();
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("old", "g1", 1500)).await.unwrap();
    s.insert_refresh(&refresh("new", "g1", 9000)).await.unwrap();
    s.revoke_jti("j-old", 1500).await.unwrap();
    s.revoke_jti("j-new", 9000).await.unwrap();
    assert_eq!(s.purge_expired(2000).await.unwrap(), 2);
    assert!(is_not_found(s.find_refresh("old").await));
    assert!(s.find_refresh("new").await.is_ok());
    assert!(!s.is_jti_revoked("j-old").await.unwrap());
    assert!(s.is_jti_revoked("j-new").await.unwrap());
}

/// Several nodes starting at once on an empty database: each migration runs once.
async fn concurrent_first_migration(db: TestDb) {
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(SqlStore::connect(&db.url).await.unwrap());
    }
    let runs: Vec<_> = nodes
        .iter()
        .cloned()
        .map(|n| tokio::spawn(async move { n.migrate().await }))
        .collect();
    for r in runs {
        r.await.unwrap().unwrap();
    }
    assert_eq!(
        applied_versions(db.store.pool()).await.unwrap(),
        known_versions()
    );
    db.store.insert_user(&user("u1", "alice")).await.unwrap();
    for n in nodes {
        assert_eq!(n.get_user("u1").await.unwrap().sub, "u1");
        n.pool().close().await;
    }
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_first_migration() {
    concurrent_first_migration(sqlite_db(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_first_migration() {
    if let Some(db) = postgres_db(false).await {
        concurrent_first_migration(db).await;
    }
}

#[tokio::test]
async fn memory_sqlite_keeps_one_database() {
    let s = SqlStore::connect("sqlite::memory:").await.unwrap();
    s.migrate().await.unwrap();
    s.insert_user(&user("u1", "alice")).await.unwrap();
    assert_eq!(s.get_user("u1").await.unwrap().username, "alice");
}

#[tokio::test]
async fn rejects_unknown_url_schemes_without_echoing_them() {
    let err = SqlStore::connect("mysql://root:hunter2@db/x")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(ref m) if !m.contains("hunter2")));
}
