//! What the account pages show of a user's (or an account's) app authorizations: the
//! active ones, each with its app's name, its subaccount and its permissions. A value
//! that cannot be read is an error the page reports, never "no apps".

use crate::scope::Scope;
use crate::store::{AccountSid, ClientId, GrantStatus, StoreError, Stores};

/// One active authorization, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizedApp {
    pub client_id: ClientId,
    /// The app's display name; its client id if the app was deleted since.
    pub name: String,
    pub subaccount_sid: AccountSid,
    pub permissions: Scope,
}

/// The active authorizations made on owner account `parent_sid`.
pub async fn authorized_apps(
    stores: &Stores,
    parent_sid: &str,
) -> Result<Vec<AuthorizedApp>, StoreError> {
    let auths = stores.apps.list_authorizations(parent_sid).await?;
    let mut out = Vec::new();
    for a in auths
        .into_iter()
        .filter(|a| a.status == GrantStatus::Active)
    {
        let name = match stores.apps.get_app(&a.client_id).await {
            Ok(app) => app.display_name,
            Err(StoreError::NotFound) => a.client_id.to_string(),
            Err(e) => return Err(e),
        };
        out.push(AuthorizedApp {
            permissions: a.permissions,
            client_id: a.client_id,
            name,
            subaccount_sid: a.subaccount_sid,
        });
    }
    Ok(out)
}

/// The active authorizations user `sub` made (none before its owner account exists).
pub async fn user_apps(stores: &Stores, sub: &str) -> Result<Vec<AuthorizedApp>, StoreError> {
    match stores.apps.user_account(sub).await? {
        Some(parent) => authorized_apps(stores, &parent).await,
        None => Ok(Vec::new()),
    }
}
