//! OpenID Connect Back-Channel Logout 1.0: the session id (`sid`, §2.1) and the clients
//! each session signed in to, the logout token (§2.4: `iss`, `aud`, `iat`, `exp`, `jti`,
//! `events`, `sub` and `sid`, never `nonce`; `typ: logout+jwt`, §2.4.1 and §4.1), its
//! delivery (§2.5: a form POST of `logout_token`, through the durable outbox, which signs
//! it at each attempt), and what ending a session revokes (§2.7).
//!
//! Ending a session marks its record ended, revokes the grants issued under it (their
//! refresh and access tokens) and queues one logout token per client that registered a
//! `backchannel_logout_uri`, in one transaction; then it drops the live session from the
//! cache. Grants whose scope held `offline_access` survive an [`Ending::Session`] (the
//! RP-initiated logout, the user ending one session, a new sign-in replacing it), as §2.7
//! advises, and are revoked by every wider ending (everywhere, operator, account).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::authorize::CodeRecord;
use super::error::OAuthError;
use super::provider::Provider;
use crate::clock::Timestamp;
use crate::keys::jws::Alg;
use crate::outbox::jwt_post::{JwtPost, jwt_post_event};
use crate::store::{
    ClientRecord, GrantRecord, OutboxEvent, SessionClient, SessionEnd, SessionRecord, StoreError,
};

/// The back-channel logout event type (§2.4 `events`).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The JWS `typ` of a logout token (§2.4.1).
pub const TYP: &str = "logout+jwt";
/// Lifetime of a logout token, from its signing at the delivery attempt (seconds).
pub const LOGOUT_TOKEN_TTL: i64 = 120;
/// Most sessions of one user or account ended by one request.
pub const MAX_SESSIONS: i64 = 500;

/// Why a session ends: decides whether `offline_access` grants survive (§2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// RP-initiated logout, the user ending this one session, or a sign-in as someone
    /// else replacing it: `offline_access` grants are kept.
    Session,
    /// The user signed out everywhere.
    Everywhere,
    /// An operator ended the user's sessions.
    Admin,
    /// The account was suspended or closed.
    Account,
    /// The user's password was reset or changed.
    Credentials,
}

impl Ending {
    pub fn revokes_offline(self) -> bool {
        self != Ending::Session
    }

    fn as_str(self) -> &'static str {
        match self {
            Ending::Session => "session",
            Ending::Everywhere => "everywhere",
            Ending::Admin => "admin",
            Ending::Account => "account",
            Ending::Credentials => "credentials",
        }
    }
}

/// Records that the code `rec` was issued under its browser session (none: nothing).
pub async fn record(p: &Provider, rec: &CodeRecord) -> Result<(), OAuthError> {
    let Some(sid) = &rec.sid else {
        return Ok(());
    };
    let offline = rec.scope.contains("offline_access");
    let c = SessionClient {
        sid: sid.clone(),
        grant_id: rec.grant_id.clone(),
        client_id: rec.client_id.clone(),
        sub: rec.sub.clone(),
        scope: rec.scope.clone(),
        offline,
        created_at: p.now(),
    };
    Ok(p.stores.sessions.record_client(&c).await?)
}

/// A live session and the clients it signed in to (each once, in order of first use).
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: SessionRecord,
    pub clients: Vec<String>,
}

/// `sub`'s live sessions, newest first (at most [`MAX_SESSIONS`]).
pub async fn sessions_of(p: &Provider, sub: &str) -> Result<Vec<SessionView>, OAuthError> {
    let live = p
        .stores
        .sessions
        .live_sessions(sub, p.now(), MAX_SESSIONS)
        .await?;
    let mut out = Vec::with_capacity(live.len());
    for session in live {
        let mut seen = BTreeSet::new();
        let clients = p
            .stores
            .sessions
            .session_clients(&session.sid)
            .await?
            .into_iter()
            .filter(|c| seen.insert(c.client_id.clone()))
            .map(|c| c.client_id)
            .collect();
        out.push(SessionView { session, clients });
    }
    Ok(out)
}

/// Ends session `sid`; `true` if this call ended it (`false`: unknown or already ended).
pub async fn end_session(p: &Provider, sid: &str, why: Ending) -> Result<bool, OAuthError> {
    let rec = match p.stores.sessions.get_session(sid).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if rec.ended_at.is_some() {
        p.cache.delete(&rec.cache_key).await?;
        return Ok(false);
    }
    let clients = p.stores.sessions.session_clients(sid).await?;
    let now = p.now();
    let end = SessionEnd {
        sid: rec.sid.clone(),
        at: now,
        revoke: clients
            .iter()
            .filter(|c| !c.offline || why.revokes_offline())
            .map(|c| tombstone(c, now))
            .collect(),
        events: logout_events(p, &rec, &clients, now).await?,
    };
    let won = p.stores.sessions.end_session(&end).await?;
    p.cache.delete(&rec.cache_key).await?;
    if won {
        tracing::info!(
            why = why.as_str(),
            grants = end.revoke.len(),
            logout_tokens = end.events.len(),
            "session ended"
        );
    }
    Ok(won)
}

/// Ends every live session of `sub` (at most [`MAX_SESSIONS`]); returns how many.
pub async fn end_user_sessions(p: &Provider, sub: &str, why: Ending) -> Result<u64, OAuthError> {
    let live = p
        .stores
        .sessions
        .live_sessions(sub, p.now(), MAX_SESSIONS)
        .await?;
    end_all(p, &live, why).await
}

/// Ends every live session of `sub` but `keep` (the browser's own); returns how many.
pub async fn end_other_sessions(
    p: &Provider,
    sub: &str,
    keep: &str,
    why: Ending,
) -> Result<u64, OAuthError> {
    let mut live = p
        .stores
        .sessions
        .live_sessions(sub, p.now(), MAX_SESSIONS)
        .await?;
    live.retain(|s| s.sid != keep);
    end_all(p, &live, why).await
}

/// Ends every live session of an account: the account's own (portal) sessions and those
/// of the user whose account it is (at most [`MAX_SESSIONS`]); returns how many.
pub async fn end_account_sessions(
    p: &Provider,
    account_sid: &str,
    why: Ending,
) -> Result<u64, OAuthError> {
    let live = p
        .stores
        .sessions
        .account_sessions(account_sid, p.now(), MAX_SESSIONS)
        .await?;
    end_all(p, &live, why).await
}

async fn end_all(p: &Provider, live: &[SessionRecord], why: Ending) -> Result<u64, OAuthError> {
    let mut n = 0;
    for s in live {
        n += u64::from(end_session(p, &s.sid, why).await?);
    }
    Ok(n)
}

/// What revoking the grant of `c` writes if the grant was never redeemed (a tombstone).
fn tombstone(c: &SessionClient, now: Timestamp) -> GrantRecord {
    GrantRecord {
        id: c.grant_id.clone(),
        client_id: c.client_id.clone(),
        sub: c.sub.clone(),
        scope: c.scope.clone(),
        auth_time: None,
        acr: None,
        amr: Vec::new(),
        created_at: now,
        revoked_at: Some(now),
        resources: Vec::new(),
    }
}

/// One logout token per client of the session with a `backchannel_logout_uri`.
async fn logout_events(
    p: &Provider,
    rec: &SessionRecord,
    clients: &[SessionClient],
    now: Timestamp,
) -> Result<Vec<OutboxEvent>, OAuthError> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    for c in clients {
        if !seen.insert(c.client_id.as_str()) {
            continue;
        }
        let client = match p.stores.clients.get_client(&c.client_id).await {
            Ok(client) => client,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(uri) = client.metadata.backchannel_logout_uri.as_deref() else {
            continue;
        };
        let post = logout_post(p, &client, rec);
        match jwt_post_event(p.entropy.as_ref(), now, uri, &post) {
            Ok(e) => events.push(e),
            Err(e) => {
                tracing::warn!(client_id = %c.client_id, error = %e, "logout token not queued");
            }
        }
    }
    Ok(events)
}

/// The logout token for `client` about session `rec`, less `iat`, `exp` and `jti` (set
/// when it is signed), signed with the client's ID token algorithm; its `sub` is the
/// session's user as the client sees them (Core §8), as in the client's ID tokens.
pub fn logout_post(p: &Provider, client: &ClientRecord, rec: &SessionRecord) -> JwtPost {
    let alg = client
        .metadata
        .id_token_signed_response_alg
        .as_deref()
        .and_then(Alg::parse)
        .unwrap_or(Alg::RS256);
    JwtPost {
        param: "logout_token".into(),
        typ: TYP.into(),
        alg: alg.as_str().into(),
        ttl: LOGOUT_TOKEN_TTL,
        claims: logout_claims(
            &p.issuer,
            client.client_id.as_str(),
            p.subject(client, &rec.sub).as_str(),
            &rec.sid,
        ),
    }
}

/// §2.4's claims besides `iat`, `exp` and `jti`: both `sub` and `sid` (so a client that
/// registered `backchannel_logout_session_required` gets its `sid`), never `nonce`.
pub fn logout_claims(issuer: &str, client_id: &str, sub: &str, sid: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("iss".into(), json!(issuer));
    m.insert("aud".into(), json!(client_id));
    m.insert("sub".into(), json!(sub));
    m.insert("sid".into(), json!(sid));
    m.insert("events".into(), json!({ EVENT: {} }));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_claims_name_the_event_and_never_a_nonce() {
        let m = logout_claims("https://op", "rp", "u1", "SE1");
        assert_eq!(m["events"], json!({ EVENT: {} }));
        assert_eq!(
            (m["aud"].as_str(), m["sid"].as_str()),
            (Some("rp"), Some("SE1"))
        );
        assert!(!m.contains_key("nonce"));
    }

    #[test]
    fn only_the_session_ending_keeps_offline_grants() {
        assert!(!Ending::Session.revokes_offline());
        for e in [
            Ending::Everywhere,
            Ending::Admin,
            Ending::Account,
            Ending::Credentials,
        ] {
            assert!(e.revokes_offline());
        }
    }
}
