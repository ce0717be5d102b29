//! The token customizer extension point: what adds claims to an access token
//! (RFC 9068 §2.2) beyond the ones every token has. [`Provider::mint_access_token`]
//! builds a token's claims in this order: the grant's `extra` claims, then each
//! product's [`TokenCustomizer`] (registered in `app.rs`), then the engine's own
//! customizers — the actor chain `act` (RFC 8693 §4.1) and the confirmation `cnf`
//! (RFC 7800 §3.1, with RFC 9449 §6.1's `jkt`) — and last the claims no customizer may
//! change (`iss`, `sub`, `aud`, `client_id`, `iat`, `exp`, `jti`, `scope`). So a product
//! can add what it owns to tokens of grants it does not own, but never unbind a token
//! or rename its actor.
//!
//! [`Provider::mint_access_token`]: super::provider::Provider::mint_access_token

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::OAuthError;
use super::tokens::AccessGrant;

/// The key a token is bound to (RFC 7800 §3.1 `cnf`): the RFC 7638 thumbprint of a
/// DPoP key (RFC 9449 §6.1 `jkt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl Confirmation {
    /// The `cnf` of access-token claims, if it names a `jkt`.
    pub fn of_claims(claims: &Map<String, Value>) -> Option<Self> {
        let jkt = claims.get("cnf")?.get("jkt")?.as_str()?;
        Some(Self {
            jkt: jkt.to_owned(),
        })
    }
}

/// Adds claims to an access token about to be signed.
pub trait TokenCustomizer: Send + Sync {
    /// Changes `claims` (built so far) for the token of `grant`. An error refuses the
    /// token request.
    fn customize(
        &self,
        grant: &AccessGrant,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OAuthError>;
}

/// The registered customizers: the products' (run first) and the engine's.
#[derive(Clone)]
pub struct TokenCustomizers {
    products: Vec<Arc<dyn TokenCustomizer>>,
    engine: [Arc<dyn TokenCustomizer>; 2],
}

impl Default for TokenCustomizers {
    fn default() -> Self {
        Self {
            products: Vec::new(),
            engine: [Arc::new(ActorChain), Arc::new(Bound)],
        }
    }
}

impl TokenCustomizers {
    /// Adds a product's customizer (run in registration order, before the engine's).
    pub fn register(&mut self, c: Arc<dyn TokenCustomizer>) {
        self.products.push(c);
    }

    /// Runs every customizer over `claims`.
    pub fn apply(
        &self,
        g: &AccessGrant,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OAuthError> {
        for c in self.products.iter().chain(self.engine.iter()) {
            c.customize(g, claims)?;
        }
        Ok(())
    }
}

/// `act` (RFC 8693 §4.1) from [`AccessGrant::act`]; an `act` a product added is removed
/// when the grant names no actor.
struct ActorChain;

impl TokenCustomizer for ActorChain {
    fn customize(
        &self,
        g: &AccessGrant,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OAuthError> {
        match &g.act {
            Some(a) => claims.insert("act".into(), a.clone()),
            None => claims.remove("act"),
        };
        Ok(())
    }
}

/// `cnf` (RFC 7800 §3.1, RFC 9449 §6.1) from [`AccessGrant::cnf`]; never from elsewhere.
struct Bound;

impl TokenCustomizer for Bound {
    fn customize(
        &self,
        g: &AccessGrant,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OAuthError> {
        match &g.cnf {
            Some(c) => claims.insert("cnf".into(), json!({"jkt": c.jkt})),
            None => claims.remove("cnf"),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tenant;
    impl TokenCustomizer for Tenant {
        fn customize(&self, _: &AccessGrant, c: &mut Map<String, Value>) -> Result<(), OAuthError> {
            c.insert("tenant".into(), json!("t1"));
            c.insert("cnf".into(), json!({"jkt": "forged"}));
            Ok(())
        }
    }

    #[test]
    fn products_add_claims_but_the_engine_owns_act_and_cnf() {
        let mut all = TokenCustomizers::default();
        all.register(Arc::new(Tenant));
        let g = AccessGrant {
            act: Some(json!({"sub": "PN1"})),
            ..AccessGrant::default()
        };
        let mut claims = Map::new();
        all.apply(&g, &mut claims).unwrap();
        assert_eq!(claims["tenant"], "t1");
        assert_eq!(claims["act"], json!({"sub": "PN1"}));
        assert!(!claims.contains_key("cnf"), "a product cannot bind a token");
        let bound = AccessGrant {
            cnf: Some(Confirmation { jkt: "abc".into() }),
            ..AccessGrant::default()
        };
        let mut claims = Map::new();
        all.apply(&bound, &mut claims).unwrap();
        assert_eq!(claims["cnf"], json!({"jkt": "abc"}));
        assert!(!claims.contains_key("act"));
        assert_eq!(
            Confirmation::of_claims(&claims),
            Some(Confirmation { jkt: "abc".into() })
        );
    }
}
