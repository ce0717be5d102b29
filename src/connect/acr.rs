//! A partner's minimum level for sign-ins at its developers' apps (OpenID Connect Core
//! §2 `acr`): an app whose developer account belongs to a partner whose policy names
//! `minimum_acr` gets that minimum (the engine's [`AcrPolicy`], registered in `app.rs`).
//! Partner and account come from the short-lived partner cache.

use async_trait::async_trait;

use super::app_of;
use crate::oauth::authorize::acr::Level;
use crate::oauth::authorize::acr_policy::AcrPolicy;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::{ClientRecord, StoreError};

/// The partner policy's minimum for apps.
pub struct PartnerMinimum;

#[async_trait]
impl AcrPolicy for PartnerMinimum {
    async fn minimum(&self, p: &Provider, client: &ClientRecord) -> Result<Level, OAuthError> {
        let Some(app) = app_of(p, client.client_id.as_str()).await? else {
            return Ok(Level::BASE);
        };
        let account = match p
            .stores
            .accounts
            .get_account_cached(app.developer_sid.as_str())
            .await
        {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Ok(Level::BASE),
            Err(e) => return Err(e.into()),
        };
        let Some(partner_id) = &account.partner_id else {
            return Ok(Level::BASE);
        };
        let partner = match p
            .stores
            .partners
            .get_partner_cached(partner_id.as_str())
            .await
        {
            Ok(pt) => pt,
            Err(StoreError::NotFound) => return Ok(Level::BASE),
            Err(e) => return Err(e.into()),
        };
        Ok(partner
            .limits
            .minimum_acr
            .as_deref()
            .and_then(|a| p.ext.authn.levels().parse(a))
            .unwrap_or(Level::BASE))
    }
}
