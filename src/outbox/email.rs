//! E-mail delivery through an SMTP server (RFC 5321), with `lettre` on the rustls stack
//! already used for webhooks. An `email` event's destination is the recipient address
//! and its payload an [`EmailMessage`] (subject and plain-text body); the sender, the
//! server and its credentials come from the settings in effect when the event is
//! delivered. Every message carries `Message-ID: <event id@surety>`, so a retry after a
//! lost answer shows as a duplicate to mail software.
//!
//! A permanent SMTP answer (5xx: unknown mailbox, refused sender) gives up at once;
//! anything else (4xx, timeout, connection or TLS failure) is retried by the worker.
//! Errors are recorded in a few words with the SMTP code: never the message, the
//! server's text (it may quote the message) or the credentials.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::worker::{DeliveryError, Transport};
use super::{EventId, KIND_EMAIL, MAX_PAYLOAD_BYTES, OutboxError, new_event};
use crate::clock::{Entropy, Timestamp};
use crate::config::Settings;
use crate::store::{OutboxEvent, OutboxStore};

/// Connection, greeting and each command time out after this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Longest subject accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;

pub use crate::config::SmtpTls;

/// The content of an `email` event, stored as its JSON payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// One line, at most [`MAX_SUBJECT_CHARS`] characters.
    pub subject: String,
    /// Plain text (UTF-8).
    pub text: String,
}

impl EmailMessage {
    fn check(&self) -> Result<(), OutboxError> {
        let s = &self.subject;
        if s.trim().is_empty() || s.chars().count() > MAX_SUBJECT_CHARS {
            return Err(OutboxError::Payload("subject must be 1-200 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(OutboxError::Payload("subject must be one line"));
        }
        Ok(())
    }
}

/// A recipient or sender address (`local@domain`, as `lettre` parses it), lower-cased.
pub fn parse_address(s: &str) -> Result<Address, OutboxError> {
    s.trim()
        .to_ascii_lowercase()
        .parse::<Address>()
        .map_err(|_| OutboxError::Destination("not an e-mail address"))
}

/// Queues `message` to `to`, delivered by the worker of whichever node claims it
/// first (only nodes with an SMTP server configured send e-mail).
pub async fn enqueue_email_to(
    outbox: &dyn OutboxStore,
    rng: &dyn Entropy,
    now: Timestamp,
    to: &str,
    message: &EmailMessage,
) -> Result<EventId, OutboxError> {
    let (id, event) = email_event(rng, now, to, message)?;
    outbox.enqueue(&event).await?;
    tracing::info!(event_id = %id.as_str(), kind = KIND_EMAIL, "outbox event queued");
    Ok(id)
}

/// The `email` event for `message` to `to`, for a caller that queues it in the same
/// transaction as the change it tells of.
pub fn email_event(
    rng: &dyn Entropy,
    now: Timestamp,
    to: &str,
    message: &EmailMessage,
) -> Result<(EventId, OutboxEvent), OutboxError> {
    let to = parse_address(to)?;
    message.check()?;
    let body = serde_json::to_string(message).map_err(|_| OutboxError::Payload("not JSON"))?;
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(OutboxError::Payload("larger than 64 KiB"));
    }
    let id = EventId::new(rng);
    let event = new_event(&id, KIND_EMAIL, to.as_ref(), body, None, now);
    Ok((id, event))
}

/// Checks the SMTP settings: `None` when no server is configured (no e-mail is sent),
/// an error when they cannot work or would send credentials in the clear.
pub fn check_settings(s: &Settings) -> Result<Option<()>, OutboxError> {
    let Some(host) = s.smtp_host.as_deref() else {
        return Ok(None);
    };
    if host.trim().is_empty() || host.len() > 253 || host.chars().any(char::is_whitespace) {
        return Err(OutboxError::Config("smtp_host is not a host name"));
    }
    parse_address(&s.smtp_from).map_err(|_| OutboxError::Config("smtp_from is not an address"))?;
    if s.smtp_username.is_some() != s.smtp_password.is_some() {
        return Err(OutboxError::Config(
            "set both smtp_username and smtp_password, or neither",
        ));
    }
    if s.smtp_username.is_some() && s.smtp_tls == SmtpTls::None {
        return Err(OutboxError::Config(
            "SMTP credentials need smtp_tls = starttls or tls",
        ));
    }
    Ok(Some(()))
}

/// Sends `email` events through the configured SMTP server.
pub struct EmailTransport {
    smtp: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailTransport {
    /// The transport the settings describe, `None` without an SMTP host.
    /// `hello` is the name Surety gives in `EHLO` (the issuer's host).
    pub fn from_settings(s: &Settings, hello: &str) -> Result<Option<Self>, OutboxError> {
        if check_settings(s)?.is_none() {
            return Ok(None);
        }
        let host = s.smtp_host.clone().unwrap_or_default();
        let tls = match s.smtp_tls {
            SmtpTls::None => Tls::None,
            mode => {
                let params = TlsParameters::new(host.clone())
                    .map_err(|_| OutboxError::Config("smtp_host: TLS parameters"))?;
                if mode == SmtpTls::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(s.smtp_port.unwrap_or(s.smtp_tls.default_port()))
            .tls(tls)
            .timeout(Some(TIMEOUT))
            .hello_name(client_id(hello));
        if let (Some(user), Some(pass)) = (&s.smtp_username, &s.smtp_password) {
            b = b.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        let from = parse_address(&s.smtp_from)
            .map_err(|_| OutboxError::Config("smtp_from is not an address"))?;
        Ok(Some(Self {
            smtp: b.build(),
            from: Mailbox::new(Some("Surety".to_owned()), from),
        }))
    }

    fn message(&self, event: &OutboxEvent) -> Result<Message, DeliveryError> {
        let permanent = |what: &str| DeliveryError::Permanent(what.to_owned());
        let to = parse_address(&event.destination).map_err(|_| permanent("invalid recipient"))?;
        let m: EmailMessage =
            serde_json::from_str(&event.payload).map_err(|_| permanent("invalid payload"))?;
        m.check().map_err(|_| permanent("invalid subject"))?;
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(m.subject)
            .message_id(Some(format!("<{}@surety>", event.id)))
            .date(system_time(event.created_at))
            .header(ContentType::TEXT_PLAIN)
            .body(m.text)
            .map_err(|_| permanent("message could not be built"))
    }
}

/// `EHLO` names an address literal for an IP host, the domain otherwise.
fn client_id(hello: &str) -> ClientId {
    match hello.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => ClientId::Ipv4(a),
        Ok(std::net::IpAddr::V6(a)) => ClientId::Ipv6(a),
        Err(_) => ClientId::Domain(hello.to_owned()),
    }
}

fn system_time(t: Timestamp) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0))
}

#[async_trait]
impl Transport for EmailTransport {
    fn kind(&self) -> &'static str {
        KIND_EMAIL
    }

    async fn deliver(&self, event: &OutboxEvent) -> Result<(), DeliveryError> {
        let message = self.message(event)?;
        match self.smtp.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(describe(&e))),
            Err(e) => Err(DeliveryError::Retry(describe(&e))),
        }
    }
}

/// An SMTP error in a few words and its code: never the server's text.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let code = e.status().map(|c| format!(" {c}")).unwrap_or_default();
    let what = if e.is_permanent() {
        "SMTP refused"
    } else if e.is_transient() {
        "SMTP deferred"
    } else if e.is_timeout() {
        "SMTP timed out"
    } else if e.is_tls() {
        "SMTP TLS failed"
    } else if e.is_response() {
        "SMTP bad response"
    } else {
        "SMTP connection failed"
    };
    format!("{what}{code}")
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn smtp(host: &str) -> Settings {
        Settings {
            smtp_host: Some(host.into()),
            smtp_from: "alerts@surety.example".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(check_settings(&Settings::default()).unwrap().is_none());
        assert!(check_settings(&smtp("mail.example")).unwrap().is_some());
        assert!(check_settings(&smtp("mail example")).is_err());
        let mut s = smtp("mail.example");
        s.smtp_from = "not an address".into();
        assert!(check_settings(&s).is_err());
        let mut s = smtp("mail.example");
        s.smtp_username = Some("surety".into());
        assert!(check_settings(&s).is_err(), "user without password");
        s.smtp_password = Some(SecretString::from("pw"));
        assert!(check_settings(&s).is_ok());
        s.smtp_tls = SmtpTls::None;
        assert!(check_settings(&s).is_err(), "no credentials in the clear");
        assert_eq!(SmtpTls::default().default_port(), 587);
        assert_eq!(SmtpTls::Tls.default_port(), 465);
    }

    #[test]
    fn messages_are_built_from_events() {
        let t = EmailTransport::from_settings(&smtp("127.0.0.1"), "surety.example")
            .unwrap()
            .unwrap();
        let m = EmailMessage {
            subject: "Verification failed".into(),
            text: "Someone tried.\n".into(),
        };
        let id = EventId::new(&crate::clock::SystemEntropy);
        let payload = serde_json::to_string(&m).unwrap();
        let e = new_event(
            &id,
            KIND_EMAIL,
            "Jo@Example.com",
            payload,
            None,
            1_700_000_000,
        );
        let raw = String::from_utf8(t.message(&e).unwrap().formatted()).unwrap();
        assert!(raw.contains("Subject: Verification failed"), "{raw}");
        assert!(raw.contains("To: jo@example.com"), "{raw}");
        assert!(raw.contains(&format!("Message-ID: <{}@surety>", id.as_str())));
        assert!(raw.contains("Date: Tue, 14 Nov 2023"), "{raw}");
        let mut bad = e.clone();
        bad.destination = "nobody".into();
        assert!(matches!(t.message(&bad), Err(DeliveryError::Permanent(_))));
        bad = e.clone();
        bad.payload = r#"{"subject":"a\nBcc: x@y.z","text":""}"#.into();
        assert!(matches!(t.message(&bad), Err(DeliveryError::Permanent(_))));
    }

    #[test]
    fn subjects_and_addresses_are_checked() {
        let m = |s: &str| EmailMessage {
            subject: s.into(),
            text: String::new(),
        };
        assert!(m("Hello").check().is_ok());
        assert!(m("").check().is_err());
        assert!(m("a\r\nBcc: x@y.z").check().is_err());
        assert!(m(&"x".repeat(201)).check().is_err());
        assert_eq!(
            parse_address(" A@B.example ").unwrap().to_string(),
            "a@b.example"
        );
        assert!(parse_address("a@").is_err() && parse_address("ab").is_err());
    }
}
