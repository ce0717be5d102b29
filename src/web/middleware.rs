//! Cross-cutting layers: request ids on every log line, metrics by route and status,
//! security headers on every response, and a bound on the request line.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// Longest request URI accepted (bytes).
const MAX_URI: usize = 8 * 1024;
/// Largest total size of request headers accepted (bytes).
const MAX_HEADERS: usize = 16 * 1024;

/// Gives each request an id (`X-Request-Id`, generated here, never taken from outside)
/// and a tracing span carrying it.
pub async fn request_id(req: Request, next: Next) -> Response {
    if req.uri().to_string().len() > MAX_URI {
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
    let id = crate::clock::random_hex16();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Runs the request to completion on its own task, so a client that hangs up cannot
/// cancel a handler half-way through a database transaction or a single-use consumption
/// (a dropped SQLite transaction would otherwise keep the write lock on an idle pooled
/// connection and stall every later writer).
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Counts requests by route and status and records latency.
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let elapsed = start.elapsed().as_secs_f64();
    tracing::debug!(status = %status, elapsed_ms = elapsed * 1000.0, "request done");
    metrics::counter!("surety_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("surety_http_request_duration_seconds", "route" => route).record(elapsed);
    resp
}

/// `Content-Security-Policy`, `X-Content-Type-Options`, `Referrer-Policy` on every
/// response; pages refuse to be framed, unless a handler set its own CSP whose
/// `frame-ancestors` allows some origins (the embeddable account portal): then no
/// `X-Frame-Options`, which has no allow-list and would override it in old browsers.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
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
    resp
}

/// Whether the response's CSP has a `frame-ancestors` directive other than `'none'`.
fn allows_framing(h: &axum::http::HeaderMap) -> bool {
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
}
