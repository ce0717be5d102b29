//! Cross-cutting layers: request ids on every log line, metrics by route and status,
//! security headers on every response, and a bound on the request line.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// Longest request URI accepted (bytes).
const MAX_URI: usize = 8 * 1024;
/// Largest total size of request headers accepted (bytes).
const MAX_HEADERS: usize = 16 * 1024;

/// The outermost layer. Runs the request to completion on its own task, so a client that
/// hangs up cannot cancel a handler half-way through a database transaction or a
/// single-use consumption (a dropped SQLite transaction would otherwise keep the write lock
/// on an idle pooled connection and stall every later writer); inside that task, gives the
/// request an id (`X-Request-Id`, generated here, never taken from outside) and a tracing
/// span carrying it. One layer instead of two saves a boxed future and a service clone per
/// request.
pub async fn request_id(req: Request, next: Next) -> Response {
    match tokio::spawn(identify(req, next)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn identify(req: Request, next: Next) -> Response {
    if uri_len(req.uri()) > MAX_URI {
        return (StatusCode::URI_TOO_LONG, "request URI too long").into_response();
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if header_bytes > MAX_HEADERS {
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large",
        )
            .into_response();
    }
    let id = crate::clock::request_id();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Length of the URI as `Uri`'s `Display` writes it, without writing it.
fn uri_len(u: &axum::http::Uri) -> usize {
    u.scheme_str().map_or(0, |s| s.len() + 3)
        + u.authority().map_or(0, |a| a.as_str().len())
        + u.path().len()
        + u.query().map_or(0, |q| q.len() + 1)
}

/// Counts requests by route and status, records latency, and sets the security headers
/// (see [`security_headers`]) on the way out.
pub async fn observe(req: Request, next: Next) -> Response {
    let route: Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| Arc::from("unmatched"), |m| Arc::from(m.as_str()));
    let method = method_label(req.method());
    let start = Instant::now();
    let mut resp = next.run(req).await;
    security_headers(resp.headers_mut());
    let status = status_label(resp.status());
    let elapsed = start.elapsed().as_secs_f64();
    tracing::debug!(status = %status, elapsed_ms = elapsed * 1000.0, "request done");
    metrics::counter!("surety_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("surety_http_request_duration_seconds", "route" => route).record(elapsed);
    resp
}

/// The method as a metric label: the standard ones by name, any other `other` (a stranger
/// sending made-up methods must not mint a new time series each).
fn method_label(m: &Method) -> &'static str {
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(k, _)| k == m)
        .map_or("other", |(_, l)| *l)
}

/// The status code's three digits, from a table built once.
fn status_label(s: StatusCode) -> &'static str {
    static LABELS: LazyLock<Vec<String>> =
        LazyLock::new(|| (100u16..1000).map(|c| c.to_string()).collect());
    &LABELS[usize::from(s.as_u16() - 100)]
}

/// `Content-Security-Policy`, `X-Content-Type-Options`, `Referrer-Policy` on every
/// response; pages refuse to be framed, unless a handler set its own CSP whose
/// `frame-ancestors` allows some origins (the embeddable account portal): then no
/// `X-Frame-Options`, which has no allow-list and would override it in old browsers.
fn security_headers(h: &mut HeaderMap) {
    // Room for these four and the request id, so the map grows at most once.
    h.reserve(5);
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !allows_framing(h) {
        set(h, header::X_FRAME_OPTIONS, "DENY");
    }
}

/// Whether the response's CSP has a `frame-ancestors` directive other than `'none'`.
fn allows_framing(h: &HeaderMap) -> bool {
    h.get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|csp| csp.split(';'))
        .filter_map(|d| d.trim().strip_prefix("frame-ancestors"))
        .any(|sources| {
            let sources = sources.trim();
            !sources.is_empty() && !sources.eq_ignore_ascii_case("'none'")
        })
}

/// Framework rejections — a body over the limit (413), a method a route does not take
/// (405), a timeout (408), an unreadable JSON or form body (400/415/422) — come out of
/// axum and tower-http as plain text or an empty body. Every client of the protocol
/// endpoints and the JSON APIs gets the one JSON error shape instead (RFC 6749 §5.2:
/// `error`, `error_description`), with the status kept; HTML pages and JSON answers
/// pass untouched.
pub async fn json_rejections(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    if !status.is_client_error() {
        return r;
    }
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return r;
    }
    let (code, desc) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request", "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => ("invalid_request", "this method is not allowed here"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "invalid_request",
            "the body's Content-Type is not accepted here",
        ),
        StatusCode::REQUEST_TIMEOUT => ("invalid_request", "the request took too long"),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::UNAUTHORIZED => ("invalid_token", "authentication is required"),
        StatusCode::FORBIDDEN => ("access_denied", "this request is not allowed"),
        _ => ("invalid_request", "the request is malformed"),
    };
    let (mut parts, _) = r.into_parts();
    let body = serde_json::json!({"error": code, "error_description": desc});
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_frame_ancestors_allow_list_drops_x_frame_options() {
        let with = |csp: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(csp).unwrap(),
            );
            allows_framing(&h)
        };
        assert!(with(
            "default-src 'none'; frame-ancestors https://a.example"
        ));
        assert!(!with("default-src 'none'; frame-ancestors 'none'"));
        assert!(!with("default-src 'none'"));
        assert!(!allows_framing(&axum::http::HeaderMap::new()));
    }

    #[test]
    fn uri_len_matches_the_written_uri() {
        for u in [
            "/",
            "/token",
            "/authorize?client_id=a&scope=openid%20profile",
            "/?",
            "http://example.com/a?b=c",
            "https://example.com:8443",
            "example.com:443",
            "*",
        ] {
            let uri: axum::http::Uri = u.parse().unwrap();
            assert_eq!(uri_len(&uri), uri.to_string().len(), "{u}");
        }
    }

    #[test]
    fn labels_are_the_method_and_the_status_digits() {
        assert_eq!(method_label(&Method::POST), "POST");
        // A made-up method must not mint a time series of its own.
        for m in ["PURGE", "FOO1", "FOO2"] {
            let custom = Method::from_bytes(m.as_bytes()).unwrap();
            assert_eq!(method_label(&custom), "other");
        }
        for code in [100u16, 200, 404, 599, 999] {
            let s = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_label(s), code.to_string());
        }
    }
}
