//! Registering resource servers (RFC 8707), shared by `/admin/resource-servers` and
//! `surety resources`: an absolute URI without a fragment, a name, and the scopes it
//! accepts (never OpenID Connect's or an internal scope).

use serde::{Deserialize, Serialize};

use super::FieldError;
use crate::clock::Timestamp;
use crate::oauth::grants::token_exchange::is_resource_uri;
use crate::oauth::scope::{OIDC_SCOPES, Scope, ScopeRegistry};
use crate::store::resource_servers::ResourceServerRecord;
use crate::store::{StoreError, Stores};

/// Most scopes one resource server may accept.
const MAX_SCOPES: usize = 64;

/// A resource server as submitted.
/// One RFC 6749 §3.3 scope token (in the OpenAPI document only).
pub struct ScopeToken;

impl utoipa::PartialSchema for ScopeToken {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .pattern(Some(r"^[\x21\x23-\x5b\x5d-\x7e]+$"))
            .into()
    }
}
impl utoipa::ToSchema for ScopeToken {}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceServerInput {
    /// The resource indicator clients send: an absolute URI without a fragment.
    #[schema(format = "uri", min_length = 1, max_length = 512)]
    pub uri: String,
    /// Not blank, no control characters; at most 128 bytes once trimmed.
    #[schema(
        min_length = 1,
        pattern = r"^\s*[^\s\u0000-\u001f\u007f-\u009f](?:[^\u0000-\u001f\u007f-\u009f]{0,126}[^\s\u0000-\u001f\u007f-\u009f])?\s*$"
    )]
    pub name: String,
    /// The scopes it accepts (at most 64 RFC 6749 scope tokens; not OpenID Connect's
    /// own nor this server's internal ones).
    #[serde(default)]
    #[schema(max_items = 64, value_type = Vec<ScopeToken>)]
    pub scopes: Vec<String>,
}

/// A resource server as returned.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceServerOutput {
    pub uri: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
}

impl From<&ResourceServerRecord> for ResourceServerOutput {
    fn from(r: &ResourceServerRecord) -> Self {
        Self {
            uri: r.uri.clone(),
            name: r.name.clone(),
            scopes: r
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: r.created_at,
        }
    }
}

/// Validates a submission into a record.
pub fn build(
    input: ResourceServerInput,
    registry: &ScopeRegistry,
    now: Timestamp,
) -> Result<ResourceServerRecord, FieldError> {
    if input.uri.len() > 512 || !is_resource_uri(&input.uri) {
        return Err(FieldError::invalid(
            "uri",
            "an absolute URI without a fragment, at most 512 bytes",
        ));
    }
    let name = input.name.trim();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(FieldError::invalid("name", "1 to 128 characters"));
    }
    if input.scopes.len() > MAX_SCOPES {
        return Err(FieldError::invalid("scopes", "at most 64 scopes"));
    }
    let bad = || FieldError::invalid("scopes", "each scope one RFC 6749 §3.3 scope token");
    if input.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(bad());
    }
    let scopes = Scope::parse(&input.scopes.join(" ")).ok_or_else(bad)?;
    if scopes
        .iter()
        .any(|s| OIDC_SCOPES.contains(&s) || registry.is_internal(s))
    {
        return Err(FieldError::invalid(
            "scopes",
            "OpenID Connect and internal scopes belong to this server, not a resource",
        ));
    }
    Ok(ResourceServerRecord {
        uri: input.uri,
        name: name.to_owned(),
        scopes: scopes.to_string(),
        created_at: now,
    })
}

/// Why a registration was refused.
#[derive(Debug)]
pub enum Refused {
    Field(FieldError),
    /// The URI is registered already.
    Taken,
    Store(StoreError),
}

/// Validates and stores a resource server (the admin API's and the CLI's one path).
pub async fn register(
    stores: &Stores,
    registry: &ScopeRegistry,
    input: ResourceServerInput,
    now: Timestamp,
) -> Result<ResourceServerOutput, Refused> {
    let rec = build(input, registry, now).map_err(Refused::Field)?;
    match stores.resource_servers.insert_resource_server(&rec).await {
        Ok(()) => Ok((&rec).into()),
        Err(StoreError::Conflict(_)) => Err(Refused::Taken),
        Err(e) => Err(Refused::Store(e)),
    }
}

/// Every registered resource server, by URI.
pub async fn list(stores: &Stores) -> Result<Vec<ResourceServerOutput>, StoreError> {
    let all = stores.resource_servers.list_resource_servers().await?;
    Ok(all.iter().map(Into::into).collect())
}

/// One registered resource server.
pub async fn get(stores: &Stores, uri: &str) -> Result<ResourceServerOutput, StoreError> {
    Ok((&stores.resource_servers.get_resource_server(uri).await?).into())
}

/// Removes a registration; `NotFound` if there was none.
pub async fn remove(stores: &Stores, uri: &str) -> Result<(), StoreError> {
    stores.resource_servers.delete_resource_server(uri).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(uri: &str, scopes: &[&str]) -> ResourceServerInput {
        ResourceServerInput {
            uri: uri.into(),
            name: "Orders".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn uris_and_scopes_are_checked() {
        let mut r = ScopeRegistry::default();
        r.register_internal("verify");
        let ok = build(
            input(
                "https://api.example/orders",
                &["orders:read", "orders:write"],
            ),
            &r,
            1,
        )
        .unwrap();
        assert_eq!(ok.scopes, "orders:read orders:write");
        for (uri, scopes) in [
            ("/relative", &["a"][..]),
            ("https://api.example/#frag", &["a"][..]),
            ("not a uri", &["a"][..]),
            ("https://api.example/", &["openid"][..]),
            ("https://api.example/", &["verify"][..]),
            ("https://api.example/", &["two words"][..]),
            ("https://api.example/", &["bad\"quote"][..]),
        ] {
            assert!(
                build(input(uri, scopes), &r, 1).is_err(),
                "{uri} {scopes:?}"
            );
        }
    }
}
