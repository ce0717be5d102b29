//! Narrowing and revoking an app's authorization: tokens stop at once, the subaccount is
//! suspended, and the app's deauthorize callback is delivered, signed, through the outbox.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::apps::{consent_with, developer, redeem};
use crate::helpers::*;

/// Records deauthorize callbacks.
#[derive(Clone, Default)]
struct Receiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let got = r.got.clone();
    let app = axum::Router::new().route(
        "/deauth",
        axum::routing::post(move |h: axum::http::HeaderMap, body: String| {
            let got = got.clone();
            async move {
                got.lock().unwrap().push((h, body));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (r, format!("http://{addr}/deauth"))
}

pub(crate) async fn account_form(
    srv: &TestServer,
    action: &str,
    client_id: &str,
    extra: &[(&str, &str)],
) -> StatusCode {
    let page = srv
        .browser
        .get(srv.url("/account/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf), ("client_id", client_id)];
    form.extend_from_slice(extra);
    srv.browser
        .post(srv.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn narrowing_and_revoking_stop_tokens_and_call_the_deauthorize_callback() {
    let mut s = settings_for(&default_backend().await);
    s.outbox_poll_interval = 50;
    let srv = TestServer::start_with(s).await;
    srv.user("alice").await;
    let dev = developer(&srv, "Dialer Inc").await;
    let (rx, deauth_url) = receiver().await;
    let body = json!({"display_name": "Dialer Pro", "redirect_uris": ["http://127.0.0.1:9/cb"], "deauthorize_uri": deauth_url,
        "permissions": [{"name": "read"}, {"name": "messages:send"}]});
    let v: Value = srv
        .api
        .post(srv.url("/developer/v1/apps"))
        .basic_auth(&dev.0, Some(&dev.1))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    );
    let webhook_secret = v["webhook_secret"].as_str().unwrap().to_owned();
    let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", "openid read messages:send")]);
    let (_, cb) = consent_with(&srv, &url, &[]).await;
    let sid = query_param(&cb, "account_sid").unwrap();
    let t = redeem(&srv, &app, &cb, &verifier).await;
    let introspect = |token: String| {
        let (api, url, app) = (srv.api.clone(), srv.url("/introspect"), app.clone());
        async move {
            api.post(url)
                .basic_auth(&app.0, Some(&app.1))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["active"]
                .clone()
        }
    };
    assert_eq!(
        introspect(t["access_token"].as_str().unwrap().into()).await,
        true
    );
    let page = srv
        .browser
        .get(srv.url("/account/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Dialer Pro") && page.contains("messages:send"),
        "{page}"
    );

    // Narrow to `read`: the wider tokens stop at once; the app re-authorizes for less.
    assert_eq!(
        account_form(&srv, "/account/apps/narrow", &app.0, &[("perm:read", "on")]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        introspect(t["access_token"].as_str().unwrap().into()).await,
        false
    );
    let (url, verifier) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read messages:send"), ("prompt", "none")],
    );
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("consent_required"),
        "never silently widened"
    );
    let (url, verifier2) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read"), ("prompt", "none")],
    );
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    let t = redeem(&srv, &app, &loc, &verifier2).await;
    assert_eq!(t["scope"], "openid read");
    let _ = verifier;

    // Revoke: tokens and refresh tokens die, the subaccount is suspended, the callback comes.
    assert_eq!(
        account_form(&srv, "/account/apps/revoke", &app.0, &[]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        introspect(t["access_token"].as_str().unwrap().into()).await,
        false
    );
    let r = token_request(
        &srv,
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        srv.provider()
            .stores
            .accounts
            .get_account(&sid)
            .await
            .unwrap()
            .status
            .as_str(),
        "suspended"
    );
    let (headers, body) = eventually("the deauthorize callback", || async {
        rx.got.lock().unwrap().first().cloned()
    })
    .await;
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(h("surety-event-id").starts_with("EV"));
    let now = surety::clock::Clock::now(&surety::clock::SystemClock);
    surety::outbox::signing::verify(
        webhook_secret.as_bytes(),
        &h("surety-timestamp"),
        &h("surety-signature"),
        body.as_bytes(),
        now,
    )
    .expect("signature verifies");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (payload["type"].as_str(), payload["account_sid"].as_str()),
        (Some("app.deauthorized"), Some(sid.as_str()))
    );

    // A later consent reactivates the same subaccount.
    let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", "openid read")]);
    let (_, cb) = consent_with(&srv, &url, &[]).await;
    assert_eq!(
        query_param(&cb, "account_sid").as_deref(),
        Some(sid.as_str())
    );
    redeem(&srv, &app, &cb, &verifier).await;
    assert_eq!(
        srv.provider()
            .stores
            .accounts
            .get_account(&sid)
            .await
            .unwrap()
            .status
            .as_str(),
        "active"
    );
    srv.shutdown().await;
}
