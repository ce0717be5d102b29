//! `verified_claims` (OpenID Connect for Identity Assurance 1.0): what a user can share
//! with a relying party, after consenting, comes from a [`ClaimsSource`] a product
//! registers (verify: the entity a user is bound to by a passed challenge, within
//! `verified_policy_age`). Only the requested claims the source holds are released. The
//! ID token carries the `id_token` member's requests (`grants::authorization_code`),
//! UserInfo the `userinfo` member's, remembered in the cache under the grant for the
//! refresh token's lifetime. The consent page offers sharing as one optional line.

use async_trait::async_trait;
use serde_json::Value;

use super::authorize::AuthRequest;
use super::authorize::claims::{MemberRequest, VerifiedClaim};
use super::error::OAuthError;
use super::provider::Provider;

/// The consent-page line (and form field) for sharing verified claims.
pub const CONSENT_ITEM: &str = "verified_claims";

/// The token remembered in the user's consent for sharing claim `c` with a client.
pub fn consent_token(c: VerifiedClaim) -> String {
    format!("verified_claims:{}", c.as_str())
}

/// Where verified claims about a user come from.
#[async_trait]
pub trait ClaimsSource: Send + Sync {
    /// Whether `sub` has claims to release now (the consent page offers them only then).
    async fn available(&self, p: &Provider, sub: &str) -> Result<bool, OAuthError>;
    /// The `verified_claims` value for `member`'s requests about `sub` (at least one is
    /// asked), if any is released.
    async fn build(
        &self,
        p: &Provider,
        sub: &str,
        member: &MemberRequest,
    ) -> Result<Option<Value>, OAuthError>;
}

/// The verified claims a request asks for that this user could share (none unless the
/// source has claims about the user now).
pub async fn releasable(
    p: &Provider,
    req: &AuthRequest,
    sub: &str,
) -> Result<Vec<VerifiedClaim>, OAuthError> {
    let names = req
        .claims
        .as_ref()
        .map(|c| c.verified_claim_names())
        .unwrap_or_default();
    let Some(source) = &p.ext.verified_claims else {
        return Ok(Vec::new());
    };
    if names.is_empty() || !source.available(p, sub).await? {
        return Ok(Vec::new());
    }
    Ok(names)
}

/// The `verified_claims` value for `member`'s requests about `sub`, if any is released.
pub async fn build(
    p: &Provider,
    sub: &str,
    member: &MemberRequest,
) -> Result<Option<Value>, OAuthError> {
    match &p.ext.verified_claims {
        Some(source) if !member.verified_claims.is_empty() => source.build(p, sub, member).await,
        _ => Ok(None),
    }
}

fn userinfo_key(grant_id: &str) -> String {
    format!("vcreq:{grant_id}")
}

/// Remembers the consented `userinfo` requests of a grant (verified and standard claims).
pub async fn remember_for_userinfo(
    p: &Provider,
    grant_id: &str,
    member: &MemberRequest,
) -> Result<(), OAuthError> {
    if member.verified_claims.is_empty() && member.standard.is_empty() {
        return Ok(());
    }
    let v = serde_json::to_vec(member).map_err(OAuthError::server_error)?;
    let ttl = u64::try_from(
        p.settings
            .refresh_token_ttl
            .max(p.settings.access_token_ttl),
    )
    .unwrap_or(3600);
    p.cache.put(&userinfo_key(grant_id), &v, ttl).await?;
    Ok(())
}

/// What UserInfo answers for a token of grant `grant_id` beyond its scope: the
/// consented `verified_claims` requests and the standard claims asked for by name.
pub async fn userinfo_request(
    p: &Provider,
    grant_id: &str,
) -> Result<Option<MemberRequest>, OAuthError> {
    let Some(raw) = p.cache.get(&userinfo_key(grant_id)).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&raw)
        .map(Some)
        .map_err(OAuthError::server_error)
}
