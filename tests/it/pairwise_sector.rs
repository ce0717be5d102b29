//! `sector_identifier_uri` (OpenID Connect Core §8.1, Registration 1.0 §2): required of
//! a pairwise client whose redirect URIs span hosts; an https URL fetched at
//! registration, whose JSON array must list every redirect URI; its host is the sector.
//! Refusals are `invalid_client_metadata` naming the field. Fetching never reaches a
//! loopback address unless the server allows it (`fetch_allow_loopback`, set here so a
//! local document server can play the sector's host).

use axum::Json;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::pairwise::{CB_A, CB_B, id_sub, pairwise_rp, sign_in_at};

/// A sector document server on 127.0.0.1: `/ok` lists both redirect URIs, `/partial`
/// only one, `/object` is no array, `/big` is too large, anything else is 404.
async fn documents() -> String {
    let big: Vec<String> = (0..5000)
        .map(|i| format!("https://rp.example/cb/{i}"))
        .collect();
    let app = axum::Router::new()
        .route(
            "/ok",
            get(|| async { Json(json!([CB_A, CB_B, "https://other.example/cb"])) }),
        )
        .route("/partial", get(|| async { Json(json!([CB_B])) }))
        .route(
            "/object",
            get(|| async { Json(json!({"redirect_uris": [CB_A, CB_B]})) }),
        )
        .route("/big", get(move || async move { Json(json!(big)) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn register(srv: &TestServer, m: Value) -> reqwest::Response {
    srv.api
        .post(srv.url("/admin/clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&m)
        .send()
        .await
        .unwrap()
}

/// A pairwise client on both hosts, with `sector` if given.
fn spanning(sector: Option<&str>) -> Value {
    let mut m = json!({"redirect_uris": [CB_A, CB_B], "subject_type": "pairwise"});
    if let Some(s) = sector {
        m["sector_identifier_uri"] = json!(s);
    }
    m
}

/// The refusal's field and description, after checking it is `invalid_client_metadata`.
async fn refused(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client_metadata", "{v}");
    assert_eq!(v["field"], "sector_identifier_uri", "{v}");
    v["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_sector_identifier_uri_is_required_fetched_and_checked() {
    for backend in all_backends().await {
        let mut s = settings_for(&backend);
        s.fetch_allow_loopback = true;
        let srv = TestServer::start_with(s).await;
        let docs = documents().await;
        // Missing where Core requires it: two hosts, no sector.
        let why = refused(register(&srv, spanning(None)).await).await;
        assert!(why.contains("more than one host"), "{why}");
        for (path, says) in [
            (
                "/partial",
                "does not list the redirect URI http://127.0.0.1:9/cb",
            ),
            ("/object", "not a JSON array"),
            ("/big", "larger than"),
            ("/gone", "HTTP 404"),
        ] {
            let why = refused(register(&srv, spanning(Some(&format!("{docs}{path}")))).await).await;
            assert!(why.contains(says), "{path}: {why}");
        }
        for bad in [
            "ftp://127.0.0.1/ok",
            "https://sector.example/ids#frag",
            "not a url",
        ] {
            refused(register(&srv, spanning(Some(bad))).await).await;
        }
        // Valid: registered, shown back, and its sector is the document's host — the
        // host of CB_A, so it shares the sub of a client redirecting there.
        let ok = format!("{docs}/ok");
        let r = register(&srv, spanning(Some(&ok))).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (
                v["subject_type"].as_str(),
                v["sector_identifier_uri"].as_str()
            ),
            (Some("pairwise"), Some(ok.as_str()))
        );
        let sc = (
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().unwrap().to_owned(),
        );
        srv.user("alice").await;
        let a = pairwise_rp(&srv, CB_A, json!({})).await;
        let b = pairwise_rp(&srv, CB_B, json!({})).await;
        let via_b = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &sc, CB_B, &[]).await).await;
        let sub_a = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &a, CB_A, &[]).await).await;
        let sub_b = id_sub(&srv, &sign_in_at(&srv, &srv.browser, &b, CB_B, &[]).await).await;
        assert_eq!(
            via_b, sub_a,
            "sector 127.0.0.1, whichever redirect URI is used"
        );
        assert_ne!(via_b, sub_b);
        // The same rules on update: dropping the sector of a client on two hosts.
        let r = srv
            .api
            .put(srv.url(&format!("/admin/clients/{}", sc.0)))
            .bearer_auth(ADMIN_TOKEN)
            .json(&spanning(None))
            .send()
            .await
            .unwrap();
        refused(r).await;
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn without_the_test_setting_no_loopback_document_is_fetched() {
    let srv = TestServer::start().await;
    let docs = documents().await;
    let why = refused(register(&srv, spanning(Some(&format!("{docs}/ok")))).await).await;
    assert!(why.contains("may not be fetched"), "{why}");
    let why = refused(register(&srv, spanning(Some("https://10.0.0.7/ids.json"))).await).await;
    assert!(why.contains("may not be fetched"), "{why}");
    // A public client's `sector_identifier_uri` is checked too.
    let m = json!({"redirect_uris": [CB_A], "sector_identifier_uri": "https://192.168.0.1/x"});
    refused(register(&srv, m).await).await;
    // One host needs no sector document.
    let r = register(
        &srv,
        json!({"redirect_uris": [CB_A, "http://127.0.0.1:9/two"], "subject_type": "pairwise"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    srv.shutdown().await;
}
