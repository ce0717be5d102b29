//! The engine against a real SQLite store: tiers to steps, questions, threshold,
//! lockout, single use, expiry, alternative checks and history.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::clock::{Entropy, FixedClock, SystemEntropy};
use crate::store::sql::SqlStore;
use crate::verify::fixtures::{NOW, acme, jane, with, write};
use crate::verify::questions::StoredQuestion;

struct Env {
    v: Verifier,
    clock: FixedClock,
    stores: Stores,
    dir: std::path::PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn env_with(records: Vec<Value>, config: VerifyConfig) -> Env {
    let dir = std::env::temp_dir().join(format!("surety-engine-{}", SystemEntropy.hex16()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqlStore::connect(&format!("sqlite://{}", dir.join("t.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let clock = FixedClock::at(NOW);
    let stores = Stores::from_sql(store, Arc::new(clock.clone()), 10);
    let writes: Vec<_> = records.into_iter().map(write).collect();
    stores.entities.upsert_entities(&writes).await.unwrap();
    let v = Verifier::new(
        stores.clone(),
        config,
        Arc::new(clock.clone()),
        Arc::new(SystemEntropy),
    );
    Env {
        v,
        clock,
        stores,
        dir,
    }
}

/// Other people in Pasadena (distractors for Jane's previous street).
fn neighbours() -> Vec<Value> {
    ["12 Oak St", "40 Cedar Lane", "3 Birch Way"]
        .iter()
        .enumerate()
        .map(|(i, street)| {
            json!({"external_id": format!("N{i}"), "kind": "person", "name": format!("Neighbour {i}"),
                   "street": street, "city": "Pasadena", "region": "CA", "postal": "91101",
                   "source": "dmv", "verified_at": "2024-01-01", "attributes": {"title": "Clerk"}})
        })
        .collect()
}

async fn env() -> Env {
    let config = VerifyConfig {
        regions: Arc::new(RegionTable::load(None).unwrap()),
        ..VerifyConfig::default()
    };
    let mut records = vec![jane(), acme()];
    records.extend(neighbours());
    env_with(records, config).await
}

/// The JSON without its choice lists (a choice question shows the right answer among
/// the distractors by design).
fn without_choices(mut v: Value) -> String {
    if let Some(qs) = v.get_mut("questions").and_then(Value::as_array_mut) {
        for q in qs {
            if let Some(o) = q.as_object_mut() {
                let n = o.remove("choices").and_then(|c| c.as_array().map(Vec::len));
                assert!(
                    n.is_none_or(|n| n >= 3),
                    "an answer among at least two distractors"
                );
            }
        }
    }
    v.to_string()
}

fn who(client: &str, ip: Option<&str>) -> Requester {
    Requester {
        client_id: client.into(),
        client_name: format!("{client} name"),
        account: Some("acct-7".into()),
        source_ip: ip.map(|i| i.parse::<IpAddr>().unwrap()),
    }
}

fn input(v: Value) -> IdentityInput {
    serde_json::from_value(v).unwrap()
}

fn definite() -> IdentityInput {
    input(
        json!({"name": "jane smith", "phone": "(213) 555-0100", "email": "JANE.SMITH@example.com"}),
    )
}

/// The right answer to a question about Jane or Acme, found by trying the stored digest.
async fn right(e: &Env, id: &str, q: &PublicQuestion) -> String {
    let stored: Vec<StoredQuestion> = serde_json::from_value(
        e.stores
            .verifications
            .get_verification(id)
            .await
            .unwrap()
            .questions,
    )
    .unwrap();
    let s = stored.iter().find(|s| s.id == q.id).unwrap();
    let known = [
        "1984",
        "2015",
        "Purchasing Manager",
        "Acme Widgets, Incorporated",
        "77 Elm Ave",
        "1998",
        "Manufacturing",
        "50 to 249",
        "$10 million to $50 million",
        "4567",
        "Los Angeles",
    ];
    let pick = q
        .choices
        .iter()
        .map(String::as_str)
        .chain(known)
        .find(|a| s.check(a));
    pick.expect("a known answer").to_owned()
}

fn questions(s: &Started) -> Vec<PublicQuestion> {
    match &s.step {
        Step::Questions { questions, .. } => questions.clone(),
        other => panic!("expected questions, got {other:?}"),
    }
}

async fn answers(e: &Env, s: &Started, right_ones: usize) -> Vec<AnswerInput> {
    let mut out = Vec::new();
    for (i, q) in questions(s).iter().enumerate() {
        let answer = if i < right_ones {
            right(e, &s.verification_id, q).await
        } else {
            "wrong".into()
        };
        out.push(AnswerInput {
            question_id: q.id.clone(),
            answer,
        });
    }
    out
}

fn verdict(s: &Started) -> &Verdict {
    match &s.step {
        Step::Done { verdict } => verdict,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

#[tokio::test]
async fn definite_match_passes_with_three_of_four_and_records_history() {
    let e = env().await;
    let rp = who("rp1", None);
    let s = e.v.start(&rp, definite()).await.unwrap();
    assert_eq!(s.tier, Tier::Definite);
    assert_eq!(questions(&s).len(), 4);
    let text = without_choices(serde_json::to_value(&s).unwrap());
    for fact in ["1984", "2015", "Purchasing", "Acme", "Elm", "EN"] {
        assert!(!text.contains(fact), "{fact} leaked in {text}");
    }
    let a = answers(&e, &s, 3).await;
    let v =
        e.v.answer(&rp, &s.verification_id, a.clone())
            .await
            .unwrap();
    assert_eq!(
        (v.outcome, v.correct, v.asked, v.required),
        (Outcome::Passed, 3, 4, 3)
    );
    assert_eq!(v.method, "kba");
    assert!(v.entity_id.is_some());
    assert!(
        !serde_json::to_string(&v).unwrap().contains("EN"),
        "no entity id"
    );
    // Single use.
    assert!(matches!(
        e.v.answer(&rp, &s.verification_id, a).await,
        Err(VerifyError::Finished)
    ));
    let h = e.v.history(v.entity_id.as_deref().unwrap()).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].outcome, h[0].client_id.as_str()),
        (Outcome::Passed, "rp1")
    );
    assert_eq!(
        (h[0].client_name.as_str(), h[0].account.as_deref()),
        ("rp1 name", Some("acct-7"))
    );
    // The status shows the verdict; another client sees nothing.
    assert_eq!(
        verdict(&e.v.status(&rp, &s.verification_id).await.unwrap()).outcome,
        Outcome::Passed
    );
    assert!(matches!(
        e.v.status(&who("rp2", None), &s.verification_id).await,
        Err(VerifyError::NotFound)
    ));
}

#[tokio::test]
async fn two_right_fail_and_the_third_failure_locks_for_the_window() {
    let e = env().await;
    let rp = who("rp1", None);
    let mut sets = Vec::new();
    for attempt in 1..=3 {
        let s = e.v.start(&rp, definite()).await.unwrap();
        let facts: BTreeSet<String> = questions(&s).iter().map(|q| q.prompt.clone()).collect();
        sets.push(facts);
        let a = answers(&e, &s, 2).await;
        let v = e.v.answer(&rp, &s.verification_id, a).await.unwrap();
        let want = if attempt < 3 {
            Outcome::Failed
        } else {
            Outcome::Locked
        };
        assert_eq!((v.outcome, v.correct), (want, 2), "attempt {attempt}");
    }
    assert_ne!(sets[0], sets[1], "a different question set each attempt");
    assert_ne!(sets[1], sets[2]);
    // Locked for new starts, from any client, until the window passes.
    let s = e.v.start(&who("rp2", None), definite()).await.unwrap();
    assert_eq!(s.tier, Tier::Definite);
    assert_eq!(verdict(&s).outcome, Outcome::Locked);
    assert_eq!(verdict(&s).asked, 0);
    e.clock.advance(24 * 3600 + 1);
    let s = e.v.start(&rp, definite()).await.unwrap();
    assert_eq!(questions(&s).len(), 4);
}

#[tokio::test]
async fn a_concurrent_double_submit_gets_one_verdict() {
    let e = env().await;
    let rp = who("rp1", None);
    let s = e.v.start(&rp, definite()).await.unwrap();
    let a = answers(&e, &s, 4).await;
    let (x, y) = tokio::join!(
        e.v.answer(&rp, &s.verification_id, a.clone()),
        e.v.answer(&rp, &s.verification_id, a.clone())
    );
    let ok = [&x, &y].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{x:?} {y:?}");
    assert!(matches!(x.err().or(y.err()), Some(VerifyError::Finished)));
}

#[tokio::test]
async fn verifications_expire() {
    let e = env().await;
    let rp = who("rp1", None);
    let s = e.v.start(&rp, definite()).await.unwrap();
    assert_eq!(s.expires_at, NOW + 600);
    let a = answers(&e, &s, 4).await;
    e.clock.advance(601);
    assert!(matches!(
        e.v.answer(&rp, &s.verification_id, a).await,
        Err(VerifyError::Expired)
    ));
    assert!(matches!(
        e.v.status(&rp, &s.verification_id).await,
        Err(VerifyError::Expired)
    ));
}

#[tokio::test]
async fn probable_asks_for_more_then_questions() {
    let e = env().await;
    let rp = who("rp1", None);
    let s =
        e.v.start(
            &rp,
            input(json!({"name": "Jane Smith", "phone": "213.555.0100"})),
        )
        .await
        .unwrap();
    assert_eq!(s.tier, Tier::Probable);
    match &s.step {
        Step::MoreInfo { any_of } => {
            assert_eq!(any_of, &vec!["street".to_owned(), "email".to_owned()])
        }
        other => panic!("{other:?}"),
    }
    let more = input(json!({"email": "jane.smith@example.com"}));
    let s2 = e.v.more_info(&rp, &s.verification_id, more).await.unwrap();
    assert_eq!(s2.tier, Tier::Definite);
    assert_eq!(questions(&s2).len(), 4);
    // Answers need the questions step; more info is no longer possible.
    assert!(matches!(
        e.v.more_info(&rp, &s.verification_id, input(json!({})))
            .await,
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test]
async fn several_probable_records_are_offered_masked() {
    let twin = with(
        jane(),
        json!({"external_id": "P2", "email": "j2@example.org",
                                   "street": "9 Sunset Blvd", "city": "Burbank"}),
    );
    let config = VerifyConfig::default();
    let e = env_with(vec![jane(), twin, acme()], config).await;
    let rp = who("rp1", None);
    let s =
        e.v.start(
            &rp,
            input(json!({"name": "Jane Smith", "phone": "+1 213 555 0100"})),
        )
        .await
        .unwrap();
    let Step::Candidates { candidates } = &s.step else {
        panic!("{s:?}")
    };
    assert_eq!(candidates.len(), 2);
    let labels: BTreeSet<_> = candidates.iter().map(|c| c.label.as_str()).collect();
    assert!(
        labels.contains("J. Sm••• , ••• N Main St, Los Angeles"),
        "{labels:?}"
    );
    assert!(
        labels.contains("J. Sm••• , ••• Sunset Blvd, Burbank"),
        "{labels:?}"
    );
    assert!(matches!(
        e.v.choose(&rp, &s.verification_id, "nope").await,
        Err(VerifyError::Invalid(_))
    ));
    let la = candidates
        .iter()
        .find(|c| c.label.contains("Main"))
        .unwrap();
    let s2 = e.v.choose(&rp, &s.verification_id, &la.id).await.unwrap();
    let a = answers(&e, &s2, 4).await;
    let v = e.v.answer(&rp, &s2.verification_id, a).await.unwrap();
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!(
        v.entity_id.as_deref(),
        Some(crate::verify::entity_id("P1").as_str())
    );
}

#[tokio::test]
async fn no_match_fails_without_an_entity() {
    let e = env().await;
    let s =
        e.v.start(
            &who("rp1", None),
            input(json!({"name": "Nobody", "phone": "2135550199"})),
        )
        .await
        .unwrap();
    assert_eq!(s.tier, Tier::None);
    assert_eq!(verdict(&s).outcome, Outcome::Failed);
    assert_eq!(verdict(&s).entity_id, None);
    assert!(matches!(
        e.v.start(&who("rp1", None), input(json!({}))).await,
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test]
async fn office_networks_pass_the_business_and_can_be_learned() {
    let e = env().await;
    let biz =
        input(json!({"kind": "business", "name": "Acme Widgets Inc", "phone": "213 555 0199"}));
    let inside = who("rp1", Some("198.51.100.9"));
    let s = e.v.start(&inside, biz.clone()).await.unwrap();
    let v = verdict(&s);
    assert_eq!((v.outcome, v.method.as_str()), (Outcome::Passed, "network"));
    // Outside the office networks: the usual steps.
    let outside = who("rp1", Some("203.0.113.9"));
    let s = e.v.start(&outside, biz.clone()).await.unwrap();
    assert!(matches!(s.step, Step::MoreInfo { .. }), "{s:?}");
    let acme_id = crate::verify::entity_id("B1");
    let s = e.v.start_for_entity(&outside, &acme_id).await.unwrap();
    assert_eq!(s.tier, Tier::Definite);
    assert!(!questions(&s).is_empty());
    e.v.learn_network(&acme_id, "203.0.113.0/28", "colleague EN1")
        .await
        .unwrap();
    let s = e.v.start_for_entity(&outside, &acme_id).await.unwrap();
    assert_eq!(verdict(&s).method, "network");
    assert!(matches!(
        e.v.learn_network(&acme_id, "nonsense", "x").await,
        Err(VerifyError::Invalid(_))
    ));
    let jane_id = crate::verify::entity_id("P1");
    assert!(matches!(
        e.v.learn_network(&jane_id, "10.0.0.0/8", "x").await,
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_source_region_lifts_probable_to_definite() {
    let e = env().await;
    let two = input(json!({"name": "Jane Smith", "phone": "213.555.0100"}));
    // 192.0.2.10 is CA in the sample table, like Jane's record.
    let s =
        e.v.start(&who("rp1", Some("192.0.2.10")), two.clone())
            .await
            .unwrap();
    assert_eq!(s.tier, Tier::Definite);
    let a = answers(&e, &s, 4).await;
    let v =
        e.v.answer(&who("rp1", Some("192.0.2.10")), &s.verification_id, a)
            .await
            .unwrap();
    assert_eq!(
        (v.outcome, v.method.as_str()),
        (Outcome::Passed, "region+kba")
    );
    // 198.51.100.7 is TX: no lift.
    let s =
        e.v.start(&who("rp1", Some("198.51.100.7")), two)
            .await
            .unwrap();
    assert_eq!(s.tier, Tier::Probable);
}
