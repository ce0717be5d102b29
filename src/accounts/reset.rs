//! Passwords lost and changed: "forgot password" e-mails a signed, single-use,
//! short-lived link (`links`); the link sets a new password; a signed-in user changes
//! theirs with the current one. Either way the user's sessions end — all of them after a
//! reset, all but the browser's own after a change — and through
//! `oauth::backchannel` ([`Ending::Credentials`]) their relying parties get logout tokens
//! and the grants issued under them are revoked; a notice goes to the address; it is
//! audited.
//!
//! **No account enumeration.** Asking for a link answers the same, in the same time,
//! whether or not an account matches: the request reserves its per-address and
//! per-client units (the only thing the answer depends on) and hands the lookup and the
//! sending to a task of its own, so nothing that differs between the two cases happens
//! before the answer. The per-account limit is applied in that task: a link over it is
//! silently not sent (and audited as `limited`).

use std::sync::Arc;

use super::email::{ChangeRefused, current_password, event, notify, record};
use super::links::{self, LinkMail};
use super::password::{self, PasswordError};
use super::sessions;
use super::users::Origin;
use crate::oauth::backchannel::Ending;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::{LinkPurpose, StoreError, UserRecord};

/// The page asking for a reset link.
pub const FORGOT_PATH: &str = "/password/forgot";
/// The page a reset link opens.
pub const RESET_PATH: &str = "/password/reset";

/// Longest login name or address accepted on the forgot page.
const MAX_ASKED: usize = 254;

/// What asking for a reset link answers (never whether an account matched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// If an account matches, its link is on its way.
    Accepted,
    /// Too many links were asked for this name or from this client lately.
    Limited,
}

/// Asks for a reset link for `login` (a login name or an address) from client address
/// `client`. Reserves the per-name and per-client units, then leaves the rest to a task
/// of its own (see the module's note on enumeration).
pub async fn ask(p: &Arc<Provider>, login: &str, client: &str) -> Result<Asked, OAuthError> {
    let login = login.trim();
    let purpose = LinkPurpose::ResetPassword;
    let counters = [
        links::address_counter(p, purpose, login),
        links::client_counter(p, purpose, client),
    ];
    if !links::reserve(p.cache.as_ref(), p.settings.mail_link_window, &counters).await? {
        return Ok(Asked::Limited);
    }
    if !login.is_empty() && login.len() <= MAX_ASKED {
        let (p, login, client) = (p.clone(), login.to_owned(), client.to_owned());
        tokio::spawn(async move {
            if let Err(e) = send_links(&p, &login, &client).await {
                tracing::warn!(error = %e, "password reset links not sent");
            }
        });
    }
    Ok(Asked::Accepted)
}

/// Sends a reset link to each account `login` names that has an address and is under
/// its per-account limit.
async fn send_links(p: &Provider, login: &str, client: &str) -> Result<(), OAuthError> {
    for user in p.stores.links.reset_candidates(login).await? {
        let Some(email) = user.email.as_deref() else {
            continue;
        };
        let purpose = LinkPurpose::ResetPassword;
        let counter = [links::account_counter(p, purpose, &user.sub)];
        let within = links::reserve(p.cache.as_ref(), p.settings.mail_link_window, &counter);
        let mut e = event(p, &user.sub, "password_reset_requested");
        e.actor = "anonymous".into();
        e.detail = format!("from {client}");
        if !within.await? {
            e.outcome = "limited".into();
            record(p, e).await;
            continue;
        }
        links::send(p, reset_mail(p, &user, email)).await?;
        record(p, e).await;
    }
    Ok(())
}

fn reset_mail<'a>(p: &Provider, user: &'a UserRecord, email: &'a str) -> LinkMail<'a> {
    let ttl = p.settings.password_reset_ttl;
    let text = format!(
        "Someone, hopefully you, asked to reset the password of the Surety account \
         \"{}\".\n\nTo choose a new password, open this link within {} minutes:\n\n{{link}}\n\n\
         The link works once. If you did not ask for it, ignore this message: your \
         password stays as it is.\n",
        user.username,
        links::minutes(ttl)
    );
    LinkMail {
        purpose: LinkPurpose::ResetPassword,
        path: RESET_PATH,
        sub: &user.sub,
        email,
        ttl,
        subject: "Reset your password",
        text,
    }
}

/// What using a reset link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// The password is set; this many sessions ended.
    Done { sessions_ended: u64 },
    /// The link is malformed, forged, unknown, used or expired, or the account's address
    /// changed since it was sent.
    InvalidLink,
    /// The new password breaks the rules (the link stays usable).
    BadPassword,
}

/// Sets a new password with a reset link, then ends every session of the user.
pub async fn reset(p: &Provider, token: &str, new_password: String) -> Result<Reset, OAuthError> {
    let Some(hash) = links::check(p, LinkPurpose::ResetPassword, token) else {
        return Ok(Reset::InvalidLink);
    };
    let phc = match password::hash(new_password).await {
        Ok(h) => h,
        Err(PasswordError::Length) => return Ok(Reset::BadPassword),
        Err(PasswordError::Hash) => return Err(OAuthError::server_error("password hashing")),
    };
    let link = match p.stores.links.redeem_reset(&hash, &phc, p.now()).await {
        Ok(l) => l,
        Err(StoreError::NotFound) => return Ok(Reset::InvalidLink),
        Err(e) => return Err(e.into()),
    };
    let ended = match sessions::end_all(p, &link.sub, Ending::Credentials).await {
        Ok(n) => n,
        Err(sessions::SessionError::NotFound) => 0,
        Err(sessions::SessionError::Failed(e)) => return Err(e),
    };
    let mut e = event(p, &link.sub, "password_reset");
    e.detail = format!("sessions ended: {ended}");
    record(p, e).await;
    let text = format!(
        "The password of your Surety account was reset with a link sent to this address, \
         and every session of the account was signed out.\n\nIf this was not you, ask \
         for a new link at {} at once.\n",
        p.url(FORGOT_PATH)
    );
    notify(p, &link.email, "Your password was reset", text).await;
    Ok(Reset::Done {
        sessions_ended: ended,
    })
}

/// What a password change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Changed; this many other sessions ended.
    Done {
        sessions_ended: u64,
    },
    Refused(ChangeRefused),
    /// The new password breaks the rules.
    BadPassword,
    /// The password changed meanwhile (another change or a reset won): nothing done.
    Raced,
}

/// Changes `user`'s password from `current` to `new`, then ends their other sessions
/// (all but `keep_sid`, the browser's own).
pub async fn change(
    p: &Provider,
    user: &UserRecord,
    keep_sid: &str,
    current: String,
    new: String,
    from: &Origin<'_>,
) -> Result<Changed, OAuthError> {
    if let Err(refused) = current_password(p, user, current, from).await? {
        return Ok(Changed::Refused(refused));
    }
    let phc = match password::hash(new).await {
        Ok(h) => h,
        Err(PasswordError::Length) => return Ok(Changed::BadPassword),
        Err(PasswordError::Hash) => return Err(OAuthError::server_error("password hashing")),
    };
    let store = p.stores.links.as_ref();
    if !store
        .change_password(&user.sub, &user.password_hash, &phc, p.now())
        .await?
    {
        return Ok(Changed::Raced);
    }
    let ended = match sessions::end_others(p, &user.sub, keep_sid, Ending::Credentials).await {
        Ok(n) => n,
        Err(sessions::SessionError::NotFound) => 0,
        Err(sessions::SessionError::Failed(e)) => return Err(e),
    };
    let mut e = event(p, &user.sub, "password_changed");
    e.detail = format!("other sessions ended: {ended}");
    record(p, e).await;
    if let Some(to) = user.email.as_deref() {
        let text = format!(
            "The password of your Surety account \"{}\" was changed, and its other \
             sessions were signed out.\n\nIf this was not you, reset it at {} at once.\n",
            user.username,
            p.url(FORGOT_PATH)
        );
        notify(p, to, "Your password was changed", text).await;
    }
    Ok(Changed::Done {
        sessions_ended: ended,
    })
}
