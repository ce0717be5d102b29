//! Narrowing and revoking an app's authorization. Revocation stops every token the app
//! holds for that subaccount at once (its grants are revoked, so introspection says
//! `active:false` and the resource API refuses them), kills its refresh tokens, suspends
//! the subaccount (records kept), and queues the app's deauthorize callback through the
//! durable outbox, signed with the app's webhook secret. A later consent reactivates it.

use serde_json::json;

use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::store::{AuthorizationRecord, StoreError};

async fn load(
    p: &Provider,
    parent_sid: &str,
    client_id: &str,
) -> Result<AuthorizationRecord, OAuthError> {
    p.stores
        .apps
        .get_authorization(parent_sid, client_id)
        .await?
        .filter(|a| a.status == "active")
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
    let held = Scope::parse(&a.permissions).unwrap_or_default();
    a.permissions = held.intersection(keep).to_string();
    a.updated_at = p.now();
    p.stores.apps.put_authorization(&a).await?;
    p.stores
        .grants
        .revoke_client_grants(client_id, &a.sub, p.now())
        .await?;
    Ok(a)
}

/// Revokes the app's authorization; returns the deauthorize event id when one was queued.
pub async fn revoke(
    p: &Provider,
    parent_sid: &str,
    client_id: &str,
) -> Result<Option<String>, OAuthError> {
    let now = p.now();
    let mut a = load(p, parent_sid, client_id).await?;
    a.status = "revoked".into();
    a.updated_at = now;
    p.stores.apps.put_authorization(&a).await?;
    p.stores
        .grants
        .revoke_client_grants(client_id, &a.sub, now)
        .await?;
    match p.stores.accounts.get_account(&a.subaccount_sid).await {
        Ok(mut sub) if sub.status == "active" => {
            sub.status = "suspended".into();
            p.stores.accounts.update_account(&sub).await?;
        }
        Ok(_) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let app = match p.stores.apps.get_app(client_id).await {
        Ok(app) => app,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
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
    let id = crate::outbox::enqueue_webhook(p, url, &payload, &secret)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(Some(id.as_str().to_owned()))
}
