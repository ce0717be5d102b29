//! Discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), derived from the
//! configuration, the registered grants and the routes that exist — never kept by hand.

use serde_json::{Value, json};

use super::client_auth::AuthMethod;
use super::provider::{Provider, paths};
use crate::accounts::session::ACR_PASSWORD;
use crate::keys::SIGNING_ALGS;

pub fn metadata(p: &Provider) -> Value {
    let algs: Vec<&str> = SIGNING_ALGS.iter().map(|a| a.as_str()).collect();
    let grant_types: Vec<&str> = p.grants.grant_types().collect();
    json!({
        "issuer": p.issuer,
        "authorization_endpoint": p.url(paths::AUTHORIZE),
        "token_endpoint": p.url(paths::TOKEN),
        "userinfo_endpoint": p.url(paths::USERINFO),
        "jwks_uri": p.url(paths::JWKS),
        "introspection_endpoint": p.url(paths::INTROSPECT),
        "revocation_endpoint": p.url(paths::REVOKE),
        "pushed_authorization_request_endpoint": p.url(paths::PAR),
        "end_session_endpoint": p.url(paths::END_SESSION),
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": AuthMethod::ALL,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": &AuthMethod::ALL[..3],
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint_auth_methods_supported": AuthMethod::ALL,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "name", "preferred_username", "email", "email_verified"],
        "acr_values_supported": [ACR_PASSWORD],
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "require_pushed_authorization_requests": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}
