//! Fixtures for tests that act as a relying party of the Verification API (`/verify/v1`):
//! a registered client with the `verify` scope and its token, entity records stored
//! directly, and an answer oracle that knows the test records' facts (the API never says
//! them) so a test can pass or fail a verification on purpose.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::verify::record::{ParseContext, from_json_line};

use crate::helpers::*;

/// A relying party: its `verify` access token.
pub struct Rp {
    pub token: String,
}

/// Registers a `client_credentials` client named `name` with the `verify` scope.
pub async fn rp(srv: &TestServer, name: &str) -> Rp {
    let (id, secret) = srv
        .client(
            json!({"client_name": name, "grant_types": ["client_credentials"], "scope": "verify"}),
        )
        .await;
    let client = (id, secret.expect("secret"));
    let r = token_request(
        srv,
        &client,
        &[("grant_type", "client_credentials"), ("scope", "verify")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    Rp {
        token: t["access_token"].as_str().expect("token").to_owned(),
    }
}

/// Stores a record given as JSON (as one import line); returns its entity id.
pub async fn entity(srv: &TestServer, record: &Value) -> String {
    let p = srv.provider();
    let w = from_json_line(&record.to_string(), &ParseContext::at(p.now())).expect("record");
    let id = w.record.id.clone();
    p.stores.entities.upsert_entities(&[w]).await.unwrap();
    id
}

/// POSTs `body` to `path` as `rp`, with `X-Forwarded-For: from` when given.
pub async fn post(
    srv: &TestServer,
    rp: &Rp,
    path: &str,
    body: &Value,
    from: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = srv
        .api
        .post(srv.url(path))
        .bearer_auth(&rp.token)
        .json(body);
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The answers to `questions` (a `questions` array as the API returns it) for the
/// record `facts`: right ones when `right`, wrong ones otherwise.
pub fn answers(questions: &Value, facts: &Value, right: bool) -> Value {
    let qs = questions.as_array().expect("questions");
    let list: Vec<Value> = qs
        .iter()
        .map(|q| {
            let answer = if right {
                oracle(q, facts)
            } else {
                "zzz wrong".to_owned()
            };
            json!({"question_id": q["id"], "answer": answer})
        })
        .collect();
    json!({ "answers": list })
}

/// The right answer to `q` from the record `r` (the test records' facts only).
fn oracle(q: &Value, r: &Value) -> String {
    let prompt = q["prompt"].as_str().unwrap_or_default();
    let a = &r["attributes"];
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let answer = if prompt.contains("born") {
        s(&a["birth_year"])
    } else if prompt.contains("start working") {
        s(&a["start_year"])
    } else if prompt.contains("job title") {
        s(&a["title"])
    } else if prompt.contains("founded") {
        s(&a["founded_year"])
    } else if prompt.contains("registration number") {
        let n = s(&a["registration_number"]);
        n[n.len() - 4..].to_owned()
    } else if prompt.contains("industry") {
        s(&a["industry"])
    } else if prompt.contains("city") || prompt.contains("City") {
        s(&r["city"])
    } else {
        panic!("no oracle for the question {prompt:?}")
    };
    // A multiple-choice question is answered with the matching choice.
    q["choices"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .filter_map(Value::as_str)
                .find(|c| c.eq_ignore_ascii_case(&answer))
        })
        .map_or(answer, str::to_owned)
}

/// Starts a verification of `identity` as `rp` and answers its questions (right or
/// wrong) from `record`; returns the verification id and the verdict.
pub async fn verify(
    srv: &TestServer,
    rp: &Rp,
    identity: Value,
    record: &Value,
    right: bool,
) -> (String, Value) {
    let (status, started) = post(srv, rp, "/verify/v1/verifications", &identity, None).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["step"], "questions", "{started}");
    let id = started["verification_id"].as_str().unwrap().to_owned();
    let body = answers(&started["questions"], record, right);
    let (status, verdict) = post(
        srv,
        rp,
        &format!("/verify/v1/verifications/{id}/answers"),
        &body,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    (id, verdict)
}
