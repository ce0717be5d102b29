//! Step-up for resource servers (RFC 9470): a per-route layer that requires the user
//! authentication behind a bearer token to be at an authentication context class
//! (`acr`) and, optionally, no older than `max_age` seconds (`auth_time`). A token that
//! falls short gets 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values=…,
//! max_age=…`, and the client re-runs authorization with those values.
//!
//! Levels are Surety's ladder (`accounts::assurance`): a token at a level that meets the
//! required one passes (`urn:surety:acr:verified:phishing-resistant` meets both
//! `urn:surety:acr:verified` and `urn:surety:acr:phishing-resistant`); the challenge
//! names the required level, as RFC 9470 §3 asks.
//!
//! Only bearer tokens carry a user authentication: credentials without one (HTTP Basic
//! account credentials and API keys, tokens of grants with no user such as
//! `client_credentials`) never meet the requirement.
//!
//! ```no_run
//! use axum::{Router, handler::Handler, routing::post};
//! use surety::web::guard::{RequireAcr, RequirePermission};
//!
//! async fn transfer() -> &'static str { "ok" }
//! let app: Router = Router::new().route(
//!     "/transfers",
//!     post(transfer.layer(RequireAcr::new("urn:surety:acr:verified").max_age(900))
//!         .layer(RequirePermission("transfers:write"))),
//! );
//! ```

use std::sync::Arc;

use serde_json::Value;
use tower::Layer;

use super::{GuardError, Principal, Required, Requirement, Scheme};
use crate::accounts::assurance::ladder;
use crate::clock::{SharedClock, SystemClock};

/// Requires `acr` (and, with [`RequireAcr::max_age`], an `auth_time` within that many
/// seconds) of the [`Principal`] a guard layer put in the request.
#[derive(Clone)]
pub struct RequireAcr {
    acr: &'static str,
    max_age: Option<i64>,
    clock: SharedClock,
}

impl RequireAcr {
    pub fn new(acr: &'static str) -> Self {
        Self {
            acr,
            max_age: None,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn max_age(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// The clock `auth_time` is judged by (tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

impl Requirement for RequireAcr {
    /// Met by a bearer token at `acr` whose `auth_time` is recent enough; the refusal
    /// names what is missing.
    fn check(&self, p: &Principal) -> Result<(), GuardError> {
        let refuse = |d: &str| GuardError::InsufficientUserAuthentication {
            acr_values: self.acr.to_owned(),
            max_age: self.max_age,
            description: d.to_owned(),
        };
        if !matches!(p.scheme, Scheme::Bearer | Scheme::Dpop) {
            return Err(refuse("this request needs a signed-in user"));
        }
        let have = p.claims.get("acr").and_then(Value::as_str).unwrap_or("");
        if have != self.acr && !ladder().acr_meets(have, self.acr) {
            return Err(refuse(
                "this request needs a higher level of user authentication",
            ));
        }
        if let Some(max) = self.max_age {
            let fresh = p
                .claims
                .get("auth_time")
                .and_then(Value::as_i64)
                .is_some_and(|t| self.clock.now() - t <= max);
            if !fresh {
                return Err(refuse(
                    "this request needs a more recent user authentication",
                ));
            }
        }
        Ok(())
    }
}

impl<S> Layer<S> for RequireAcr {
    type Service = Required<S, RequireAcr>;
    fn layer(&self, inner: S) -> Self::Service {
        Required {
            inner,
            need: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use serde_json::json;

    use super::*;
    use crate::clock::FixedClock;

    const VERIFIED: &str = "urn:surety:acr:verified";

    fn bearer(claims: Value) -> Principal {
        Principal::from_claims(claims.as_object().cloned().unwrap())
    }

    #[test]
    fn acr_and_freshness_are_both_required() {
        let need = RequireAcr::new(VERIFIED)
            .max_age(600)
            .clock(Arc::new(FixedClock::at(10_000)));
        assert!(
            need.check(&bearer(json!({"acr": VERIFIED, "auth_time": 9_500})))
                .is_ok()
        );
        for claims in [
            json!({"acr": "urn:surety:acr:password", "auth_time": 9_900}),
            json!({"acr": VERIFIED, "auth_time": 9_000}),
            json!({"acr": VERIFIED}),
            json!({"auth_time": 9_900}),
        ] {
            assert!(need.check(&bearer(claims.clone())).is_err(), "{claims}");
        }
        // A stronger level of the ladder meets it.
        assert!(
            need.check(&bearer(
                json!({"acr": "urn:surety:acr:verified:phishing-resistant", "auth_time": 9_900})
            ))
            .is_ok()
        );
        assert!(
            need.check(&bearer(
                json!({"acr": "urn:surety:acr:mfa", "auth_time": 9_900})
            ))
            .is_err()
        );
        let basic = Principal {
            scheme: Scheme::Basic,
            ..bearer(json!({"acr": VERIFIED, "auth_time": 9_900}))
        };
        assert!(need.check(&basic).is_err());
        assert!(
            RequireAcr::new(VERIFIED)
                .check(&bearer(json!({"acr": VERIFIED})))
                .is_ok()
        );
    }

    #[test]
    fn the_refusal_is_an_rfc_9470_challenge() {
        let need = RequireAcr::new(VERIFIED).max_age(600);
        let r = need
            .check(&bearer(json!({"acr": "urn:surety:acr:password"})))
            .unwrap_err()
            .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let ch = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert_eq!(
            ch,
            "Bearer error=\"insufficient_user_authentication\", error_description=\"this request needs a higher level of user authentication\", acr_values=\"urn:surety:acr:verified\", max_age=600"
        );
    }
}
