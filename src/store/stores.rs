//! Every durable aggregate, injected as trait objects ([`Stores`]), and how one SQL store
//! backs them all.

use std::sync::Arc;

use super::*;

/// Every durable aggregate, injected as trait objects.
#[derive(Clone)]
pub struct Stores {
    pub clients: Arc<dyn ClientStore>,
    pub users: Arc<dyn UserStore>,
    pub consents: Arc<dyn ConsentStore>,
    pub grants: Arc<dyn GrantStore>,
    pub keys: Arc<dyn KeyStore>,
    pub partners: Arc<dyn PartnerStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub audit: Arc<dyn AuditStore>,
    pub resources: Arc<dyn ResourceStore>,
    pub apps: Arc<dyn AppStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub api_keys: Arc<dyn ApiKeyStore>,
    pub entities: Arc<dyn EntityStore>,
    pub promotions: Arc<dyn PromotionStore>,
    pub verifications: Arc<dyn VerificationStore>,
    pub entity_bindings: Arc<dyn EntityBindingStore>,
    pub agents: Arc<dyn AgentLinkStore>,
    pub resource_servers: Arc<dyn resource_servers::ResourceServerStore>,
    /// Device authorizations (RFC 8628).
    pub devices: Arc<dyn DeviceStore>,
    /// Browser sessions and the clients they signed in to (Back-Channel Logout).
    pub sessions: Arc<dyn SessionStore>,
    /// Authenticators beyond the password: TOTP, recovery codes, passkeys.
    pub totp: Arc<dyn TotpStore>,
    pub recovery_codes: Arc<dyn RecoveryCodeStore>,
    pub passkeys: Arc<dyn PasskeyStore>,
    /// Initial access tokens and clients' own registrations (RFC 7591, RFC 7592).
    pub registrations: Arc<dyn RegistrationStore>,
    /// Signed single-use e-mailed links (verification, password reset).
    pub links: Arc<dyn LinkStore>,
    pub health: Arc<dyn Health>,
}

impl Stores {
    /// Every aggregate on one SQL store; client reads cached for `client_cache_ttl` seconds.
    pub fn from_sql(
        s: sql::SqlStore,
        clock: crate::clock::SharedClock,
        client_cache_ttl: i64,
    ) -> Self {
        let s = Arc::new(s);
        Self {
            clients: Arc::new(cached::CachedClients::new(
                s.clone(),
                clock,
                client_cache_ttl,
            )),
            users: s.clone(),
            consents: s.clone(),
            grants: s.clone(),
            keys: s.clone(),
            partners: s.clone(),
            accounts: s.clone(),
            audit: s.clone(),
            resources: s.clone(),
            apps: s.clone(),
            outbox: s.clone(),
            api_keys: s.clone(),
            entities: s.clone(),
            promotions: s.clone(),
            verifications: s.clone(),
            entity_bindings: s.clone(),
            agents: s.clone(),
            resource_servers: s.clone(),
            devices: s.clone(),
            sessions: s.clone(),
            totp: s.clone(),
            recovery_codes: s.clone(),
            passkeys: s.clone(),
            registrations: s.clone(),
            links: s.clone(),
            health: s,
        }
    }
}
