//! Alerts to a verified entity: when a verification against an
//! entity fails or locks, the entity's verified contact address gets an e-mail through
//! the durable outbox (`crate::outbox::email`), naming the relying party, the account
//! that tried, and the time, and saying what to do if it was not them.
//!
//! The message names no question, no answer and no fact of the record. The relying
//! party's name and account are shown as plain text, one line each, cut to a length.
//! An address gets at most [`MAX_ALERTS_PER_HOUR`] alerts an hour, and one "locked"
//! notice (an attacker retrying a locked record does not flood its owner). An entity without an e-mail address gets
//! no alert. Failing to queue an alert never fails the verification: it is logged
//! (without the address) and the verification goes on.

use crate::clock::{Entropy, Timestamp};
use crate::outbox::email::{EmailMessage, enqueue_email_to};
use crate::outbox::{EventId, KIND_EMAIL, OutboxError};
use crate::store::{OutboxFilter, StoreError, Stores};
use crate::verify::CivilDate;
use crate::verify::engine::{Outcome, Requester};

/// Alerts queued per address and hour, at most.
pub const MAX_ALERTS_PER_HOUR: usize = 5;

/// Longest relying-party name or account shown, in characters.
const MAX_SHOWN: usize = 80;

/// Queues the alert for a failed or locked verification of `entity_id` by the relying
/// party `who` on behalf of its `account` (the verification's, given when it started),
/// decided at `now`. Returns the event id, or `None` when no alert is due: the
/// verification passed, the entity has no e-mail address (or is gone), or the address
/// already had its alerts this hour. Errors are logged, never returned.
pub async fn enqueue_failure_alert(
    stores: &Stores,
    rng: &dyn Entropy,
    now: Timestamp,
    who: &Requester,
    account: Option<&str>,
    entity_id: &str,
    outcome: Outcome,
) -> Option<EventId> {
    if outcome == Outcome::Passed {
        return None;
    }
    let message = failure_message(who, account, outcome, now);
    match queue(stores, rng, now, entity_id, &message, outcome).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(entity_id, error = %e, "could not queue a failure alert");
            None
        }
    }
}

/// Queues `message` to the entity's address unless it has none or had enough alerts.
async fn queue(
    stores: &Stores,
    rng: &dyn Entropy,
    now: Timestamp,
    entity_id: &str,
    message: &EmailMessage,
    outcome: Outcome,
) -> Result<Option<EventId>, OutboxError> {
    let entity = match stores.entities.get_entity(entity_id).await {
        Ok(e) => e,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(to) = entity.email_norm.or(entity.email).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let recent = recent_alerts(stores, &to, now).await?;
    let told = recent.iter().any(|r| r.subject == message.subject);
    if recent.len() >= MAX_ALERTS_PER_HOUR || (outcome == Outcome::Locked && told) {
        tracing::info!(
            entity_id,
            "failure alert skipped: already alerted this hour"
        );
        return Ok(None);
    }
    let id = enqueue_email_to(stores.outbox.as_ref(), rng, now, &to, message).await?;
    Ok(Some(id))
}

/// The e-mail queued to `to` within the last hour.
async fn recent_alerts(
    stores: &Stores,
    to: &str,
    now: Timestamp,
) -> Result<Vec<EmailMessage>, OutboxError> {
    let filter = OutboxFilter {
        destination: Some(to.to_owned()),
        status: None,
    };
    let recent = stores
        .outbox
        .list_events(&filter, MAX_ALERTS_PER_HOUR as i64 * 4)
        .await?;
    Ok(recent
        .iter()
        .filter(|e| e.kind == KIND_EMAIL && e.created_at > now - 3600)
        .filter_map(|e| serde_json::from_str(&e.payload).ok())
        .collect())
}

/// The alert's text: who, when, what happened, what to do. No record facts.
pub fn failure_message(
    who: &Requester,
    account: Option<&str>,
    outcome: Outcome,
    at: Timestamp,
) -> EmailMessage {
    let party =
        shown(&who.client_name).unwrap_or_else(|| shown(&who.client_id).unwrap_or_default());
    let account = account
        .and_then(shown)
        .map_or_else(|| "(not given)".to_owned(), |a| format!("\"{a}\""));
    let (subject, what) = match outcome {
        Outcome::Locked => (
            "Identity checks on your record are locked",
            "Too many attempts to verify your identity failed, so further \
             attempts are refused for now.",
        ),
        _ => (
            "An attempt to verify your identity failed",
            "Someone tried to verify your identity and did not answer the \
             questions correctly.",
        ),
    };
    let text = format!(
        "Hello,\n\n\
         {what}\n\n\
         \x20 Service (relying party): {party}\n\
         \x20 Account that tried:      {account}\n\
         \x20 Time:                    {time}\n\n\
         If this was you, there is nothing to do: you can try again later.\n\n\
         If it was not you, someone may be trying to pass as you. Contact {party} \
         through its usual channels (not through this message) and tell them about the \
         account above. Do not give your personal details to anyone who asks for them \
         because of this message: Surety never asks for them by e-mail.\n\n\
         -- Surety\n",
        time = utc_time(at),
    );
    EmailMessage {
        subject: subject.to_owned(),
        text,
    }
}

/// `s` on one line (control characters as spaces), at most [`MAX_SHOWN`] characters;
/// `None` if nothing is left.
fn shown(s: &str) -> Option<String> {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return None;
    }
    if t.chars().count() <= MAX_SHOWN {
        return Some(t);
    }
    let cut: String = t.chars().take(MAX_SHOWN - 1).collect();
    Some(format!("{cut}…"))
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_time(t: Timestamp) -> String {
    let secs = t.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        CivilDate::from_unix(t),
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str) -> Requester {
        Requester {
            client_id: "client-1".into(),
            client_name: name.into(),
            account: None,
            source_ip: None,
        }
    }

    #[test]
    fn messages_name_the_party_account_and_time() {
        let m = failure_message(
            &who("Acme Bank"),
            Some("jdoe@acme"),
            Outcome::Failed,
            1_700_000_000,
        );
        assert_eq!(m.subject, "An attempt to verify your identity failed");
        assert!(m.text.contains("Acme Bank"), "{}", m.text);
        assert!(m.text.contains("\"jdoe@acme\""));
        assert!(m.text.contains("2023-11-14 22:13 UTC"), "{}", m.text);
        let locked = failure_message(&who("Acme"), None, Outcome::Locked, 0);
        assert!(locked.subject.contains("locked"));
        assert!(locked.text.contains("(not given)"));
        assert!(locked.text.contains("1970-01-01 00:00 UTC"));
    }

    #[test]
    fn shown_text_is_one_line_and_short() {
        let m = failure_message(
            &who("Evil\r\nBcc: x@y"),
            Some(&"a".repeat(500)),
            Outcome::Failed,
            0,
        );
        assert!(m.text.contains("Evil Bcc: x@y"));
        assert!(!m.text.contains(&"a".repeat(81)));
        assert!(m.text.contains(&format!("{}…", "a".repeat(79))));
        let unnamed = failure_message(&who(" \t"), Some("\n"), Outcome::Failed, 0);
        assert!(unnamed.text.contains("client-1"));
        assert!(unnamed.text.contains("(not given)"));
    }
}
