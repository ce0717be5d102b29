//! Registered resource servers (RFC 8707): the URIs clients may name in `resource`, each
//! with the scopes it accepts. A token for a resource carries it as `aud`.

use async_trait::async_trait;

use super::StoreResult;
use crate::clock::Timestamp;

/// A resource server as registered by an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceServerRecord {
    /// An absolute URI without a fragment (RFC 8707 §2).
    pub uri: String,
    pub name: String,
    /// The scopes it accepts, space separated.
    pub scopes: String,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait ResourceServerStore: Send + Sync {
    /// `Conflict` if the URI is registered already.
    async fn insert_resource_server(&self, r: &ResourceServerRecord) -> StoreResult<()>;
    async fn get_resource_server(&self, uri: &str) -> StoreResult<ResourceServerRecord>;
    async fn list_resource_servers(&self) -> StoreResult<Vec<ResourceServerRecord>>;
    /// `NotFound` if it was not registered.
    async fn delete_resource_server(&self, uri: &str) -> StoreResult<()>;
}
