//! How client metadata ([`super::clients::ClientInput`]) is described in the OpenAPI
//! document beyond what its fields say: the grant types and response types this server
//! implements, and the rules across fields (RFC 7591 §2: keys and authentication method)
//! a JSON Schema can state.

use serde_json::{Value, json};

/// One of the server's `acr` values (`accounts::assurance`), in the OpenAPI document: a
/// pattern rather than an enumeration (the client schema's expansion budget, see
/// [`key_rule`]).
pub struct AcrName;

impl utoipa::PartialSchema for AcrName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(
                "^urn:surety:acr:(password|mfa|phishing-resistant|verified|verified:mfa|verified:phishing-resistant)$",
            ))
            .into()
    }
}
impl utoipa::ToSchema for AcrName {}

/// A grant type this server implements (in the OpenAPI document only).
pub struct GrantTypeName;

impl utoipa::PartialSchema for GrantTypeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                crate::oauth::grants::token_exchange::GRANT_TYPE,
                crate::oauth::grants::JWT_BEARER,
                crate::oauth::grants::device_code::GRANT_TYPE,
            ]))
            .into()
    }
}
impl utoipa::ToSchema for GrantTypeName {}

/// The one response type this server implements (in the OpenAPI document only).
pub struct CodeResponseType;

impl utoipa::PartialSchema for CodeResponseType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["code"]))
            .into()
    }
}
impl utoipa::ToSchema for CodeResponseType {}

/// The rules of [`validate`] across fields, as JSON Schema for the OpenAPI document
/// (each property's own rule is on the property).
pub fn schema_rules() -> Value {
    let te = crate::oauth::grants::token_exchange::GRANT_TYPE;
    let grants_hold = |g: &str| {
        json!({"required": ["grant_types"],
               "properties": {"grant_types": {"type": "array", "contains": {"const": g}}}})
    };
    let given = |f: &str, t: &str| json!({"required": [f], "properties": {f: {"type": t}}});
    let absent = |f: &str| json!({"properties": {f: {"type": "null"}}});
    json!([
        // authorization_code, named or by default (grant_types absent or null), needs a
        // redirect URI and the code response type.
        {"if": {"anyOf": [
            absent("grant_types"),
            grants_hold("authorization_code")]},
         "then": {"required": ["redirect_uris"],
                  "properties": {"redirect_uris": {"minItems": 1},
                                 "response_types": {"minItems": 1}}}},
        key_rule(),
        {"if": given("token_exchange", "object"), "then": grants_hold(te)},
        super::client_profile::schema_rule(),
        // The pairwise rule (`client_subject`: one host across the redirect URIs, else a
        // `sector_identifier_uri`) is not stated: a schema cannot compare hosts, and the
        // branches left cannot afford a partial statement of it (see `key_rule`). The
        // `subject_type` description says it.
    ])
}

/// Keys and the public method: `jwks` or `jwks_uri`, never both; `private_key_jwt`
/// needs one of them; a public client (`none`) never holds `client_credentials`. One
/// rule of six cases (keys × public or not), not three rules: a generator expands the
/// schema's rules into every combination of their cases, and the contract test's
/// (schemathesis) gives up past a budget of intersections that ClientInput's twenty
/// fields and rules reach. Folding the public-client rule into this one is what made
/// room for `subject_type` and `sector_identifier_uri`; a new cross-field rule needs
/// room of its own (check that schemathesis still expands ClientInput).
fn key_rule() -> Value {
    let secret = json!(["client_secret_basic", "client_secret_post", null]);
    let keyed = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        null
    ]);
    let no_cc = json!({"items": {"not": {"const": "client_credentials"}}});
    let keys = [
        (
            json!({"type": "null"}),
            json!({"type": "null"}),
            None,
            secret,
        ),
        (
            json!({"type": "object"}),
            json!({"type": "null"}),
            Some("jwks"),
            keyed.clone(),
        ),
        (
            json!({"type": "null"}),
            json!({"type": "string"}),
            Some("jwks_uri"),
            keyed,
        ),
    ];
    let mut cases = Vec::new();
    for (jwks, jwks_uri, needed, methods) in keys {
        let mut confidential = json!({"properties": {
            "jwks": jwks, "jwks_uri": jwks_uri, "token_endpoint_auth_method": {"enum": methods}}});
        if let Some(f) = needed {
            confidential["required"] = json!([f]);
        }
        let public_needs: Vec<&str> = needed
            .into_iter()
            .chain(["token_endpoint_auth_method"])
            .collect();
        cases.push(confidential);
        cases.push(json!({"required": public_needs, "properties": {
            "jwks": jwks, "jwks_uri": jwks_uri, "token_endpoint_auth_method": {"const": "none"},
            "grant_types": no_cc}}));
    }
    json!({"anyOf": cases})
}
