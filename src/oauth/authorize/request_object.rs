//! Signed request objects passed by value (RFC 9101 §2.1, §4, §5.1, §6): the `request`
//! parameter of `/authorize` and of PAR, a JWS signed with one of the client's registered
//! keys (`jwks` or `jwks_uri`, as for `private_key_jwt`), under the client's
//! `request_object_signing_alg` (default: any asymmetric alg Surety verifies; FAPI 2.0
//! clients PS256, ES256 or EdDSA). Its claims: `iss` the client, `aud` the issuer, `exp`
//! required and at most [`MAX_LIFETIME`] ahead, `nbf` checked, `jti` single use when
//! present, `client_id` (when present) the outer one. Its parameters replace the query's
//! (§6.3); for a FAPI 2.0 client only its own are used. Anything wrong is
//! `invalid_request_object` (§6.2). `request_uri` by reference stays PAR-only.

use serde_json::{Map, Value};

use crate::keys::jws::{self, Alg};
use crate::oauth::client_auth::client_keys;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::fapi;
use crate::oauth::grants::Params;
use crate::oauth::provider::Provider;
use crate::oauth::replay::{self, Assertion, Use};
use crate::store::ClientRecord;
use crate::util::secret_hash;

/// The longest a request object may live (seconds from now to its `exp`).
pub const MAX_LIFETIME: i64 = 3600;
/// Clock skew allowed on `exp` and `nbf`.
const SKEW: i64 = 30;
/// JWT claims that are not authorization request parameters.
const JWT_ONLY: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

fn refuse(d: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, d)
}

/// The request's parameters once its `request` object (if any) is verified: `None`
/// without one, else the parameters to use.
pub async fn resolve(
    p: &Provider,
    client: &ClientRecord,
    params: &Params,
) -> Result<Option<Params>, OAuthError> {
    let Some(token) = params.get("request") else {
        return Ok(None);
    };
    let claims = verify(p, client, token).await?;
    check_claims(p, client, &claims)?;
    mark_jti(p, client, &claims).await?;
    let inner = to_params(&claims)?;
    let mut out = if fapi::applies(&p.settings, &client.metadata) {
        Params::new()
    } else {
        let mut outer = params.clone();
        outer.remove("request");
        outer
    };
    out.extend(inner);
    out.insert("client_id".into(), client.client_id.to_string());
    Ok(Some(out))
}

/// The signature, by one of the client's keys, under an alg the client may use.
async fn verify(
    p: &Provider,
    client: &ClientRecord,
    token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let c = jws::parse(token).map_err(|_| refuse("the request object is not a signed JWT"))?;
    let alg = Alg::parse(&c.header.alg)
        .filter(|a| *a != Alg::HS256)
        .ok_or_else(|| refuse("the request object's alg is not accepted"))?;
    let registered = client.metadata.request_object_signing_alg.as_deref();
    if registered.is_some_and(|r| r != alg.as_str())
        || !fapi::alg_allowed(&p.settings, &client.metadata, alg)
    {
        return Err(refuse("the request object's alg is not the client's"));
    }
    let keys = client_keys(p, client, c.header.kid.as_deref())
        .await
        .map_err(|e| match e.code {
            ErrorCode::TemporarilyUnavailable => e,
            _ => refuse("the client's keys could not be read"),
        })?;
    c.verify(&keys)
        .map_err(|_| refuse("the request object's signature does not verify"))?;
    Ok(c.claims)
}

/// `iss`, `aud`, `exp`, `nbf` and the inner `client_id` (RFC 9101 §4, §6.3).
fn check_claims(
    p: &Provider,
    client: &ClientRecord,
    c: &Map<String, Value>,
) -> Result<(), OAuthError> {
    let now = p.now();
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let id = client.client_id.as_str();
    if s("iss") != Some(id) {
        return Err(refuse("the request object's iss must be the client_id"));
    }
    if c.contains_key("client_id") && s("client_id") != Some(id) {
        return Err(refuse("the request object's client_id differs"));
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => *a == p.issuer,
        Some(Value::Array(v)) => v.iter().any(|a| a.as_str() == Some(p.issuer.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err(refuse("the request object's aud must be the issuer"));
    }
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| refuse("the request object's exp is required"))?;
    if exp + SKEW < now {
        return Err(refuse("the request object has expired"));
    }
    if exp > now + MAX_LIFETIME {
        return Err(refuse("the request object lives too long"));
    }
    match c.get("nbf") {
        None => Ok(()),
        Some(v) if v.as_i64().is_some_and(|nbf| nbf <= now + SKEW) => Ok(()),
        Some(_) => Err(refuse("the request object is not valid yet")),
    }
}

/// A `jti` is used once (across nodes, surviving a cache loss as assertions do).
async fn mark_jti(
    p: &Provider,
    client: &ClientRecord,
    c: &Map<String, Value>,
) -> Result<(), OAuthError> {
    let Some(jti) = c.get("jti") else {
        return Ok(());
    };
    let jti = jti
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| refuse("the request object's jti is malformed"))?;
    let key = format!("rojti:{}:{}", client.client_id, secret_hash(jti));
    let a = Assertion {
        key: &key,
        exp: c.get("exp").and_then(Value::as_i64).unwrap_or(0),
        iat: c.get("iat").and_then(Value::as_i64),
        max_lifetime: MAX_LIFETIME,
        skew: SKEW,
    };
    match replay::mark(p, &a).await? {
        Use::First => Ok(()),
        Use::Replayed => Err(refuse("the request object was already used")),
        Use::Unprovable => Err(refuse(
            "the request object predates a loss of replay state; send a new one",
        )),
    }
}

/// The object's authorization parameters as the query would carry them: strings as they
/// are, numbers as digits, objects (`claims`) as JSON text.
fn to_params(c: &Map<String, Value>) -> Result<Params, OAuthError> {
    let mut out = Params::new();
    for (k, v) in c {
        if JWT_ONLY.contains(&k.as_str()) {
            continue;
        }
        if k == "request" || k == "request_uri" {
            return Err(refuse(
                "a request object may not nest request or request_uri",
            ));
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Object(_) => v.to_string(),
            _ => return Err(refuse("a request object parameter has an unusable type")),
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_read_as_the_query_carries_them() {
        let c = json!({"iss": "c", "aud": "x", "exp": 1, "jti": "j", "scope": "openid",
                       "max_age": 60, "claims": {"userinfo": {"email": null}}});
        let p = to_params(c.as_object().unwrap()).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p["scope"], "openid");
        assert_eq!(p["max_age"], "60");
        assert_eq!(p["claims"], r#"{"userinfo":{"email":null}}"#);
        let nested = json!({"request_uri": "urn:x"});
        assert!(to_params(nested.as_object().unwrap()).is_err());
        let odd = json!({"prompt": ["login"]});
        assert!(to_params(odd.as_object().unwrap()).is_err());
    }
}
