//! The authorization endpoint's flow (RFC 6749 §4.1, OpenID Connect Core §3.1.2): validate
//! the request, then decide — log in, ask consent, or issue a code — remembering the
//! request between pages in a short-lived transaction bound to the browser.

pub mod acr;
pub mod acr_policy;
pub mod claims;
pub mod consent;
pub mod par;
pub mod request;
pub mod request_object;
pub mod response;
pub mod step_up;
pub mod steps;

use serde::{Deserialize, Serialize};

use crate::clock::{Entropy, Timestamp};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::oauth::session::Session;
use crate::oauth::tokens::GrantClaims;
use crate::scope::Scope;
use crate::store::ClientRecord;
use crate::util::{ct_eq, secret_hash};
pub use request::AuthRequest;
pub use response::{ClientResponse, ResponseMode};

/// How long a login/consent transaction lives (seconds).
const TX_TTL: u64 = 900;

/// Why the endpoint stops.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page(&'static str),
    /// Tell the client, at its verified redirect URI (`response` carries the error).
    Redirect {
        response: ClientResponse,
        error: OAuthError,
    },
    /// A backend is down.
    Unavailable(String),
}

impl From<OAuthError> for AuthorizeError {
    fn from(e: OAuthError) -> Self {
        AuthorizeError::Unavailable(e.to_string())
    }
}

/// Where the browser goes next.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Back to the client with a code or an error, in the request's response mode.
    Client(ClientResponse),
    /// To one of Surety's own pages (the device verification page's ending).
    Redirect(String),
    Login {
        tx: String,
    },
    Consent {
        tx: String,
    },
    /// The session's level is below what the request prefers: run the step that
    /// establishes it, at its `page`.
    Step {
        page: &'static str,
        tx: String,
    },
}

/// A pending authorization request between pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tx {
    pub req: AuthRequest,
    /// Hash of the browser-binding cookie that started it.
    binding: String,
    /// Anti-CSRF token for the login and consent forms.
    pub csrf: String,
    pub created_at: Timestamp,
    pub login_done: bool,
    /// The challenge step ran for this request and did not pass (or was skipped):
    /// continue without it (or fail, when the `acr` was essential).
    #[serde(default)]
    pub step_up_failed: bool,
    /// The verification the challenge page runs for this request.
    #[serde(default)]
    pub verification: Option<String>,
    /// The user the challenge step was started for (the page refuses another session).
    #[serde(default)]
    pub subject: Option<String>,
}

/// What earlier pages of a transaction already did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub login_done: bool,
    pub step_up_failed: bool,
}

/// What an authorization code stands for (stored in the cache under its hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub sub: String,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: Timestamp,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// The grant the redemption will create (and a second redemption revokes).
    pub grant_id: String,
    /// What a product attached to the grant (connect: the app's subaccount
    /// `account_sid`), for the tokens and the token response.
    #[serde(default, skip_serializing_if = "GrantClaims::is_empty")]
    pub claims: GrantClaims,
    /// The `verified_claims` requests the user agreed to share (OIDC4IDA).
    #[serde(default)]
    pub verified_claims: Option<claims::ClaimsRequest>,
    /// The standard claims the `claims` parameter asked for in the ID token (Core §5.5).
    #[serde(default)]
    pub id_token_claims: Vec<claims::StandardClaim>,
    /// The resources (RFC 8707) the request named; tokens are for them.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10 `dpop_jkt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The browser session the code was issued in (Back-Channel Logout 1.0 §2.1 `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the code expires, by the provider's clock (the cache's TTL is only an upper
    /// bound; FAPI 2.0 clients get at most 60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", secret_hash(code))
}

pub(crate) fn tx_key(id: &str) -> String {
    format!("tx:{}", secret_hash(id))
}

/// `GET/POST /authorize`: validate and decide. `binding` is the browser-binding cookie.
pub async fn start(
    p: &Provider,
    params: &Params,
    session: Option<Session>,
    binding: &str,
) -> Result<Outcome, AuthorizeError> {
    let (params, origin) = match params.get("request_uri") {
        Some(uri) if uri.starts_with(par::REQUEST_URI_PREFIX) => {
            par::redeem(p, uri, params.get("client_id")).await?
        }
        _ => (params.clone(), request::Origin::default()),
    };
    let v = request::validate(p, &params, origin).await?;
    proceed(p, &v.client, v.req, session, Progress::default(), binding).await
}

/// Continues a transaction after login.
pub async fn resume(
    p: &Provider,
    tx_id: &str,
    binding: &str,
    session: Option<Session>,
) -> Result<Outcome, AuthorizeError> {
    let tx = load_tx(p, tx_id, binding).await?;
    let client = client_of(p, &tx.req).await?;
    let progress = Progress {
        login_done: tx.login_done,
        step_up_failed: tx.step_up_failed,
    };
    let out = proceed(p, &client, tx.req.clone(), session, progress, binding).await?;
    if matches!(out, Outcome::Client(_) | Outcome::Redirect(_)) {
        p.cache
            .delete(&tx_key(tx_id))
            .await
            .map_err(OAuthError::from)?;
    }
    Ok(out)
}

/// Loads a transaction, checking it belongs to this browser.
pub async fn load_tx(p: &Provider, tx_id: &str, binding: &str) -> Result<Tx, AuthorizeError> {
    let gone = AuthorizeError::Page(
        "this login request expired or is unknown; start again from the application",
    );
    if tx_id.is_empty() || tx_id.len() > 128 {
        return Err(gone);
    }
    let raw = p
        .cache
        .get(&tx_key(tx_id))
        .await
        .map_err(OAuthError::from)?
        .ok_or(gone)?;
    let tx: Tx =
        serde_json::from_slice(&raw).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    if !ct_eq(secret_hash(binding).as_bytes(), tx.binding.as_bytes()) {
        return Err(AuthorizeError::Page(
            "this login request was started in another browser",
        ));
    }
    Ok(tx)
}

/// Records a successful login in the transaction (so `prompt=login` is satisfied).
pub async fn mark_logged_in(p: &Provider, tx_id: &str, mut tx: Tx) -> Result<(), AuthorizeError> {
    tx.login_done = true;
    save_tx(p, tx_id, &tx).await
}

/// Writes a changed transaction back under its id.
pub(crate) async fn save_tx(p: &Provider, tx_id: &str, tx: &Tx) -> Result<(), AuthorizeError> {
    let v = serde_json::to_vec(tx).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    p.cache
        .put(&tx_key(tx_id), &v, TX_TTL)
        .await
        .map_err(OAuthError::from)?;
    Ok(())
}

async fn client_of(p: &Provider, req: &AuthRequest) -> Result<ClientRecord, AuthorizeError> {
    client(p, &req.client_id).await
}

/// The client `client_id` names, registered or from a client source (a client metadata
/// document); an unknown one is an error page.
pub async fn client(p: &Provider, client_id: &str) -> Result<ClientRecord, AuthorizeError> {
    match crate::oauth::client_auth::find_client(p, client_id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(AuthorizeError::Page("unknown client")),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn proceed(
    p: &Provider,
    client: &ClientRecord,
    req: AuthRequest,
    session: Option<Session>,
    progress: Progress,
    binding: &str,
) -> Result<Outcome, AuthorizeError> {
    let now = p.now();
    let login_done = progress.login_done;
    let fail = |code: ErrorCode, d: &str| {
        Outcome::Client(error_response(p, &req, &OAuthError::new(code, d)))
    };
    // max_age=0 demands a fresh login, like prompt=login (Core §3.1.2.1); a login made
    // for this very request satisfies both.
    let too_old = |s: &Session| req.max_age.is_some_and(|m| m == 0 || now - s.auth_time > m);
    // A `claims` request naming a `sub` may only be answered for that user (Core
    // §3.1.2.2): another user's session is no session for it. The `sub` is the one the
    // client knows (pairwise for a pairwise client, Core §8).
    let other_user = |s: &Session| {
        req.claims
            .as_ref()
            .and_then(|c| c.subject())
            .is_some_and(|sub| !p.is_subject_of(client, &s.sub, sub))
    };
    let session = match session {
        Some(s) if login_done && other_user(&s) => {
            return Ok(fail(
                ErrorCode::LoginRequired,
                "the signed-in user is not the one the claims request names",
            ));
        }
        Some(s)
            if login_done
                || (!too_old(&s)
                    && !other_user(&s)
                    && !req.has_prompt("login")
                    && !req.has_prompt("create")) =>
        {
            s
        }
        _ if req.has_prompt("none") => {
            return Ok(fail(ErrorCode::LoginRequired, "the user must log in"));
        }
        _ => {
            return Ok(Outcome::Login {
                tx: new_tx(p, req, binding).await?,
            });
        }
    };
    if let Some(out) = step_up::check(p, &req, &session, progress, binding).await? {
        return Ok(out);
    }
    match consent::covered(p, &client.client_id, &req, &session.sub).await? {
        Some(grant) if !req.has_prompt("consent") => issue_code(p, &req, &session, grant).await,
        _ if req.has_prompt("none") => {
            Ok(fail(ErrorCode::ConsentRequired, "the user must consent"))
        }
        _ => {
            let mut tx = new_tx_value(p.entropy.as_ref(), req, binding, now);
            tx.login_done = login_done;
            Ok(Outcome::Consent {
                tx: store_tx(p, &tx).await?,
            })
        }
    }
}

pub(crate) fn new_tx_value(
    rng: &dyn Entropy,
    req: AuthRequest,
    binding: &str,
    now: Timestamp,
) -> Tx {
    Tx {
        req,
        binding: secret_hash(binding),
        csrf: rng.token(24),
        created_at: now,
        login_done: false,
        step_up_failed: false,
        verification: None,
        subject: None,
    }
}

async fn new_tx(p: &Provider, req: AuthRequest, binding: &str) -> Result<String, AuthorizeError> {
    store_tx(p, &new_tx_value(p.entropy.as_ref(), req, binding, p.now())).await
}

pub(crate) async fn store_tx(p: &Provider, tx: &Tx) -> Result<String, AuthorizeError> {
    let id = p.entropy.token(24);
    let v = serde_json::to_vec(tx).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    p.cache
        .put(&tx_key(&id), &v, TX_TTL)
        .await
        .map_err(OAuthError::from)?;
    Ok(id)
}

pub(crate) async fn issue_code(
    p: &Provider,
    req: &AuthRequest,
    s: &Session,
    grant: consent::Granted,
) -> Result<Outcome, AuthorizeError> {
    let level = step_up::session_level(p, s, req.max_age).await?;
    let levels = p.ext.authn.levels();
    let Ok(acr) = req.acr.issued(levels, level) else {
        return step_up::unmet(p, req).await;
    };
    let code = p.entropy.token(32);
    let rec = CodeRecord {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        sub: s.sub.clone(),
        scope: grant.scope.clone(),
        claims: grant.claims.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth_time: s.auth_time,
        acr: levels.name(acr).map(str::to_owned),
        amr: s.amr.clone(),
        grant_id: p.entropy.token(16),
        verified_claims: grant.verified.clone(),
        id_token_claims: req
            .claims
            .as_ref()
            .map(|c| c.id_token.standard.clone())
            .unwrap_or_default(),
        resources: req.resources.clone(),
        dpop_jkt: req.dpop_jkt.clone(),
        sid: s.sid.clone().filter(|_| req.device.is_none()),
        expires_at: None,
    };
    // What UserInfo answers for this grant beyond the scope: the consented
    // `verified_claims` and the standard claims asked for there.
    let mut userinfo = grant
        .verified
        .as_ref()
        .map(|c| c.userinfo.clone())
        .unwrap_or_default();
    userinfo.standard = req
        .claims
        .as_ref()
        .map(|c| c.userinfo.standard.clone())
        .unwrap_or_default();
    crate::oauth::verified_claims::remember_for_userinfo(p, &rec.grant_id, &userinfo).await?;
    if let Some(device) = &req.device {
        return crate::oauth::device::verification::approved(p, device, &rec).await;
    }
    crate::oauth::backchannel::record(p, &rec).await?;
    store_code(p, &code, rec).await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(st) = &req.state {
        pairs.push(("state", st));
    }
    // The product's grant claims that are strings go in the response too.
    for (k, v) in &grant.claims {
        if let Some(v) = v.as_str() {
            pairs.push((k.as_str(), v));
        }
    }
    Ok(Outcome::Client(ClientResponse::new(
        p,
        &req.redirect_uri,
        req.response_mode,
        &pairs,
    )))
}

/// Stores a code under its hash for the client's code lifetime (`fapi::code_ttl`).
async fn store_code(p: &Provider, code: &str, mut rec: CodeRecord) -> Result<(), AuthorizeError> {
    let c = client(p, &rec.client_id).await?;
    let ttl = crate::oauth::fapi::code_ttl(&p.settings, &c.metadata);
    rec.expires_at = Some(p.now() + i64::try_from(ttl).unwrap_or(i64::MAX));
    let v = serde_json::to_vec(&rec).map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    p.cache
        .put(&code_key(code), &v, ttl)
        .await
        .map_err(OAuthError::from)?;
    Ok(())
}

/// Ends a request with `e`: at the client's redirect URI — or, for a device
/// authorization, by recording the refusal for the device (RFC 8628 `access_denied`)
/// and saying so on the verification page.
pub(crate) async fn refuse(
    p: &Provider,
    req: &AuthRequest,
    e: OAuthError,
) -> Result<Outcome, AuthorizeError> {
    if let Some(device) = &req.device {
        return crate::oauth::device::verification::refused(p, device).await;
    }
    Ok(Outcome::Client(error_response(p, req, &e)))
}

/// An error response to `req`'s client, in its response mode, with `iss` (RFC 9207).
pub fn error_response(p: &Provider, req: &AuthRequest, e: &OAuthError) -> ClientResponse {
    ClientResponse::error(
        p,
        &req.redirect_uri,
        req.response_mode,
        req.state.as_deref(),
        e,
    )
}

/// Appends query parameters to a URI that may already carry a query.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x+y"
        );
        assert_eq!(
            with_query("https://a/cb?k=1", &[("state", "s")]),
            "https://a/cb?k=1&state=s"
        );
    }
}
