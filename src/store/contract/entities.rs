//! Contract cases for [`EntityStore`] and the entity import over it, on a fresh SQLite
//! file and (when configured) a fresh PostgreSQL database each.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::super::sql::{Backend, SqlStore};
use super::super::*;
use super::{postgres_db, sqlite_db};
use crate::verify::import::{self, Format, ImportOptions, ImportReport, RejectWriter};
use crate::verify::record::{ParseContext, from_json_line};

contract!(
    entities_upsert_and_read,
    entities_reimport_updates_in_place,
    entities_last_duplicate_in_a_batch_wins,
    entities_candidates_by_indexed_elements,
    entities_many_statements_in_one_batch,
    import_jsonl_reports_rejects_by_line_and_is_idempotent,
    import_csv_round_trip,
    import_generated_data_set,
    entities_bulk_load_keeps_the_indexes,
);

/// 2026-01-01.
const NOW: i64 = 1_767_225_600;

fn ctx(now: i64) -> ParseContext {
    ParseContext::at(now)
}

fn business(id: &str, name: &str) -> String {
    serde_json::json!({
        "external_id": id, "kind": "business", "name": name,
        "street": "500 Park Avenue, Suite 200", "city": "New York", "region": "New York",
        "postal": "10022", "phone": "(212) 555-0100", "email": "Info@Acme.example",
        "source": "registry", "verified_at": "2024-01-01",
        "attributes": {"founded_year": 2019, "annual_revenue": 4_000_000,
            "employee_count": 12, "industry": "Software", "office_networks": ["203.0.113.0/28"]}
    })
    .to_string()
}

fn person(id: &str, name: &str, employer: &str, title: &str) -> String {
    serde_json::json!({
        "external_id": id, "kind": "person", "name": name,
        "street": "12 North Oak Street Apt 4", "city": "Brooklyn", "region": "NY",
        "postal": "11201-1234", "phone": "718.555.0142",
        "email": format!("{}@example.com", name.replace(' ', ".")),
        "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1984, "employer": employer, "title": title,
            "start_year": 2020}
    })
    .to_string()
}

fn write(line: &str, now: i64) -> EntityWrite {
    from_json_line(line, &ctx(now)).unwrap()
}

async fn entities_upsert_and_read(s: &SqlStore) {
    let batch = vec![
        write(&business("B1", "Acme, Inc."), NOW),
        write(&person("P1", "Maria Garcia", "B1", "CTO"), NOW),
        write(&person("P2", "Ann Lee", "B1", "Engineer"), NOW),
    ];
    let out = s.upsert_entities(&batch).await.unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            written: 3,
            links: 2
        }
    );

    let p1 = s.find_by_external_id("P1").await.unwrap();
    assert_eq!(p1, batch[1].record, "read back as written");
    assert_eq!(s.get_entity(&p1.id).await.unwrap(), p1);
    assert_eq!(p1.street_norm.as_deref(), Some("12 N OAK ST APT 4"));
    assert_eq!(p1.postal.as_deref(), Some("11201"));
    let b1 = s.find_by_external_id("B1").await.unwrap();
    assert_eq!(b1.name_norm, "ACME INC");
    assert_eq!(b1.region.as_deref(), Some("NY"));
    assert_eq!(b1.attributes["office_networks"][0], "203.0.113.0/28");

    let parents = s.parents_of(&p1.id).await.unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(
        (parents[0].parent_id.as_str(), parents[0].role.as_str()),
        (b1.id.as_str(), "employee")
    );
    assert_eq!(s.children_of(&b1.id, 10).await.unwrap().len(), 2);
    assert_eq!(s.children_of(&b1.id, 1).await.unwrap().len(), 1);

    let c = s.entity_counts().await.unwrap();
    assert_eq!(
        (c.people, c.businesses, c.links, c.dangling_links),
        (2, 1, 2, 0)
    );
    assert!(matches!(
        s.find_by_external_id("nope").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.get_entity("ENnope").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.upsert_entities(&[]).await.unwrap(),
        UpsertOutcome::default()
    );
}

async fn entities_reimport_updates_in_place(s: &SqlStore) {
    let first = vec![
        write(&business("B1", "Acme"), NOW),
        write(&business("B2", "Globex"), NOW),
        write(&person("P1", "Maria Garcia", "B1", "CTO"), NOW),
    ];
    s.upsert_entities(&first).await.unwrap();
    // The same content an hour later: nothing is written.
    let same: Vec<EntityWrite> = [
        business("B1", "Acme"),
        business("B2", "Globex"),
        person("P1", "Maria Garcia", "B1", "CTO"),
    ]
    .iter()
    .map(|l| write(l, NOW + 3600))
    .collect();
    assert_eq!(s.upsert_entities(&same).await.unwrap().written, 0);
    assert_eq!(s.find_by_external_id("P1").await.unwrap().updated_at, NOW);
    // Maria moves to Globex: the row is updated and her links replaced.
    let moved = write(&person("P1", "Maria Garcia", "B2", "CEO"), NOW + 7200);
    let out = s
        .upsert_entities(std::slice::from_ref(&moved))
        .await
        .unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            written: 1,
            links: 1
        }
    );
    let p1 = s.find_by_external_id("P1").await.unwrap();
    assert_eq!((p1.created_at, p1.updated_at), (NOW, NOW + 7200));
    assert_eq!(p1.attributes["title"], "CEO");
    let parents = s.parents_of(&p1.id).await.unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(parents[0].parent_id, crate::verify::entity_id("B2"));
    let c = s.entity_counts().await.unwrap();
    assert_eq!(
        (c.people, c.businesses, c.links),
        (1, 2, 1),
        "updated, not duplicated"
    );
}

async fn entities_last_duplicate_in_a_batch_wins(s: &SqlStore) {
    let batch = vec![
        write(&person("P1", "Maria Garcia", "B9", "Buyer"), NOW),
        write(&person("P1", "Maria Garcia", "B9", "Head Buyer"), NOW),
    ];
    assert_eq!(s.upsert_entities(&batch).await.unwrap().written, 1);
    let p1 = s.find_by_external_id("P1").await.unwrap();
    assert_eq!(p1.attributes["title"], "Head Buyer");
    let c = s.entity_counts().await.unwrap();
    assert_eq!(
        (c.links, c.dangling_links),
        (1, 1),
        "B9 is not imported yet"
    );
}

async fn entities_candidates_by_indexed_elements(s: &SqlStore) {
    let batch = vec![
        write(&person("P1", "Maria Garcia", "B1", "CTO"), NOW),
        write(&business("B1", "Acme"), NOW),
    ];
    s.upsert_entities(&batch).await.unwrap();
    let ids = |v: Vec<EntityRecord>| v.into_iter().map(|e| e.external_id).collect::<Vec<_>>();
    let probe = |f: fn(&mut ElementProbe)| {
        let mut p = ElementProbe::default();
        f(&mut p);
        p
    };
    let by_phone = probe(|p| p.phone_e164 = Some("+17185550142".into()));
    assert_eq!(ids(s.candidates(&by_phone, 10).await.unwrap()), ["P1"]);
    let by_email = probe(|p| p.email_norm = Some("info@acme.example".into()));
    assert_eq!(ids(s.candidates(&by_email, 10).await.unwrap()), ["B1"]);
    let by_name = probe(|p| {
        p.name_norm = Some("MARIA GARCIA".into());
        p.postal = Some("11201".into());
    });
    assert_eq!(ids(s.candidates(&by_name, 10).await.unwrap()), ["P1"]);
    let by_street = probe(|p| {
        p.street_norm = Some("500 PARK AVE STE 200".into());
        p.postal = Some("10022".into());
    });
    assert_eq!(ids(s.candidates(&by_street, 10).await.unwrap()), ["B1"]);
    let by_street_city = probe(|p| {
        p.street_norm = Some("500 PARK AVE STE 200".into());
        p.city_norm = Some("NEW YORK".into());
    });
    assert_eq!(
        ids(s.candidates(&by_street_city, 10).await.unwrap()),
        ["B1"]
    );
    let other_city = probe(|p| {
        p.street_norm = Some("500 PARK AVE STE 200".into());
        p.city_norm = Some("BROOKLYN".into());
    });
    assert!(s.candidates(&other_city, 10).await.unwrap().is_empty());
    let name_city = probe(|p| {
        p.name_norm = Some("MARIA GARCIA".into());
        p.city_norm = Some("BROOKLYN".into());
    });
    assert!(
        s.candidates(&name_city, 10).await.unwrap().is_empty(),
        "the city supports a street only"
    );
    let both = probe(|p| {
        p.phone_e164 = Some("+17185550142".into());
        p.email_norm = Some("info@acme.example".into());
    });
    assert_eq!(s.candidates(&both, 10).await.unwrap().len(), 2);
    assert_eq!(s.candidates(&both, 1).await.unwrap().len(), 1);
    let name_only = probe(|p| p.name_norm = Some("MARIA GARCIA".into()));
    assert!(
        s.candidates(&name_only, 10).await.unwrap().is_empty(),
        "a name alone is no lookup"
    );
    let wrong = probe(|p| p.phone_e164 = Some("+14155550100".into()));
    assert!(s.candidates(&wrong, 10).await.unwrap().is_empty());
}

async fn entities_many_statements_in_one_batch(s: &SqlStore) {
    let mut text = Vec::new();
    crate::synth::write_jsonl(&mut text, 2500, 3).unwrap();
    let batch: Vec<EntityWrite> = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(|l| write(l, NOW))
        .collect();
    let out = s.upsert_entities(&batch).await.unwrap();
    assert_eq!(out.written, 2500);
    let links: usize = batch.iter().map(|w| w.links.len()).sum();
    assert_eq!(out.links, links as u64);
    let c = s.entity_counts().await.unwrap();
    assert_eq!(c.people + c.businesses, 2500);
    assert_eq!(c.links, links as i64);
}

/// A writer the test can read back after the import has taken it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn run_import(
    s: &SqlStore,
    text: &str,
    format: Format,
    now: i64,
    batch_rows: usize,
) -> (ImportReport, String) {
    let store: Arc<dyn EntityStore> = Arc::new(s.clone());
    let sink = Shared::default();
    let opts = ImportOptions { format, batch_rows };
    let input = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
    let report = import::import(
        store,
        input,
        &opts,
        ctx(now),
        &mut RejectWriter(sink.clone()),
    )
    .await
    .unwrap();
    let rejects = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    (report, rejects)
}

async fn import_jsonl_reports_rejects_by_line_and_is_idempotent(s: &SqlStore) {
    let bad_phone = person("P3", "Bad Phone", "B1", "Clerk").replace("718.555.0142", "555-0142");
    let lines = [
        business("B1", "Acme"),
        person("P1", "Maria Garcia", "B1", "CTO"),
        String::new(), // blank lines are skipped, but counted for line numbers
        bad_phone,
        "{not json".to_owned(),
        person("P2", "Ann Lee", "B1", "Engineer"),
        person("P4", "No Kind", "B1", "x").replace("\"person\"", "\"robot\""),
    ];
    let text = lines.join("\n") + "\n";
    let (r, rejects) = run_import(s, &text, Format::Jsonl, NOW, 2).await;
    assert_eq!(
        (r.records, r.rejected, r.written, r.new_entities),
        (6, 3, 3, 3)
    );
    assert_eq!(r.links_written, 2);
    let got: Vec<&str> = rejects.lines().collect();
    assert_eq!(got.len(), 3, "{rejects}");
    assert!(got[0].starts_with("line 4: phone:"), "{rejects}");
    assert!(got[1].starts_with("line 5: "), "{rejects}");
    assert!(got[2].starts_with("line 7: kind:"), "{rejects}");
    assert_eq!(
        (r.counts.people, r.counts.businesses, r.counts.links),
        (2, 1, 2)
    );

    // Re-importing the same file changes nothing; an edited record is updated in place.
    let (again, _) = run_import(s, &text, Format::Jsonl, NOW + 60, 2).await;
    assert_eq!(
        (again.written, again.new_entities, again.rejected),
        (0, 0, 3)
    );
    let edited = text.replace("\"CTO\"", "\"CEO\"");
    let (third, _) = run_import(s, &edited, Format::Jsonl, NOW + 120, 2).await;
    assert_eq!((third.written, third.new_entities), (1, 0));
    assert_eq!((third.counts.people, third.counts.businesses), (2, 1));
    let p1 = s.find_by_external_id("P1").await.unwrap();
    assert_eq!(p1.attributes["title"], "CEO");
}

async fn import_csv_round_trip(s: &SqlStore) {
    let text = "external_id,kind,name,street,city,region,postal,phone,email,source,verified_at,\
                birth_year,founded_year,office_networks,links\n\
        B1,business,\"Acme, Inc.\",\"1 Main Street, Suite 5\",Boston,Massachusetts,02108,\
        617-555-0100,info@acme.example,registry,2024-01-01,,2019,10.0.0.0/28;10.1.0.0/29,\n\
        P1,person,Ann Lee,\"9 Elm Rd\",Boston,MA,02109,(617) 555-0199,ANN@EXAMPLE.COM,dmv,\
        2024-02-02,1990,,,B1:owner\n\
        P2,person,Bob,1 X St,Boston,MA,02109,12345,bob@example.com,dmv,2024-02-02,1990,,,\n\
        P3,person,Too,Few,Fields\n";
    let (r, rejects) = run_import(s, text, Format::Csv, NOW, 2).await;
    assert_eq!((r.records, r.rejected, r.written), (4, 2, 2), "{rejects}");
    let got: Vec<&str> = rejects.lines().collect();
    assert!(got[0].starts_with("line 4: phone:"), "{rejects}");
    assert!(got[1].starts_with("line 5: "), "{rejects}");
    let b1 = s.find_by_external_id("B1").await.unwrap();
    assert_eq!(b1.name, "Acme, Inc.");
    assert_eq!(b1.street_norm.as_deref(), Some("1 MAIN ST STE 5"));
    assert_eq!(b1.region.as_deref(), Some("MA"));
    assert_eq!(b1.attributes["office_networks"][1], "10.1.0.0/29");
    let p1 = s.find_by_external_id("P1").await.unwrap();
    assert_eq!(p1.email_norm.as_deref(), Some("ann@example.com"));
    assert_eq!(p1.phone_e164.as_deref(), Some("+16175550199"));
    assert_eq!(s.parents_of(&p1.id).await.unwrap()[0].role, "owner");
}

async fn import_generated_data_set(s: &SqlStore) {
    let mut buf = Vec::new();
    crate::synth::write_jsonl(&mut buf, 3000, 11).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (r, rejects) = run_import(s, &text, Format::Jsonl, NOW, 500).await;
    assert_eq!(rejects, "");
    assert_eq!((r.records, r.written, r.new_entities), (3000, 3000, 3000));
    assert_eq!(r.counts.people + r.counts.businesses, 3000);
    assert_eq!(r.counts.dangling_links, 0, "every employer is in the file");
    let (again, _) = run_import(s, &text, Format::Jsonl, NOW + 60, 500).await;
    assert_eq!((again.written, again.new_entities), (0, 0));
    assert_eq!(again.counts, r.counts);
}

async fn index_names(s: &SqlStore) -> Vec<String> {
    let sql = match s.backend() {
        Backend::Postgres => {
            "SELECT indexname::text AS name FROM pg_indexes \
             WHERE tablename IN ('entities', 'entity_links') ORDER BY 1"
        }
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('entities', 'entity_links') ORDER BY 1"
        }
    };
    let rows = sqlx::query(sql).fetch_all(s.pool()).await.unwrap();
    rows.iter()
        .map(|r| sqlx::Row::get::<String, _>(r, "name"))
        .collect()
}

async fn entities_bulk_load_keeps_the_indexes(s: &SqlStore) {
    let before = index_names(s).await;
    for name in [
        "entities_phone_idx",
        "entities_street_postal_idx",
        "entities_kind_id_idx",
        "entity_links_child_idx",
    ] {
        assert!(before.iter().any(|n| n == name), "{name} in {before:?}");
    }
    // A load abandoned before `finish`: on PostgreSQL nothing of it remains.
    let mut abandoned = s.bulk().await.unwrap();
    abandoned
        .write(&[write(&business("B0", "Gone"), NOW)])
        .await
        .unwrap();
    drop(abandoned);
    let gone = s.find_by_external_id("B0").await;
    match s.backend() {
        Backend::Postgres => assert!(matches!(gone, Err(StoreError::NotFound))),
        Backend::Sqlite => assert!(gone.is_ok(), "SQLite commits each batch"),
    }
    assert_eq!(index_names(s).await, before);
    // An initial load (on PostgreSQL without the match indexes until it finishes), then
    // a load into the filled tables.
    for (i, now) in [(1, NOW), (2, NOW + 60)] {
        let mut bulk = s.bulk().await.unwrap();
        let b = format!("B{i}");
        bulk.write(&[write(&business(&b, "Acme"), now)])
            .await
            .unwrap();
        bulk.write(&[write(&person(&format!("P{i}"), "Ann Lee", &b, "CEO"), now)])
            .await
            .unwrap();
        bulk.finish().await.unwrap();
        assert_eq!(index_names(s).await, before);
    }
    let c = s.entity_counts().await.unwrap();
    assert_eq!((c.people, c.links, c.dangling_links), (2, 2, 0));
}
