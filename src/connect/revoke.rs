//! Narrowing and revoking an app's authorization. Revocation stops every token the app
//! holds for that subaccount at once (its grants are revoked, so introspection says
//! `active:false` and the resource API refuses them), kills its refresh tokens, suspends
//! the subaccount (records kept), and queues the app's deauthorize callback through the
//! durable outbox, signed with the app's webhook secret. A later consent reactivates it.

use serde_json::json;

use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::store::{
    AppRecord, AuthorizationRecord, GrantStatus, OutboxEvent, Revocation, StoreError,
};

async fn load(
    p: &Provider,
    parent_sid: &str,
    client_id: &str,
) -> Result<AuthorizationRecord, OAuthError> {
    p.stores
        .apps
        .get_authorization(parent_sid, client_id)
        .await?
        .filter(|a| a.status == GrantStatus::Active)
        .ok_or_else(|| OAuthError::invalid_request("no such authorization"))
}

/// Keeps only `keep` of the app's permissions. Tokens carrying more stop at once; the app
/// gets narrower tokens at its next authorization (which `prompt=none` can do silently).
pub async fn narrow(
    p: &Provider,
    parent_sid: &str,
    client_id: &str,
    keep: &Scope,
) -> Result<AuthorizationRecord, OAuthError> {
    let mut a = load(p, parent_sid, client_id).await?;
    let now = p.now();
    let kept = a.permissions.intersection(keep);
    // The narrowed permissions and the revoked grants are one transaction.
    if !p
        .stores
        .apps
        .narrow_authorization(&a, &kept.to_string(), now)
        .await?
    {
        return Err(OAuthError::invalid_request("no such authorization"));
    }
    a.permissions = kept;
    a.updated_at = now;
    Ok(a)
}

/// Revokes the app's authorization; returns the deauthorize event id when one was queued.
/// Everything it changes — the authorization, the app's grants and refresh tokens, the
/// subaccount's status and the queued callback — is one transaction
/// ([`crate::store::AppStore::revoke_authorization`]): nothing is revoked without its
/// callback, and of two racing revocations only one queues it (the other is told there is
/// no such authorization, as after it).
pub async fn revoke(
    p: &Provider,
    parent_sid: &str,
    client_id: &str,
) -> Result<Option<String>, OAuthError> {
    let now = p.now();
    let a = load(p, parent_sid, client_id).await?;
    let event = match p.stores.apps.get_app(client_id).await {
        Ok(app) => deauthorize_event(p, &app, &a, now)?,
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let id = event.as_ref().map(|e| e.id.clone());
    let done = p
        .stores
        .apps
        .revoke_authorization(&Revocation {
            parent_sid: a.parent_sid.to_string(),
            client_id: a.client_id.to_string(),
            sub: a.sub.clone(),
            subaccount_sid: a.subaccount_sid.to_string(),
            at: now,
            event,
        })
        .await?;
    if !done {
        return Err(OAuthError::invalid_request("no such authorization"));
    }
    // The subaccount was suspended under this node's account cache.
    p.stores.accounts.forget_cached(&a.subaccount_sid);
    if let Some(id) = &id {
        tracing::info!(event_id = %id, kind = "webhook", "outbox event queued");
    }
    Ok(id)
}

/// The app's signed `app.deauthorized` callback, when it registered a URL and a secret.
fn deauthorize_event(
    p: &Provider,
    app: &AppRecord,
    a: &AuthorizationRecord,
    now: Timestamp,
) -> Result<Option<OutboxEvent>, OAuthError> {
    let (Some(url), Some(sealed)) = (&app.deauthorize_uri, &app.webhook_secret_sealed) else {
        return Ok(None);
    };
    let secret = p
        .keys
        .open_secret(app.client_id.as_bytes(), sealed)
        .map_err(OAuthError::server_error)?;
    let payload = json!({
        "type": "app.deauthorized",
        "client_id": app.client_id,
        "account_sid": a.subaccount_sid,
        "parent_account_sid": a.parent_sid,
        "occurred_at": now,
    });
    crate::outbox::webhook_event(&p.keys, p.entropy.as_ref(), now, url, &payload, &secret)
        .map(Some)
        .map_err(OAuthError::server_error)
}
