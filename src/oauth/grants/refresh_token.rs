//! `refresh_token` (RFC 6749 §6, RFC 9700 §4.14.2): rotated on every use, and a family
//! (one grant) never has more than one live token. Presenting a rotated token again is
//! reuse and revokes the whole grant, unless the operator set a grace window
//! (`SURETY_REFRESH_GRACE`, default 0): then one retry of a lost response is honoured
//! and replaces the successor it lost (see `GrantStore::rotate_refresh`). The scope can
//! only narrow. A product governing the client ([`RefreshPolicy`]; connect's apps) says
//! first whether the grant still stands and what it holds now.

use async_trait::async_trait;

use super::{ClientAuthPolicy, Grant, TokenRequest};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::binding;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{AccessGrant, GrantClaims, IdTokenContext, TokenResponse};
use crate::store::{ClientRecord, GrantRecord, RefreshRead, RefreshRecord, Rotation, StoreError};
use crate::util::secret_hash;

/// Where a governed client's grant stands at a refresh.
#[derive(Debug, Clone)]
pub enum Standing {
    /// The policy does not govern this client: the grant holds what it held.
    Unmanaged,
    /// The grant ended (e.g. the user revoked the app): `invalid_grant`.
    Ended,
    /// The grant holds `scope` now (at most what it held); its tokens carry `claims`.
    Holds { scope: Scope, claims: GrantClaims },
}

/// What a product checks on every refresh of a client it governs (registered in
/// `app.rs`; connect's apps: narrowed or revoked authorizations, the subaccount).
#[async_trait]
pub trait RefreshPolicy: Send + Sync {
    /// Where the grant of `client_id` for `sub`, holding `held`, stands now.
    async fn standing(
        &self,
        p: &Provider,
        client_id: &str,
        sub: &str,
        held: &Scope,
    ) -> Result<Standing, OAuthError>;
}

/// What the grant holds now and what its tokens carry: a governed client's grant may
/// have been narrowed or ended since (connect: an app's authorization). `None`: ended.
async fn standing(
    p: &Provider,
    client_id: &str,
    sub: &str,
    held: Scope,
) -> Result<Option<(Scope, GrantClaims)>, OAuthError> {
    let Some(policy) = &p.ext.refresh else {
        return Ok(Some((held, GrantClaims::new())));
    };
    Ok(match policy.standing(p, client_id, sub, &held).await? {
        Standing::Unmanaged => Some((held, GrantClaims::new())),
        Standing::Ended => None,
        Standing::Holds { scope, claims } => Some((scope, claims)),
    })
}

pub struct RefreshToken;

#[async_trait]
impl Grant for RefreshToken {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }
    fn client_auth(&self) -> ClientAuthPolicy {
        ClientAuthPolicy::PublicAllowed
    }

    async fn exchange(
        &self,
        p: &Provider,
        client: Option<&AuthenticatedClient>,
        req: TokenRequest<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = &client
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
            .client;
        let RefreshRead {
            token: old,
            grant,
            sid,
        } = presented(p, client, req.params).await?;
        // RFC 9449 §5: checked before rotation, so a wrong key does not spend the token.
        binding::check_refresh(old.jkt.as_deref(), req.cnf)?;
        let held = old.scope.clone();
        let Some((held, claims)) = standing(p, &client.client_id, &old.sub, held).await? else {
            return Err(invalid());
        };
        let scope = narrowed_scope(req.params, &held)?;
        // RFC 8707 §2.2: a refresh may narrow to some of the grant's resources.
        let audience = crate::oauth::resource::narrowed(&grant.resources, req.params)?;
        let refresh_token = rotate(p, client, &old, &held, &grant).await?;
        let (access_token, expires_in) = p.mint_access_token(&AccessGrant {
            sub: p.subject(client, &old.sub),
            client_id: client.client_id.to_string(),
            scope: scope.clone(),
            grant_id: Some(grant.id.clone()),
            auth_time: grant.auth_time,
            acr: grant.acr.clone(),
            extra: claims.clone(),
            audience,
            cnf: req.cnf(),
            ..AccessGrant::default()
        })?;
        let id_token = match scope.contains("openid") {
            true => {
                Some(id_token(p, client, &old.sub, (&grant, sid), &scope, &access_token).await?)
            }
            false => None,
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: Some(refresh_token),
            id_token,
            scope: scope.to_string(),
            extra: claims,
        })
    }
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// The refresh token presented, if it is the client's, with its grant and session (one
/// read: the rotation itself then decides, atomically, whether the token is still live).
async fn presented(
    p: &Provider,
    client: &ClientRecord,
    params: &super::Params,
) -> Result<RefreshRead, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let read = match p
        .stores
        .grants
        .find_refresh_grant(&secret_hash(presented))
        .await
    {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    if client.client_id != read.token.client_id {
        return Err(invalid());
    }
    Ok(read)
}

/// The scope asked for (the grant's by default), which may only narrow what it holds.
fn narrowed_scope(params: &super::Params, held: &Scope) -> Result<Scope, OAuthError> {
    let scope = match params.get("scope") {
        Some(s) => Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope("malformed scope"))?,
        None => held.clone(),
    };
    if !scope.is_subset(held) {
        return Err(OAuthError::invalid_scope(
            "a refreshed scope can only narrow",
        ));
    }
    Ok(scope)
}

/// Rotates `old` to a new token of the family (returned). The successor keeps the
/// grant's full scope, so a later refresh may ask again for what this one narrowed
/// away. A rotated token presented again is reuse: the whole grant is revoked.
async fn rotate(
    p: &Provider,
    client: &ClientRecord,
    old: &RefreshRecord,
    held: &Scope,
    grant: &GrantRecord,
) -> Result<String, OAuthError> {
    let (token, successor) = p.new_refresh(
        &old.grant_id,
        &client.client_id,
        &old.sub,
        held,
        old.jkt.clone(),
    );
    let grace = p.settings.refresh_grace;
    let rotation = p
        .stores
        .grants
        .rotate_refresh(&old.token_hash, &successor, p.now(), grace);
    match rotation.await? {
        Rotation::Rotated(_) => Ok(token),
        Rotation::Reused(_) => {
            tracing::warn!(client_id = %client.client_id, "refresh token reuse; revoking its grant");
            p.stores.grants.revoke_grant(grant, p.now()).await?;
            Err(invalid())
        }
        Rotation::Invalid | Rotation::Refused => Err(invalid()),
    }
}

/// A fresh ID token for the grant's user (OpenID Connect Core §12.2): no nonce.
async fn id_token(
    p: &Provider,
    client: &ClientRecord,
    sub: &str,
    (grant, sid): (&GrantRecord, Option<String>),
    scope: &Scope,
    access_token: &str,
) -> Result<String, OAuthError> {
    let user = p.stores.users.get_user(sub).await.map_err(|e| match e {
        StoreError::NotFound => invalid(),
        e => e.into(),
    })?;
    p.mint_id_token(
        client,
        &user,
        IdTokenContext {
            scope,
            nonce: None,
            auth_time: grant.auth_time,
            acr: grant.acr.as_deref(),
            amr: &grant.amr,
            access_token: Some(access_token),
            verified_claims: None,
            requested: &[],
            sid: sid.as_deref(),
        },
    )
}
