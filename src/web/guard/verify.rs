//! Bearer-token checks for the guard: local validation against a JWK Set (RFC 9068),
//! RFC 7662 introspection, and Surety's own in-process check.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::header;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{GuardError, VerifyToken};
use crate::clock::{SharedClock, SystemClock};
use crate::keys::jws;
use crate::keys::remote::RemoteJwks;
use crate::oauth::error::ErrorCode;
use crate::oauth::provider::Provider;

/// `aud` (a string or an array) names `want`.
fn audience_ok(claims: &Map<String, Value>, want: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == want,
        Some(Value::Array(v)) => v.iter().any(|a| a.as_str() == Some(want)),
        _ => false,
    }
}

/// Local validation of RFC 9068 JWT access tokens against the issuer's JWK Set.
pub struct Jwks {
    issuer: String,
    jwks_uri: String,
    audience: Option<String>,
    keys: RemoteJwks,
    clock: SharedClock,
    leeway: i64,
}

impl Jwks {
    /// Tokens of `issuer`, signed by a key published at `jwks_uri`.
    pub fn new(issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri: jwks_uri.into(),
            audience: None,
            keys: RemoteJwks::new(10),
            clock: Arc::new(SystemClock),
            leeway: 0,
        }
    }
    /// Also require `aud` to name this resource server.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }
    /// Seconds of clock skew tolerated on `exp` and `nbf` (default 0).
    pub fn leeway(mut self, secs: i64) -> Self {
        self.leeway = secs.max(0);
        self
    }
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    fn check_claims(&self, c: &Map<String, Value>) -> Result<(), &'static str> {
        let now = self.clock.now();
        if c.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err("the token is from another issuer");
        }
        let exp = c
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or("the token has no exp")?;
        if exp + self.leeway <= now {
            return Err("the token has expired");
        }
        if c.get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now + self.leeway)
        {
            return Err("the token is not valid yet");
        }
        if let Some(aud) = &self.audience
            && !audience_ok(c, aud)
        {
            return Err("the token is for another audience");
        }
        Ok(())
    }
}

#[async_trait]
impl VerifyToken for Jwks {
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, GuardError> {
        let bad = |d: &str| GuardError::InvalidToken(d.to_owned());
        let (header, _) = jws::peek(token).map_err(|_| bad("the token is not a JWT"))?;
        let keys = self
            .keys
            .keys(&self.jwks_uri, header.kid.as_deref(), self.clock.now())
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, uri = %self.jwks_uri, "JWKS fetch failed");
                GuardError::Unavailable
            })?;
        let (header, claims) =
            jws::verify(token, &keys).map_err(|_| bad("the token's signature does not verify"))?;
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(bad("the token is not an access token (typ at+jwt)"));
        }
        self.check_claims(&claims).map_err(bad)?;
        Ok(claims)
    }
}

/// Largest introspection response read.
const MAX_INTROSPECTION_BYTES: usize = 64 * 1024;

/// Token validation by RFC 7662 introspection, authenticating as a client with
/// `client_secret_basic`.
pub struct Introspection {
    endpoint: String,
    client_id: String,
    client_secret: SecretString,
    audience: Option<String>,
    http: reqwest::Client,
    clock: SharedClock,
}

impl Introspection {
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let http = crate::util::http_client()
            .timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            audience: None,
            http,
            clock: Arc::new(SystemClock),
        }
    }
    /// Also require `aud` to name this resource server.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// RFC 6749 §2.3.1: id and secret are form-url-encoded before base64.
    fn basic(&self) -> String {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!(
            "{}:{}",
            enc(&self.client_id),
            enc(self.client_secret.expose_secret())
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    async fn ask(&self, token: &str) -> Result<Map<String, Value>, GuardError> {
        let unavailable = |what: &str| {
            tracing::warn!(endpoint = %self.endpoint, what, "token introspection failed");
            GuardError::Unavailable
        };
        let mut resp = self
            .http
            .post(&self.endpoint)
            .header(header::AUTHORIZATION, self.basic())
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|_| unavailable("unreachable"))?;
        if !resp.status().is_success() {
            return Err(unavailable("non-2xx status"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|_| unavailable("read"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_INTROSPECTION_BYTES {
                return Err(unavailable("response too large"));
            }
        }
        serde_json::from_slice(&body).map_err(|_| unavailable("not a JSON object"))
    }
}

#[async_trait]
impl VerifyToken for Introspection {
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, GuardError> {
        let bad = |d: &str| GuardError::InvalidToken(d.to_owned());
        let c = self.ask(token).await?;
        if c.get("active") != Some(&Value::Bool(true)) {
            return Err(bad("the access token is invalid, expired or revoked"));
        }
        // A refresh token introspects as active too; it is no access token.
        let typ = c.get("token_type").and_then(Value::as_str);
        if typ.is_some_and(|t| {
            !t.eq_ignore_ascii_case("bearer")
                && !t.eq_ignore_ascii_case("dpop")
                && t != "access_token"
        }) {
            return Err(bad("the token is not an access token"));
        }
        let exp = c.get("exp").and_then(Value::as_i64);
        if exp.is_some_and(|e| e <= self.clock.now()) {
            return Err(bad("the token has expired"));
        }
        if let Some(aud) = &self.audience
            && !audience_ok(&c, aud)
        {
            return Err(bad("the token is for another audience"));
        }
        Ok(c)
    }
}

/// Surety's own access tokens, checked in-process: signature against Surety's key ring,
/// `typ`, issuer, expiry, and that neither the token nor its grant is revoked.
pub struct SuretyTokens(pub Arc<Provider>);

#[async_trait]
impl VerifyToken for SuretyTokens {
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, GuardError> {
        match self.0.validate_access_token(token).await {
            // RFC 8707 / RFC 9068 §4: a token for another resource is not for this one.
            Ok(c) if !c.for_issuer(&self.0.issuer) => Err(GuardError::InvalidToken(
                "the token is for another audience".into(),
            )),
            Ok(c) => Ok(c.0),
            Err(e) => Err(match e.code {
                ErrorCode::InvalidToken => {
                    GuardError::InvalidToken(e.description.unwrap_or_default())
                }
                ErrorCode::TemporarilyUnavailable => GuardError::Unavailable,
                _ => GuardError::Internal,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audience_may_be_a_string_or_an_array() {
        let c = |v: Value| v.as_object().cloned().unwrap();
        assert!(audience_ok(&c(json!({"aud": "a"})), "a"));
        assert!(audience_ok(&c(json!({"aud": ["b", "a"]})), "a"));
        assert!(!audience_ok(&c(json!({"aud": "b"})), "a"));
        assert!(!audience_ok(&c(json!({})), "a"));
    }

    #[test]
    fn jwks_claims_are_checked() {
        let clock = Arc::new(crate::clock::FixedClock::at(1000));
        let j = Jwks::new("https://i", "https://i/jwks")
            .audience("api")
            .clock(clock);
        let c = |v: Value| v.as_object().cloned().unwrap();
        let ok = json!({"iss": "https://i", "exp": 1001, "aud": "api"});
        assert!(j.check_claims(&c(ok.clone())).is_ok());
        let mut v = ok.clone();
        v["iss"] = json!("https://other");
        assert!(j.check_claims(&c(v)).is_err());
        let mut v = ok.clone();
        v["exp"] = json!(1000);
        assert!(j.check_claims(&c(v)).is_err());
        let mut v = ok.clone();
        v["nbf"] = json!(1001);
        assert!(j.check_claims(&c(v)).is_err());
        let mut v = ok;
        v["aud"] = json!("else");
        assert!(j.check_claims(&c(v)).is_err());
    }
}
