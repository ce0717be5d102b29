//! The authorization response, the one place it is built (RFC 6749 §4.1.2, §4.1.2.1;
//! RFC 9207 `iss`): its parameters and how they reach the redirect URI — the
//! `response_mode` of OAuth 2.0 Multiple Response Type Encoding Practices §2.1 (`query`,
//! the default for `code`) or OAuth 2.0 Form Post Response Mode §2 (`form_post`: an
//! auto-submitting form the web layer renders).

use serde::{Deserialize, Serialize};

use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;

/// How the response reaches the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query.
    #[default]
    Query,
    /// Parameters POSTed by the browser as a form to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// What discovery lists (`response_modes_supported`).
    pub const SUPPORTED: [&'static str; 2] = ["query", "form_post"];

    /// The `response_mode` parameter; absent: `query`.
    pub fn parse(s: Option<&str>) -> Result<Self, &'static str> {
        match s {
            None | Some("query") => Ok(Self::Query),
            Some("form_post") => Ok(Self::FormPost),
            Some(_) => Err("unsupported response_mode (query or form_post)"),
        }
    }
}

/// A response to the client at its (verified) redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    /// The response parameters, `iss` last.
    pub params: Vec<(String, String)>,
}

impl ClientResponse {
    /// A response with `pairs`, and `iss` (RFC 9207 §2).
    pub fn new(
        p: &Provider,
        redirect_uri: &str,
        mode: ResponseMode,
        pairs: &[(&str, &str)],
    ) -> Self {
        let mut params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        params.push(("iss".into(), p.issuer.clone()));
        Self {
            redirect_uri: redirect_uri.to_owned(),
            mode,
            params,
        }
    }

    /// An error response (RFC 6749 §4.1.2.1): `error`, `error_description`, `state`.
    pub fn error(
        p: &Provider,
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        e: &OAuthError,
    ) -> Self {
        let mut pairs = vec![("error", e.code.as_str())];
        if let Some(d) = &e.description {
            pairs.push(("error_description", d));
        }
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        Self::new(p, redirect_uri, mode, &pairs)
    }

    /// The redirect URI with the parameters in its query (the `query` mode's target).
    pub fn query_url(&self) -> String {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        super::with_query(&self.redirect_uri, &pairs)
    }

    /// The origin a `form_post` page may submit to (CSP `form-action`): `scheme://host[:port]`
    /// of an http(s) redirect URI, `scheme:` of a private-use one; `None` if it holds a
    /// character no CSP source may.
    pub fn form_action_source(&self) -> Option<String> {
        let u = url::Url::parse(&self.redirect_uri).ok()?;
        let source = match u.scheme() {
            "http" | "https" => u.origin().ascii_serialization(),
            s => format!("{s}:"),
        };
        source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+:/[]".contains(c))
            .then_some(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_modes() {
        assert_eq!(ResponseMode::parse(None), Ok(ResponseMode::Query));
        assert_eq!(
            ResponseMode::parse(Some("form_post")),
            Ok(ResponseMode::FormPost)
        );
        assert!(ResponseMode::parse(Some("fragment")).is_err());
        assert!(ResponseMode::parse(Some("query.jwt")).is_err());
    }

    fn at(uri: &str) -> ClientResponse {
        ClientResponse {
            redirect_uri: uri.into(),
            mode: ResponseMode::FormPost,
            params: vec![("code".into(), "a b".into())],
        }
    }

    #[test]
    fn form_action_is_the_redirect_origin() {
        assert_eq!(
            at("https://app.example:8443/cb?x=1")
                .form_action_source()
                .unwrap(),
            "https://app.example:8443"
        );
        assert_eq!(
            at("com.example.app:/cb").form_action_source().unwrap(),
            "com.example.app:"
        );
        assert_eq!(at("https://a/cb").query_url(), "https://a/cb?code=a+b");
    }
}
