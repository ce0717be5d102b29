//! `surety entities generate` and `surety entities import`, run as the real binary on a
//! temporary data dir (SQLite) and, when `SURETY_TEST_DATABASE_URL` is set, on a fresh
//! PostgreSQL database.

use std::path::Path;
use std::process::{Command, Output};

use surety::store::EntityStore;
use surety::store::sql::SqlStore;

use crate::helpers::{KEK, fresh_database, temp_dir};

fn surety(data_dir: &Path, database_url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_surety"));
    cmd.args(args)
        .env("SURETY_DATA_DIR", data_dir)
        .env("RUST_LOG", "error")
        .env_remove("SURETY_DATABASE_URL");
    if let Some(url) = database_url {
        cmd.env("SURETY_DATABASE_URL", url)
            .env("SURETY_KEY_ENCRYPTION_KEY", KEK);
    }
    let out = cmd.output().expect("run surety");
    assert!(
        out.status.success(),
        "surety {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn generate_then_import(database_url: Option<String>) {
    let dir = temp_dir();
    let url = database_url.as_deref();
    let file = dir.join("ent.jsonl");
    let file_s = file.to_str().unwrap();
    surety(
        &dir,
        url,
        &[
            "entities", "generate", "--count", "2000", "--seed", "5", "--out", file_s,
        ],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2000);
    let to_stdout = surety(
        &dir,
        url,
        &["entities", "generate", "--count", "2000", "--seed", "5"],
    );
    assert_eq!(to_stdout.stdout, text.as_bytes(), "same seed, same bytes");

    // Two bad records at the end: lines 2001 and 2002.
    let bad = r#"{"external_id":"X1","kind":"person","name":"Bad Phone","phone":"12","source":"s","verified_at":"2024-01-01"}"#;
    std::fs::write(&file, format!("{text}{bad}\nnot json\n")).unwrap();
    let rejects = dir.join("rejects.txt");
    let rejects_s = rejects.to_str().unwrap();
    let args = ["entities", "import", file_s, "--rejects", rejects_s];
    let first = stderr(&surety(&dir, url, &args));
    assert!(first.contains("2002 records"), "{first}");
    assert!(
        first.contains("2000 new, 0 updated, 0 unchanged, 2 rejected"),
        "{first}"
    );
    let reasons = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = reasons.lines().collect();
    assert_eq!(lines.len(), 2, "{reasons}");
    assert!(lines[0].starts_with("line 2001: phone:"), "{reasons}");
    assert!(lines[1].starts_with("line 2002: "), "{reasons}");

    let again = stderr(&surety(&dir, url, &args));
    assert!(
        again.contains("0 new, 0 updated, 2000 unchanged, 2 rejected"),
        "{again}"
    );

    // CSV, format given explicitly; rejects on stderr.
    let csv = dir.join("more.txt");
    std::fs::write(
        &csv,
        "external_id,kind,name,phone,source,verified_at\n\
         C1,business,Acme Inc,(415) 555-0100,registry,2024-01-01\n\
         C2,person,Ann Lee,not a phone,dmv,2024-01-01\n",
    )
    .unwrap();
    let out = stderr(&surety(
        &dir,
        url,
        &[
            "entities",
            "import",
            csv.to_str().unwrap(),
            "--format",
            "csv",
        ],
    ));
    assert!(out.contains("line 3: phone:"), "{out}");
    assert!(out.contains("1 new"), "{out}");

    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", dir.join("surety.db").display()));
    let store = SqlStore::connect(&url).await.unwrap();
    let c = store.entity_counts().await.unwrap();
    assert_eq!(c.people + c.businesses, 2001);
    assert_eq!(c.dangling_links, 0);
    let acme = store.find_by_external_id("C1").await.unwrap();
    assert_eq!(acme.phone_e164.as_deref(), Some("+14155550100"));
    store.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn generate_then_import_on_sqlite() {
    generate_then_import(None).await;
}

#[tokio::test]
async fn generate_then_import_on_postgres() {
    let Some(base) = std::env::var("SURETY_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return;
    };
    generate_then_import(Some(fresh_database(&base).await)).await;
}
