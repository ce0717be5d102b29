//! Consent: whether a prior grant covers a request, what the consent page shows, and the
//! user's answer (OpenID Connect Core §3.1.2.4). For an ordinary client consent is
//! remembered per client and scope set. A client a product governs — connect's developer
//! apps (docs/product.md §2) — has its consent decided by the product's [`ConsentPolicy`]:
//! its answer may create an authorization and subaccount, and the code then carries the
//! product's [`GrantClaims`] (the subaccount's `account_sid`) and the scope it allows.
//! Sharing `verified_claims` (OIDC4IDA) is one more, optional line; the user's answer is
//! remembered per client and claim, and an unticked line releases nothing.

use async_trait::async_trait;

use super::{AuthRequest, AuthorizeError, Outcome, issue_code, load_tx, refuse, tx_key};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::session::Session;
use crate::oauth::tokens::GrantClaims;
use crate::oauth::verified_claims::{self, CONSENT_ITEM, consent_token};
use crate::store::AppRecord;
use crate::util::ct_eq;

/// What a code will carry.
#[derive(Debug, Clone)]
pub struct Granted {
    pub scope: Scope,
    /// What the product attaches to the grant (empty for an ordinary client).
    pub claims: GrantClaims,
    /// The `verified_claims` requests the user agreed to share.
    pub verified: Option<super::claims::ClaimsRequest>,
}

impl Granted {
    /// An ordinary client's grant: the scope asked for.
    fn plain(scope: Scope) -> Self {
        Self {
            scope,
            claims: GrantClaims::new(),
            verified: None,
        }
    }
}

/// What a policy says of a request by a client it governs.
#[derive(Debug, Clone)]
pub enum Prior {
    /// What the user agreed to before covers it: the code carries this.
    Covered(Box<Granted>),
    /// The user must be asked.
    Ask,
}

/// Consent for the clients a product governs (registered in `app.rs`; connect's apps).
/// Each method answers `None` for a client the policy does not govern, which then gets
/// ordinary consent.
#[async_trait]
pub trait ConsentPolicy: Send + Sync {
    /// The part of `scope` the policy asks consent for itself: never remembered in the
    /// ordinary per-client consent.
    fn own_scopes(&self, scope: &Scope) -> Scope;
    /// Whether what `sub` agreed to before covers `req`.
    async fn covered(
        &self,
        p: &Provider,
        client_id: &str,
        req: &AuthRequest,
        sub: &str,
    ) -> Result<Option<Prior>, OAuthError>;
    /// The consent page for `req`.
    async fn screen(
        &self,
        p: &Provider,
        req: &AuthRequest,
        sub: &str,
    ) -> Result<Option<Screen>, OAuthError>;
    /// Records that `sub` approved `req` (ticking the optional items `ticked`): the
    /// grant the code carries.
    async fn approve(
        &self,
        p: &Provider,
        req: &AuthRequest,
        sub: &str,
        ticked: &[String],
    ) -> Result<Option<Granted>, OAuthError>;
}

/// `scope` less what the consent policy asks for itself.
fn ordinary(p: &Provider, scope: &Scope) -> Scope {
    match &p.ext.consent {
        Some(c) => scope.difference(&c.own_scopes(scope)),
        None => scope.clone(),
    }
}

async fn consented(p: &Provider, sub: &str, client_id: &str) -> Result<Scope, OAuthError> {
    let prior = p.stores.consents.get_consent(sub, client_id).await?;
    Ok(prior.unwrap_or_default())
}

/// The grant a request gets without asking, if what the user already agreed covers it
/// (scopes, a governed client's own scopes, and the verified claims it could release).
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
    let requested = req.scope.clone();
    let agreed = consented(p, sub, client_id).await?;
    if !ordinary(p, &req.consent_scope()).is_subset(&agreed) {
        return Ok(None);
    }
    if let Some(policy) = &p.ext.consent {
        match policy.covered(p, client_id, req, sub).await? {
            Some(Prior::Covered(g)) => return Ok(Some(*g)),
            Some(Prior::Ask) => return Ok(None),
            None => {}
        }
    }
    Ok(req
        .consent_scope()
        .is_subset(&agreed)
        .then(|| Granted::plain(requested)))
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
    if let Some(policy) = &p.ext.consent
        && let Some(sc) = policy.screen(p, req, sub).await?
    {
        return Ok(sc);
    }
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
    Ok(Screen {
        app: None,
        items,
        upgrade: false,
    })
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
        return refuse(p, req, e).await;
    }
    let requested = req.scope.clone();
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
    let all = prior.union(&ordinary(p, &req.consent_scope()));
    p.stores
        .consents
        .put_consent(&session.sub, &req.client_id, &all.to_string(), p.now())
        .await
        .map_err(OAuthError::from)?;
    let governed = match &p.ext.consent {
        Some(policy) => policy.approve(p, req, &session.sub, ticked).await?,
        None => None,
    };
    let mut grant = governed.unwrap_or_else(|| Granted::plain(requested));
    if share {
        grant.verified = req.claims.as_ref().map(|c| c.only(&vc));
    }
    issue_code(p, req, &session, grant).await
}
