//! The Verification API's questions step as a person sees it: a street is shown as the
//! records wrote it (answers are still compared in normalized form), for the right
//! answer and the distractors alike, and the step says how many attempts remain before
//! the entity is locked (`SURETY_VERIFY_MAX_ATTEMPTS` within the window).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, all_backends};
use crate::verify_rp::{Rp, entity, post, rp};

const START: &str = "/verify/v1/verifications";

/// Ruth, whose only facts are her birth year and the street she lived on before, and
/// neighbours in her city whose streets are the distractors.
async fn seed(srv: &TestServer) {
    let ruth = json!({"external_id": "R1", "kind": "person", "name": "Ruth Baker",
        "street": "5 Harbor Drive", "city": "Springfield", "region": "IL", "postal": "62701",
        "phone": "(217) 555-0123", "email": "ruth.baker@example.com",
        "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1979,
            "previous_addresses": [{"street": "88 Old Mill Road", "city": "Springfield"}]}});
    entity(srv, &ruth).await;
    for (i, street) in ["40 Cedar Lane", "3 Birch Way", "12 Oak Street, Apt 2"]
        .iter()
        .enumerate()
    {
        let n = json!({"external_id": format!("N{i}"), "kind": "person",
            "name": format!("Neighbour {i}"), "street": street, "city": "Springfield",
            "region": "IL", "source": "dmv", "verified_at": "2024-01-01", "attributes": {}});
        entity(srv, &n).await;
    }
}

fn ruth() -> Value {
    json!({"name": "Ruth Baker", "phone": "217-555-0123", "email": "ruth.baker@example.com"})
}

/// Starts a verification of Ruth: the questions step.
async fn start(srv: &TestServer, shop: &Rp) -> Value {
    let (status, s) = post(srv, shop, START, &ruth(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(s["step"], "questions", "{s}");
    s
}

/// Answers `s`'s questions: the year and `street` when `right`, nonsense otherwise.
async fn answer(srv: &TestServer, shop: &Rp, s: &Value, right: bool, street: &str) -> Value {
    let list: Vec<Value> = s["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let a = match (right, q["prompt"].as_str().unwrap().contains("born")) {
                (false, _) => "zzz",
                (true, true) => "1979",
                (true, false) => street,
            };
            json!({"question_id": q["id"], "answer": a})
        })
        .collect();
    let id = s["verification_id"].as_str().unwrap();
    let path = format!("{START}/{id}/answers");
    let (status, v) = post(srv, shop, &path, &json!({ "answers": list }), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn streets_are_shown_as_the_records_wrote_them() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        seed(&srv).await;
        let shop = rp(&srv, "Shop").await;
        let s = start(&srv, &shop).await;
        let q = s["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["prompt"].as_str().unwrap().contains("streets"))
            .expect("a street question");
        let mut choices: Vec<&str> = q["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        choices.sort_unstable();
        assert_eq!(
            choices,
            [
                "12 Oak Street",
                "3 Birch Way",
                "40 Cedar Lane",
                "88 Old Mill Road"
            ],
            "as recorded, without a unit"
        );
        // Answers are compared in normalized form.
        let v = answer(&srv, &shop, &s, true, "88 old mill rd.").await;
        assert_eq!(v["outcome"], "passed", "{v}");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn the_questions_step_says_how_many_attempts_remain() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        seed(&srv).await;
        let shop = rp(&srv, "Shop").await;
        // Three attempts (the default) per entity within the window, this one included.
        let s = start(&srv, &shop).await;
        assert_eq!(s["attempts_remaining"], 3, "{s}");
        let id = s["verification_id"].as_str().unwrap();
        let r = srv
            .api
            .get(srv.url(&format!("{START}/{id}")))
            .bearer_auth(&shop.token)
            .send()
            .await
            .unwrap();
        let status: Value = r.json().await.unwrap();
        assert_eq!(status["attempts_remaining"], 3, "{status}");
        assert_eq!(
            answer(&srv, &shop, &s, false, "").await["outcome"],
            "failed"
        );
        // A passed set does not count.
        let s = start(&srv, &shop).await;
        assert_eq!(s["attempts_remaining"], 2, "{s}");
        let street = "88 Old Mill Road";
        assert_eq!(
            answer(&srv, &shop, &s, true, street).await["outcome"],
            "passed"
        );
        let s = start(&srv, &shop).await;
        assert_eq!(s["attempts_remaining"], 2, "{s}");
        assert_eq!(
            answer(&srv, &shop, &s, false, "").await["outcome"],
            "failed"
        );
        let s = start(&srv, &shop).await;
        assert_eq!(s["attempts_remaining"], 1, "the last one: {s}");
        assert_eq!(
            answer(&srv, &shop, &s, false, "").await["outcome"],
            "locked"
        );
        let (_, s) = post(&srv, &shop, START, &ruth(), None).await;
        assert!(s.get("attempts_remaining").is_none(), "{s}");
        // The OpenAPI document describes the field.
        let doc: Value = srv
            .api
            .get(srv.url("/verify/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc.to_string().contains("\"attempts_remaining\""));
        srv.shutdown().await;
    }
}
