//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a URL
//! client id served by a small local document server (loopback allowed by the test
//! setting) runs the code flow through `/authorize` and `/token`, with the consent screen
//! showing its origin and the document fetched once while its `Cache-Control` allows;
//! a document naming another client id, too large, too slow or not JSON is refused; with
//! the feature off a URL is an unknown client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const CB: &str = "http://127.0.0.1:9/cb";

/// A document server: what it serves under each name, and how often it was asked.
struct Documents {
    base: String,
    hits: Arc<AtomicUsize>,
}

async fn serve_document(
    State((base, hits)): State<(String, Arc<AtomicUsize>)>,
    Path(name): Path<String>,
) -> axum::response::Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let me = format!("{base}/{name}");
    let doc = |client_id: &str| {
        json!({"client_id": client_id, "client_name": "MCP Inspector", "redirect_uris": [CB],
               "grant_types": ["authorization_code", "refresh_token"],
               "token_endpoint_auth_method": "none", "logo_uri": "https://example.com/l.png"})
        .to_string()
    };
    let json = [(header::CONTENT_TYPE, "application/json")];
    match name.as_str() {
        "client.json" => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "max-age=60"),
            ],
            doc(&me),
        )
            .into_response(),
        "no-store.json" => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            doc(&me),
        )
            .into_response(),
        "mismatch.json" => (json, doc("https://elsewhere.example/client.json")).into_response(),
        "secret.json" => {
            let mut d: Value = serde_json::from_str(&doc(&me)).unwrap();
            d["token_endpoint_auth_method"] = json!("client_secret_basic");
            (json, d.to_string()).into_response()
        }
        "big.json" => {
            let mut d: Value = serde_json::from_str(&doc(&me)).unwrap();
            d["padding"] = json!("x".repeat(64 * 1024));
            (json, d.to_string()).into_response()
        }
        "slow.json" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (json, doc(&me)).into_response()
        }
        "page.json" => ([(header::CONTENT_TYPE, "text/html")], doc(&me)).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Documents {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route("/{name}", axum::routing::get(serve_document))
            .with_state((base.clone(), hits.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, hits }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn documents_on(backend: &Backend) -> surety::config::Settings {
    let mut s = settings_for(backend);
    s.client_metadata_documents = true;
    s.fetch_allow_loopback = true;
    s.client_metadata_document_timeout_ms = 500;
    s
}

/// `/authorize` for a URL client: the first answer (a redirect, or an error page).
async fn start(srv: &TestServer, client_id: &str) -> reqwest::Response {
    let (url, _) = authorize_url(srv, client_id, &[]);
    srv.browser.get(url).send().await.unwrap()
}

#[tokio::test]
async fn a_url_client_id_runs_the_code_flow_with_its_document() {
    let docs = Documents::start().await;
    for backend in all_backends().await {
        let srv = TestServer::start_with(documents_on(&backend)).await;
        srv.user("alice").await;
        let d: Value = srv
            .api
            .get(srv.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["client_id_metadata_document_supported"], true);
        let id = docs.url("client.json");
        let before = docs.hits();
        let (url, verifier) = authorize_url(&srv, &id, &[]);
        // Login, then the consent screen names the document's host.
        let r = srv.browser.get(&url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.text().await.unwrap());
        let login = srv.url(&location(&r));
        let page = srv
            .browser
            .get(&login)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = srv
            .browser
            .post(srv.url("/login"))
            .form(&[
                ("tx", hidden(&page, "tx").as_str()),
                ("csrf", &hidden(&page, "csrf")),
                ("username", "alice"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let mut next = location(&r);
        while next.starts_with("/authorize") {
            next = location(&srv.browser.get(srv.url(&next)).send().await.unwrap());
        }
        assert!(next.starts_with("/consent"), "{next}");
        let consent = srv
            .browser
            .get(srv.url(&next))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(consent.contains("MCP Inspector"));
        let host = docs.base.trim_start_matches("http://");
        assert!(
            consent.contains(&format!("published at <strong>{host}</strong>")),
            "{consent}"
        );
        let r = srv
            .browser
            .post(srv.url("/consent"))
            .form(&[
                ("tx", hidden(&consent, "tx").as_str()),
                ("csrf", &hidden(&consent, "csrf")),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        let cb = location(&r);
        let code = query_param(&cb, "code").expect("code");
        let r = srv
            .api
            .post(srv.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", &verifier),
                ("client_id", &id),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert!(t["id_token"].is_string() && t["refresh_token"].is_string());
        assert_eq!(
            docs.hits() - before,
            1,
            "max-age=60: fetched once for the whole flow"
        );
        // A public client: it refreshes with its client_id alone.
        let r = srv
            .api
            .post(srv.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", &id),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn documents_are_cached_only_as_their_headers_allow() {
    let docs = Documents::start().await;
    let srv = TestServer::start_with(documents_on(&Backend::Embedded)).await;
    let before = docs.hits();
    for _ in 0..2 {
        assert!(
            start(&srv, &docs.url("no-store.json"))
                .await
                .status()
                .is_redirection()
        );
    }
    assert_eq!(docs.hits() - before, 2, "no-store: fetched each time");
    srv.shutdown().await;
}

#[tokio::test]
async fn unusable_documents_make_unknown_clients() {
    let docs = Documents::start().await;
    let srv = TestServer::start_with(documents_on(&Backend::Embedded)).await;
    for name in [
        "mismatch.json",
        "secret.json",
        "big.json",
        "slow.json",
        "page.json",
        "missing.json",
    ] {
        let r = start(&srv, &docs.url(name)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(r.text().await.unwrap().contains("unknown client"), "{name}");
    }
    // Nor can such a client authenticate at the token endpoint.
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", &docs.url("mismatch.json")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    srv.shutdown().await;

    // Without the test setting, a loopback (or any private) address is never fetched.
    let mut s = documents_on(&Backend::Embedded);
    s.fetch_allow_loopback = false;
    let srv = TestServer::start_with(s).await;
    let before = docs.hits();
    let https_loopback = docs.url("client.json").replace("http://", "https://");
    // A name that resolves to loopback only: the resolver leaves no address to dial.
    let by_name = docs
        .url("client.json")
        .replace("http://127.0.0.1", "https://localhost");
    for id in [
        docs.url("client.json"),
        https_loopback,
        by_name,
        "https://127.0.0.1/client.json".into(),
    ] {
        let r = start(&srv, &id).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{id}");
    }
    assert_eq!(docs.hits(), before);
    srv.shutdown().await;
}

#[tokio::test]
async fn with_documents_off_a_url_is_an_unknown_client() {
    let docs = Documents::start().await;
    let mut s = settings_for(&Backend::Embedded);
    s.fetch_allow_loopback = true;
    let srv = TestServer::start_with(s).await;
    let d: Value = srv
        .api
        .get(srv.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(d.get("client_id_metadata_document_supported").is_none());
    let r = start(&srv, &docs.url("client.json")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("unknown client"));
    assert_eq!(docs.hits(), 0);
    srv.shutdown().await;
}
