//! Hostile bytes stop at the edge (house rule 6): a NUL or other
//! control character in the request path, a NUL in the query or in a form or JSON body
//! (raw, `%00` or `\u0000`), or a path that is not UTF-8 once decoded, is refused with
//! 400 `invalid_request` before any handler runs — so no identifier that a database
//! cannot store or compare (PostgreSQL refuses NUL in text) ever reaches one, on any
//! route. Free text may still hold newlines and tabs; identifiers are checked further
//! by the types they are parsed into.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn refused(desc: &'static str) -> Response {
    let body = json!({"error": "invalid_request", "error_description": desc});
    let mut r = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// A percent-encoded path holding a control character or invalid UTF-8.
fn bad_path(path: &str) -> bool {
    match percent_decode(path.as_bytes()) {
        Some(p) => p.chars().any(char::is_control),
        None => true,
    }
}

fn percent_decode(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether `bytes` hold a NUL as sent: raw, or encoded as the body type encodes it.
fn holds_nul(bytes: &[u8], json: bool) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    if json {
        bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
    } else {
        bytes.windows(3).any(|w| w == b"%00")
    }
}

/// The middleware; bodies are read within the body limit (already applied outside).
pub async fn refuse_hostile_bytes(req: Request, next: Next) -> Response {
    if bad_path(req.uri().path()) {
        return refused("the path holds a control character or is not UTF-8");
    }
    if req
        .uri()
        .query()
        .is_some_and(|q| holds_nul(q.as_bytes(), false))
    {
        return refused("the query holds a NUL character");
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = ct.starts_with("application/json") || ct.contains("+json");
    if !json && !ct.starts_with("application/x-www-form-urlencoded") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            let body = json!({"error": "invalid_request", "error_description": "the request body is too large"});
            return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
        }
    };
    if holds_nul(&bytes, json) {
        return refused("the body holds a NUL character");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bad_utf8_in_paths() {
        assert!(!bad_path("/admin/clients/abc%20def"));
        assert!(!bad_path(
            "/admin/resource-servers/https%3A%2F%2Fa.example%2F"
        ));
        for p in ["/admin/clients/a%00b", "/x/%0A", "/x/%FF%FE", "/x/%1b[31m"] {
            assert!(bad_path(p), "{p}");
        }
    }

    #[test]
    fn nul_in_form_and_json_bodies() {
        assert!(holds_nul(b"client_id=a%00b", false));
        assert!(holds_nul(b"a\0b", false));
        assert!(!holds_nul(b"scope=openid%20profile", false));
        assert!(holds_nul(br#"{"name":"a\u0000b"}"#, true));
        assert!(holds_nul(br#"{"name":"a\U0000b"}"#, true));
        assert!(!holds_nul(br#"{"name":"a\u00e9b"}"#, true));
    }
}
