//! The protocol engine: authorization requests, the token endpoint's grant registry,
//! client authentication, PKCE, scopes and token minting. Pure logic over injected
//! stores, cache, keys and clock: no axum, no sqlx, no redis.

pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod customize;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod extensions;
pub mod fapi;
pub mod grants;
pub mod introspect;
pub mod logout;
pub mod pkce;
pub mod provider;
pub mod replay;
pub mod resource;
pub mod scope;
pub mod session;
pub mod subject;
pub mod tokens;
pub mod userinfo;
pub mod verified_claims;
