//! Introspection (RFC 7662), revocation (RFC 7009) and UserInfo bearer errors (RFC 6750).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn introspect(srv: &TestServer, c: &(String, String), token: &str) -> Value {
    let r = srv
        .api
        .post(srv.url("/introspect"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

#[tokio::test]
async fn introspection_reports_live_tokens_and_nothing_about_others() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let v = introspect(&srv, &c, t["access_token"].as_str().unwrap()).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], c.0.as_str());
    assert_eq!(v["scope"], "email openid profile");
    assert_eq!(v["iss"], srv.base);
    let v = introspect(&srv, &c, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(v["active"], true);
    for junk in ["not-a-token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        assert_eq!(
            introspect(&srv, &c, junk).await,
            serde_json::json!({"active": false})
        );
    }
    // Client authentication is required.
    let r = srv
        .api
        .post(srv.url("/introspect"))
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_family_and_access_tokens() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let (access, refresh) = (
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    );
    let r = srv
        .api
        .post(srv.url("/revoke"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        introspect(&srv, &c, access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&srv, &c, refresh).await,
        serde_json::json!({"active": false})
    );
    let r = token_request(
        &srv,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unknown tokens revoke "successfully" (RFC 7009 §2.2).
    let r = srv
        .api
        .post(srv.url("/revoke"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}

#[tokio::test]
async fn revoking_an_access_token_stops_it_at_once() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let t = tokens(&srv, &c, "alice").await;
    let access = t["access_token"].as_str().unwrap();
    let other = srv.web_client().await;
    // Another client cannot revoke it.
    srv.api
        .post(srv.url("/revoke"))
        .basic_auth(&other.0, Some(&other.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect(&srv, &c, access).await["active"], true);
    srv.api
        .post(srv.url("/revoke"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect(&srv, &c, access).await["active"], false);
    let r = srv
        .api
        .get(srv.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
}

#[tokio::test]
async fn userinfo_speaks_rfc6750() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    let r = srv.api.get(srv.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let r = srv
        .api
        .get(srv.url("/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let t = tokens(&srv, &c, "alice").await;
    let r = srv
        .api
        .post(srv.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["preferred_username"], "alice");
    // RFC 6750 §2.2: the token in a form body works; in both places at once it does not.
    let access = t["access_token"].as_str().unwrap();
    let r = srv
        .api
        .post(srv.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = srv
        .api
        .post(srv.url("/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    srv.shutdown().await;
}
