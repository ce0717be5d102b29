//! Software statements (RFC 7591 §2.3): a JWT about the client software, signed by an
//! issuer the server trusts (`SURETY_SOFTWARE_STATEMENT_ISSUERS`, each with its keys
//! inline or at a `jwks_uri`). Its claims are client metadata that win over the same
//! members sent as plain JSON (§3.1.1). A statement that is malformed, badly signed,
//! expired or not yet valid is `invalid_software_statement`; one from an issuer not
//! trusted is `unapproved_software_statement` (§3.2.2).

use serde_json::{Map, Value};

use crate::config::TrustedIssuer;
use crate::keys::jws::{self, MAX_JWS_LEN, VerifyKey};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;

/// Clock skew tolerated on `exp`, `nbf` and `iat` (seconds).
const SKEW: i64 = 60;
/// The JWT's own claims (RFC 7519 §4.1): about the statement, not client metadata.
const JWT_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

fn invalid(d: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidSoftwareStatement, d)
}

/// Verifies `statement` and returns the client metadata it states.
pub async fn verify(p: &Provider, statement: &str) -> Result<Map<String, Value>, OAuthError> {
    if statement.len() > MAX_JWS_LEN {
        return Err(invalid("the software statement is too large"));
    }
    let (header, claims) =
        jws::peek(statement).map_err(|_| invalid("the software statement is not a signed JWT"))?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the software statement names no issuer (iss)"))?;
    let Some(issuer) = p
        .settings
        .software_statement_issuers
        .iter()
        .find(|t| t.issuer == iss)
    else {
        return Err(OAuthError::new(
            ErrorCode::UnapprovedSoftwareStatement,
            "the software statement's issuer is not trusted here",
        ));
    };
    let keys = keys_of(p, issuer, header.kid.as_deref()).await?;
    let (_, claims) = jws::verify(statement, &keys)
        .map_err(|_| invalid("the software statement's signature does not verify"))?;
    check_times(&claims, p.now())?;
    Ok(metadata_of(claims))
}

/// The metadata a statement already verified states (its JWT claims removed).
pub fn metadata_of(mut claims: Map<String, Value>) -> Map<String, Value> {
    claims.retain(|k, _| !JWT_CLAIMS.contains(&k.as_str()));
    claims
}

async fn keys_of(
    p: &Provider,
    issuer: &TrustedIssuer,
    kid: Option<&str>,
) -> Result<Vec<VerifyKey>, OAuthError> {
    if let Some(jwks) = &issuer.jwks {
        return Ok(VerifyKey::from_jwks(jwks));
    }
    let Some(uri) = &issuer.jwks_uri else {
        tracing::warn!(issuer = %issuer.issuer, "a trusted software statement issuer has no keys");
        return Ok(Vec::new());
    };
    p.remote_jwks.keys(uri, kid, p.now()).await.map_err(|e| {
        tracing::warn!(error = %e, issuer = %issuer.issuer, "software statement issuer's keys unreachable");
        OAuthError::unavailable(e)
    })
}

/// `exp` (if present) not passed, `nbf` and `iat` (if present) not ahead, by [`SKEW`].
fn check_times(c: &Map<String, Value>, now: i64) -> Result<(), OAuthError> {
    let time = |k: &str| match c.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid("the software statement's times must be numbers")),
    };
    if time("exp")?.is_some_and(|exp| exp + SKEW <= now) {
        return Err(invalid("the software statement has expired"));
    }
    if [time("nbf")?, time("iat")?]
        .into_iter()
        .flatten()
        .any(|t| t > now + SKEW)
    {
        return Err(invalid("the software statement is not valid yet"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_checked_with_skew() {
        let ok = |c: Value| check_times(c.as_object().unwrap(), 1000).is_ok();
        assert!(ok(json!({})));
        assert!(ok(json!({"exp": 1001, "iat": 1000})));
        assert!(ok(json!({"exp": 999})), "within the skew");
        assert!(!ok(json!({"exp": 900})));
        assert!(!ok(json!({"iat": 1100})));
        assert!(!ok(json!({"exp": "later"})));
    }

    #[test]
    fn jwt_claims_are_not_metadata() {
        let c = json!({"iss": "a", "iat": 1, "jti": "x", "software_id": "s", "client_name": "n"});
        let m = metadata_of(c.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(m),
            json!({"software_id": "s", "client_name": "n"})
        );
    }
}
