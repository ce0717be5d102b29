//! Promotions and eligibility (`/verify/v1/promotions`, `/verify/v1/eligibility`) and the
//! passport page (`/account/passport`), on every backend: rules checked at registration,
//! answers over the entity, its parent and its role, tenancy between relying parties,
//! and promotions that need a passed challenge. The relying party runs real
//! verifications through `/verify/v1/verifications`, answering from the seeded facts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use surety::store::EntityBinding;

use crate::helpers::{Backend, TestServer, all_backends, token_request, tokens};
use crate::verify_rp::{Rp, answers, entity, post, rp, verify};

const NEW_BUSINESS_MANAGER: &str = r#"parent.kind == "business" && parent.founded_year > now.year - 5 && parent.annual_revenue < 10000000 && role in ["manager"]"#;

/// A person record: a manager (or other `role`) of `parent`.
fn person(
    id: &str,
    name: &str,
    phone: &str,
    birth: i32,
    title: &str,
    parent: &str,
    role: &str,
) -> Value {
    json!({"external_id": id, "kind": "person", "name": name, "street": format!("{} Oak Street", birth % 97),
        "city": "Oakland", "region": "CA", "postal": "94607", "phone": phone,
        "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
        "source": "dmv", "verified_at": "2025-03-01",
        "links": [{"parent": parent, "role": role}],
        "attributes": {"birth_year": birth, "title": title, "start_year": birth + 25}})
}

fn business(id: &str, name: &str, founded: i32, revenue: i64) -> Value {
    json!({"external_id": id, "kind": "business", "name": name,
        "street": "500 Broadway", "city": "Oakland", "region": "CA", "postal": "94607",
        "source": "registry", "verified_at": "2025-01-01",
        "attributes": {"founded_year": founded, "annual_revenue": revenue, "industry": "Software"}})
}

/// Maria (a manager at a business founded two years ago), her employer, an old
/// business, and a few others for the questions' distractors. Returns Maria's entity
/// id and record.
async fn seed(srv: &TestServer) -> (String, Value) {
    let year = surety::verify::CivilDate::from_unix(srv.provider().now()).year;
    for b in [
        business("B1", "Bright Start Labs", year - 2, 4_000_000),
        business("B2", "Old Mill Holdings", 1998, 50_000_000),
        person(
            "P2",
            "Ann Lee",
            "(510) 555-0199",
            1971,
            "Buyer",
            "B2",
            "owner",
        ),
        person(
            "P3",
            "Raj Patel",
            "(510) 555-0177",
            1990,
            "Engineer",
            "B2",
            "employee",
        ),
        person(
            "P4",
            "Zoe Kim",
            "(510) 555-0166",
            1966,
            "Accountant",
            "B1",
            "employee",
        ),
    ] {
        entity(srv, &b).await;
    }
    let maria = person(
        "P1",
        "Maria Garcia",
        "(510) 555-0142",
        1984,
        "Office Manager",
        "B1",
        "manager",
    );
    (entity(srv, &maria).await, maria)
}

/// What Maria's relying party types: a definite match (five elements agree).
fn maria_identity() -> Value {
    json!({"name": "maria garcia", "street": "44 Oak St", "postal": "94607",
        "phone": "510-555-0142", "email": "Maria.Garcia@example.com"})
}

/// A client-credentials token with `scope` (not necessarily `verify`).
async fn token_with_scope(srv: &TestServer, scope: &str) -> Rp {
    let (id, secret) = srv
        .client(
            json!({"client_name": "Other", "grant_types": ["client_credentials"], "scope": scope}),
        )
        .await;
    let r = token_request(
        srv,
        &(id, secret.unwrap()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let t: Value = r.json().await.unwrap();
    Rp {
        token: t["access_token"].as_str().unwrap().to_owned(),
    }
}

async fn call(srv: &TestServer, rp: &Rp, method: Method, path: &str) -> (StatusCode, Value) {
    let r = srv
        .api
        .request(method, srv.url(path))
        .bearer_auth(&rp.token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn register(
    srv: &TestServer,
    rp: &Rp,
    code: &str,
    rule: &str,
    requires_challenge: bool,
) -> (StatusCode, Value) {
    let body = json!({"code": code, "description": format!("Offer {code}"), "rule": rule,
        "requires_challenge": requires_challenge});
    post(srv, rp, "/verify/v1/promotions", &body, None).await
}

/// A verification of Maria that passed.
async fn passed(srv: &TestServer, rp: &Rp, maria: &Value) -> String {
    let (id, verdict) = verify(srv, rp, maria_identity(), maria, true).await;
    assert_eq!(verdict["outcome"], "passed", "{verdict}");
    id
}

async fn ask(srv: &TestServer, rp: &Rp, code: &str, verification: &str) -> (StatusCode, Value) {
    let body = json!({"promotion": code, "verification_id": verification});
    post(srv, rp, "/verify/v1/eligibility", &body, None).await
}

/// Asserts a refusal's status and error code.
async fn refused(
    srv: &TestServer,
    rp: &Rp,
    code: &str,
    verification: &str,
    want: (StatusCode, &str),
) {
    let (status, v) = ask(srv, rp, code, verification).await;
    assert_eq!(
        (status, v["error"].as_str().unwrap_or_default()),
        want,
        "{code}: {v}"
    );
}

async fn eligible(srv: &TestServer, rp: &Rp, code: &str, verification: &str) -> bool {
    let (status, v) = ask(srv, rp, code, verification).await;
    assert_eq!(status, StatusCode::OK, "{code}: {v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["eligible", "promotion"],
        "nothing but the answer: {v}"
    );
    assert_eq!(v["promotion"], code);
    v["eligible"].as_bool().unwrap()
}

async fn registration_checks_rules(backend: Backend) {
    let srv = TestServer::start_on(&backend).await;
    let shop = rp(&srv, "Shop A").await;
    let (status, v) = register(&srv, &shop, "NEWBIZ", NEW_BUSINESS_MANAGER, true).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["code"], "NEWBIZ");
    assert_eq!(v["rule"], NEW_BUSINESS_MANAGER);
    assert_eq!(v["requires_challenge"], true);
    let (status, v) = register(&srv, &shop, "NEWBIZ", "true", false).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // Invalid rules: the error names what and where.
    let deep = "(".repeat(40);
    let long = format!("true || {}", vec!["true"; 400].join(" || "));
    let bad = [
        ("parent.revenue < 10", "unknown field", 1),
        (r#"parent.founded_year > "2020""#, "numbers", 21),
        (r#"role in ["manager", 3]"#, "one type", 21),
        ("parent.kind == \"robot\"", "robot", 16),
        (deep.as_str(), "nesting", 33),
        (long.as_str(), "2048 bytes", 2049),
    ];
    for (rule, want, column) in bad {
        let (status, v) = register(&srv, &shop, "BAD", rule, false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {v}");
        assert_eq!(v["error"], "invalid_rule", "{v}");
        assert!(
            v["error_description"].as_str().unwrap().contains(want),
            "{rule}: {v}"
        );
        assert_eq!(v["position"]["column"], column, "{rule}: {v}");
    }
    let huge = json!({"code": "BIG", "description": "x".repeat(20_000), "rule": "true"});
    let (status, v) = post(&srv, &shop, "/verify/v1/promotions", &huge, None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (status, v) = register(&srv, &shop, "no spaces", "true", false).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("code"))
    );
    let (status, v) = post(
        &srv,
        &shop,
        "/verify/v1/promotions",
        &json!({"code": "X", "rule": "true"}),
        None,
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // Each client sees and deletes only its own.
    let other = rp(&srv, "Shop B").await;
    assert_eq!(
        call(&srv, &other, Method::GET, "/verify/v1/promotions").await,
        (StatusCode::OK, json!([]))
    );
    for m in [Method::GET, Method::DELETE] {
        let (status, _) = call(&srv, &other, m, "/verify/v1/promotions/NEWBIZ").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, one) = call(&srv, &shop, Method::GET, "/verify/v1/promotions/NEWBIZ").await;
    assert_eq!(one["description"], "Offer NEWBIZ");
    let (_, list) = call(&srv, &shop, Method::GET, "/verify/v1/promotions").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(&srv, &shop, Method::DELETE, "/verify/v1/promotions/NEWBIZ").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&srv, &shop, Method::GET, "/verify/v1/promotions")
            .await
            .1,
        json!([])
    );

    // The API is described (the document needs no token).
    let doc: Value = srv
        .api
        .get(srv.url("/verify/v1/promotions/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/verify/v1/eligibility"]["post"].is_object(),
        "{doc}"
    );

    // Authentication: a token is needed, with the verify scope.
    let r = srv
        .api
        .get(srv.url("/verify/v1/promotions"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());
    let no_scope = token_with_scope(&srv, "other").await;
    let (status, v) = call(&srv, &no_scope, Method::GET, "/verify/v1/promotions").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotions_are_checked_at_registration_and_kept_per_client() {
    for b in all_backends().await {
        registration_checks_rules(b).await;
    }
}

async fn answers_follow_the_rule(backend: Backend) {
    let srv = TestServer::start_on(&backend).await;
    let (_, maria) = seed(&srv).await;
    let shop = rp(&srv, "Shop A").await;
    // (code, rule, whether Maria qualifies)
    let rules = [
        ("NEWBIZ_MANAGER", NEW_BUSINESS_MANAGER, true),
        (
            "NEWBIZ_EMPLOYEE",
            r#"parent.founded_year > now.year - 5 && role in ["employee"]"#,
            false,
        ),
        ("BIG_PARENT", "parent.annual_revenue >= 10_000_000", false),
        (
            "LOCAL_80S",
            r#"entity.region == "California" && entity.birth_year >= 1980 && entity.birth_year < 1990"#,
            true,
        ),
        // The parent's head count is not on record: unknown, whichever way it is asked.
        ("HEADCOUNT", "parent.employee_count > 10", false),
        ("NOT_HEADCOUNT", "!(parent.employee_count > 10)", false),
        (
            "OR_KNOWN",
            r#"parent.employee_count > 10 || entity.title == "office manager""#,
            true,
        ),
    ];
    for (code, rule, _) in rules {
        assert_eq!(
            register(&srv, &shop, code, rule, code == "NEWBIZ_MANAGER")
                .await
                .0,
            StatusCode::CREATED
        );
    }
    let verification = passed(&srv, &shop, &maria).await;
    for (code, _, want) in rules {
        assert_eq!(
            eligible(&srv, &shop, code, &verification).await,
            want,
            "{code}"
        );
    }

    // Another relying party can use neither the verification nor the promotion.
    let other = rp(&srv, "Shop B").await;
    assert_eq!(
        register(&srv, &other, "NEWBIZ_MANAGER", "true", false)
            .await
            .0,
        StatusCode::CREATED
    );
    let not_found = (StatusCode::NOT_FOUND, "not_found");
    refused(&srv, &other, "NEWBIZ_MANAGER", &verification, not_found).await;
    refused(&srv, &shop, "UNKNOWN", &verification, not_found).await;
    refused(&srv, &shop, "NEWBIZ_MANAGER", "vf_0000", not_found).await;

    // One verification answers at most 8 distinct promotions; repeats are free.
    for code in ["EXTRA1", "EXTRA2"] {
        register(&srv, &shop, code, "true", false).await;
    }
    assert!(
        eligible(&srv, &shop, "EXTRA1", &verification).await,
        "the 8th"
    );
    let limited = (StatusCode::TOO_MANY_REQUESTS, "too_many_promotions_asked");
    refused(&srv, &shop, "EXTRA2", &verification, limited).await;
    assert!(eligible(&srv, &shop, "NEWBIZ_MANAGER", &verification).await);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eligibility_follows_the_rule_over_the_entity_its_parent_and_role() {
    for b in all_backends().await {
        answers_follow_the_rule(b).await;
    }
}

async fn challenge_first(backend: Backend) {
    let srv = TestServer::start_on(&backend).await;
    let (_, maria) = seed(&srv).await;
    let shop = rp(&srv, "Shop A").await;
    register(&srv, &shop, "GATED", NEW_BUSINESS_MANAGER, true).await;
    register(&srv, &shop, "OPEN", NEW_BUSINESS_MANAGER, false).await;
    let required = (StatusCode::CONFLICT, "challenge_required");

    // Questions issued, not answered yet: a definite match answers only the open one.
    let (status, started) = post(
        &srv,
        &shop,
        "/verify/v1/verifications",
        &maria_identity(),
        None,
    )
    .await;
    assert_eq!(
        (status, started["tier"].as_str()),
        (StatusCode::CREATED, Some("definite"))
    );
    let open = started["verification_id"].as_str().unwrap();
    refused(&srv, &shop, "GATED", open, required).await;
    assert!(eligible(&srv, &shop, "OPEN", open).await);

    // Failed: neither.
    let wrong = answers(&started["questions"], &maria, false);
    let (_, verdict) = post(
        &srv,
        &shop,
        &format!("/verify/v1/verifications/{open}/answers"),
        &wrong,
        None,
    )
    .await;
    assert_eq!(verdict["outcome"], "failed");
    refused(&srv, &shop, "GATED", open, required).await;
    refused(&srv, &shop, "OPEN", open, required).await;

    // Passed: both.
    let passed = passed(&srv, &shop, &maria).await;
    assert!(eligible(&srv, &shop, "GATED", &passed).await);
    assert!(eligible(&srv, &shop, "OPEN", &passed).await);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_requiring_a_challenge_needs_a_passed_verification() {
    for b in all_backends().await {
        challenge_first(b).await;
    }
}

async fn passport(backend: Backend) {
    let srv = TestServer::start_on(&backend).await;
    let (maria_id, maria) = seed(&srv).await;
    let shop = rp(&srv, "Shop A").await;
    let bank = rp(&srv, "Neighbourhood Bank").await;
    register(&srv, &shop, "NEWBIZ", NEW_BUSINESS_MANAGER, false).await;
    register(&srv, &shop, "GATED", "true", true).await;
    register(
        &srv,
        &bank,
        "BIGCO",
        "parent.annual_revenue > 10_000_000",
        false,
    )
    .await;
    register(&srv, &bank, "MANAGERS", r#"role == "Manager""#, false).await;
    passed(&srv, &shop, &maria).await;

    let web = srv.web_client().await;
    let alice = srv.user("alice").await;
    srv.user("bob").await;

    // Not signed in.
    let r = srv
        .api
        .get(srv.url("/account/passport"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Signed in, bound to Maria's entity (as a passed step-up leaves it).
    let binding = EntityBinding {
        user_id: alice,
        entity_id: maria_id,
        verified_at: srv.provider().now(),
        method: "kba".into(),
    };
    srv.provider()
        .stores
        .entity_bindings
        .bind_entity(&binding)
        .await
        .unwrap();
    tokens(&srv, &web, "alice").await;
    let r = srv
        .browser
        .get(srv.url("/account/passport"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Verified as <strong>Maria Garcia</strong>"),
        "{page}"
    );
    let mut listed: Vec<&str> = page
        .match_indices("data-code=\"")
        .filter_map(|(i, m)| page[i + m.len()..].split('"').next())
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        ["MANAGERS", "NEWBIZ"],
        "qualifying open promotions only"
    );
    assert!(page.contains("Neighbourhood Bank"));
    // The history names the relying party that checked, with the outcome.
    let history = page.split("id=\"history\"").nth(1).unwrap();
    assert!(
        history.contains("Shop A") && history.contains("passed"),
        "{history}"
    );

    // Another user, not verified: an explanation.
    let other = crate::helpers::browser();
    let (url, _) = crate::helpers::authorize_url(&srv, &web.0, &[]);
    crate::helpers::authorize(&srv, &other, &url, "bob").await;
    let page = other
        .get(srv.url("/account/passport"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"not-verified\""), "{page}");
    assert!(!page.contains("data-code"));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_passport_lists_qualifying_promotions_and_who_checked() {
    for b in all_backends().await {
        passport(b).await;
    }
}
