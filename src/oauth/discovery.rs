//! Discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), derived from the
//! configuration, the registered grants and the routes that exist — never kept by hand.

use serde_json::{Value, json};

use super::authorize::claims::{TRUST_FRAMEWORK, VerifiedClaim};
use super::client_auth::AuthMethod;
use super::grants::device_code;
use super::provider::{Provider, paths};
use crate::config::RegistrationMode;
use crate::keys::{SIGNING_ALGS, VERIFY_ALGS};

pub fn metadata(p: &Provider) -> Value {
    let acrs: Vec<&str> = p.ext.authn.levels().all().collect();
    let verified: Vec<&str> = VerifiedClaim::ALL.iter().map(|c| c.as_str()).collect();
    let algs: Vec<&str> = SIGNING_ALGS.iter().map(|a| a.as_str()).collect();
    let client_algs: Vec<&str> = VERIFY_ALGS.iter().map(|a| a.as_str()).collect();
    let grant_types: Vec<&str> = p.grants.grant_types().collect();
    let device = grant_types.contains(&device_code::GRANT_TYPE);
    let mut m = json!({
        "issuer": p.issuer,
        "authorization_endpoint": p.url(paths::AUTHORIZE),
        "token_endpoint": p.url(paths::TOKEN),
        "userinfo_endpoint": p.url(paths::USERINFO),
        "jwks_uri": p.url(paths::JWKS),
        "introspection_endpoint": p.url(paths::INTROSPECT),
        "revocation_endpoint": p.url(paths::REVOKE),
        "pushed_authorization_request_endpoint": p.url(paths::PAR),
        "end_session_endpoint": p.url(paths::END_SESSION),
        "scopes_supported": p.scopes.supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": super::authorize::ResponseMode::SUPPORTED,
        "grant_types_supported": grant_types,
        // OpenID Connect Core §8: per client (`subject_type`), see `oauth::subject`.
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": AuthMethod::ALL,
        "token_endpoint_auth_signing_alg_values_supported": client_algs,
        "introspection_endpoint_auth_methods_supported": &AuthMethod::ALL[..3],
        "introspection_endpoint_auth_signing_alg_values_supported": client_algs,
        "revocation_endpoint_auth_methods_supported": AuthMethod::ALL,
        "revocation_endpoint_auth_signing_alg_values_supported": client_algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid", "name", "preferred_username", "email", "email_verified", "verified_claims"],
        "acr_values_supported": acrs,
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "claims_parameter_supported": true,
        "verified_claims_supported": true,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": ["electronic_record"],
        "electronic_records_supported": ["surety_entity_record"],
        "claims_in_verified_claims_supported": verified,
        // RFC 9101: request objects by value; `request_uri` only as PAR's reference.
        "request_parameter_supported": true,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "require_pushed_authorization_requests": p.settings.require_par,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        // RFC 8707 defines no metadata; this extension says `resource` is honoured
        // (registered resource servers; `invalid_target` otherwise).
        "resource_indicators_supported": true,
        // RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": super::dpop::ALGS.map(|a| a.as_str()),
    });
    if let Some(obj) = m.as_object_mut() {
        // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry `sid`.
        obj.insert("backchannel_logout_supported".into(), json!(true));
        obj.insert("backchannel_logout_session_supported".into(), json!(true));
        obj.insert(
            "request_object_signing_alg_values_supported".into(),
            json!(client_algs),
        );
    }
    if let Some(obj) = m.as_object_mut() {
        // RFC 8414 §2: only while clients may register themselves.
        if p.settings.registration != RegistrationMode::Off {
            obj.insert(
                "registration_endpoint".into(),
                json!(p.url(paths::REGISTER)),
            );
        }
        // draft-ietf-oauth-client-id-metadata-document: URL client ids are fetched.
        if p.settings.client_metadata_documents {
            obj.insert("client_id_metadata_document_supported".into(), json!(true));
        }
    }
    // RFC 8628 §4: only while the device grant is registered.
    if device && let Some(obj) = m.as_object_mut() {
        obj.insert(
            "device_authorization_endpoint".into(),
            json!(p.url(paths::DEVICE_AUTHORIZATION)),
        );
    }
    m
}
