//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn both_metadata_documents_describe_this_server() {
    let srv = TestServer::start().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let v: Value = srv
            .api
            .get(srv.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["issuer"], srv.base);
        assert_eq!(v["token_endpoint"], srv.url("/token"));
        assert_eq!(
            v["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(v["response_types_supported"], serde_json::json!(["code"]));
        assert!(
            v["id_token_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&"RS256".into())
        );
        assert_eq!(v["authorization_response_iss_parameter_supported"], true);
        let grants = v["grant_types_supported"].as_array().unwrap();
        for g in ["authorization_code", "refresh_token", "client_credentials"] {
            assert!(grants.contains(&g.into()), "{g} missing");
        }
        // Scopes as issued: OIDC's and the permission registry, never internal ones.
        let scopes = v["scopes_supported"].as_array().unwrap();
        for s in ["openid", "email", "offline_access", "read", "messages:send"] {
            assert!(scopes.contains(&s.into()), "{s} missing");
        }
        for s in ["verify", "partner:api", "surety:impersonate"] {
            assert!(!scopes.contains(&s.into()), "{s} advertised");
        }
        assert_eq!(v["resource_indicators_supported"], true);
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn jwks_publishes_rs256_es256_and_eddsa_public_keys_only() {
    let srv = TestServer::start().await;
    let r = srv.api.get(srv.url("/jwks")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/jwk-set+json");
    let v: Value = r.json().await.unwrap();
    let keys = v["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    for a in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&a), "{a} missing");
    }
    for k in keys {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "private material published"
        );
        assert!(k["kid"].is_string());
    }
    srv.shutdown().await;
}
