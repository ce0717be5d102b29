//! Parent–child verification: a person verified as themself, then as an agent of
//! a business by questions from the business's record or by an office-network match; an
//! ambassador's employee list lets those employees pass the agent stage on their own
//! verification alone; refusals for non-ambassadors and unverified people. Every test
//! runs on each backend available; the source address is set through `X-Forwarded-For`
//! (the test server trusts its loopback proxy).

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::config::Settings;

use crate::helpers::*;
use crate::verify_rp::{Rp, answers, entity, post, rp, verify};

/// The business: founded 1998, registration C1234567, an office network.
fn business() -> Value {
    json!({"external_id": "B-AG", "kind": "business", "name": "Acme Widgets, Incorporated",
        "street": "500 Industrial Blvd", "city": "Los Angeles", "region": "CA",
        "postal": "90021", "phone": "+1 213 555 0199", "email": "office@acme.example",
        "source": "registry", "verified_at": "2024-01-15",
        "attributes": {"founded_year": 1998, "registration_number": "C1234567",
            "office_networks": ["198.51.100.0/28"]}})
}

/// How a relying party names the business.
fn business_input() -> Value {
    json!({"name": "ACME WIDGETS INCORPORATED", "phone": "213-555-0199",
        "email": "office@acme.example"})
}

/// A person; `n` varies names, phones and facts. `ambassador` names them the business's
/// ambassador in the records.
fn person(n: u32, ambassador: bool) -> Value {
    let links = if ambassador {
        json!([{"parent": "B-AG", "role": "ambassador"}])
    } else {
        json!([])
    };
    json!({"external_id": format!("P-AG-{n}"), "kind": "person",
        "name": format!("Person{} Agentson", ["", "Ann", "Ben", "Cleo", "Dan", "Eve"][n as usize]),
        "street": format!("{n} Oak Street"), "city": "Los Angeles", "region": "CA",
        "postal": "90012", "phone": format!("(213) 555-01{n:02}"),
        "email": format!("p{n}@people.example"), "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1980 + n, "title": format!("Role{n}"), "start_year": 2010 + n},
        "links": links})
}

/// What a relying party types for person `p`.
fn identity(p: &Value) -> Value {
    json!({"name": p["name"], "phone": p["phone"], "email": p["email"]})
}

fn trusting_loopback(backend: &Backend) -> Settings {
    let mut s = settings_for(backend);
    s.trusted_proxies = vec!["127.0.0.1/32".into()];
    s
}

struct World {
    srv: TestServer,
    rp: Rp,
    business_id: String,
}

async fn world(backend: &Backend) -> World {
    let srv = TestServer::start_with(trusting_loopback(backend)).await;
    let business_id = entity(&srv, &business()).await;
    let rp = rp(&srv, "Shop Supply Co").await;
    World {
        srv,
        rp,
        business_id,
    }
}

impl World {
    /// Stores person `p` and passes their own verification; returns its id and the
    /// person's entity id.
    async fn verified(&self, p: &Value) -> (String, String) {
        let id = entity(&self.srv, p).await;
        let (vid, verdict) = verify(&self.srv, &self.rp, identity(p), p, true).await;
        assert_eq!(verdict["outcome"], "passed", "{verdict}");
        (vid, id)
    }

    async fn agent(&self, vid: &str, role: &str, from: Option<&str>) -> (StatusCode, Value) {
        let body = json!({"business": business_input(), "role": role, "account": "buyer-1"});
        let path = format!("/verify/v1/verifications/{vid}/agent");
        post(&self.srv, &self.rp, &path, &body, from).await
    }

    /// The agent stage by the business's questions, answered right or wrong.
    async fn agent_by_questions(
        &self,
        vid: &str,
        role: &str,
        right: bool,
        from: Option<&str>,
    ) -> Value {
        let (status, stage) = self.agent(vid, role, None).await;
        assert_eq!(status, StatusCode::CREATED, "{stage}");
        assert_eq!(stage["step"], "questions", "{stage}");
        assert!(stage["business_verification_id"].is_string());
        let body = answers(&stage["questions"], &business(), right);
        let path = format!("/verify/v1/verifications/{vid}/agent/answers");
        let (status, done) = post(&self.srv, &self.rp, &path, &body, from).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["step"], "done", "{done}");
        done
    }

    async fn employees(&self, vid: &str, list: Value) -> (StatusCode, Value) {
        let path = format!("/verify/v1/agents/{vid}/employees");
        post(
            &self.srv,
            &self.rp,
            &path,
            &json!({"employees": list}),
            None,
        )
        .await
    }

    async fn link(&self, person_id: &str) -> Option<surety::store::AgentLink> {
        let p = self.srv.provider();
        p.stores
            .agents
            .agent_link(&self.business_id, person_id)
            .await
            .ok()
    }
}

/// The record's facts and entity ids never appear in what the API answers.
fn assert_no_facts(v: &Value) {
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in all {
        for fact in ["1998", "4567", "Los Angeles", "198.51.100", "EN"] {
            assert!(!s.contains(fact), "{fact} in {v}");
        }
    }
}

#[tokio::test]
async fn an_agent_by_questions_gets_the_link_and_teaches_the_network() {
    for backend in all_backends().await {
        let w = world(&backend).await;
        let (vid, ann) = w.verified(&person(1, false)).await;
        let done = w
            .agent_by_questions(&vid, "Manager", true, Some("203.0.113.9"))
            .await;
        assert_eq!(done["verdict"]["outcome"], "passed", "{done}");
        assert_eq!(done["verdict"]["method"], "kba");
        assert_eq!(done["role"], "manager");
        assert_no_facts(&done);
        let link = w.link(&ann).await.expect("link stored");
        assert_eq!(
            (
                link.status.as_str(),
                link.role.as_str(),
                link.method.as_str()
            ),
            ("verified", "manager", "kba")
        );
        let parents = w
            .srv
            .provider()
            .stores
            .entities
            .parents_of(&ann)
            .await
            .unwrap();
        assert!(
            parents
                .iter()
                .any(|l| l.parent_id == w.business_id && l.role == "manager")
        );

        // A colleague from the network the first agent answered from passes by network.
        let (vid2, ben) = w.verified(&person(2, false)).await;
        let (status, stage) = w.agent(&vid2, "employee", Some("203.0.113.50")).await;
        assert_eq!(status, StatusCode::CREATED, "{stage}");
        assert_eq!(stage["verdict"]["outcome"], "passed", "{stage}");
        assert_eq!(stage["verdict"]["method"], "network");
        assert_eq!(w.link(&ben).await.unwrap().method, "network");

        // Wrong answers: no link.
        let (vid3, cleo) = w.verified(&person(3, false)).await;
        let failed = w.agent_by_questions(&vid3, "employee", false, None).await;
        assert_eq!(failed["verdict"]["outcome"], "failed", "{failed}");
        assert!(w.link(&cleo).await.is_none());
        w.srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_agent_from_an_office_network_passes_without_questions() {
    for backend in all_backends().await {
        let w = world(&backend).await;
        let (vid, ann) = w.verified(&person(1, false)).await;
        let (status, stage) = w.agent(&vid, "employee", Some("198.51.100.7")).await;
        assert_eq!(status, StatusCode::CREATED, "{stage}");
        assert_eq!(stage["step"], "done");
        assert_eq!(stage["verdict"]["outcome"], "passed");
        assert_eq!(stage["verdict"]["method"], "network");
        assert_no_facts(&stage);
        let link = w.link(&ann).await.unwrap();
        assert_eq!(
            (link.status.as_str(), link.role.as_str()),
            ("verified", "employee")
        );
        // From elsewhere the same stage asks questions.
        let (vid2, _) = w.verified(&person(2, false)).await;
        let (_, other) = w.agent(&vid2, "employee", Some("192.0.2.1")).await;
        assert_eq!(other["step"], "questions", "{other}");
        w.srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_ambassadors_employees_need_only_their_own_verification() {
    for backend in all_backends().await {
        let w = world(&backend).await;
        let ambassador = person(1, true);
        let (vid, _) = w.verified(&ambassador).await;
        let done = w.agent_by_questions(&vid, "ambassador", true, None).await;
        assert_eq!(done["verdict"]["outcome"], "passed", "{done}");

        let eve = person(5, false);
        let eve_id = entity(&w.srv, &eve).await;
        let list = json!([identity(&eve), {"name": "Nobody Known", "phone": "+1 212 555 0000",
            "email": "nobody@example.org"}, {"phone": "12"}, identity(&ambassador)]);
        let (status, report) = w.employees(&vid, list).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(
            (
                report["submitted"].as_u64(),
                report["pre_approved"].as_u64()
            ),
            (Some(4), Some(1))
        );
        let statuses: Vec<&str> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["pre_approved", "not_found", "invalid", "invalid"]
        );
        assert_no_facts(&report);
        assert_eq!(w.link(&eve_id).await.unwrap().status, "pre_approved");

        // Eve verifies herself; her agent stage passes by the ambassador's list.
        let (eve_vid, verdict) = verify(&w.srv, &w.rp, identity(&eve), &eve, true).await;
        assert_eq!(verdict["outcome"], "passed");
        let (status, stage) = w.agent(&eve_vid, "employee", None).await;
        assert_eq!(status, StatusCode::CREATED, "{stage}");
        assert_eq!(stage["verdict"]["outcome"], "passed", "{stage}");
        assert_eq!(stage["verdict"]["method"], "ambassador");
        assert!(stage.get("business_verification_id").is_none());
        let link = w.link(&eve_id).await.unwrap();
        assert_eq!(
            (
                link.status.as_str(),
                link.role.as_str(),
                link.method.as_str()
            ),
            ("verified", "employee", "ambassador")
        );
        // Another role than the one pre-approved needs the business stage.
        let (_, manager) = w.agent(&eve_vid, "manager", None).await;
        assert_eq!(manager["step"], "questions", "{manager}");
        w.srv.shutdown().await;
    }
}

#[tokio::test]
async fn non_ambassadors_cannot_submit_employees_or_take_the_role() {
    for backend in all_backends().await {
        let w = world(&backend).await;
        let (vid, _) = w.verified(&person(2, false)).await;
        // No agent stage yet.
        let (status, err) = w
            .employees(&vid, json!([identity(&person(5, false))]))
            .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_an_agent"))
        );
        // The records do not name this person ambassador.
        let (status, err) = w.agent(&vid, "ambassador", Some("198.51.100.7")).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("role_not_allowed"))
        );
        // A verified employee is refused.
        let (_, stage) = w.agent(&vid, "employee", Some("198.51.100.7")).await;
        assert_eq!(stage["verdict"]["outcome"], "passed", "{stage}");
        let (status, err) = w
            .employees(&vid, json!([identity(&person(5, false))]))
            .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_ambassador"))
        );
        // Too long a list is refused before anything else.
        let many: Vec<Value> = (0..501).map(|_| json!({"name": "X"})).collect();
        let (status, err) = w.employees(&vid, Value::Array(many)).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        w.srv.shutdown().await;
    }
}

#[tokio::test]
async fn unverified_people_and_unknown_businesses_are_refused() {
    for backend in all_backends().await {
        let w = world(&backend).await;
        let cleo = person(3, false);
        entity(&w.srv, &cleo).await;
        // Failed own verification.
        let (failed_vid, verdict) = verify(&w.srv, &w.rp, identity(&cleo), &cleo, false).await;
        assert_eq!(verdict["outcome"], "failed");
        let (status, err) = w.agent(&failed_vid, "employee", Some("198.51.100.7")).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_verified"))
        );
        // Own verification still at its questions.
        let (_, open) = post(
            &w.srv,
            &w.rp,
            "/verify/v1/verifications",
            &identity(&cleo),
            None,
        )
        .await;
        let open_vid = open["verification_id"].as_str().unwrap();
        let (status, err) = w.agent(open_vid, "employee", Some("198.51.100.7")).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_verified"))
        );
        // Another relying party's verification does not exist for this one.
        let (vid, _) = w.verified(&person(4, false)).await;
        let other = rp(&w.srv, "Other RP").await;
        let body = json!({"business": business_input(), "role": "employee"});
        let path = format!("/verify/v1/verifications/{vid}/agent");
        let (status, _) = post(&w.srv, &other, &path, &body, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A business that cannot be identified.
        let body = json!({"business": {"name": "Acme Widgets, Incorporated"}, "role": "employee"});
        let (status, err) = post(&w.srv, &w.rp, &path, &body, None).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("business_not_identified")
            )
        );
        // Answers without a business stage under way.
        let path = format!("/verify/v1/verifications/{vid}/agent/answers");
        let (status, _) = post(&w.srv, &w.rp, &path, &json!({"answers": []}), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        w.srv.shutdown().await;
    }
}
