//! A user's e-mail address: proving it theirs with a link (OpenID Connect Core §5.1
//! `email_verified`), and changing it. Changing the address needs the current password
//! (checked with the login's lockout), clears the proof, voids the links still out,
//! tells the old address and sends a link to the new one.

use super::links::{self, LinkMail};
use super::users::{self, LoginFailure, LoginLimits, Origin};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::outbox::email::{EmailMessage, enqueue_email_to, parse_address};
use crate::store::{AuditEvent, LinkPurpose, StoreError, UserRecord};

/// The page a verification link opens.
pub const VERIFY_PATH: &str = "/email/verify";

/// What asking for a verification link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// The user has no address.
    NoAddress,
    /// The address is verified already.
    AlreadyVerified,
    /// Too many links were asked for this address or account lately.
    Limited,
}

/// Sends a link proving `user`'s address, after reserving a unit of the per-address and
/// per-account limits.
pub async fn send_verification(p: &Provider, user: &UserRecord) -> Result<Sent, OAuthError> {
    let Some(email) = user.email.as_deref() else {
        return Ok(Sent::NoAddress);
    };
    if user.email_verified_at.is_some() {
        return Ok(Sent::AlreadyVerified);
    }
    let purpose = LinkPurpose::VerifyEmail;
    let counters = [
        links::address_counter(p, purpose, email),
        links::account_counter(p, purpose, &user.sub),
    ];
    if !links::reserve(p.cache.as_ref(), p.settings.mail_link_window, &counters).await? {
        return Ok(Sent::Limited);
    }
    let ttl = p.settings.email_verify_ttl;
    let text = format!(
        "Confirm that this address belongs to the Surety account \"{}\" by opening this \
         link within {} minutes:\n\n{{link}}\n\nThe link works once. If you did not add \
         this address to an account, ignore this message.\n",
        user.username,
        links::minutes(ttl)
    );
    let mail = LinkMail {
        purpose,
        path: VERIFY_PATH,
        sub: &user.sub,
        email,
        ttl,
        subject: "Confirm your e-mail address",
        text,
    };
    links::send(p, mail).await?;
    Ok(Sent::Sent)
}

/// Uses a verification link: the address it went to is now verified, if it is still the
/// user's. `None`: the link is malformed, forged, unknown, used or expired, or the
/// address changed since.
pub async fn verify(p: &Provider, token: &str) -> Result<Option<String>, OAuthError> {
    let Some(hash) = links::check(p, LinkPurpose::VerifyEmail, token) else {
        return Ok(None);
    };
    match p.stores.links.redeem_verification(&hash, p.now()).await {
        Ok(link) => {
            record(p, event(p, &link.sub, "email_verified")).await;
            Ok(Some(link.email))
        }
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Why an address change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    WrongPassword,
    /// Too many wrong passwords (the login's lockout).
    Locked,
    NotAnAddress,
    /// The new address is the present one.
    Unchanged,
}

/// Changes `user`'s address to `new` if `password` is theirs; then tells the old address
/// and sends a verification link to the new one (how that went is returned).
pub async fn change(
    p: &Provider,
    user: &UserRecord,
    password: String,
    new: &str,
    from: &Origin<'_>,
) -> Result<Result<Sent, ChangeRefused>, OAuthError> {
    let new = new.trim();
    if !users::is_email(new) || parse_address(new).is_err() {
        return Ok(Err(ChangeRefused::NotAnAddress));
    }
    if user.email.as_deref() == Some(new) {
        return Ok(Err(ChangeRefused::Unchanged));
    }
    if let Err(refused) = current_password(p, user, password, from).await? {
        return Ok(Err(refused));
    }
    match p.stores.links.change_email(&user.sub, new, p.now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(OAuthError::server_error("the user is gone")),
        Err(e) => return Err(e.into()),
    }
    record(p, event(p, &user.sub, "email_changed")).await;
    if let Some(old) = user.email.as_deref() {
        let text = format!(
            "The e-mail address of the Surety account \"{}\" was changed from this address \
             to {new}.\n\nIf you did not change it, someone else may have your password: \
             reset it at {} and check where you are signed in.\n",
            user.username,
            p.url(super::reset::FORGOT_PATH)
        );
        notify(p, old, "Your e-mail address was changed", text).await;
    }
    let changed = UserRecord {
        email: Some(new.to_owned()),
        email_verified_at: None,
        ..user.clone()
    };
    send_verification(p, &changed).await.map(Ok)
}

/// Checks `password` as the login does (same lockout counters), for a signed-in user
/// confirming a sensitive change.
pub(super) async fn current_password(
    p: &Provider,
    user: &UserRecord,
    password: String,
    from: &Origin<'_>,
) -> Result<Result<(), ChangeRefused>, OAuthError> {
    let limits = LoginLimits {
        max_failures: p.settings.login_max_failures,
        window: p.settings.login_lockout,
    };
    let checked = users::login(
        p.stores.users.as_ref(),
        p.cache.as_ref(),
        &user.username,
        password,
        from,
        &limits,
    )
    .await?;
    Ok(match checked {
        Ok(u) if u.sub == user.sub => Ok(()),
        Ok(_) | Err(LoginFailure::Invalid) => Err(ChangeRefused::WrongPassword),
        Err(LoginFailure::Locked) => Err(ChangeRefused::Locked),
    })
}

/// Queues a notice (no secret in it) to `to`; a failure is logged, never the caller's.
pub(super) async fn notify(p: &Provider, to: &str, subject: &str, text: String) {
    let m = EmailMessage {
        subject: subject.to_owned(),
        text,
    };
    let queued = enqueue_email_to(
        p.stores.outbox.as_ref(),
        p.entropy.as_ref(),
        p.now(),
        to,
        &m,
    );
    if let Err(e) = queued.await {
        tracing::warn!(error = %e, "account notice not queued");
    }
}

/// An audit line about account `sub`, acted on by its user, `ok`.
pub(super) fn event(p: &Provider, sub: &str, action: &str) -> AuditEvent {
    AuditEvent {
        at: p.now(),
        actor: sub.to_owned(),
        action: action.to_owned(),
        subject: sub.to_owned(),
        outcome: "ok".to_owned(),
        detail: String::new(),
    }
}

/// Records `e`; a failure is logged, never the caller's.
pub(super) async fn record(p: &Provider, e: AuditEvent) {
    if let Err(err) = p.stores.audit.record(&e).await {
        tracing::warn!(error = %err, "audit record failed");
    }
}
