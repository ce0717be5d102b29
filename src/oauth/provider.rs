//! The provider: everything the protocol engine needs, injected once at start-up — the
//! lower layers (stores, cache, keys, clock, settings) and what the products plug in
//! ([`Extensions`], the grants and scopes they register).

use std::sync::Arc;

use crate::cache::Ephemeral;
use crate::clock::{SharedClock, SharedEntropy, Timestamp};
use crate::config::Settings;
use crate::keys::KeyRing;
use crate::store::Stores;

use super::extensions::Extensions;
use super::grants::GrantRegistry;

/// Paths of the protocol endpoints; discovery derives its URLs from these.
pub mod paths {
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const JWKS: &str = "/jwks";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
    pub const PAR: &str = "/par";
    /// RFC 8628 §3.1 device authorization endpoint, and §3.3 verification page.
    pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
    pub const DEVICE: &str = "/device";
    pub const END_SESSION: &str = "/logout";
    /// RFC 7591 §3 client registration endpoint; RFC 7592 §1 client configuration
    /// endpoints are `REGISTER/<client_id>`.
    pub const REGISTER: &str = "/register";
    pub const LOGIN: &str = "/login";
    pub const CONSENT: &str = "/consent";
    pub const CHALLENGE: &str = "/challenge";
    pub const RESUME: &str = "/authorize/resume";
}

pub struct Provider {
    /// The issuer identifier, without a trailing slash.
    pub issuer: String,
    pub settings: Settings,
    pub stores: Stores,
    pub cache: Arc<dyn Ephemeral>,
    pub keys: Arc<KeyRing>,
    pub clock: SharedClock,
    /// Where every token, code and identifier the provider makes comes from.
    pub entropy: SharedEntropy,
    pub grants: GrantRegistry,
    /// What the products plug into the engine (authentication steps, consent policy …).
    pub ext: Extensions,
    /// What scopes exist and which are internal (products register theirs).
    pub scopes: super::scope::ScopeRegistry,
    /// The replay horizon this node last wrote (see `oauth::replay`).
    pub replay_horizon: super::replay::Horizon,
    pub remote_jwks: crate::keys::remote::RemoteJwks,
    /// Server-provided DPoP nonces (RFC 9449 §8), the same on every node.
    pub dpop_nonces: super::dpop::nonce::Nonces,
    /// What pairwise subject identifiers are derived with (Core §8.1), the same on every
    /// node.
    pub pairwise: super::subject::PairwiseKey,
    /// Fetches the documents client registrations point at (`sector_identifier_uri`).
    pub fetch: crate::fetch::Fetcher,
}

impl Provider {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The absolute URL of one of Surety's endpoints.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Whether cookies must be `Secure` (the issuer is https).
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}
