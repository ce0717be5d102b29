//! Contract cases for [`VerificationStore`] (the verified-entity engine's rows), on a
//! fresh SQLite file and (when configured) a fresh PostgreSQL database each.

use serde_json::json;

use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db};

contract!(
    verifications_insert_read_and_compare_and_set,
    verifications_concurrent_decisions_have_one_winner,
    verifications_count_attempts_and_recent_questions,
    verifications_history_and_learned_networks,
    verifications_entity_window_is_a_bounded_id_range,
    verifications_purge_keeps_open_recent_ones_and_history,
);

fn verification(id: &str, entity: &str, created_at: i64) -> VerificationRecord {
    VerificationRecord {
        id: id.into(),
        client_id: "rp1".into(),
        client_name: "RP One".into(),
        account: Some("acct".into()),
        kind: "person".into(),
        entity_id: Some(entity.into()),
        tier: "definite".into(),
        state: "questions".into(),
        input: json!({"kind": "person", "name": "JANE SMITH"}),
        candidates: json!([]),
        questions: json!([{"id": "q1", "fact": "birth_year", "digest": "ab"}]),
        method: "kba".into(),
        attempt: true,
        outcome: None,
        correct: 0,
        asked: 1,
        required: 1,
        source_ip: Some("192.0.2.1".into()),
        created_at,
        expires_at: created_at + 600,
        decided_at: None,
    }
}

fn decided(
    v: &VerificationRecord,
    outcome: &str,
    at: i64,
) -> (VerificationRecord, VerificationHistoryRecord) {
    let mut d = v.clone();
    d.state = "done".into();
    d.outcome = Some(outcome.into());
    d.decided_at = Some(at);
    d.correct = 1;
    let h = VerificationHistoryRecord {
        verification_id: v.id.clone(),
        entity_id: v.entity_id.clone().unwrap(),
        client_id: v.client_id.clone(),
        client_name: v.client_name.clone(),
        account: v.account.clone(),
        outcome: outcome.into(),
        method: "kba".into(),
        decided_at: at,
    };
    (d, h)
}

async fn verifications_insert_read_and_compare_and_set(s: &SqlStore) {
    let v = verification("vf_1", "EN1", 1000);
    s.insert_verification(&v).await.unwrap();
    assert_eq!(s.get_verification("vf_1").await.unwrap(), v);
    assert!(matches!(
        s.insert_verification(&v).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.get_verification("vf_2").await,
        Err(StoreError::NotFound)
    ));
    // A move from a state the row is not in changes nothing.
    let (d, h) = decided(&v, "passed", 1100);
    assert!(
        !s.update_verification(&d, "candidates", Some(&h))
            .await
            .unwrap()
    );
    assert_eq!(s.get_verification("vf_1").await.unwrap(), v);
    assert!(s.history("EN1", 10).await.unwrap().is_empty());
    assert!(
        s.update_verification(&d, "questions", Some(&h))
            .await
            .unwrap()
    );
    assert_eq!(s.get_verification("vf_1").await.unwrap(), d);
    assert_eq!(s.history("EN1", 10).await.unwrap(), vec![h]);
    // Without history, an update moves the state only.
    let mut other = verification("vf_3", "EN1", 1000);
    other.state = "candidates".into();
    s.insert_verification(&other).await.unwrap();
    other.state = "questions".into();
    other.entity_id = None;
    assert!(
        s.update_verification(&other, "candidates", None)
            .await
            .unwrap()
    );
    assert_eq!(s.get_verification("vf_3").await.unwrap().entity_id, None);
}

async fn verifications_concurrent_decisions_have_one_winner(s: &SqlStore) {
    let v = verification("vf_c", "EN1", 1000);
    s.insert_verification(&v).await.unwrap();
    let (d1, h1) = decided(&v, "passed", 1100);
    let (d2, h2) = decided(&v, "failed", 1100);
    let (a, b) = tokio::join!(
        s.update_verification(&d1, "questions", Some(&h1)),
        s.update_verification(&d2, "questions", Some(&h2))
    );
    assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1, "one winner");
    assert_eq!(s.history("EN1", 10).await.unwrap().len(), 1);
}

async fn verifications_count_attempts_and_recent_questions(s: &SqlStore) {
    for (id, at) in [("vf_a", 1000), ("vf_b", 2000), ("vf_c", 3000)] {
        let mut v = verification(id, "EN1", at);
        v.questions = json!([{"id": "q1", "fact": id}]);
        s.insert_verification(&v).await.unwrap();
    }
    let mut no_questions = verification("vf_d", "EN1", 3500);
    no_questions.attempt = false;
    s.insert_verification(&no_questions).await.unwrap();
    s.insert_verification(&verification("vf_e", "EN2", 3500))
        .await
        .unwrap();
    assert_eq!(s.count_attempts("EN1", 0).await.unwrap(), 3);
    assert_eq!(
        s.count_attempts("EN1", 1000).await.unwrap(),
        2,
        "after `since` only"
    );
    // A passed attempt does not count; a failed one does.
    let b = s.get_verification("vf_b").await.unwrap();
    let (d, h) = decided(&b, "passed", 2100);
    assert!(
        s.update_verification(&d, "questions", Some(&h))
            .await
            .unwrap()
    );
    assert_eq!(s.count_attempts("EN1", 0).await.unwrap(), 2);
    let a = s.get_verification("vf_a").await.unwrap();
    let (d, h) = decided(&a, "failed", 1100);
    assert!(
        s.update_verification(&d, "questions", Some(&h))
            .await
            .unwrap()
    );
    assert_eq!(s.count_attempts("EN1", 0).await.unwrap(), 2);
    // With the count, in one statement: the newest attempts' questions, whatever their
    // outcome or age.
    let state = s.attempt_state("EN1", 0, 2).await.unwrap();
    assert_eq!(state.count, 2);
    let facts: Vec<String> = state
        .recent_questions
        .iter()
        .map(|q| serde_json::from_str::<serde_json::Value>(q).unwrap())
        .collect::<Vec<_>>()
        .iter()
        .map(|q| q[0]["fact"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(facts, vec!["vf_c", "vf_b"]);
    let all = s.attempt_state("EN1", 1000, 10).await.unwrap();
    assert_eq!(all.count, 1, "vf_c: vf_a is before `since`, vf_b passed");
    assert_eq!(all.recent_questions.len(), 3, "vf_d issued no questions");
    // An insert counted once stored: it and the attempts before it.
    let mut f = verification("vf_f", "EN1", 4000);
    f.questions = json!([{"id": "q1", "fact": "vf_f"}]);
    assert_eq!(s.insert_and_count(&f, 1000).await.unwrap(), 2);
    assert_eq!(s.count_attempts("EN1", 0).await.unwrap(), 3);
    let none = s.attempt_state("EN9", 0, 2).await.unwrap();
    assert_eq!(none.count, 0);
    assert!(none.recent_questions.is_empty());
}

async fn verifications_history_and_learned_networks(s: &SqlStore) {
    for (id, at, outcome) in [
        ("vf_1", 1000, "failed"),
        ("vf_2", 2000, "locked"),
        ("vf_3", 1500, "passed"),
    ] {
        let v = verification(id, "EN1", at);
        s.insert_verification(&v).await.unwrap();
        let (d, h) = decided(&v, outcome, at);
        assert!(
            s.update_verification(&d, "questions", Some(&h))
                .await
                .unwrap()
        );
    }
    let h = s.history("EN1", 10).await.unwrap();
    let order: Vec<&str> = h.iter().map(|h| h.verification_id.as_str()).collect();
    assert_eq!(order, vec!["vf_2", "vf_3", "vf_1"], "newest first");
    assert_eq!(h[0].outcome, "locked");
    assert_eq!(s.history("EN1", 1).await.unwrap().len(), 1);

    s.add_network("EN5", "203.0.113.0/28", "colleague EN1", 10)
        .await
        .unwrap();
    s.add_network("EN5", "198.51.100.0/24", "admin", 11)
        .await
        .unwrap();
    s.add_network("EN5", "203.0.113.0/28", "again", 12)
        .await
        .unwrap();
    assert_eq!(
        s.learned_networks("EN5").await.unwrap(),
        vec!["198.51.100.0/24".to_owned(), "203.0.113.0/28".to_owned()]
    );
    assert!(s.learned_networks("EN6").await.unwrap().is_empty());
}

async fn verifications_entity_window_is_a_bounded_id_range(s: &SqlStore) {
    let ctx = crate::verify::record::ParseContext::at(1_767_225_600);
    let mut batch = Vec::new();
    for i in 0..30 {
        let kind = if i % 3 == 0 { "business" } else { "person" };
        let attributes = match kind {
            "person" => json!({"title": format!("Title {i}"), "birth_year": 1980}),
            _ => json!({"industry": "Retail", "founded_year": 2001}),
        };
        let line = json!({"external_id": format!("X{i}"), "kind": kind, "name": format!("Name {i}"),
            "street": format!("{i} Main St"), "city": "Fresno", "region": "CA",
            "source": "s", "verified_at": "2024-01-01", "attributes": attributes});
        batch.push(crate::verify::record::from_json_line(&line.to_string(), &ctx).unwrap());
    }
    s.upsert_entities(&batch).await.unwrap();
    let all = s.entity_window("person", "", 100).await.unwrap();
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "id order");
    let from = &all[10].id;
    let some = s.entity_window("person", from, 5).await.unwrap();
    assert_eq!(some.len(), 5);
    assert_eq!(&some[0].id, from);
    assert!(
        some.iter()
            .all(|x| x.city_norm.as_deref() == Some("FRESNO"))
    );
    assert!(
        some.iter().all(
            |x| x.street.as_deref().is_some_and(|t| t.ends_with(" Main St"))
                && x.street_norm
                    .as_deref()
                    .is_some_and(|t| t.ends_with(" MAIN ST"))
        ),
        "the street as recorded, and normalized"
    );
    assert_eq!(
        s.entity_window("business", "", 100).await.unwrap().len(),
        10
    );
    assert!(s.entity_window("person", "EZ", 5).await.unwrap().is_empty());

    // One statement: an entity by id and the same windows, kind by kind in id order.
    let businesses = s.entity_window("business", from, 4).await.unwrap();
    let both = SamplesQuery {
        id: Some(&all[3].id),
        kinds: &["person", "business"],
        from_id: from,
        limit: 4,
    };
    let got = s.entity_samples(&both).await.unwrap();
    assert_eq!(got.entity.as_ref(), Some(&all[3]));
    let mut expected = s.entity_window("person", from, 4).await.unwrap();
    expected.extend(businesses);
    assert_eq!(got.windows, expected);
    // The same with the attempt state, on one connection.
    let (state, again) = s
        .attempt_state_and_samples("EN1", 0, 3, &both)
        .await
        .unwrap();
    assert_eq!(state, AttemptState::default());
    assert_eq!(again, got);
    let only = SamplesQuery {
        id: Some("ENnone"),
        kinds: &["business"],
        from_id: "",
        limit: 100,
    };
    let only = s.entity_samples(&only).await.unwrap();
    assert_eq!(only.entity, None);
    assert_eq!(only.windows.len(), 10);
    assert!(only.windows.iter().all(|x| x.kind == "business"
        && x.industry.as_deref() == Some("Retail")
        && x.title.is_none()));
    assert!(
        all.iter()
            .all(|x| x.title.as_deref().is_some_and(|t| t.starts_with("Title ")))
    );
    let just = SamplesQuery {
        id: Some(&all[0].id),
        kinds: &[],
        from_id: "",
        limit: 5,
    };
    let just = s.entity_samples(&just).await.unwrap();
    assert_eq!(just.entity.map(|e| e.id), Some(all[0].id.clone()));
    assert!(just.windows.is_empty());
}

async fn verifications_purge_keeps_open_recent_ones_and_history(s: &SqlStore) {
    let old = verification("vf_old", "EN1", 1000); // closed at 1600
    let (old_done, history) = decided(&old, "passed", 1100);
    s.insert_verification(&old).await.unwrap();
    assert!(
        s.update_verification(&old_done, "questions", Some(&history))
            .await
            .unwrap()
    );
    let mut open = verification("vf_open", "EN1", 1000);
    open.expires_at = 9000; // started long ago, still open at `now`
    s.insert_verification(&open).await.unwrap();
    s.insert_verification(&verification("vf_new", "EN1", 5000))
        .await
        .unwrap();
    // now = 6000, keep what was started from 4000 on.
    assert_eq!(s.purge(6000, 4000, 0, 0).await.unwrap(), 1);
    assert!(matches!(
        s.get_verification("vf_old").await,
        Err(StoreError::NotFound)
    ));
    assert!(s.get_verification("vf_open").await.is_ok());
    assert!(s.get_verification("vf_new").await.is_ok());
    // The decision outlives the row.
    let h = s.history("EN1", 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].verification_id, "vf_old");
    assert_eq!(s.purge(6000, 4000, 0, 0).await.unwrap(), 0);
}
