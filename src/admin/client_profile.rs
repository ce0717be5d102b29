//! Registration rules of the client metadata that shape a client's security (RFC 9101
//! §10.5 `request_object_signing_alg`, `require_signed_request_object`; RFC 9126 §6
//! `require_pushed_authorization_requests`; `surety_profile`): metadata contradicting the
//! FAPI 2.0 Security Profile (§5.3.2, §5.4.1) is refused field by field, as RFC 7591 §3.2.2
//! `invalid_client_metadata` would. What the profile then enforces: `oauth::fapi`.

use serde_json::{Value, json};

use super::FieldError;
use super::clients::ClientInput;
use crate::keys::jws::Alg;
use crate::store::SecurityProfile;

/// The algorithms a request object may be registered with.
const REQUEST_OBJECT_ALGS: [Alg; 4] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA];

/// Checks the security metadata of `input` (whose auth method is `method`).
pub fn check(input: &ClientInput, method: &str) -> Result<(), FieldError> {
    let ro_alg = input.request_object_signing_alg.as_deref().map(Alg::parse);
    if ro_alg.is_some_and(|a| !a.is_some_and(|a| REQUEST_OBJECT_ALGS.contains(&a))) {
        return Err(FieldError::new(
            "request_object_signing_alg",
            "use RS256, PS256, ES256 or EdDSA",
        ));
    }
    if input.surety_profile != Some(SecurityProfile::Fapi2Security) {
        return Ok(());
    }
    let fapi_alg = |a: Option<Alg>| a.is_some_and(|a| crate::oauth::fapi::ALGS.contains(&a));
    let refuse = |f: &'static str, m: &'static str| Err(FieldError::new(f, m));
    if method != "private_key_jwt" {
        return refuse(
            "token_endpoint_auth_method",
            "the fapi2-security profile needs private_key_jwt",
        );
    }
    if input.require_pushed_authorization_requests == Some(false) {
        return refuse(
            "require_pushed_authorization_requests",
            "the fapi2-security profile requires pushed authorization requests",
        );
    }
    if input.dpop_bound_access_tokens == Some(false) {
        return refuse(
            "dpop_bound_access_tokens",
            "the fapi2-security profile requires DPoP-bound access tokens",
        );
    }
    if ro_alg.is_some_and(|a| !fapi_alg(a)) {
        return refuse(
            "request_object_signing_alg",
            "the fapi2-security profile allows PS256, ES256 or EdDSA",
        );
    }
    if input
        .id_token_signed_response_alg
        .as_deref()
        .is_some_and(|a| !fapi_alg(Alg::parse(a)))
    {
        return refuse(
            "id_token_signed_response_alg",
            "the fapi2-security profile allows ES256 or EdDSA",
        );
    }
    Ok(())
}

/// [`check`]'s rule across fields, as JSON Schema (for the OpenAPI document).
pub fn schema_rule() -> Value {
    json!({
        "if": {"required": ["surety_profile"],
               "properties": {"surety_profile": {"const": "fapi2-security"}}},
        "then": {
            "required": ["token_endpoint_auth_method"],
            "properties": {
                "token_endpoint_auth_method": {"const": "private_key_jwt"},
                "require_pushed_authorization_requests": {"enum": [true, null]},
                "dpop_bound_access_tokens": {"enum": [true, null]},
                "request_object_signing_alg": {"enum": ["PS256", "ES256", "EdDSA", null]},
                "id_token_signed_response_alg": {"enum": ["ES256", "EdDSA", null]}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fapi() -> ClientInput {
        ClientInput {
            surety_profile: Some(SecurityProfile::Fapi2Security),
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..ClientInput::default()
        }
    }

    #[test]
    fn fapi_metadata_that_contradicts_the_profile_is_refused() {
        assert!(check(&fapi(), "private_key_jwt").is_ok());
        assert_eq!(
            check(&fapi(), "client_secret_basic").unwrap_err().field,
            "token_endpoint_auth_method"
        );
        let cases: Vec<(ClientInput, &str)> = vec![
            (
                ClientInput {
                    require_pushed_authorization_requests: Some(false),
                    ..fapi()
                },
                "require_pushed_authorization_requests",
            ),
            (
                ClientInput {
                    dpop_bound_access_tokens: Some(false),
                    ..fapi()
                },
                "dpop_bound_access_tokens",
            ),
            (
                ClientInput {
                    request_object_signing_alg: Some("RS256".into()),
                    ..fapi()
                },
                "request_object_signing_alg",
            ),
            (
                ClientInput {
                    id_token_signed_response_alg: Some("RS256".into()),
                    ..fapi()
                },
                "id_token_signed_response_alg",
            ),
        ];
        for (i, field) in cases {
            assert_eq!(check(&i, "private_key_jwt").unwrap_err().field, field);
        }
    }

    #[test]
    fn request_object_alg_is_one_surety_verifies() {
        let i = ClientInput {
            request_object_signing_alg: Some("none".into()),
            ..ClientInput::default()
        };
        assert!(check(&i, "client_secret_basic").is_err());
        let i = ClientInput {
            request_object_signing_alg: Some("RS256".into()),
            ..ClientInput::default()
        };
        assert!(check(&i, "client_secret_basic").is_ok());
    }
}
