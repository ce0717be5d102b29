//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, used by
//! MCP clients): a client needs no registration when its `client_id` is an https URL
//! serving its metadata as JSON. Enabled by `SURETY_CLIENT_METADATA_DOCUMENTS`; then the
//! engine's [`ClientSource`] for URL client ids, consulted at `/authorize`, `/token` and
//! the pages between. The URL must have a path, no fragment, user info or dot segments;
//! the document (fetched by [`crate::fetch`]: never from the server's own network, no
//! redirects; here within `SURETY_CLIENT_METADATA_DOCUMENT_TIMEOUT_MS` and
//! [`MAX_DOCUMENT_BYTES`], with a JSON content type) must name the URL as its
//! `client_id`, register `redirect_uris`, hold no secret, and authenticate with `none`
//! or `private_key_jwt` and a public `jwks_uri`; it goes through the admin API's rules
//! (unknown members ignored) and may use the authorization code and refresh grants only.
//! A usable document is kept per its `Cache-Control` ([`cache::lifetime`]) in a cache of
//! at most [`cache::MAX_CACHED`] documents per node; a failure is never cached.

mod cache;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::oauth::client_auth::ClientSource;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::{ClientId, ClientRecord, RegistrationPolicy};

/// Largest document accepted (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// The grants a client known by its document may use.
const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// Why a document was refused (logged; the client sees an unknown client).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl From<crate::fetch::FetchError> for Refused {
    fn from(e: crate::fetch::FetchError) -> Self {
        Self(e.to_string())
    }
}

/// Clients known by their metadata documents.
pub struct DocumentClients {
    limits: crate::fetch::Limits,
    allow_loopback: bool,
    cache: cache::Documents,
}

impl DocumentClients {
    pub fn from_settings(s: &Settings) -> Self {
        let timeout = Duration::from_millis(s.client_metadata_document_timeout_ms.max(1));
        Self {
            limits: crate::fetch::Limits {
                max_bytes: MAX_DOCUMENT_BYTES,
                timeout,
            },
            allow_loopback: s.fetch_allow_loopback,
            cache: cache::Documents::default(),
        }
    }

    /// The client at `id` and for how many seconds it may be reused.
    async fn load(&self, p: &Provider, id: &str) -> Result<(ClientRecord, Option<u64>), Refused> {
        let url = document_url(id, self.allow_loopback)?;
        let fetched = p.fetch.document(url.as_str(), self.limits).await?;
        if !fetched.content_type.as_deref().is_some_and(cache::is_json) {
            return Err(Refused("the content type is not JSON".into()));
        }
        let Value::Object(doc) = fetched.json else {
            return Err(Refused("the document is not a JSON object".into()));
        };
        let lifetime = cache::lifetime(fetched.cache_control.as_deref(), fetched.age.as_deref());
        Ok((client_of(p, id, doc, self.allow_loopback).await?, lifetime))
    }
}

#[async_trait]
impl ClientSource for DocumentClients {
    fn owns(&self, client_id: &str) -> bool {
        client_id.starts_with("https://")
            || (self.allow_loopback && client_id.starts_with("http://"))
    }

    async fn client(&self, p: &Provider, id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        let now = p.now();
        if let Some(c) = self.cache.get(id, now) {
            return Ok(Some(c));
        }
        match self.load(p, id).await {
            Ok((c, lifetime)) => {
                if let Some(secs) = lifetime {
                    let until = now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
                    self.cache.put(id, c.clone(), until, now);
                }
                Ok(Some(c))
            }
            Err(Refused(reason)) => {
                tracing::warn!(client_id = id, %reason, "client metadata document refused");
                Ok(None)
            }
        }
    }
}

/// The draft's rules for a client id URL: https (http on loopback only when loopback
/// is allowed), a path beyond `/`, no fragment, no user info, no dot
/// segments, and written as it parses (so it names one document only).
fn document_url(id: &str, allow_loopback: bool) -> Result<url::Url, Refused> {
    let refuse = |m: &str| Err(Refused(format!("client id URL: {m}")));
    let Ok(u) = url::Url::parse(id) else {
        return refuse("does not parse");
    };
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback && allow_loopback)) {
        return refuse("not https");
    }
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return refuse("has a fragment or user info");
    }
    if u.path() == "/" || u.as_str() != id {
        return refuse("needs a path, and no dot segments or other unusual spelling");
    }
    Ok(u)
}

/// The client the document `doc` at `id` describes.
async fn client_of(
    p: &Provider,
    id: &str,
    doc: Map<String, Value>,
    allow_loopback: bool,
) -> Result<ClientRecord, Refused> {
    let refuse = |m: &str| Err(Refused(m.to_owned()));
    if doc.get("client_id").and_then(Value::as_str) != Some(id) {
        return refuse("the document's client_id is not its URL");
    }
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return refuse("a metadata document holds no secret");
    }
    let mut input =
        crate::admin::metadata::read_ignoring_unknown(&doc).map_err(|e| Refused(e.to_string()))?;
    if input.redirect_uris.is_empty() {
        return refuse("the document registers no redirect_uris");
    }
    let method = input.token_endpoint_auth_method.take();
    match method.as_deref() {
        None | Some("none") => {}
        Some("private_key_jwt") if input.jwks_uri.is_some() && input.jwks.is_none() => {}
        _ => return refuse("authenticate with none, or private_key_jwt and a jwks_uri"),
    }
    input.token_endpoint_auth_method = Some(method.unwrap_or_else(|| "none".into()));
    let known: Vec<&str> = p.grants.grant_types().collect();
    let mut metadata = crate::admin::clients::validate_fetching(&p.fetch, input, &known)
        .await
        .map_err(|e| Refused(e.to_string()))?;
    if !allow_loopback {
        crate::admin::registration::policy::fetched_urls_public(&metadata)
            .map_err(|e| Refused(e.to_string()))?;
    }
    let policy = RegistrationPolicy {
        grant_types: GRANT_TYPES.map(str::to_owned).to_vec(),
        scope: None,
        redirect_uris: Vec::new(),
    };
    crate::admin::registration::policy::apply(&policy, &mut metadata)
        .map_err(|e| Refused(e.to_string()))?;
    let client_id = ClientId::parse(id).ok_or_else(|| Refused("the URL is too long".into()))?;
    Ok(ClientRecord {
        client_id,
        secret_hash: None,
        metadata,
        created_at: p.now(),
    })
}

/// The origin (host, and port if any) of a client known by its metadata document, for
/// the consent screen: the one thing about such a client that is not self-asserted.
/// `None` for any other client.
pub fn origin(client_id: &str) -> Option<String> {
    let u = url::Url::parse(client_id).ok()?;
    if !matches!(u.scheme(), "https" | "http") {
        return None;
    }
    let host = u.host_str()?;
    Some(match u.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_urls_follow_the_draft() {
        for ok in [
            "https://app.example/client.json",
            "https://app.example:8443/oauth/metadata?v=1",
        ] {
            assert!(document_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example",
            "https://app.example/",
            "http://app.example/client.json",
            "http://127.0.0.1:8080/client.json",
            "https://app.example/a/../client.json",
            "https://app.example/./client.json",
            "https://user@app.example/client.json",
            "https://app.example/client.json#x",
            "https://APP.example/client.json",
            "ftp://app.example/client.json",
        ] {
            assert!(document_url(bad, false).is_err(), "{bad}");
        }
        assert!(document_url("http://127.0.0.1:8080/client.json", true).is_ok());
        assert!(document_url("http://10.0.0.1/client.json", true).is_err());
    }

    #[test]
    fn origins_only_for_url_client_ids() {
        assert_eq!(
            origin("https://app.example/client.json").as_deref(),
            Some("app.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/c").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(origin("s6BhdRkqt3"), None);
        assert_eq!(origin("com.example.app:/cb"), None);
    }
}
