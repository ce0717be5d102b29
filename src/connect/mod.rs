//! Developer apps and consent that yields scoped subaccounts (docs/product.md §2).
//!
//! An app is an OAuth client plus a requested permission profile. When a user approves
//! it, Surety creates (or reuses) a subaccount of the user's own account for that app and
//! records an authorization: the effective permissions are what the app asked for ∩ what
//! the user granted ∩ what the user's partner allows ∩ what the parent account allows.
//! Tokens the app gets act on the subaccount (`account_sid`) with exactly those
//! ([`policy`]: connect as the engine's consent and refresh policy).

pub mod acr;
pub mod apps;
pub mod listing;
pub mod policy;
pub mod revoke;

use crate::clock::{Entropy, Timestamp};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::resource::permissions;
use crate::store::{
    AccountChange, AccountRecord, AccountSid, AccountStatus, AppRecord, AuthorizationRecord,
    GrantStatus, PartnerLimits, StoreError,
};
use crate::util::secret_hash;

pub use crate::store::AppPermission;

/// The optional permissions of the app's profile.
pub fn optional_of(app: &AppRecord) -> Scope {
    let names: Vec<&str> = app
        .permissions
        .iter()
        .filter(|x| x.optional)
        .map(|x| x.name.as_str())
        .collect();
    Scope::parse(&names.join(" ")).unwrap_or_default()
}

/// The optional permissions of `app` the user declined, as `a` remembers them.
pub fn declined_of(app: &AppRecord, a: &AuthorizationRecord) -> Scope {
    a.declined.intersection(&optional_of(app))
}

/// What the user has declined after answering a consent page that asked for `asked`
/// (`held` already granted, so not shown) by granting `granted`: what was declined
/// before and the optional permissions shown but not granted, less what was granted.
pub fn declined_after(
    app: &AppRecord,
    before: &Scope,
    held: &Scope,
    asked: &Scope,
    granted: &Scope,
) -> Scope {
    before
        .union(&asked.difference(held))
        .difference(granted)
        .intersection(&optional_of(app))
}

/// The permission names (registry entries) within `scope`.
pub fn permissions_in(scope: &Scope) -> Scope {
    let names: Vec<&str> = scope
        .iter()
        .filter(|s| permissions::Permission::parse(s).is_some())
        .collect();
    Scope::parse(&names.join(" ")).unwrap_or_default()
}

/// `scope` without permission names (the OpenID Connect part).
pub fn without_permissions(scope: &Scope) -> Scope {
    scope.difference(&permissions_in(scope))
}

/// The app registered for `client_id`, if the client is an app.
pub async fn app_of(p: &Provider, client_id: &str) -> Result<Option<AppRecord>, OAuthError> {
    match p.stores.apps.get_app(client_id).await {
        Ok(a) => Ok(Some(a)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The user's own account, created on first need.
pub async fn owner_account(
    p: &Provider,
    sub: &str,
    now: Timestamp,
) -> Result<AccountRecord, OAuthError> {
    if let Some(sid) = p.stores.apps.user_account(sub).await? {
        return Ok(p.stores.accounts.get_account(&sid).await?);
    }
    let acct = new_account(
        p.entropy.as_ref(),
        None,
        format!("Account of {sub}"),
        PartnerLimits::default(),
        now,
    );
    p.stores.accounts.insert_account(&acct).await?;
    let linked = p.stores.apps.link_user_account(sub, &acct.sid).await?;
    Ok(p.stores.accounts.get_account(&linked).await?)
}

fn new_account(
    rng: &dyn Entropy,
    parent: Option<&AccountRecord>,
    name: String,
    limits: PartnerLimits,
    now: Timestamp,
) -> AccountRecord {
    AccountRecord {
        sid: AccountSid::new(rng),
        partner_id: parent.and_then(|p| p.partner_id.clone()),
        parent_sid: parent.map(|p| p.sid.clone()),
        friendly_name: name,
        status: AccountStatus::Active,
        limits,
        // Subaccounts authenticate through tokens; this random token is never shown.
        auth_token_hash: secret_hash(&rng.token(32)),
        created_at: now,
    }
}

/// Scopes the user's partner or parent account forbid.
async fn denied(p: &Provider, parent: &AccountRecord) -> Result<Scope, OAuthError> {
    let mut names = parent.limits.denied_scopes.clone();
    if let Some(pid) = &parent.partner_id {
        match p.stores.partners.get_partner(pid).await {
            Ok(pt) => names.extend(pt.limits.denied_scopes),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Scope::parse(&names.join(" ")).unwrap_or_default())
}

/// Records the user's approval of a request for the permissions `asked`: `granted` are
/// those the user agreed to now. Effective = (previously granted ∪ granted) ∩ app
/// profile − partner/parent denials; the optional ones left unticked are remembered as
/// declined ([`declined_after`]). Creates or reactivates the app's subaccount.
pub async fn approve(
    p: &Provider,
    sub: &str,
    app: &AppRecord,
    asked: &Scope,
    granted: &Scope,
) -> Result<AuthorizationRecord, OAuthError> {
    let now = p.now();
    let parent = owner_account(p, sub, now).await?;
    let profile: Vec<&str> = app.permissions.iter().map(|x| x.name.as_str()).collect();
    let profile = Scope::parse(&profile.join(" ")).unwrap_or_default();
    let prior = p
        .stores
        .apps
        .get_authorization(&parent.sid, &app.client_id)
        .await?;
    let active = prior.as_ref().filter(|a| a.status == GrantStatus::Active);
    let before = active.map(|a| a.permissions.clone()).unwrap_or_default();
    let declined_before = active.map(|a| declined_of(app, a)).unwrap_or_default();
    let declined = declined_after(app, &declined_before, &before, asked, granted);
    let effective = before
        .union(granted)
        .intersection(&profile)
        .difference(&denied(p, &parent).await?);
    let sub_sid = match &prior {
        Some(a) => reactivate(p, &a.subaccount_sid).await?,
        None => {
            let name = format!("{} (app)", app.display_name);
            let acct = new_account(
                p.entropy.as_ref(),
                Some(&parent),
                name,
                (&app.usage_limits).into(),
                now,
            );
            p.stores.accounts.insert_account(&acct).await?;
            acct.sid
        }
    };
    let rec = AuthorizationRecord {
        parent_sid: parent.sid.clone(),
        client_id: app.client_id.clone(),
        sub: sub.to_owned(),
        subaccount_sid: sub_sid,
        permissions: effective,
        declined,
        usage_limits: app.usage_limits.clone(),
        status: GrantStatus::Active,
        created_at: prior.as_ref().map_or(now, |a| a.created_at),
        updated_at: now,
    };
    p.stores.apps.put_authorization(&rec).await?;
    Ok(rec)
}

/// The app's subaccount, active again if it was suspended (a conditional update: a
/// subaccount closed meanwhile stays closed).
async fn reactivate(p: &Provider, sid: &AccountSid) -> Result<AccountSid, OAuthError> {
    let change = AccountChange::Status {
        from: Some(AccountStatus::Suspended),
        to: AccountStatus::Active,
    };
    if p.stores
        .accounts
        .change_account(sid, change)
        .await?
        .is_none()
    {
        // Not suspended: it must still exist.
        p.stores.accounts.get_account(sid).await?;
    }
    Ok(sid.clone())
}

/// The user's active authorization of `client_id`, if any.
pub async fn current(
    p: &Provider,
    sub: &str,
    client_id: &str,
) -> Result<Option<AuthorizationRecord>, OAuthError> {
    let Some(parent) = p.stores.apps.user_account(sub).await? else {
        return Ok(None);
    };
    Ok(p.stores
        .apps
        .get_authorization(&parent, client_id)
        .await?
        .filter(|a| a.status == GrantStatus::Active))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppRecord {
        AppRecord {
            client_id: crate::store::ClientId::parse("c1").unwrap(),
            developer_sid: AccountSid::parse("AC00000000000000000000000000000de0").unwrap(),
            display_name: "Dialer Pro".into(),
            homepage: None,
            logo_url: None,
            permissions: [
                ("read", false),
                ("calls:write", true),
                ("callerids:all", true),
            ]
            .map(|(name, optional)| AppPermission {
                name: name.into(),
                optional,
            })
            .to_vec(),
            usage_limits: Default::default(),
            deauthorize_uri: None,
            webhook_secret_sealed: None,
            created_at: 0,
        }
    }

    fn s(v: &str) -> Scope {
        Scope::parse(v).unwrap_or_default()
    }

    #[test]
    fn declined_are_the_optional_ones_shown_and_left_unticked() {
        let after = |before, held, asked, granted| {
            declined_after(&app(), &s(before), &s(held), &s(asked), &s(granted)).to_string()
        };
        // First answer: calls:write unticked.
        let all = "read calls:write callerids:all";
        assert_eq!(after("", "", all, "read callerids:all"), "calls:write");
        // Held ones are not shown, so not declined; a required one never is.
        assert_eq!(after("", "read callerids:all", all, "read"), "calls:write");
        assert_eq!(after("", "", "read", ""), "");
        // Remembered while not asked; ticked later, no longer declined.
        assert_eq!(after("calls:write", "read", "read", "read"), "calls:write");
        assert_eq!(
            after("calls:write", "read", all, "read calls:write"),
            "callerids:all"
        );
        assert_eq!(
            after("calls:write", "read", all, all),
            "",
            "everything granted"
        );
    }
}
