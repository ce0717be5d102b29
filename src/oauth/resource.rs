//! Resource indicators (RFC 8707): the `resource` parameter at the authorization, PAR
//! and token endpoints names registered resource servers; the access token's `aud` is
//! the resource(s) granted, and with resources named each scope (beyond OpenID
//! Connect's) must be one they accept. An unregistered, relative or fragment-carrying
//! URI is `invalid_target` (§2). Repeated `resource` parameters arrive joined by spaces
//! (`web::extract::parse_pairs`), a character no URI holds.

use super::error::{ErrorCode, OAuthError};
use super::grants::Params;
use super::grants::token_exchange::is_resource_uri;
use super::provider::Provider;
use super::scope::{OIDC_SCOPES, Scope};
use crate::store::StoreError;

/// The request parameter.
pub const PARAM: &str = "resource";
/// Most resources one request may name.
const MAX_RESOURCES: usize = 8;

fn target(d: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, d)
}

/// The registered resources a request names, in order, without repeats, with the
/// scopes they accept (together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub uris: Vec<String>,
    pub accepted: Scope,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.uris.is_empty()
    }

    /// With resources named, every scope beyond OpenID Connect's must be one they
    /// accept.
    pub fn check_scope(&self, scope: &Scope) -> Result<(), OAuthError> {
        if self.is_empty() {
            return Ok(());
        }
        match scope
            .iter()
            .find(|s| !OIDC_SCOPES.contains(s) && !self.accepted.contains(s))
        {
            Some(_) => Err(OAuthError::invalid_scope(
                "the requested scope is not one the named resource accepts",
            )),
            None => Ok(()),
        }
    }
}

/// Resolves the `resource` parameter of `params`.
pub async fn requested(p: &Provider, params: &Params) -> Result<Resources, OAuthError> {
    let Some(raw) = params.get(PARAM) else {
        return Ok(Resources::default());
    };
    resolve(p, raw.split(' ')).await
}

/// Resolves resource URIs against the registry.
pub async fn resolve<'a>(
    p: &Provider,
    uris: impl Iterator<Item = &'a str>,
) -> Result<Resources, OAuthError> {
    let mut out = Resources::default();
    for uri in uris {
        if !is_resource_uri(uri) {
            return Err(target(
                "resource must be an absolute URI without a fragment",
            ));
        }
        if out.uris.iter().any(|u| u == uri) {
            continue;
        }
        if out.uris.len() == MAX_RESOURCES {
            return Err(target("too many resources"));
        }
        let rs = match p.stores.resource_servers.get_resource_server(uri).await {
            Ok(rs) => rs,
            Err(StoreError::NotFound) => return Err(target("the resource is not registered")),
            Err(e) => return Err(e.into()),
        };
        out.accepted = out
            .accepted
            .union(&Scope::stored(&rs.scopes, "resource server")?);
        out.uris.push(rs.uri);
    }
    Ok(out)
}

/// At the token endpoint: the resources a token is for, among those `granted` — the
/// one(s) the request names (each must be granted), else all granted.
pub fn narrowed(granted: &[String], params: &Params) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = params.get(PARAM) else {
        return Ok(granted.to_vec());
    };
    let mut out = Vec::new();
    for uri in raw.split(' ') {
        if !granted.iter().any(|g| g == uri) {
            return Err(target("the resource was not part of this grant"));
        }
        if !out.iter().any(|u: &String| u == uri) {
            out.push(uri.to_owned());
        }
    }
    Ok(out)
}
