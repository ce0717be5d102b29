//! Extractors that turn malformed requests into protocol errors (house rule 3): form and
//! query parameters (each at most once, RFC 6749 §3.1), client credentials, bearer
//! tokens and cookies.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine;

use super::error::ProtocolError;
use crate::oauth::client_auth::Credentials;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;

/// Largest form body accepted on protocol endpoints.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Parses `application/x-www-form-urlencoded` pairs, refusing repeated names (but for
/// `resource`, RFC 8707, whose values are joined by spaces).
/// Decoding is `form_urlencoded`'s (what `serde_urlencoded` uses): `+` is a space, bad
/// percent escapes stay literal, invalid UTF-8 becomes U+FFFD. A value without escapes is
/// copied once, into the map.
pub fn parse_pairs(raw: &[u8]) -> Result<Params, OAuthError> {
    let mut out = Params::with_capacity(8);
    for (k, v) in url::form_urlencoded::parse(raw) {
        if v.is_empty() {
            continue; // RFC 6749 §3.1: parameters sent without a value are treated as omitted
        }
        if k == crate::oauth::resource::PARAM {
            // RFC 8707 §2: `resource` may be repeated; the values are kept joined by a
            // space (which no URI holds) and checked one by one where they are used.
            if v.contains(' ') {
                return Err(OAuthError::new(
                    crate::oauth::error::ErrorCode::InvalidTarget,
                    "resource must be an absolute URI without a fragment",
                ));
            }
            if let Some(prev) = out.get_mut(k.as_ref()) {
                prev.push(' ');
                prev.push_str(&v);
                continue;
            }
        }
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request("a parameter was repeated"));
        }
    }
    Ok(out)
}

/// Form body parameters (POST, `application/x-www-form-urlencoded`).
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ProtocolError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the body is too large or unreadable"))?;
        if bytes.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request("the body is too large").into());
        }
        Ok(Form(parse_pairs(&bytes)?))
    }
}

/// Parameters from the query (GET) or the form body (POST), as the authorization and
/// logout endpoints accept both.
pub struct QueryOrForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for QueryOrForm {
    type Rejection = ProtocolError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.method() == Method::POST {
            let Form(p) = Form::from_request(req, state).await?;
            return Ok(Self(p));
        }
        let q = req.uri().query().unwrap_or("");
        Ok(Self(parse_pairs(q.as_bytes())?))
    }
}

/// Client credentials from the `Authorization: Basic` header and the body.
pub fn credentials(headers: &HeaderMap, params: &Params) -> Result<Credentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v.to_str().map_err(|_| {
                OAuthError::invalid_client("malformed Authorization header").with_auth_header(true)
            })?;
            match v.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
                    Some(decode_basic(rest.trim())?)
                }
                _ => None,
            }
        }
        None => None,
    };
    Ok(Credentials {
        basic,
        client_id: params.get("client_id").cloned(),
        client_secret: params.get("client_secret").cloned(),
        client_assertion_type: params.get("client_assertion_type").cloned(),
        client_assertion: params.get("client_assertion").cloned(),
    })
}

/// RFC 6749 §2.3.1: id and secret are form-url-encoded before base64.
fn decode_basic(b64: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials").with_auth_header(true);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = s.split_once(':').ok_or_else(bad)?;
    let dec = |x: &str| {
        url::form_urlencoded::parse(format!("a={x}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Ok((dec(id).ok_or_else(bad)?, dec(secret).ok_or_else(bad)?))
}

/// An RFC 6750 bearer token from the header (or, for POST, the `access_token` form field).
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Cookies of the request.
pub struct Cookies(pub Vec<(String, String)>);

impl Cookies {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Cookies {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut out = Vec::new();
        for v in parts.headers.get_all(header::COOKIE) {
            let Ok(s) = v.to_str() else { continue };
            for c in s.split(';') {
                if let Some((k, v)) = c.trim().split_once('=') {
                    out.push((k.to_owned(), v.to_owned()));
                }
            }
        }
        Ok(Cookies(out))
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure when asked.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse_pairs(b"a=1&a=2").is_err());
        assert_eq!(parse_pairs(b"a=1&b=").unwrap().len(), 1);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let h = base64::engine::general_purpose::STANDARD.encode("my%20id:p%40ss");
        assert_eq!(
            decode_basic(&h).unwrap(),
            ("my id".to_owned(), "p@ss".to_owned())
        );
        assert!(decode_basic("!!!").is_err());
    }
}
