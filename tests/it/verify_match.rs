//! The Verification API's matching rule as the README states it: a street counts as one
//! element when the city or the postal code supplied agrees with the record's, and either
//! one alone finds the candidate.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestServer, all_backends};
use crate::verify_api::{START, call, seed};
use crate::verify_rp::rp;

#[tokio::test]
async fn street_with_city_alone_counts_like_street_with_postal() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        seed(&srv, &[]).await;
        let shop = rp(&srv, "Shop").await;
        let with_city = json!({"name": "Jane Smith", "street": "123 N Main St",
            "city": "los angeles", "phone": "213-555-0100"});
        let with_postal = json!({"name": "Jane Smith", "street": "123 N Main St",
            "postal": "90012", "phone": "213-555-0100"});
        for body in [&with_city, &with_postal] {
            let (status, s) = call(&srv, &shop, START, body).await;
            assert_eq!(status, StatusCode::CREATED, "{s}");
            assert_eq!(
                (s["tier"].as_str(), s["step"].as_str()),
                (Some("definite"), Some("questions")),
                "{body}: {s}"
            );
        }
        // Name and street supported by the city only: two elements, found by the street.
        let two = json!({"name": "Jane Smith", "street": "123 North Main Street",
            "city": "Los Angeles"});
        let (_, s) = call(&srv, &shop, START, &two).await;
        assert_eq!(s["tier"], "probable", "{s}");
        // The wrong city supports nothing.
        let elsewhere = json!({"name": "Jane Smith", "street": "123 N Main St",
            "city": "Pasadena"});
        let (_, s) = call(&srv, &shop, START, &elsewhere).await;
        assert_eq!(s["tier"], "none", "{s}");
        srv.shutdown().await;
    }
}
