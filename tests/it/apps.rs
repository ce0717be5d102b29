//! Developer apps and consent that yields scoped subaccount tokens: the developer API,
//! partial grants, the subaccount and its `account_sid` (callback, token response, access
//! token), upgrades that show only the additions, and nothing beyond the app's profile.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use crate::apps_revoke::account_form;
use crate::helpers::*;

/// A developer account (SID, auth token) made through the admin API.
pub(crate) async fn developer(srv: &TestServer, name: &str) -> (String, String) {
    let v: Value = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": name, "secret": "s".repeat(32)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = v["partner_id"].as_str().unwrap();
    let a: Value = srv
        .api
        .post(srv.url(&format!("/admin/partners/{pid}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        a["account_sid"].as_str().unwrap().to_owned(),
        a["auth_token"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn register_app(srv: &TestServer, dev: &(String, String)) -> (String, String) {
    let body = json!({
        "display_name": "Dialer Pro", "homepage": "https://dialer.example", "logo_url": "https://dialer.example/logo.png",
        "redirect_uris": ["http://127.0.0.1:9/cb"], "deauthorize_uri": "https://dialer.example/deauth",
        "permissions": [{"name": "read"}, {"name": "messages:send"}, {"name": "calls:write", "optional": true}, {"name": "callerids:all", "optional": true}],
        "usage_limits": {"max_monthly_api_calls": 1000}
    });
    let r = srv
        .api
        .post(srv.url("/developer/v1/apps"))
        .basic_auth(&dev.0, Some(&dev.1))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Drives login and a consent page on which only `ticked` optional permissions stay
/// ticked; returns the consent page text and the callback URL.
pub(crate) async fn consent_with(srv: &TestServer, url: &str, ticked: &[&str]) -> (String, String) {
    let mut next = url.to_owned();
    loop {
        let full = if next.starts_with('/') {
            srv.url(&next)
        } else {
            next.clone()
        };
        if !full.starts_with(&srv.base) {
            panic!("left Surety without a consent page: {full}");
        }
        let r = srv.browser.get(&full).send().await.unwrap();
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        let page = r.text().await.unwrap();
        let (tx, csrf) = (hidden(&page, "tx"), hidden(&page, "csrf"));
        if full.contains("/login") {
            let r = srv
                .browser
                .post(srv.url("/login"))
                .form(&[
                    ("tx", tx.as_str()),
                    ("csrf", &csrf),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap();
            next = location(&r);
            continue;
        }
        let mut form = vec![
            ("tx".to_owned(), tx),
            ("csrf".to_owned(), csrf),
            ("decision".to_owned(), "approve".to_owned()),
        ];
        for t in ticked {
            form.push((format!("perm:{t}"), "on".to_owned()));
        }
        let r = srv
            .browser
            .post(srv.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        return (page, location(&r));
    }
}

pub(crate) async fn redeem(
    srv: &TestServer,
    app: &(String, String),
    cb: &str,
    verifier: &str,
) -> Value {
    let code = query_param(cb, "code").expect("code");
    let r = token_request(
        srv,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn consent_to_part_of_a_profile_yields_a_subaccount_token_with_exactly_that() {
    let srv = TestServer::start().await;
    let alice = srv.user("alice").await;
    let dev = developer(&srv, "Dialer Inc").await;
    let app = register_app(&srv, &dev).await;
    let (url, verifier) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read messages:send calls:write")],
    );
    let (page, cb) = consent_with(&srv, &url, &[]).await;
    assert!(
        page.contains("Dialer Pro")
            && page.contains("Dialer Inc")
            && page.contains("calls:write")
            && page.contains("(optional)"),
        "{page}"
    );
    assert!(
        is_ticked(&page, "perm:calls:write"),
        "an app's optional permission is offered ticked"
    );
    let sid = query_param(&cb, "account_sid").expect("account_sid on the authorize callback");
    assert_eq!(query_param(&cb, "iss").as_deref(), Some(srv.base.as_str()));
    let t = redeem(&srv, &app, &cb, &verifier).await;
    assert_eq!(t["account_sid"], sid.as_str());
    assert_eq!(
        t["scope"], "messages:send openid read",
        "the declined optional permission is absent"
    );
    let (_, claims) = jws::peek(t["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["account_sid"], sid.as_str());
    assert_eq!(
        claims["sub"],
        alice.as_str(),
        "sub stays the user (RFC 9068)"
    );
    // The subaccount is a child of alice's own account.
    let p = srv.provider();
    let owner = p
        .stores
        .apps
        .user_account(&alice)
        .await
        .unwrap()
        .expect("owner account");
    let sub = p.stores.accounts.get_account(&sid).await.unwrap();
    assert_eq!(sub.parent_sid.as_deref(), Some(owner.as_str()));
    // A refresh keeps acting on the subaccount.
    let r = token_request(
        &srv,
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["account_sid"],
        sid.as_str()
    );

    // Asking again for the declined permission (with prompt=consent: the same request
    // alone remembers the answer) shows only that addition, and reuses the subaccount.
    let (url, verifier) = authorize_url(
        &srv,
        &app.0,
        &[
            ("scope", "openid read messages:send calls:write"),
            ("prompt", "consent"),
        ],
    );
    let (page, cb) = consent_with(&srv, &url, &["calls:write"]).await;
    assert!(
        page.contains("now also asks")
            && page.contains("calls:write")
            && !page.contains("messages:send"),
        "{page}"
    );
    assert_eq!(
        query_param(&cb, "account_sid").as_deref(),
        Some(sid.as_str())
    );
    let t = redeem(&srv, &app, &cb, &verifier).await;
    assert_eq!(t["scope"], "calls:write messages:send openid read");

    // Covered now: no consent page at all.
    let (url, _) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read"), ("prompt", "none")],
    );
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&loc, "account_sid").as_deref(),
        Some(sid.as_str()),
        "{loc}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn nothing_beyond_the_apps_profile() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let dev = developer(&srv, "Dev").await;
    let app = register_app(&srv, &dev).await;
    let (url, _) = authorize_url(&srv, &app.0, &[("scope", "openid read numbers:manage")]);
    let loc = location(&srv.browser.get(&url).send().await.unwrap());
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_scope"));
    let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", "openid read messages:send")]);
    let (_, cb) = consent_with(&srv, &url, &[]).await;
    let t = redeem(&srv, &app, &cb, &verifier).await;
    let r = token_request(
        &srv,
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("scope", "read numbers:manage"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_developer_api_is_per_developer() {
    let srv = TestServer::start().await;
    let a = developer(&srv, "A").await;
    let b = developer(&srv, "B").await;
    let app = register_app(&srv, &a).await;
    let r = srv
        .api
        .get(srv.url("/developer/v1/apps"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = srv
        .api
        .get(srv.url("/developer/v1/apps"))
        .basic_auth(&a.0, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let list: Value = srv
        .api
        .get(srv.url("/developer/v1/apps"))
        .basic_auth(&a.0, Some(&a.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("client_secret").is_none());
    let r = srv
        .api
        .get(srv.url(&format!("/developer/v1/apps/{}", app.0)))
        .basic_auth(&b.0, Some(&b.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = srv
        .api
        .delete(srv.url(&format!("/developer/v1/apps/{}", app.0)))
        .basic_auth(&b.0, Some(&b.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let bad = srv.api.post(srv.url("/developer/v1/apps")).basic_auth(&a.0, Some(&a.1)).json(&json!({"display_name": "X", "redirect_uris": ["https://x.example/cb"], "permissions": [{"name": "root"}]})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "permissions");
    let r = srv
        .api
        .delete(srv.url(&format!("/developer/v1/apps/{}", app.0)))
        .basic_auth(&a.0, Some(&a.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_new_user_signs_up_when_the_request_allows_it() {
    let srv = TestServer::start().await;
    let dev = developer(&srv, "Dev").await;
    let app = register_app(&srv, &dev).await;
    // Without prompt=create there is no sign-up.
    let (url, _) = authorize_url(&srv, &app.0, &[("scope", "openid read messages:send")]);
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv
        .browser
        .get(srv.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Create an account"));
    let tx = hidden(&page, "tx");
    assert_eq!(
        srv.browser
            .get(srv.url(&format!("/signup?tx={tx}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    // With prompt=create the login page offers it, and the new user goes on to consent.
    let (url, verifier) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read messages:send"), ("prompt", "create")],
    );
    let login = location(&srv.browser.get(&url).send().await.unwrap());
    let page = srv
        .browser
        .get(srv.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Create an account"));
    let tx = hidden(&page, "tx");
    let page = srv
        .browser
        .get(srv.url(&format!("/signup?tx={tx}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let r = srv
        .browser
        .post(srv.url("/signup"))
        .form(&[
            ("tx", tx.as_str()),
            ("csrf", &csrf),
            ("username", "newbie"),
            ("email", "newbie@example.com"),
            ("password", "a long new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let consent = location(
        &srv.browser
            .get(srv.url(&location(&r)))
            .send()
            .await
            .unwrap(),
    );
    assert!(consent.starts_with("/consent?tx="), "{consent}");
    let page = srv
        .browser
        .get(srv.url(&consent))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = srv
        .browser
        .post(srv.url("/consent"))
        .form(&[
            ("tx", hidden(&page, "tx")),
            ("csrf", hidden(&page, "csrf")),
            ("decision", "approve".into()),
        ])
        .send()
        .await
        .unwrap();
    let cb = location(&r);
    let t = redeem(&srv, &app, &cb, &verifier).await;
    assert!(t["account_sid"].as_str().unwrap().starts_with("AC"));
    let u = srv
        .provider()
        .stores
        .users
        .find_user_by_username("newbie")
        .await
        .unwrap();
    assert!(
        srv.provider()
            .stores
            .apps
            .user_account(&u.sub)
            .await
            .unwrap()
            .is_some(),
        "an owner account was made"
    );
    let queued = crate::email_verify::outbox_events(&srv).await;
    let link = |e: &surety::store::OutboxEvent| e.destination == "newbie@example.com";
    assert!(queued.iter().any(link), "a confirmation link is queued");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_resource_api_accepts_exactly_the_effective_permissions_until_revoked() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let dev = developer(&srv, "Dialer Inc").await;
    let app = register_app(&srv, &dev).await;
    let other = register_app(&srv, &dev).await;
    let (url, verifier) = authorize_url(
        &srv,
        &app.0,
        &[("scope", "openid read messages:send calls:write")],
    );
    let (_, cb) = consent_with(&srv, &url, &[]).await;
    let sid = query_param(&cb, "account_sid").unwrap();
    let t = redeem(&srv, &app, &cb, &verifier).await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    let (url, verifier) = authorize_url(&srv, &other.0, &[("scope", "openid read")]);
    let (_, cb) = consent_with(&srv, &url, &[]).await;
    let other_sid = query_param(&cb, "account_sid").unwrap();
    assert_ne!(other_sid, sid, "each app gets its own subaccount");
    let other_token = redeem(&srv, &other, &cb, &verifier).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = |path: String| srv.url(&format!("/api/v1/Accounts/{path}"));
    let r = srv
        .api
        .get(api(format!("{sid}/Messages")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "read was granted");
    let r = srv
        .api
        .post(api(format!("{sid}/Calls")))
        .bearer_auth(&token)
        .json(&json!({"to": "+14155550100", "from": "+14155550101"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "calls:write was declined"
    );
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let r = srv
        .api
        .get(api(format!("{other_sid}/Messages")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a sibling app's subaccount is invisible"
    );
    let r = srv
        .api
        .get(api(format!("{sid}/Messages")))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        account_form(&srv, "/account/apps/revoke", &app.0, &[]).await,
        StatusCode::SEE_OTHER
    );
    let r = srv
        .api
        .get(api(format!("{sid}/Messages")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked at once");
    let r = srv
        .api
        .get(api(format!("{other_sid}/Messages")))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the other app is untouched");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_cli_manages_apps_like_the_developer_api() {
    let settings = settings_for(&Backend::Embedded);
    let data_dir = settings.data_dir.clone();
    let srv = TestServer::start_with(settings).await;
    let dev = developer(&srv, "Cli Dev").await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_surety"))
            .args(args)
            .env("SURETY_DATA_DIR", &data_dir)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let app = r#"{"display_name":"Cli App","redirect_uris":["https://cli.example/cb"],"permissions":[{"name":"read"}]}"#;
    let out = cli(&["apps", "create", &dev.0, app]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(created["client_secret"].is_string() && created["webhook_secret"].is_string());
    let listed: Value = srv
        .api
        .get(srv.url("/developer/v1/apps"))
        .basic_auth(&dev.0, Some(&dev.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["client_id"], created["client_id"]);
    let out = cli(&["apps", "list", &dev.0]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Cli App"));
    let bad = cli(&[
        "apps",
        "create",
        &dev.0,
        r#"{"display_name":"X","redirect_uris":["https://x.example/cb"],"permissions":[]}"#,
    ]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("permissions"));
    let out = cli(&["apps", "delete", created["client_id"].as_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.shutdown().await;
}
