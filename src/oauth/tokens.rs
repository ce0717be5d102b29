//! Minting and checking tokens: JWT access tokens (RFC 9068, `typ: at+jwt`), ID tokens
//! (OpenID Connect Core §2, with `at_hash` per §3.1.3.6), opaque refresh tokens stored by
//! hash, and the token response (RFC 6749 §5.1).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::authorize::claims::StandardClaim;
pub use super::customize::Confirmation;
use super::error::OAuthError;
use super::provider::Provider;
use super::scope::Scope;
use super::subject::Subject;
use crate::clock::Timestamp;
use crate::keys::jws::Alg;
use crate::store::{ClientRecord, RefreshRecord, UserRecord};
use crate::util::{b64, secret_hash};

/// Claims a product attaches to a grant (connect: an app's subaccount `account_sid`):
/// carried in the code, added to the grant's access tokens and token responses, and —
/// string values — to the authorization response.
pub type GrantClaims = Map<String, Value>;

/// Who and what an access token is for.
#[derive(Debug, Clone, Default)]
pub struct AccessGrant {
    /// The token's `sub`: a user as the client sees them (OpenID Connect Core §8), a
    /// client, or an account — made by `oauth::subject` only.
    pub sub: Subject,
    pub client_id: String,
    pub scope: Scope,
    pub grant_id: Option<String>,
    pub auth_time: Option<Timestamp>,
    pub acr: Option<String>,
    /// Further claims (e.g. `account_sid`) added by a grant.
    pub extra: Map<String, Value>,
    /// The token's `aud` (RFC 8707 resources, an RFC 8693 audience); the issuer if empty.
    pub audience: Vec<String>,
    /// The actor chain (RFC 8693 §4.1: the current actor, earlier ones nested under
    /// `act`), as [`act_claim`](super::grants::token_exchange::act_claim) builds it.
    pub act: Option<Value>,
    /// The key the token is bound to (RFC 9449 §6: a DPoP proof's key).
    pub cnf: Option<Confirmation>,
}

/// A successful token response.
#[derive(Debug, Serialize, Default)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The claims of a valid access token.
#[derive(Debug, Clone)]
pub struct AccessClaims(pub Map<String, Value>);

impl AccessClaims {
    pub fn str(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(Value::as_str)
    }
    pub fn scope(&self) -> Scope {
        self.str("scope").and_then(Scope::parse).unwrap_or_default()
    }
    /// Whether `aud` names this server: the issuer, or one of its own resources (a URI
    /// under the issuer). A token for another resource server (RFC 8707) is not.
    pub fn for_issuer(&self, issuer: &str) -> bool {
        let own =
            |a: &str| a == issuer || a.strip_prefix(issuer).is_some_and(|r| r.starts_with('/'));
        match self.0.get("aud") {
            Some(Value::String(a)) => own(a),
            Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).any(own),
            _ => false,
        }
    }
}

impl Provider {
    /// Signs an RFC 9068 access token; returns it and its lifetime.
    pub fn mint_access_token(&self, g: &AccessGrant) -> Result<(String, i64), OAuthError> {
        let now = self.now();
        let ttl = self.settings.access_token_ttl;
        let mut claims = g.extra.clone();
        self.ext.tokens.apply(g, &mut claims)?;
        // Inserted one by one (over any same-named extra claim), not built as a second map.
        for (k, v) in [
            ("iss", Value::from(self.issuer.as_str())),
            ("sub", Value::from(g.sub.as_str())),
            ("aud", audience(&self.issuer, &g.audience)),
            ("client_id", Value::from(g.client_id.as_str())),
            ("iat", Value::from(now)),
            ("exp", Value::from(now + ttl)),
            ("jti", Value::from(self.entropy.token(16))),
            ("scope", Value::from(g.scope.to_string())),
        ] {
            claims.insert(k.to_owned(), v);
        }
        if let Some(id) = &g.grant_id {
            claims.insert("grant_id".into(), json!(id));
        }
        if let Some(t) = g.auth_time {
            claims.insert("auth_time".into(), json!(t));
        }
        if let Some(a) = &g.acr {
            claims.insert("acr".into(), json!(a));
        }
        let token = self
            .keys
            .sign(Alg::ES256, "at+jwt", &Value::Object(claims), now)
            .map_err(OAuthError::server_error)?;
        metrics::counter!("surety_access_tokens_signed_total").increment(1);
        Ok((token, ttl))
    }

    /// Signs an ID token for `client` with the client's registered alg (RS256 default);
    /// its `sub` is `user` as the client sees them (Core §8).
    pub fn mint_id_token(
        &self,
        client: &ClientRecord,
        user: &UserRecord,
        c: IdTokenContext<'_>,
    ) -> Result<String, OAuthError> {
        let now = self.now();
        let alg = client
            .metadata
            .id_token_signed_response_alg
            .as_deref()
            .and_then(Alg::parse)
            .unwrap_or_else(|| super::fapi::default_id_token_alg(&self.settings, &client.metadata));
        let sub = self.subject(client, &user.sub);
        let mut claims = json!({
            "iss": self.issuer, "sub": sub.as_str(), "aud": client.client_id, "azp": client.client_id,
            "iat": now, "exp": now + self.settings.id_token_ttl,
        });
        let obj = claims
            .as_object_mut()
            .ok_or_else(|| OAuthError::server_error("claims"))?;
        if let Some(t) = c.auth_time {
            obj.insert("auth_time".into(), json!(t));
        }
        if let Some(n) = c.nonce {
            obj.insert("nonce".into(), json!(n));
        }
        if let Some(a) = c.acr {
            obj.insert("acr".into(), json!(a));
        }
        if !c.amr.is_empty() {
            obj.insert("amr".into(), json!(c.amr));
        }
        if let Some(sid) = c.sid {
            obj.insert("sid".into(), json!(sid));
        }
        if let Some(at) = c.access_token {
            obj.insert("at_hash".into(), json!(at_hash(alg, at)));
        }
        obj.extend(user_claims(user, c.scope));
        obj.extend(requested_claims(user, c.requested));
        if let Some(vc) = c.verified_claims {
            obj.insert("verified_claims".into(), vc.clone());
        }
        self.keys
            .sign(alg, "JWT", &claims, now)
            .map_err(OAuthError::server_error)
    }

    /// Creates a refresh token (bound to the DPoP key `jkt`, if any); returns the token
    /// and its record, for the caller to store.
    pub fn new_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        sub: &str,
        scope: &Scope,
        jkt: Option<String>,
    ) -> (String, RefreshRecord) {
        let now = self.now();
        let token = self.entropy.token(32);
        let rec = RefreshRecord {
            token_hash: secret_hash(&token),
            grant_id: grant_id.to_owned(),
            client_id: client_id.to_owned(),
            sub: sub.to_owned(),
            scope: scope.clone(),
            created_at: now,
            expires_at: now + self.settings.refresh_token_ttl,
            rotated_at: None,
            jkt,
        };
        (token, rec)
    }

    /// Checks an access token Surety issued: signature, `typ`, issuer, expiry, and that
    /// neither it nor its grant has been revoked.
    pub async fn validate_access_token(&self, token: &str) -> Result<AccessClaims, OAuthError> {
        let now = self.now();
        let bad = || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        let (header, claims) = self.keys.verify_own(token, now).await.map_err(|_| bad())?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(bad());
        }
        let c = AccessClaims(claims);
        let exp = c.0.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if c.str("iss") != Some(self.issuer.as_str()) || exp <= now {
            return Err(bad());
        }
        let jti = c.str("jti").ok_or_else(bad)?;
        if self.stores.grants.is_jti_revoked(jti).await? {
            return Err(bad());
        }
        if let Some(gid) = c.str("grant_id") {
            match self.stores.grants.get_grant(gid).await {
                Ok(g) if g.revoked_at.is_none() => {}
                Ok(_) | Err(crate::store::StoreError::NotFound) => return Err(bad()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(c)
    }
}

/// `aud`: the issuer, one resource as a string, or several as an array.
fn audience(issuer: &str, aud: &[String]) -> Value {
    match aud {
        [] => Value::from(issuer),
        [one] => Value::from(one.as_str()),
        many => json!(many),
    }
}

/// What an ID token says about the authentication.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenContext<'a> {
    pub scope: &'a Scope,
    pub nonce: Option<&'a str>,
    pub auth_time: Option<Timestamp>,
    pub acr: Option<&'a str>,
    pub amr: &'a [String],
    pub access_token: Option<&'a str>,
    /// Released `verified_claims` (OIDC4IDA), if any.
    pub verified_claims: Option<&'a Value>,
    /// Standard claims the `claims` parameter asked for in the ID token (Core §5.5).
    pub requested: &'a [StandardClaim],
    /// The browser session the grant was issued under (Back-Channel Logout 1.0 §2.1).
    pub sid: Option<&'a str>,
}

/// The standard claims asked for by name (Core §5.5) that `user` has values for.
pub fn requested_claims(user: &UserRecord, asked: &[StandardClaim]) -> Map<String, Value> {
    let mut m = Map::new();
    for c in asked {
        let v = match c {
            StandardClaim::Name => user.name.as_ref().map(|n| json!(n)),
            StandardClaim::PreferredUsername => Some(json!(user.username)),
            StandardClaim::Email => user.email.as_ref().map(|e| json!(e)),
            StandardClaim::EmailVerified => {
                user.email.as_ref().map(|_| json!(email_verified(user)))
            }
        };
        if let Some(v) = v {
            m.insert(c.as_str().to_owned(), v);
        }
    }
    m
}

/// Standard claims about `user` released for `scope` (OpenID Connect Core §5.4).
pub fn user_claims(user: &UserRecord, scope: &Scope) -> Map<String, Value> {
    let mut m = Map::new();
    if scope.contains("profile") {
        m.insert("preferred_username".into(), json!(user.username));
        if let Some(n) = &user.name {
            m.insert("name".into(), json!(n));
        }
    }
    if scope.contains("email")
        && let Some(e) = &user.email
    {
        m.insert("email".into(), json!(e));
        m.insert("email_verified".into(), json!(email_verified(user)));
    }
    m
}

/// `email_verified` (Core §5.1): the present address was proven the user's (a
/// verification or password-reset link sent to it was used, `accounts::email`).
pub fn email_verified(user: &UserRecord) -> bool {
    user.email.is_some() && user.email_verified_at.is_some()
}

/// `at_hash`: the left half of the hash of the access token (Core §3.1.3.6); Ed25519
/// uses SHA-512, as its signature does.
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    use aws_lc_rs::digest;
    let d = match alg {
        Alg::EdDSA => digest::digest(&digest::SHA512, access_token.as_bytes()),
        _ => digest::digest(&digest::SHA256, access_token.as_bytes()),
    };
    let bytes = d.as_ref();
    b64(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_core_example_shape() {
        // Core spec appendix A.3 example: access token jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y
        assert_eq!(
            at_hash(Alg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn claims_follow_scope() {
        let u = UserRecord {
            sub: "s".into(),
            username: "alice".into(),
            password_hash: String::new(),
            email: Some("a@example.com".into()),
            email_verified_at: None,
            name: Some("Alice".into()),
            created_at: 0,
        };
        let none = user_claims(&u, &Scope::parse("openid").unwrap());
        assert!(none.is_empty());
        let all = user_claims(&u, &Scope::parse("openid profile email").unwrap());
        assert_eq!(all["preferred_username"], "alice");
        assert_eq!(all["email"], "a@example.com");
        assert_eq!(all["email_verified"], false);
        let verified = UserRecord {
            email_verified_at: Some(5),
            ..u
        };
        let all = user_claims(&verified, &Scope::parse("openid email").unwrap());
        assert_eq!(all["email_verified"], true);
        let asked = requested_claims(&verified, &[StandardClaim::EmailVerified]);
        assert_eq!(asked["email_verified"], true);
    }
}
