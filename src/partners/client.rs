//! A partner as an OAuth client (RFC 6749 §2.3, RFC 7523 §2.2): it authenticates at the
//! token endpoint under its own id with its keys (`private_key_jwt`) or its secret, and
//! obtains its Partner API token with `client_credentials` — so the Partner API needs no
//! second credential scheme. The engine's [`ClientSource`] for partner ids, registered in
//! `app.rs`.

use async_trait::async_trait;

use super::{PARTNER_API_SCOPE, is_partner_id};
use crate::oauth::client_auth::ClientSource;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::{JWT_BEARER, token_exchange};
use crate::oauth::provider::Provider;
use crate::store::{ClientMetadata, ClientRecord, PartnerStatus, StoreError};

/// Partners, seen as clients.
pub struct PartnerClients;

#[async_trait]
impl ClientSource for PartnerClients {
    fn owns(&self, client_id: &str) -> bool {
        is_partner_id(client_id)
    }

    /// Suspended or unknown partners are no client at all.
    async fn client(&self, p: &Provider, id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        let partner = match p.stores.partners.get_partner(id).await {
            Ok(pt) if pt.status == PartnerStatus::Active => pt,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let secret_hash = match &partner.sealed_secret {
            Some(sealed) => {
                let plain = p
                    .keys
                    .open_secret(partner.id.as_bytes(), sealed)
                    .map_err(OAuthError::server_error)?;
                Some(hex::encode(crate::util::sha256(&plain)))
            }
            None => None,
        };
        let method = if partner.jwks.is_some() || partner.jwks_uri.is_some() {
            "private_key_jwt"
        } else {
            "client_secret_basic"
        };
        Ok(Some(ClientRecord {
            client_id: (&partner.id).into(),
            secret_hash,
            metadata: ClientMetadata {
                client_name: Some(partner.name.clone()),
                grant_types: vec![
                    "client_credentials".into(),
                    JWT_BEARER.into(),
                    token_exchange::GRANT_TYPE.into(),
                ],
                token_endpoint_auth_method: method.into(),
                scope: Some(PARTNER_API_SCOPE.into()),
                jwks: partner.jwks.clone(),
                jwks_uri: partner.jwks_uri.clone(),
                ..ClientMetadata::default()
            },
            created_at: partner.created_at,
        }))
    }
}
