//! Consent: whether a prior grant covers a request, what the consent page shows, and the
//! user's answer. For an ordinary client consent is remembered per client and scope set.
//! For a developer's app (PRODUCT.md §2) the answer also creates or updates the app's
//! authorization and subaccount; the code then carries the subaccount's `account_sid`
//! and only the effective permissions. A grown request shows only the additions. The
//! optional permissions the user unticked are remembered with the authorization: a
//! request asking only for granted and declined ones is not asked again (`prompt=consent`
//! asks), and a page that shows a declined one again offers it unticked.
//! Sharing `verified_claims` (OIDC4IDA) is one more, optional line; the user's answer is
//! remembered per client and claim, and an unticked line releases nothing.

use super::{AuthRequest, AuthorizeError, Outcome, error_redirect, issue_code, load_tx, tx_key};
use crate::accounts::session::Session;
use crate::connect::{self, AppPermission};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::verified_claims::{self, CONSENT_ITEM, consent_token};
use crate::resource::permissions;
use crate::store::AppRecord;
use crate::util::ct_eq;

/// What a code will carry.
#[derive(Debug, Clone)]
pub struct Granted {
    pub scope: Scope,
    pub account_sid: Option<String>,
    /// The `verified_claims` requests the user agreed to share.
    pub verified: Option<super::claims::ClaimsRequest>,
}

async fn consented(p: &Provider, sub: &str, client_id: &str) -> Result<Scope, OAuthError> {
    let prior = p.stores.consents.get_consent(sub, client_id).await?;
    Ok(prior.as_deref().and_then(Scope::parse).unwrap_or_default())
}

/// The grant a request gets without asking, if what the user already agreed covers it
/// (scopes, an app's permissions, and the verified claims it could release).
pub async fn covered(
    p: &Provider,
    client_id: &str,
    req: &AuthRequest,
    sub: &str,
) -> Result<Option<Granted>, AuthorizeError> {
    let Some(mut grant) = covered_scope(p, client_id, req, sub).await? else {
        return Ok(None);
    };
    let vc = verified_claims::releasable(p, req, sub).await?;
    if vc.is_empty() {
        return Ok(Some(grant));
    }
    let agreed = consented(p, sub, client_id).await?;
    if !vc.iter().all(|c| agreed.contains(&consent_token(*c))) {
        return Ok(None);
    }
    grant.verified = req.claims.as_ref().map(|c| c.only(&vc));
    Ok(Some(grant))
}

async fn covered_scope(
    p: &Provider,
    client_id: &str,
    req: &AuthRequest,
    sub: &str,
) -> Result<Option<Granted>, AuthorizeError> {
    let requested = Scope::parse(&req.scope).unwrap_or_default();
    let oidc = connect::without_permissions(&requested);
    let agreed = consented(p, sub, client_id).await?;
    if !connect::without_permissions(&req.consent_scope()).is_subset(&agreed) {
        return Ok(None);
    }
    let Some(app) = connect::app_of(p, client_id).await? else {
        return Ok(req.consent_scope().is_subset(&agreed).then_some(Granted {
            scope: requested,
            account_sid: None,
            verified: None,
        }));
    };
    let asked = connect::permissions_in(&requested);
    let Some(auth) = connect::current(p, sub, client_id).await? else {
        return Ok(None);
    };
    let held = Scope::parse(&auth.permissions).unwrap_or_default();
    // What the user declined before was answered: only a permission never asked asks.
    if !asked.is_subset(&held.union(&connect::declined_of(&app, &auth))) {
        return Ok(None);
    }
    Ok(Some(Granted {
        scope: oidc.union(&asked.intersection(&held)),
        account_sid: Some(auth.subaccount_sid),
        verified: None,
    }))
}

/// One line of the consent page.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub description: String,
    /// The user may untick it.
    pub optional: bool,
    /// An optional line is offered ticked (an app's permission) or unticked (sharing
    /// `verified_claims`, released only when the user ticks it).
    pub ticked: bool,
}

/// What the consent page shows for a pending request.
pub struct Screen {
    pub app: Option<AppRecord>,
    /// For an app: the permissions it asks for that the user has not granted yet.
    pub items: Vec<Item>,
    /// The user already authorized this app (the page shows an upgrade).
    pub upgrade: bool,
}

pub async fn screen(
    p: &Provider,
    req: &AuthRequest,
    sub: &str,
    describe: fn(&str) -> &'static str,
) -> Result<Screen, OAuthError> {
    let mut sc = screen_scope(p, req, sub, describe).await?;
    let vc = verified_claims::releasable(p, req, sub).await?;
    if !vc.is_empty() {
        let what: Vec<&str> = vc.iter().map(|c| c.describe()).collect();
        sc.items.push(Item {
            name: CONSENT_ITEM.to_owned(),
            description: format!("share {} as checked by Surety", what.join(", ")),
            optional: true,
            ticked: false,
        });
    }
    Ok(sc)
}

async fn screen_scope(
    p: &Provider,
    req: &AuthRequest,
    sub: &str,
    describe: fn(&str) -> &'static str,
) -> Result<Screen, OAuthError> {
    let requested = Scope::parse(&req.scope).unwrap_or_default();
    let Some(app) = connect::app_of(p, &req.client_id).await? else {
        let items = req
            .consent_scope()
            .iter()
            .map(|s| Item {
                name: s.to_owned(),
                description: describe(s).to_owned(),
                optional: false,
                ticked: true,
            })
            .collect();
        return Ok(Screen {
            app: None,
            items,
            upgrade: false,
        });
    };
    let current = connect::current(p, sub, &req.client_id).await?;
    let held = current
        .as_ref()
        .and_then(|a| Scope::parse(&a.permissions))
        .unwrap_or_default();
    let declined = current
        .as_ref()
        .map(|a| connect::declined_of(&app, a))
        .unwrap_or_default();
    let profile = connect::profile(&app);
    let mut items: Vec<Item> = connect::permissions_in(&requested)
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
    Ok(Screen {
        app: Some(app),
        items,
        upgrade: current.is_some(),
    })
}

/// The permissions the user grants: every required one asked for, plus the optional
/// ones ticked (`ticked` are names from the form; anything not asked for is ignored).
pub fn chosen(app: &AppRecord, requested: &Scope, ticked: &[String]) -> Scope {
    let names: Vec<String> = connect::profile(app)
        .into_iter()
        .filter(|x| requested.contains(&x.name))
        .filter(|x| !x.optional || ticked.iter().any(|t| t == &x.name))
        .map(|x| x.name)
        .collect();
    Scope::parse(&names.join(" ")).unwrap_or_default()
}

/// The user answered the consent page.
pub async fn answer(
    p: &Provider,
    tx_id: &str,
    binding: &str,
    csrf: &str,
    approve: bool,
    ticked: &[String],
    session: Option<Session>,
) -> Result<Outcome, AuthorizeError> {
    let tx = load_tx(p, tx_id, binding).await?;
    if !ct_eq(csrf.as_bytes(), tx.csrf.as_bytes()) {
        return Err(AuthorizeError::Page("the form expired; start again"));
    }
    if p.cache
        .take(&tx_key(tx_id))
        .await
        .map_err(OAuthError::from)?
        .is_none()
    {
        return Err(AuthorizeError::Page("this request was already answered"));
    }
    let Some(session) = session else {
        return Err(AuthorizeError::Page("your session ended; start again"));
    };
    let req = &tx.req;
    if !approve {
        let e = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return Ok(Outcome::Redirect(error_redirect(
            p,
            &req.redirect_uri,
            req.state.as_deref(),
            &e,
        )));
    }
    let requested = Scope::parse(&req.scope).unwrap_or_default();
    let oidc = connect::without_permissions(&requested);
    let vc = verified_claims::releasable(p, req, &session.sub).await?;
    let share = !vc.is_empty() && ticked.iter().any(|t| t == CONSENT_ITEM);
    let vc_tokens = Scope::parse(
        &vc.iter()
            .map(|c| consent_token(*c))
            .collect::<Vec<_>>()
            .join(" "),
    )
    .unwrap_or_default();
    let prior = consented(p, &session.sub, &req.client_id).await?;
    // Unticking the line withdraws an earlier agreement to share these claims.
    let prior = if share {
        prior.union(&vc_tokens)
    } else {
        prior.difference(&vc_tokens)
    };
    let all = prior.union(&connect::without_permissions(&req.consent_scope()));
    p.stores
        .consents
        .put_consent(&session.sub, &req.client_id, &all.to_string(), p.now())
        .await
        .map_err(OAuthError::from)?;
    let mut grant = match connect::app_of(p, &req.client_id).await? {
        None => Granted {
            scope: requested,
            account_sid: None,
            verified: None,
        },
        Some(app) => {
            let granted = chosen(&app, &requested, ticked);
            let asked = connect::permissions_in(&requested);
            let auth = connect::approve(p, &session.sub, &app, &asked, &granted).await?;
            let effective = Scope::parse(&auth.permissions).unwrap_or_default();
            Granted {
                scope: oidc.union(&asked.intersection(&effective)),
                account_sid: Some(auth.subaccount_sid),
                verified: None,
            }
        }
    };
    if share {
        grant.verified = req.claims.as_ref().map(|c| c.only(&vc));
    }
    issue_code(p, req, &session, grant).await
}
