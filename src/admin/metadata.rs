//! Client metadata as sent by clients themselves — to the registration endpoint (RFC 7591
//! §3.1) or in a client metadata document — rather than by an administrator. RFC 7591 §2:
//! "the authorization server MUST ignore any client metadata sent by the client that it
//! does not understand", so only the fields of [`ClientInput`] are read and the rest
//! dropped; the admin API stays strict (its unknown-field error names the field). What is
//! read then goes through the one set of rules, [`super::clients::validate`].

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::FieldError;
use super::clients::ClientInput;

/// The metadata fields Surety understands: the properties of [`ClientInput`], as its
/// OpenAPI schema lists them.
pub fn known_fields() -> &'static [String] {
    static FIELDS: LazyLock<Vec<String>> = LazyLock::new(|| {
        use utoipa::openapi::{RefOr, schema::Schema};
        match <ClientInput as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            _ => Vec::new(),
        }
    });
    &FIELDS
}

/// Reads the metadata Surety understands from `body`, ignoring every other member; a
/// member of the wrong type (`redirect_uris` not an array of strings…) is refused,
/// naming it (`invalid_redirect_uri` for the redirect URIs, `invalid_client_metadata`
/// otherwise).
pub fn read_ignoring_unknown(body: &Map<String, Value>) -> Result<ClientInput, FieldError> {
    let known: Map<String, Value> = known_fields()
        .iter()
        .filter_map(|f| body.get(f.as_str()).map(|v| (f.clone(), v.clone())))
        .collect();
    serde_json::from_value(Value::Object(known.clone())).map_err(|_| {
        let fits =
            |f: &str, v: &Value| serde_json::from_value::<ClientInput>(json!({ f: v })).is_ok();
        let field = known_fields()
            .iter()
            .find(|f| known.get(f.as_str()).is_some_and(|v| !fits(f, v)))
            .map_or("metadata", String::as_str);
        FieldError::new(field, "has the wrong type")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_field_is_known_and_nothing_else() {
        let fields = known_fields();
        for f in [
            "client_name",
            "redirect_uris",
            "token_endpoint_auth_method",
            "jwks_uri",
        ] {
            assert!(fields.iter().any(|k| k == f), "{f}");
        }
        // Every field ClientInput serializes is one the schema lists.
        let all = serde_json::to_value(ClientInput::default()).unwrap();
        let mut serialized: Vec<&String> = all.as_object().unwrap().keys().collect();
        serialized.sort();
        let mut listed: Vec<&String> = fields.iter().collect();
        listed.sort();
        assert_eq!(serialized, listed);
    }

    #[test]
    fn unknown_members_are_dropped_and_bad_types_named() {
        let body = json!({
            "redirect_uris": ["https://rp.example/cb"],
            "logo_uri": "https://rp.example/logo.png",
            "x_vendor": {"deep": [1, 2]},
            "client_name": null,
        });
        let input = read_ignoring_unknown(body.as_object().unwrap()).unwrap();
        assert_eq!(input.redirect_uris, ["https://rp.example/cb"]);
        assert_eq!(input.client_name, None);
        let bad = json!({"redirect_uris": "https://rp.example/cb", "scope": "openid"});
        let e = read_ignoring_unknown(bad.as_object().unwrap()).unwrap_err();
        assert_eq!((e.field, e.code), ("redirect_uris", "invalid_redirect_uri"));
        let bad = json!({"grant_types": [1]});
        let e = read_ignoring_unknown(bad.as_object().unwrap()).unwrap_err();
        assert_eq!(
            (e.field, e.code),
            ("grant_types", "invalid_client_metadata")
        );
    }
}
