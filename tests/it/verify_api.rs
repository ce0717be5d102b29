//! The Verification API (`/verify/v1/verifications`) end to end on every backend: a
//! definite match answered right passes and wrong fails, the third failure locks the
//! entity; a probable match asks for more or offers masked candidates; office networks
//! and the source region; tenancy, authentication and limits. Every response's JSON is
//! checked for the record's facts (outside the choice lists, which hold the right answer
//! among distractors by design).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestServer, all_backends, fixed_clock, settings_for, temp_dir, token_request,
};
use crate::verify_rp::{Rp, entity, post, rp};

pub(crate) const START: &str = "/verify/v1/verifications";

fn jane(id: &str, email: &str, street: &str) -> Value {
    json!({"external_id": id, "kind": "person", "name": "Jane Smith",
        "street": street, "city": "Los Angeles", "region": "CA", "postal": "90012",
        "phone": "(213) 555-0100", "email": email, "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1984, "employer": "B1", "title": "Purchasing Manager",
            "start_year": 2015,
            "previous_addresses": [{"street": "77 Elm Avenue", "city": "Pasadena", "region": "CA"}]}})
}

fn acme(networks: &[&str]) -> Value {
    json!({"external_id": "B1", "kind": "business", "name": "Acme Widgets Inc",
        "street": "500 Industrial Blvd", "city": "Los Angeles", "region": "CA", "postal": "90021",
        "phone": "+1 213 555 0199", "email": "office@acme.example",
        "source": "registry", "verified_at": "2024-01-15",
        "attributes": {"founded_year": 1998, "annual_revenue": 12_500_000, "employee_count": 85,
            "industry": "Manufacturing", "registration_number": "C1234567",
            "office_networks": networks}})
}

/// People and businesses around, for distractors.
pub(crate) async fn seed(srv: &TestServer, networks: &[&str]) -> String {
    for (i, street) in ["12 Oak St", "40 Cedar Ln", "3 Birch Way", "8 Maple Dr"]
        .iter()
        .enumerate()
    {
        let r = json!({"external_id": format!("N{i}"), "kind": "person", "name": format!("Neighbour {i}"),
            "street": street, "city": "Pasadena", "region": "CA", "postal": "91101",
            "source": "dmv", "verified_at": "2024-01-01", "attributes": {"title": format!("Clerk {i}")}});
        entity(srv, &r).await;
        let b = json!({"external_id": format!("C{i}"), "kind": "business", "name": format!("Bolt Works {i}"),
            "street": format!("{i} Factory Rd"), "city": "Irvine", "region": "CA",
            "source": "registry", "verified_at": "2024-01-01",
            "attributes": {"industry": "Manufacturing", "founded_year": 2001}});
        entity(srv, &b).await;
    }
    entity(srv, &acme(networks)).await;
    entity(
        srv,
        &jane("P1", "jane.smith@example.com", "123 North Main Street"),
    )
    .await
}

/// Values of Jane's and Acme's records that no response may carry.
const FACTS: &[&str] = &[
    "1984",
    "2015",
    "Purchasing",
    "Acme",
    "Elm",
    "123",
    "90012",
    "555-0100",
    "5550100",
    "jane.smith",
    "1998",
    "Manufacturing",
    "4567",
    "Industrial",
    "\"EN",
];

/// Panics if `v` (without its choice lists, random ids and times) holds a fact.
fn no_facts(v: &Value) {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["verification_id", "expires_at", "decided_at"] {
            o.remove(k);
        }
        if let Some(d) = o.get_mut("verdict").and_then(Value::as_object_mut) {
            d.remove("decided_at");
        }
        for c in o
            .get_mut("candidates")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            c.as_object_mut().map(|c| c.remove("id"));
        }
    }
    let mut strip = |q: &mut Value| {
        if let Some(o) = q.as_object_mut()
            && let Some(c) = o.remove("choices")
        {
            assert!(c.as_array().is_some_and(|c| c.len() >= 3), "{c}");
        }
    };
    if let Some(qs) = v.get_mut("questions").and_then(Value::as_array_mut) {
        qs.iter_mut().for_each(&mut strip);
    }
    let text = v.to_string();
    for f in FACTS {
        assert!(!text.contains(f), "{f} in {text}");
    }
}

/// The right answer to `q` about Jane or Acme.
fn oracle(q: &Value) -> String {
    let p = q["prompt"].as_str().unwrap();
    let table = [
        ("born", "1984"),
        ("start working", "2015"),
        ("job title", "Purchasing Manager"),
        ("work for", "Acme Widgets Inc"),
        ("employer", "Acme Widgets Inc"),
        ("streets", "77 Elm Ave"),
        ("founded", "1998"),
        ("industry", "Manufacturing"),
        ("employ", "50 to 249"),
        ("revenue", "$10 million to $50 million"),
        ("registration", "4567"),
        ("city", "Los Angeles"),
    ];
    let (_, a) = table
        .iter()
        .find(|(k, _)| p.contains(k))
        .expect("known question");
    (*a).to_owned()
}

/// Answers `started`'s questions, the first `right` of them right.
fn answers(started: &Value, right: usize) -> Value {
    let list: Vec<Value> = started["questions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let a = if i < right { oracle(q) } else { "zzz".into() };
            json!({"question_id": q["id"], "answer": a})
        })
        .collect();
    json!({ "answers": list })
}

pub(crate) async fn call(
    srv: &TestServer,
    rp: &Rp,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let (status, v) = post(srv, rp, path, body, None).await;
    no_facts(&v);
    (status, v)
}

async fn get(srv: &TestServer, rp: &Rp, path: &str) -> (StatusCode, Value) {
    let r = srv
        .api
        .get(srv.url(path))
        .bearer_auth(&rp.token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    no_facts(&v);
    (status, v)
}

fn definite() -> Value {
    json!({"name": "JANE  smith", "phone": "213.555.0100", "email": "Jane.Smith@Example.com", "account": "shop-42"})
}

#[tokio::test]
async fn definite_match_passes_fails_and_locks() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        let jane_id = seed(&srv, &[]).await;
        let shop = rp(&srv, "Shop").await;
        let (status, s) = call(&srv, &shop, START, &definite()).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        assert_eq!(
            (s["tier"].as_str(), s["step"].as_str()),
            (Some("definite"), Some("questions"))
        );
        assert_eq!(s["questions"].as_array().unwrap().len(), 4);
        let id = s["verification_id"].as_str().unwrap().to_owned();
        let answers_path = format!("{START}/{id}/answers");
        let (status, v) = call(&srv, &shop, &answers_path, &answers(&s, 3)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["outcome"], "passed");
        assert_eq!(
            (
                v["correct"].as_u64(),
                v["asked"].as_u64(),
                v["required"].as_u64()
            ),
            (Some(3), Some(4), Some(3))
        );
        // Single use.
        let (status, e) = call(&srv, &shop, &answers_path, &answers(&s, 4)).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (StatusCode::CONFLICT, Some("already_decided"))
        );
        let (status, st) = get(&srv, &shop, &format!("{START}/{id}")).await;
        assert_eq!(
            (
                status,
                st["step"].as_str(),
                st["verdict"]["outcome"].as_str()
            ),
            (StatusCode::OK, Some("done"), Some("passed"))
        );

        // Two right of four fails; the third failure locks.
        for attempt in 1..=3 {
            let (_, s) = call(&srv, &shop, START, &definite()).await;
            let id = s["verification_id"].as_str().unwrap();
            let (status, v) = call(
                &srv,
                &shop,
                &format!("{START}/{id}/answers"),
                &answers(&s, 2),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let want = if attempt < 3 { "failed" } else { "locked" };
            assert_eq!(v["outcome"], want, "attempt {attempt}: {v}");
        }
        let (status, s) = call(&srv, &shop, START, &definite()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            (s["step"].as_str(), s["verdict"]["outcome"].as_str()),
            (Some("done"), Some("locked"))
        );
        assert!(s.get("questions").is_none());

        let history = srv.running.verifier.history(&jane_id).await.unwrap();
        let mut outcomes: Vec<String> =
            history.iter().map(|h| format!("{:?}", h.outcome)).collect();
        outcomes.sort();
        assert_eq!(outcomes, ["Failed", "Failed", "Locked", "Locked", "Passed"]);
        assert!(
            history
                .iter()
                .all(|h| h.client_name == "Shop" && h.account.as_deref() == Some("shop-42"))
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn probable_matches_ask_for_more_or_offer_candidates() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        seed(&srv, &[]).await;
        let shop = rp(&srv, "Shop").await;
        let two = json!({"name": "Jane Smith", "phone": "+1 (213) 555-0100"});
        let (status, s) = call(&srv, &shop, START, &two).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            (s["tier"].as_str(), s["step"].as_str()),
            (Some("probable"), Some("more_info"))
        );
        assert_eq!(s["any_of"], json!(["street", "email"]));
        let id = s["verification_id"].as_str().unwrap();
        let (status, s2) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/info"),
            &json!({"street": "123 N. Main St.", "postal": "90012-0001"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{s2}");
        assert_eq!(
            (s2["tier"].as_str(), s2["step"].as_str()),
            (Some("definite"), Some("questions"))
        );

        // A second Jane Smith with the same phone: pick from masked candidates.
        entity(&srv, &jane("P2", "js@example.org", "9 Sunset Boulevard")).await;
        let (_, s) = call(&srv, &shop, START, &two).await;
        assert_eq!(s["step"], "candidates", "{s}");
        let cands = s["candidates"].as_array().unwrap();
        assert_eq!(cands.len(), 2);
        let labels: Vec<&str> = cands.iter().map(|c| c["label"].as_str().unwrap()).collect();
        assert!(
            labels.contains(&"J. Sm••• , ••• Sunset Blvd, Los Angeles"),
            "{labels:?}"
        );
        let id = s["verification_id"].as_str().unwrap();
        let other = cands
            .iter()
            .find(|c| c["label"].as_str().unwrap().contains("Sunset"))
            .unwrap();
        let (status, e) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/choice"),
            &json!({"candidate_id": "c000"}),
        )
        .await;
        assert_eq!(
            (status, e["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        let (status, q) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/choice"),
            &json!({"candidate_id": other["id"]}),
        )
        .await;
        assert_eq!(
            (status, q["step"].as_str()),
            (StatusCode::OK, Some("questions")),
            "{q}"
        );
        let (_, v) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/answers"),
            &answers(&q, 4),
        )
        .await;
        assert_eq!(v["outcome"], "passed");

        // No match at all: failed straight away.
        let (_, s) = call(
            &srv,
            &shop,
            START,
            &json!({"name": "Nobody Here", "email": "no@example.net"}),
        )
        .await;
        assert_eq!(
            (s["tier"].as_str(), s["verdict"]["outcome"].as_str()),
            (Some("none"), Some("failed"))
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn office_network_and_source_region_checks() {
    for backend in all_backends().await {
        let mut settings = settings_for(&backend);
        let table = temp_dir().join("regions.csv");
        std::fs::write(&table, "cidr,region\n127.0.0.0/8,California\n").unwrap();
        settings.verify_region_table = Some(table);
        let srv = TestServer::start_with(settings).await;
        // The test client connects from 127.0.0.1: inside Acme's office network.
        seed(&srv, &["127.0.0.0/8"]).await;
        let shop = rp(&srv, "Shop").await;
        let (_, s) = call(&srv, &shop, START, &json!({"kind": "business", "name": "ACME Widgets, Incorporated", "phone": "213-555-0199"})).await;
        assert_eq!(
            (
                s["step"].as_str(),
                s["verdict"]["outcome"].as_str(),
                s["verdict"]["method"].as_str()
            ),
            (Some("done"), Some("passed"), Some("network")),
            "{s}"
        );
        // Two elements from a source in the record's region: definite.
        let (_, s) = call(
            &srv,
            &shop,
            START,
            &json!({"name": "Jane Smith", "email": "jane.smith@example.com"}),
        )
        .await;
        assert_eq!(
            (s["tier"].as_str(), s["step"].as_str()),
            (Some("definite"), Some("questions")),
            "{s}"
        );
        let id = s["verification_id"].as_str().unwrap();
        let (_, v) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/answers"),
            &answers(&s, 4),
        )
        .await;
        assert_eq!(
            (v["outcome"].as_str(), v["method"].as_str()),
            (Some("passed"), Some("region+kba"))
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn tenancy_authentication_and_limits() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        seed(&srv, &[]).await;
        let shop = rp(&srv, "Shop").await;
        let other = rp(&srv, "Other").await;
        let (_, s) = call(&srv, &shop, START, &definite()).await;
        let id = s["verification_id"].as_str().unwrap();
        // Another client's verification is not found, like a missing one.
        for path in [format!("{START}/{id}"), format!("{START}/vf_nope")] {
            let (status, e) = get(&srv, &other, &path).await;
            assert_eq!(
                (status, e["error"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found"))
            );
        }
        let (status, _) = call(
            &srv,
            &other,
            &format!("{START}/{id}/answers"),
            &answers(&s, 4),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Authentication: none, garbage, a token without the scope.
        let r = srv
            .api
            .post(srv.url(START))
            .json(&definite())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key("www-authenticate"));
        let r = srv
            .api
            .post(srv.url(START))
            .bearer_auth("nope")
            .json(&definite())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let (cid, secret) = srv
            .client(json!({"grant_types": ["client_credentials"], "scope": "api:read"}))
            .await;
        let t: Value = token_request(
            &srv,
            &(cid, secret.unwrap()),
            &[("grant_type", "client_credentials")],
        )
        .await
        .json()
        .await
        .unwrap();
        let r = srv
            .api
            .post(srv.url(START))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .json(&definite())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Limits and malformed input: clear JSON errors.
        let bad = [
            json!({"name": "x".repeat(201), "phone": "2135550100"}),
            json!({"phone": "555-0100"}),
            json!({"kind": "robot", "name": "Jane Smith"}),
            json!({}),
            json!({"name": 7}),
            json!({"name": "Jane Smith", "account": "a".repeat(129)}),
        ];
        for body in bad {
            let (status, e) = call(&srv, &shop, START, &body).await;
            assert_eq!(
                (status, e["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_request")),
                "{body}"
            );
            assert!(
                e["error_description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
        }
        let huge = json!({"name": "y".repeat(20_000)});
        let (status, _) = call(&srv, &shop, START, &huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"question_id": format!("q{i}"), "answer": "1"}))
            .collect();
        let (status, e) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/answers"),
            &json!({"answers": many}),
        )
        .await;
        assert_eq!(
            (status, e["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        let (status, _) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/answers"),
            &json!({"answers": [{"question_id": "q9", "answer": "1"}]}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Still answerable after refused submissions.
        let (status, v) = call(
            &srv,
            &shop,
            &format!("{START}/{id}/answers"),
            &answers(&s, 4),
        )
        .await;
        assert_eq!(
            (status, v["outcome"].as_str()),
            (StatusCode::OK, Some("passed"))
        );
        // The OpenAPI document lists the routes.
        let doc: Value = srv
            .api
            .get(srv.url("/verify/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for p in [
            "/verify/v1/verifications",
            "/verify/v1/verifications/{id}/answers",
            "/verify/v1/verifications/{id}/choice",
            "/verify/v1/verifications/{id}/info",
            // one document for the whole API: promotions, eligibility and agents too
            "/verify/v1/promotions",
            "/verify/v1/eligibility",
            "/verify/v1/verifications/{id}/agent",
            "/verify/v1/agents/{id}/employees",
        ] {
            assert!(doc["paths"].get(p).is_some(), "{p}");
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn each_client_has_a_per_minute_budget_of_starts() {
    for backend in all_backends().await {
        let mut settings = settings_for(&backend);
        settings.verify_start_rate = 3;
        // The window is the minute of the server's clock, which stands still here.
        let clock = fixed_clock();
        let srv = TestServer::start_with_clock(settings, clock.clone()).await;
        seed(&srv, &[]).await;
        let shop = rp(&srv, "Shop").await;
        let other = rp(&srv, "Other").await;
        let nobody = json!({"name": "Nobody Atall", "phone": "212-555-0000"});
        let start = |rp: &Rp| {
            srv.api
                .post(srv.url(START))
                .bearer_auth(&rp.token)
                .json(&nobody)
                .send()
        };
        for _ in 0..3 {
            assert_eq!(start(&shop).await.unwrap().status(), StatusCode::CREATED);
        }
        let r = start(&shop).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "rate_limited");
        // The budget is the client's own: another relying party still starts.
        assert_eq!(start(&other).await.unwrap().status(), StatusCode::CREATED);
        // The next minute brings a new budget.
        clock.advance(i64::try_from(wait).unwrap());
        assert_eq!(start(&shop).await.unwrap().status(), StatusCode::CREATED);
        srv.shutdown().await;
    }
}
