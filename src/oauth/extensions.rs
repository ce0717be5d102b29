//! The engine's extension points, after node-oidc-provider's features and interaction
//! steps: what the products plug into the protocol engine. `app.rs` builds one
//! [`Extensions`] with the products' implementations when it builds the provider; the
//! engine calls the traits and imports no product module (`layering` checks that).
//!
//! | point | trait | implemented by |
//! |---|---|---|
//! | authentication steps (Core §2 `acr`) | [`AuthnStep`](super::authorize::steps::AuthnStep) | `accounts` (password), `verify` (challenge) |
//! | minimum levels (Core §2 `acr`) | [`AcrPolicy`] | `connect` (a partner's minimum for its developers' apps) |
//! | consent (Core §3.1.2.4) | [`ConsentPolicy`] | `connect` (developer apps) |
//! | refresh (RFC 6749 §6) | [`RefreshPolicy`] | `connect` (developer apps) |
//! | clients beyond the registry (RFC 6749 §2.3) | [`ClientSource`] | `partners` (partners as clients), `admin` (client metadata documents) |
//! | token exchange subjects (RFC 8693 §2.1) | [`SubjectExchange`] | `partners` (accounts, account SIDs) |
//! | `verified_claims` (OIDC4IDA) | [`ClaimsSource`] | `verify` (the bound entity's record) |
//! | access-token claims (RFC 9068 §2.2) | [`TokenCustomizer`](super::customize::TokenCustomizer) | engine: `act` (RFC 8693 §4.1), `cnf` (RFC 9449 §6); products may add more |
//!
//! Grants register in the provider's [`GrantRegistry`](super::grants::GrantRegistry)
//! (partners' jwt-bearer), scopes in its [`ScopeRegistry`](super::scope::ScopeRegistry);
//! what a product attaches to a grant (connect's `account_sid`) travels as
//! [`GrantClaims`](super::tokens::GrantClaims). See `docs/architecture.md`.

use std::sync::Arc;

use super::authorize::acr_policy::AcrPolicy;
use super::authorize::consent::ConsentPolicy;
use super::authorize::steps::AuthnSteps;
use super::client_auth::ClientSource;
use super::customize::TokenCustomizers;
use super::grants::refresh_token::RefreshPolicy;
use super::grants::token_exchange::SubjectExchange;
use super::verified_claims::ClaimsSource;

/// What the products registered. The default registers nothing: a provider without
/// steps asserts no `acr`.
#[derive(Clone, Default)]
pub struct Extensions {
    /// Authentication steps, weakest first (the first is the login).
    pub authn: AuthnSteps,
    /// Minimum levels the products require of the clients they govern.
    pub acr_policies: Vec<Arc<dyn AcrPolicy>>,
    /// Consent for the clients a product governs; none: ordinary consent only.
    pub consent: Option<Arc<dyn ConsentPolicy>>,
    /// What a product checks when a client it governs refreshes.
    pub refresh: Option<Arc<dyn RefreshPolicy>>,
    /// Clients that are not in the client registry (tried in order by id form).
    pub clients: Vec<Arc<dyn ClientSource>>,
    /// Token exchange on subjects the products own.
    pub exchange_subjects: Vec<Arc<dyn SubjectExchange>>,
    /// Where `verified_claims` come from; none: nothing is released.
    pub verified_claims: Option<Arc<dyn ClaimsSource>>,
    /// What adds claims to access tokens: the engine's `act` and `cnf` always, after
    /// the products' (`tokens.register`).
    pub tokens: TokenCustomizers,
}
