//! Latency of `start` (match + question generation) against a large loaded database.
//! Ignored by default; run with a database loaded by `surety entities import`:
//! `SURETY_ENGINE_BENCH_URL=postgres://… cargo test --release --lib engine::scale_tests -- --ignored --nocapture`

use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::clock::{Entropy, SystemClock, SystemEntropy};
use crate::store::sql::SqlStore;

#[tokio::test]
#[ignore = "needs SURETY_ENGINE_BENCH_URL with a loaded data set"]
async fn start_latency_at_scale() {
    let Ok(url) = std::env::var("SURETY_ENGINE_BENCH_URL") else {
        return;
    };
    let store = SqlStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let clock: SharedClock = Arc::new(SystemClock);
    let stores = Stores::from_sql(store, clock.clone(), 10);
    let v = Verifier::new(
        stores.clone(),
        VerifyConfig::default(),
        clock,
        Arc::new(SystemEntropy),
    );
    let who = Requester {
        client_id: "bench".into(),
        client_name: "bench".into(),
        account: None,
        source_ip: None,
    };
    let mut times = Vec::new();
    let mut questions = 0;
    while times.len() < 300 {
        let start = format!("EN{}", SystemEntropy.hex16());
        let Some(r) = stores
            .verifications
            .entity_window("person", &start, 1)
            .await
            .unwrap()
            .pop()
        else {
            continue;
        };
        let r = stores.entities.get_entity(&r.id).await.unwrap();
        let input = IdentityInput {
            name: Some(r.name.clone()),
            phone: r.phone.clone(),
            email: r.email.clone(),
            street: r.street.clone(),
            postal: r.postal.clone(),
            ..IdentityInput::default()
        };
        let t = Instant::now();
        let s = v.start(&who, input).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Step::Questions { questions: q, .. } = &s.step {
            questions += q.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "start(): {} runs, {questions} questions; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        times[times.len() - 1]
    );
}
