//! Connect as the engine's consent and refresh policy for developer apps (docs/product.md §2;
//! OpenID Connect Core §3.1.2.4 consent, RFC 6749 §6 refresh): an app's consent creates
//! or updates its authorization and subaccount, and the code carries the subaccount's
//! `account_sid` and only the effective permissions. A grown request shows only the
//! additions. The optional permissions the user unticked are remembered with the
//! authorization: a request asking only for granted and declined ones is not asked again
//! (`prompt=consent` asks), and a page that shows a declined one again offers it
//! unticked. On refresh, an app's tokens carry only what its authorization holds now,
//! and a revoked authorization ends the grant. Registered in `app.rs`.

use async_trait::async_trait;
use serde_json::json;

use super::{
    AppPermission, app_of, approve, current, declined_of, permissions_in, without_permissions,
};
use crate::oauth::authorize::AuthRequest;
use crate::oauth::authorize::consent::{ConsentPolicy, Granted, Item, Prior, Screen};
use crate::oauth::error::OAuthError;
use crate::oauth::grants::refresh_token::{RefreshPolicy, Standing};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::GrantClaims;
use crate::resource::permissions;
use crate::store::AppRecord;

/// Consent and refresh for the clients that are apps.
pub struct Apps;

/// What an app's tokens carry: the subaccount they act on.
fn account_claims(subaccount_sid: String) -> GrantClaims {
    let mut m = GrantClaims::new();
    m.insert("account_sid".into(), json!(subaccount_sid));
    m
}

#[async_trait]
impl ConsentPolicy for Apps {
    fn own_scopes(&self, scope: &Scope) -> Scope {
        permissions_in(scope)
    }

    async fn covered(
        &self,
        p: &Provider,
        client_id: &str,
        req: &AuthRequest,
        sub: &str,
    ) -> Result<Option<Prior>, OAuthError> {
        let Some(app) = app_of(p, client_id).await? else {
            return Ok(None);
        };
        let requested = req.scope.clone();
        let asked = permissions_in(&requested);
        let Some(auth) = current(p, sub, client_id).await? else {
            return Ok(Some(Prior::Ask));
        };
        let held = auth.permissions.clone();
        // What the user declined before was answered: only a permission never asked asks.
        if !asked.is_subset(&held.union(&declined_of(&app, &auth))) {
            return Ok(Some(Prior::Ask));
        }
        Ok(Some(Prior::Covered(Box::new(Granted {
            scope: without_permissions(&requested).union(&asked.intersection(&held)),
            claims: account_claims(auth.subaccount_sid.into()),
            verified: None,
        }))))
    }

    async fn screen(
        &self,
        p: &Provider,
        req: &AuthRequest,
        sub: &str,
    ) -> Result<Option<Screen>, OAuthError> {
        let requested = req.scope.clone();
        let Some(app) = app_of(p, &req.client_id).await? else {
            return Ok(None);
        };
        let current = current(p, sub, &req.client_id).await?;
        let held = current
            .as_ref()
            .map(|a| a.permissions.clone())
            .unwrap_or_default();
        let declined = current
            .as_ref()
            .map(|a| declined_of(&app, a))
            .unwrap_or_default();
        let profile = &app.permissions;
        let mut items: Vec<Item> = permissions_in(&requested)
            .difference(&held)
            .iter()
            .map(|name| Item {
                name: name.to_owned(),
                description: permissions::Permission::parse(name)
                    .map_or("", |x| x.description())
                    .to_owned(),
                optional: profile
                    .iter()
                    .any(|x: &AppPermission| x.name == name && x.optional),
                // Offered as last answered: a permission declined before stays unticked.
                ticked: !declined.contains(name),
            })
            .collect();
        items.sort_by_key(|i| i.optional); // required first, then those the user may untick
        Ok(Some(Screen {
            app: Some(app),
            items,
            upgrade: current.is_some(),
        }))
    }

    async fn approve(
        &self,
        p: &Provider,
        req: &AuthRequest,
        sub: &str,
        ticked: &[String],
    ) -> Result<Option<Granted>, OAuthError> {
        let Some(app) = app_of(p, &req.client_id).await? else {
            return Ok(None);
        };
        let requested = req.scope.clone();
        let granted = chosen(&app, &requested, ticked);
        let asked = permissions_in(&requested);
        let auth = approve(p, sub, &app, &asked, &granted).await?;
        let effective = auth.permissions.clone();
        Ok(Some(Granted {
            scope: without_permissions(&requested).union(&asked.intersection(&effective)),
            claims: account_claims(auth.subaccount_sid.into()),
            verified: None,
        }))
    }
}

#[async_trait]
impl RefreshPolicy for Apps {
    async fn standing(
        &self,
        p: &Provider,
        client_id: &str,
        sub: &str,
        held: &Scope,
    ) -> Result<Standing, OAuthError> {
        if app_of(p, client_id).await?.is_none() {
            return Ok(Standing::Unmanaged);
        }
        let Some(auth) = current(p, sub, client_id).await? else {
            return Ok(Standing::Ended);
        };
        let now_held = auth.permissions.clone();
        Ok(Standing::Holds {
            scope: without_permissions(held).union(&permissions_in(held).intersection(&now_held)),
            claims: account_claims(auth.subaccount_sid.into()),
        })
    }
}

/// The permissions the user grants: every required one asked for, plus the optional
/// ones ticked (`ticked` are names from the form; anything not asked for is ignored).
pub fn chosen(app: &AppRecord, requested: &Scope, ticked: &[String]) -> Scope {
    let names: Vec<&str> = app
        .permissions
        .iter()
        .filter(|x| requested.contains(&x.name))
        .filter(|x| !x.optional || ticked.iter().any(|t| t == &x.name))
        .map(|x| x.name.as_str())
        .collect();
    Scope::parse(&names.join(" ")).unwrap_or_default()
}
