//! The verification page's side of the device flow (RFC 8628 §3.3): the user types or
//! confirms a user code, then answers the request through the authorization endpoint's
//! pipeline — login (and any step-up the request asks for), the consent screen with the
//! products' consent policies — which ends here instead of at a redirect URI: an
//! approval is recorded as the device's grant ([`approved`]), a refusal as
//! `access_denied` ([`refused`]). Each move is one conditional update, so a code is
//! answered once. Guessing codes is limited per client address and in total (§5.1),
//! each attempt reserved with the cache's atomic `INCR` before the code is looked up.

use super::user_code::UserCode;
use crate::oauth::authorize::{self, AuthorizeError, CodeRecord, Outcome, Progress};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::{Provider, paths};
use crate::oauth::session::Session;
use crate::store::{DeviceApproval, DeviceStatus, StoreError};
use crate::util::{ct_eq, secret_hash};

/// How a device request ended, as the verification page says it (`?result=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Approved,
    Denied,
    /// The code was answered already, or expired, while the user was on the pages.
    Gone,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Gone => "gone",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approved, Self::Denied, Self::Gone]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// Where the browser lands when a device request ends.
pub fn ending_url(p: &Provider, e: Ending) -> String {
    authorize::with_query(&p.url(paths::DEVICE), &[("result", e.as_str())])
}

/// What typing a code led to.
#[derive(Debug)]
pub enum Entry {
    /// The code names a pending request: on to login, step-up or consent.
    Continue(Outcome),
    /// No pending request has this code (malformed, unknown, answered or expired).
    Unknown,
    /// Too many attempts from this address, or from everyone, in the window.
    Limited,
}

/// The anti-CSRF token of the code form, bound to the browser's binding cookie (which
/// the page sets, HttpOnly): a page on another origin can read neither.
pub fn form_token(binding: &str) -> String {
    secret_hash(&format!("device-form:{binding}"))
}

/// Whether `presented` is the form token of `binding` (constant time).
pub fn form_token_ok(binding: &str, presented: &str) -> bool {
    binding.len() >= 32 && ct_eq(form_token(binding).as_bytes(), presented.as_bytes())
}

/// The user typed `typed` from client address `addr`: reserves one attempt for the
/// address and one in total, then looks the code up; an accepted code gives both back.
pub async fn enter(
    p: &Provider,
    typed: &str,
    addr: &str,
    session: Option<Session>,
    binding: &str,
) -> Result<Entry, AuthorizeError> {
    let s = &p.settings;
    let window = s.user_code_window.max(1);
    let addr_key = format!("usercode:a:{addr}");
    let all_key = "usercode:all";
    let from_addr = p
        .cache
        .incr(&addr_key, window)
        .await
        .map_err(OAuthError::from)?;
    let from_all = p
        .cache
        .incr(all_key, window)
        .await
        .map_err(OAuthError::from)?;
    if from_addr > s.user_code_max_attempts || from_all > s.user_code_max_total {
        metrics::counter!("surety_user_code_attempts_total", "outcome" => "limited").increment(1);
        return Ok(Entry::Limited);
    }
    let Some(code) = UserCode::parse(typed) else {
        return Ok(unknown());
    };
    let row = match p
        .stores
        .devices
        .device_by_user_code(&secret_hash(code.normalized()))
        .await
    {
        Ok(r) if r.status == DeviceStatus::Pending && r.expires_at > p.now() => r,
        Ok(_) | Err(StoreError::NotFound) => return Ok(unknown()),
        Err(e) => return Err(OAuthError::from(e).into()),
    };
    p.cache.decr(&addr_key).await.map_err(OAuthError::from)?;
    p.cache.decr(all_key).await.map_err(OAuthError::from)?;
    metrics::counter!("surety_user_code_attempts_total", "outcome" => "accepted").increment(1);
    let req: authorize::AuthRequest = serde_json::from_str(&row.request)
        .map_err(|e| AuthorizeError::Unavailable(format!("device request: {e}")))?;
    let client = match p.stores.clients.get_client(&req.client_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(AuthorizeError::Page("unknown client")),
        Err(e) => return Err(AuthorizeError::Unavailable(e.to_string())),
    };
    let out = authorize::proceed(p, &client, req, session, Progress::default(), binding).await?;
    Ok(Entry::Continue(out))
}

fn unknown() -> Entry {
    metrics::counter!("surety_user_code_attempts_total", "outcome" => "unknown").increment(1);
    Entry::Unknown
}

/// The user approved (the pipeline's last step, in place of issuing a code): records
/// who approved what as the device's grant, once.
pub async fn approved(
    p: &Provider,
    device_code_hash: &str,
    rec: &CodeRecord,
) -> Result<Outcome, AuthorizeError> {
    let grant =
        serde_json::to_string(rec).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    let approval = DeviceApproval {
        sub: rec.sub.clone(),
        scope: rec.scope.to_string(),
        auth_time: rec.auth_time,
        acr: rec.acr.clone(),
        grant,
    };
    let done = p
        .stores
        .devices
        .approve_device(device_code_hash, &approval, p.now())
        .await
        .map_err(OAuthError::from)?;
    let ending = if done { Ending::Approved } else { Ending::Gone };
    Ok(Outcome::Redirect(ending_url(p, ending)))
}

/// The user denied, or the request cannot be met (an essential `acr`): the device gets
/// `access_denied` at its next poll.
pub async fn refused(p: &Provider, device_code_hash: &str) -> Result<Outcome, AuthorizeError> {
    let done = p
        .stores
        .devices
        .deny_device(device_code_hash, p.now())
        .await
        .map_err(OAuthError::from)?;
    let ending = if done { Ending::Denied } else { Ending::Gone };
    Ok(Outcome::Redirect(ending_url(p, ending)))
}
