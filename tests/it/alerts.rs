//! Failure alerts: a failed or locked verification against an entity
//! e-mails the entity's verified address through the durable outbox and SMTP, naming the
//! relying party and the account that tried and none of the record's facts. Each test
//! starts a local SMTP sink (`smtp_sink`) and a server configured to it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::config::Settings;
use surety::outbox::email::{EmailMessage, SmtpTls, enqueue_email_to};
use surety::verify::alerts::{MAX_ALERTS_PER_HOUR, enqueue_failure_alert};
use surety::verify::engine::{Outcome, Requester};

use crate::helpers::*;
use crate::outbox::admin_event;
use crate::smtp_sink::{Mail, SmtpSink};
use crate::verify_rp::{entity, post, rp, verify};

/// A person with an e-mail address and facts an alert must never show.
fn maria() -> Value {
    json!({"external_id": "P-ALERT-1", "kind": "person", "name": "Maria Garcia",
        "street": "12 North Oak Street", "city": "Oakland", "region": "CA", "postal": "94607",
        "phone": "(510) 555-0142", "email": "Maria.Garcia@Example.com", "source": "dmv",
        "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1984, "title": "Buyer", "start_year": 2015}})
}

/// A person without an e-mail address.
fn tom() -> Value {
    json!({"external_id": "P-ALERT-2", "kind": "person", "name": "Tom Nomail",
        "street": "3 Elm Street", "city": "Oakland", "region": "CA", "postal": "94607",
        "phone": "(510) 555-0199", "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {"birth_year": 1970, "title": "Clerk", "start_year": 2001}})
}

/// Strings of the record that must not appear in an alert.
const FACTS: &[&str] = &["1984", "Buyer", "2015", "North Oak", "555-0142", "94607"];

/// A fast-polling server sending e-mail to the sink on `port` in plain SMTP.
fn with_smtp(backend: &Backend, port: u16) -> Settings {
    let mut s = settings_for(backend);
    s.outbox_poll_interval = 25;
    s.outbox_retry_base = 1;
    s.smtp_host = Some("127.0.0.1".into());
    s.smtp_port = Some(port);
    s.smtp_tls = SmtpTls::None;
    s.smtp_from = "alerts@surety.test".into();
    s
}

fn acme() -> Requester {
    Requester {
        client_id: "client-acme".into(),
        client_name: "Acme Bank".into(),
        account: None,
        source_ip: None,
    }
}

/// Polls the admin API until `pred` holds for the event (at most 30 s).
async fn event_until(
    srv: &TestServer,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, || async {
        let e = admin_event(srv, id).await;
        pred(&e).then_some(e)
    })
    .await
}

/// Waits until every event in the outbox is delivered; returns how many there are.
async fn all_delivered(srv: &TestServer) -> usize {
    let outbox = srv.provider().stores.outbox.clone();
    let filter = surety::store::OutboxFilter::default();
    eventually("every queued alert to be delivered", || async {
        let events = outbox.list_events(&filter, 100).await.unwrap();
        events
            .iter()
            .all(|e| e.status == surety::store::OutboxStatus::Delivered)
            .then_some(events.len())
    })
    .await
}

/// A server sending to the sink on `port`, with Maria stored and an alert about a failed
/// verification of hers queued; returns the server, the event id and the server's clock
/// (standing still until the test moves it, so retries wait for the test).
async fn alert_queued(
    backend: &Backend,
    port: u16,
) -> (TestServer, String, surety::clock::FixedClock) {
    let clock = fixed_clock();
    let srv = TestServer::start_with_clock(with_smtp(backend, port), clock.clone()).await;
    let maria = entity(&srv, &maria()).await;
    let p = srv.provider();
    let id = enqueue_failure_alert(
        &p.stores,
        p.entropy.as_ref(),
        p.now(),
        &acme(),
        Some("jdoe-77"),
        &maria,
        Outcome::Failed,
    )
    .await
    .expect("an alert is queued");
    (srv, id.as_str().to_owned(), clock)
}

/// What every alert must say, and must not.
fn assert_alert(mail: &Mail, to: &str, account: &str) {
    assert_eq!(mail.to, vec![to.to_owned()]);
    assert_eq!(mail.from, "alerts@surety.test");
    let body = mail.body();
    assert!(
        body.contains("Acme Bank"),
        "names the relying party: {body}"
    );
    assert!(
        body.contains(&format!("\"{account}\"")),
        "names the account: {body}"
    );
    assert!(body.contains(" UTC"), "says when: {body}");
    assert!(
        body.contains("If it was not you"),
        "says what to do: {body}"
    );
    for fact in FACTS {
        assert!(!mail.data.contains(fact), "alert shows the fact {fact:?}");
    }
}

#[tokio::test]
async fn a_failed_verification_emails_the_entity() {
    for backend in all_backends().await {
        let sink = SmtpSink::start().await;
        let (srv, id, _) = alert_queued(&backend, sink.port).await;
        let e = event_until(&srv, &id, "delivery", |e| e["status"] == "delivered").await;
        assert_eq!(
            (e["kind"].as_str(), e["attempts"].as_i64()),
            (Some("email"), Some(1))
        );
        assert_eq!(e["destination"], "maria.garcia@example.com");
        let mails = sink.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_alert(mail, "maria.garcia@example.com", "jdoe-77");
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("An attempt to verify your identity failed")
        );
        assert_eq!(mail.header("Message-ID"), Some(format!("<{}@surety>", id)));
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_locked_verification_emails_and_entities_without_email_get_nothing() {
    let sink = SmtpSink::start().await;
    let srv = TestServer::start_with(with_smtp(&default_backend().await, sink.port)).await;
    let (maria, tom) = (entity(&srv, &maria()).await, entity(&srv, &tom()).await);
    let p = srv.provider();
    let now = p.now();
    let who = acme();
    // No address, a pass, an entity that is gone: no alert.
    let none = [
        (tom.as_str(), Outcome::Failed),
        (maria.as_str(), Outcome::Passed),
        ("ENnone", Outcome::Failed),
    ];
    for (entity_id, outcome) in none {
        let got = enqueue_failure_alert(
            &p.stores,
            p.entropy.as_ref(),
            now,
            &who,
            Some("mallory"),
            entity_id,
            outcome,
        );
        assert!(got.await.is_none(), "{entity_id} {outcome:?}");
    }
    let id = enqueue_failure_alert(
        &p.stores,
        p.entropy.as_ref(),
        now,
        &who,
        Some("mallory"),
        &maria,
        Outcome::Locked,
    )
    .await
    .unwrap();
    event_until(&srv, id.as_str(), "delivery", |e| {
        e["status"] == "delivered"
    })
    .await;
    let mails = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1, "one alert: the locked one");
    assert_alert(&mails[0], "maria.garcia@example.com", "mallory");
    assert!(mails[0].header("Subject").unwrap().contains("locked"));
    srv.shutdown().await;
}

#[tokio::test]
async fn alerts_to_one_address_are_limited_per_hour() {
    let sink = SmtpSink::start().await;
    let srv = TestServer::start_with(with_smtp(&default_backend().await, sink.port)).await;
    let maria = entity(&srv, &maria()).await;
    let p = srv.provider();
    let mut queued = 0;
    for _ in 0..MAX_ALERTS_PER_HOUR + 3 {
        let who = acme();
        if enqueue_failure_alert(
            &p.stores,
            p.entropy.as_ref(),
            p.now(),
            &who,
            Some("mallory"),
            &maria,
            Outcome::Failed,
        )
        .await
        .is_some()
        {
            queued += 1;
        }
    }
    assert_eq!(queued, MAX_ALERTS_PER_HOUR);
    let mails = sink
        .wait_for(MAX_ALERTS_PER_HOUR, Duration::from_secs(10))
        .await;
    assert_eq!(mails.len(), MAX_ALERTS_PER_HOUR);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_sink_down_at_first_gets_the_alert_by_retry() {
    for backend in all_backends().await {
        let mut sink = SmtpSink::reserve().await;
        let (srv, id, clock) = alert_queued(&backend, sink.port).await;
        let failed = event_until(&srv, &id, "a failed attempt", |e| {
            e["attempts"].as_i64() >= Some(1) && e.get("last_error").is_some()
        })
        .await;
        assert_eq!(failed["status"], "pending", "retried, not given up");
        assert_eq!(failed["last_error"], "SMTP connection failed");
        sink.up().await;
        // Past the backoff (`outbox_retry_base`, 1 s).
        clock.advance(1);
        let e = event_until(&srv, &id, "delivery", |e| e["status"] == "delivered").await;
        assert_eq!(e["attempts"], 2);
        let mails = sink.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(mails.len(), 1);
        assert_alert(&mails[0], "maria.garcia@example.com", "jdoe-77");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_refused_recipient_is_not_retried_and_the_error_shows_no_text() {
    let sink = SmtpSink::start().await;
    let srv = TestServer::start_with(with_smtp(&default_backend().await, sink.port)).await;
    let msg = EmailMessage {
        subject: "Test".into(),
        text: "secret body text".into(),
    };
    let p = srv.provider();
    let id = enqueue_email_to(
        p.stores.outbox.as_ref(),
        p.entropy.as_ref(),
        p.now(),
        "someone@reject.invalid",
        &msg,
    )
    .await
    .unwrap();
    let e = event_until(&srv, id.as_str(), "failure", |e| e["status"] == "failed").await;
    assert_eq!(e["attempts"], 1, "a 5xx answer is final");
    assert_eq!(e["last_error"], "SMTP refused 550");
    assert!(sink.mails().is_empty());
    assert!(
        enqueue_email_to(
            p.stores.outbox.as_ref(),
            p.entropy.as_ref(),
            p.now(),
            "not-an-address",
            &msg,
        )
        .await
        .is_err()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn smtp_credentials_in_the_clear_are_refused_at_start() {
    let mut s = with_smtp(&Backend::Embedded, 2525);
    s.smtp_username = Some("surety".into());
    s.smtp_password = Some(secrecy::SecretString::from("pw-in-clear"));
    let err = surety::app::spawn(s, surety::app::Deps::default())
        .await
        .err()
        .expect("refused");
    let text = format!("{err:#}");
    assert!(text.contains("starttls or tls"), "{text}");
    assert!(!text.contains("pw-in-clear"));
}

#[tokio::test]
async fn failed_and_locked_verifications_through_the_api_email_the_entity() {
    for backend in all_backends().await {
        let sink = SmtpSink::start().await;
        let srv = TestServer::start_with(with_smtp(&backend, sink.port)).await;
        let record = maria();
        entity(&srv, &record).await;
        let bank = rp(&srv, "Acme Bank").await;
        let identity = json!({"name": "maria garcia", "phone": "510-555-0142",
            "email": "maria.garcia@example.com", "account": "jdoe-77"});
        // Two failures, then the third failed attempt locks the record.
        for expected in ["failed", "failed", "locked"] {
            let (_, verdict) = verify(&srv, &bank, identity.clone(), &record, false).await;
            assert_eq!(verdict["outcome"], expected, "{verdict}");
        }
        // Further attempts are refused as locked; the owner was told once.
        let (status, locked) = post(&srv, &bank, "/verify/v1/verifications", &identity, None).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(locked["verdict"]["outcome"], "locked", "{locked}");
        // The alerts were queued within the requests: once every queued event is
        // delivered, no further mail can come.
        let events = all_delivered(&srv).await;
        assert_eq!(events, 3, "two failures and one lock notice queued");
        let mails = sink.mails();
        assert_eq!(mails.len(), 3, "two failures and one lock notice");
        for m in &mails {
            assert_alert(m, "maria.garcia@example.com", "jdoe-77");
        }
        let subjects: Vec<String> = mails.iter().filter_map(|m| m.header("Subject")).collect();
        assert_eq!(
            subjects.iter().filter(|s| s.contains("locked")).count(),
            1,
            "{subjects:?}"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_passed_verification_sends_nothing() {
    let sink = SmtpSink::start().await;
    let srv = TestServer::start_with(with_smtp(&default_backend().await, sink.port)).await;
    let record = maria();
    entity(&srv, &record).await;
    let bank = rp(&srv, "Acme Bank").await;
    let identity = json!({"name": "Maria Garcia", "phone": "+15105550142",
        "email": "maria.garcia@example.com", "account": "jdoe-77"});
    let (_, verdict) = verify(&srv, &bank, identity, &record, true).await;
    assert_eq!(verdict["outcome"], "passed", "{verdict}");
    // Alerts are queued within the request: nothing queued, nothing will be sent.
    assert_eq!(all_delivered(&srv).await, 0, "nothing queued");
    assert!(sink.mails().is_empty());
    srv.shutdown().await;
}
