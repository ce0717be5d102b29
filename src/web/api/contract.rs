//! What every operation of every OpenAPI document can answer, added in one place before
//! a document is served.
//!
//! The layers in front of the handlers answer for every route alike: the hostile-bytes
//! check ([`crate::web::hostile`]) and the JSON rejections turn malformed input into 400
//! `invalid_request`, the router answers 405 for a method it does not route, the body
//! limit 413, a body of the wrong type 415; an authenticated API answers 401 without a
//! valid credential, a rate-limited one 429, and any API 503 `temporarily_unavailable`
//! when its storage is down. [`complete`] adds those responses (with the document's own
//! error schema) to every operation that does not already describe them, and describes
//! the input the edge refuses: a control character in a path parameter, a NUL in a
//! query parameter or anywhere in a body string.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// Which responses, beyond the always-present ones, a document's operations can give.
pub struct Contract {
    /// The component schema of the document's error body (`error`, `error_description`).
    pub error_schema: &'static str,
    /// The security scheme to declare when the document has none yet: its name and HTTP
    /// scheme (`bearer`, `basic`). With a scheme, every operation can answer 401.
    pub auth: Option<(&'static str, &'static str)>,
    /// Whether a request can be refused with 429 (rate limits on authentication or use).
    pub rate_limited: bool,
    /// Rules across fields that a component schema's own properties cannot state: each
    /// `(schema name, rules)` adds the JSON Schema `rules` (an array) to that
    /// component's `allOf`.
    pub rules: &'static [SchemaRules],
}

/// A component schema's name and the JSON Schema rules (an array) to add to it.
pub type SchemaRules = (&'static str, fn() -> Value);

/// A path parameter: anything but control characters (refused by the hostile-bytes check).
pub const PATH_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]+$";
/// A query parameter or body string: anything but NUL (refused by the hostile-bytes check).
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

/// A document built once, on first request, and served from then on.
pub fn served(
    cell: &'static OnceLock<Value>,
    build: fn() -> utoipa::openapi::OpenApi,
    c: &Contract,
) -> &'static Value {
    cell.get_or_init(|| complete(build(), c))
}

/// The document as served: `doc` with the shared responses and input rules added.
pub fn complete(doc: utoipa::openapi::OpenApi, c: &Contract) -> Value {
    let Ok(mut doc) = serde_json::to_value(doc) else {
        return Value::Null;
    };
    let schema_ref = json!({ "$ref": format!("#/components/schemas/{}", c.error_schema) });
    if !doc.get("components").is_some_and(Value::is_object) {
        doc["components"] = json!({});
    }
    if let Some((name, scheme)) = c.auth {
        let schemes = &mut doc["components"]["securitySchemes"];
        if schemes.as_object().is_none_or(Map::is_empty) {
            *schemes = json!({ name: { "type": "http", "scheme": scheme } });
        }
    }
    let scheme_names: Vec<String> = doc["components"]
        .get("securitySchemes")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let authenticated = !scheme_names.is_empty();
    if authenticated && doc.get("security").is_none_or(Value::is_null) {
        // Any one of the schemes is enough.
        doc["security"] = scheme_names.iter().map(|n| json!({ n: [] })).collect();
    }

    let mut shared: Vec<(&str, &str)> = vec![
        (
            "400",
            "invalid_request: the request is malformed (a control character in the path, a NUL in the query or body, a body that is not the documented JSON, or a field that breaks its rules)",
        ),
        ("405", "invalid_request: this method is not allowed here"),
        ("413", "invalid_request: the request body is too large"),
        (
            "415",
            "invalid_request: the body's Content-Type is not accepted here",
        ),
        (
            "503",
            "temporarily_unavailable: storage or the shared cache is down; retry later",
        ),
    ];
    if authenticated {
        shared.push(("401", "invalid_token: a valid credential is required"));
    }
    if c.rate_limited {
        shared.push(("429", "rate_limited: too many requests; see Retry-After"));
    }

    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            if let Some(params) = item.get_mut("parameters") {
                constrain_parameters(params);
            }
            for (method, op) in item.iter_mut() {
                if !matches!(
                    method.as_str(),
                    "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace"
                ) {
                    continue;
                }
                if let Some(params) = op.get_mut("parameters") {
                    constrain_parameters(params);
                }
                if let Some(body) = op.get_mut("requestBody") {
                    no_nul_strings(body);
                }
                if !op.get("responses").is_some_and(Value::is_object) {
                    op["responses"] = json!({});
                }
                let Some(responses) = op["responses"].as_object_mut() else {
                    continue;
                };
                // OpenAPI 3.1 requires a description on every response; utoipa 6 omits
                // an empty one (it wrote `""` before).
                for r in responses.values_mut().filter_map(Value::as_object_mut) {
                    if !r.contains_key("$ref") && !r.contains_key("description") {
                        r.insert("description".into(), json!(""));
                    }
                }
                for (status, description) in &shared {
                    responses.entry(*status).or_insert_with(|| {
                        json!({
                            "description": description,
                            "content": { "application/json": { "schema": schema_ref.clone() } }
                        })
                    });
                }
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        no_nul_strings(schemas);
        for (name, rules) in c.rules {
            if let Some(schema) = schemas.get_mut(*name) {
                let own = schema.take();
                let mut all = vec![own];
                all.extend(rules().as_array().into_iter().flatten().cloned());
                *schema = json!({ "allOf": all });
            }
        }
    }
    doc
}

fn constrain_parameters(params: &mut Value) {
    let Some(params) = params.as_array_mut() else {
        return;
    };
    for p in params {
        let pattern = match p.get("in").and_then(Value::as_str) {
            Some("path") => PATH_PATTERN,
            Some("query") => TEXT_PATTERN,
            _ => continue,
        };
        if let Some(schema) = p.get_mut("schema") {
            if is_string(schema) && schema.get("pattern").is_none() {
                schema["pattern"] = json!(pattern);
            } else {
                no_nul_strings(schema);
            }
        }
    }
}

fn is_string(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// Every free string schema under `v` (no pattern, enum or const of its own) gets
/// [`TEXT_PATTERN`]: the server refuses a NUL in any body.
fn no_nul_strings(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let free = is_string(&Value::Object(m.clone()))
                && !m.contains_key("pattern")
                && !m.contains_key("enum")
                && !m.contains_key("const");
            if free {
                m.insert("pattern".into(), json!(TEXT_PATTERN));
            }
            for (k, child) in m.iter_mut() {
                // Examples and defaults are values, not schemas.
                if !matches!(k.as_str(), "example" | "examples" | "default" | "enum") {
                    no_nul_strings(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(no_nul_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_gets_the_shared_responses_and_path_rules() {
        let doc = complete(
            <crate::web::api::partner::PartnerApi as utoipa::OpenApi>::openapi(),
            &crate::web::api::partner::CONTRACT,
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["partner_token"]["scheme"],
            "bearer"
        );
        let ops = doc["paths"].as_object().unwrap();
        assert!(!ops.is_empty());
        for item in ops.values() {
            for (m, op) in item.as_object().unwrap() {
                if m == "parameters" {
                    continue;
                }
                for s in ["400", "401", "405", "413", "415", "503"] {
                    assert!(op["responses"].get(s).is_some(), "{m} lacks {s}");
                }
                assert!(op["responses"].get("429").is_none());
                for (status, r) in op["responses"].as_object().unwrap() {
                    assert!(
                        r["description"].is_string(),
                        "{m} {status} lacks a description"
                    );
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] == "path" {
                        assert_eq!(p["schema"]["pattern"], PATH_PATTERN);
                    }
                }
            }
        }
    }
}
