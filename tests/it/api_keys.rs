//! Scoped API keys (several credentials per account, each bound to its own
//! permission set): create, list, revoke under `/api/v1/Accounts/{AccountSid}/Keys`, and
//! each key against every resource route with exactly its permissions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use surety::store::AccountRecord;

use crate::helpers::*;

/// A Basic credential: an account SID + auth token, or a key SID + secret.
#[derive(Clone, Debug)]
enum Cred {
    Basic(String, String),
    Bearer(String),
}

struct Answer {
    status: StatusCode,
    body: Value,
    challenge: Vec<String>,
}

fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
}

async fn call(srv: &TestServer, c: &Cred, m: Method, path: &str, body: Option<Value>) -> Answer {
    let url = srv.url(&format!("/api/v1/Accounts/{path}"));
    let mut rb = srv.api.request(m, url);
    rb = match c {
        Cred::Basic(u, p) => rb.basic_auth(u, Some(p)),
        Cred::Bearer(t) => rb.bearer_auth(t),
    };
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let challenge = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        challenge,
    }
}

/// A partner's account, made through the admin API; its credentials.
async fn account(srv: &TestServer) -> Cred {
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Acme", "secret": random_token(32)}));
    let v: Value = r.send().await.unwrap().json().await.unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "Owner"}));
    let a: Value = r.send().await.unwrap().json().await.unwrap();
    Cred::Basic(
        a["account_sid"].as_str().unwrap().to_owned(),
        a["auth_token"].as_str().unwrap().to_owned(),
    )
}

fn sid(c: &Cred) -> &str {
    match c {
        Cred::Basic(u, _) => u,
        Cred::Bearer(_) => panic!("no SID"),
    }
}

/// A subaccount of `parent`, inserted directly (the consent flow makes them in real life).
async fn subaccount(srv: &TestServer, parent: &str) -> Cred {
    let token = random_token(32);
    let parent_rec = srv
        .provider()
        .stores
        .accounts
        .get_account(parent)
        .await
        .unwrap();
    let rec = AccountRecord {
        sid: surety::store::AccountSid::parse(&format!("AC{}", random_hex16())).unwrap(),
        partner_id: parent_rec.partner_id,
        parent_sid: Some(parent_rec.sid),
        friendly_name: "Subaccount".into(),
        status: surety::store::AccountStatus::Active,
        limits: Default::default(),
        auth_token_hash: surety::util::secret_hash(&token),
        created_at: now(),
    };
    let stores = &srv.provider().stores;
    stores.accounts.insert_account(&rec).await.unwrap();
    Cred::Basic(rec.sid.into(), token)
}

/// An access token for `account` with every permission.
fn token(srv: &TestServer, account: &str) -> Cred {
    let mut extra = serde_json::Map::new();
    extra.insert("account_sid".into(), json!(account));
    let grant = surety::oauth::tokens::AccessGrant {
        sub: srv
            .provider()
            .subject_of("app-1", &Default::default(), "user-1"),
        client_id: "app-1".into(),
        scope: surety::oauth::scope::Scope::parse("read calls:write messages:send numbers:manage")
            .unwrap(),
        extra,
        ..Default::default()
    };
    Cred::Bearer(srv.provider().mint_access_token(&grant).unwrap().0)
}

fn keys_path(account: &str) -> String {
    format!("{account}/Keys")
}

/// Creates a key of `account` with `manager`'s credentials: (the 201 body, the key).
async fn create(srv: &TestServer, manager: &Cred, account: &str, perms: &[&str]) -> (Value, Cred) {
    let body = json!({"friendly_name": format!("key {}", perms.join("+")), "permissions": perms});
    let a = call(srv, manager, Method::POST, &keys_path(account), Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let key = Cred::Basic(
        a.body["sid"].as_str().unwrap().to_owned(),
        a.body["secret"].as_str().unwrap().to_owned(),
    );
    (a.body, key)
}

/// A random E.164 number.
fn number() -> String {
    let hex = random_hex16();
    let digits: String = hex
        .bytes()
        .take(9)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("+1555{digits}")
}

/// Buys a number for `account`; returns its SID.
async fn buy(srv: &TestServer, c: &Cred, account: &str, phone: &str) -> String {
    let body = json!({"phone_number": phone});
    let path = format!("{account}/IncomingPhoneNumbers");
    let a = call(srv, c, Method::POST, &path, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["sid"].as_str().unwrap().to_owned()
}

/// Every resource route on `account`: (method, path, body, permission, success status).
fn routes(
    account: &str,
    from: &str,
    release: &str,
) -> Vec<(Method, String, Option<Value>, &'static str, StatusCode)> {
    let (msgs, calls, nums) = (
        format!("{account}/Messages"),
        format!("{account}/Calls"),
        format!("{account}/IncomingPhoneNumbers"),
    );
    let sent = json!({"to": "+15005550006", "from": from, "body": "hello"});
    let dialed = json!({"to": "+15005550006", "from": from});
    let bought = json!({"phone_number": number()});
    use StatusCode as S;
    vec![
        (Method::GET, msgs.clone(), None, "read", S::OK),
        (Method::POST, msgs, Some(sent), "messages:send", S::CREATED),
        (Method::GET, calls.clone(), None, "read", S::OK),
        (Method::POST, calls, Some(dialed), "calls:write", S::CREATED),
        (Method::GET, nums.clone(), None, "read", S::OK),
        (
            Method::POST,
            nums.clone(),
            Some(bought),
            "numbers:manage",
            S::CREATED,
        ),
        (
            Method::DELETE,
            format!("{nums}/{release}"),
            None,
            "numbers:manage",
            S::NO_CONTENT,
        ),
        (Method::GET, format!("{account}/Usage"), None, "read", S::OK),
    ]
}

#[tokio::test]
async fn each_key_works_with_exactly_its_permissions() {
    let srv = TestServer::start().await;
    let owner = account(&srv).await;
    let acct = sid(&owner).to_owned();
    let from = number();
    buy(&srv, &owner, &acct, &from).await;
    let (body, reader) = create(&srv, &owner, &acct, &["read"]).await;
    assert!(body["sid"].as_str().unwrap().starts_with("SK"));
    assert_eq!(body["sid"].as_str().unwrap().len(), 34);
    assert_eq!(
        body["secret"].as_str().unwrap().len(),
        43,
        "32 bytes base64url"
    );
    assert_eq!(body["account_sid"], acct.as_str());
    assert_eq!(body["permissions"], json!(["read"]));
    assert_eq!(body["status"], "active");
    let (body, sender) = create(&srv, &owner, &acct, &["messages:send"]).await;
    assert_eq!(body["permissions"], json!(["messages:send"]));
    let (_, manager) = create(&srv, &owner, &acct, &["numbers:manage", "read"]).await;
    let keys: [(&str, &Cred, &[&str]); 3] = [
        ("read", &reader, &["read"]),
        ("messages:send", &sender, &["messages:send"]),
        ("numbers:manage read", &manager, &["numbers:manage", "read"]),
    ];
    for (who, key, perms) in keys {
        // A number this key may release if it may, any other SID otherwise.
        let release = buy(&srv, &owner, &acct, &number()).await;
        for (m, path, body, needs, ok) in routes(&acct, &from, &release) {
            let a = call(&srv, key, m.clone(), &path, body).await;
            let ctx = format!("{who}: {m} {path} → {} {}", a.status, a.body);
            if perms.contains(&needs) {
                assert_eq!(a.status, ok, "{ctx}");
            } else {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{ctx}");
                assert_eq!(a.body["error"], "insufficient_scope", "{ctx}");
                assert_eq!(a.body["scope"], needs, "{ctx}");
                let want = format!("Bearer error=\"insufficient_scope\", scope=\"{needs}\"");
                assert!(a.challenge[0].starts_with(&want), "{ctx}");
            }
        }
    }
    // The key's sends are metered for the account like any caller's.
    let usage = call(&srv, &reader, Method::GET, &format!("{acct}/Usage"), None).await;
    assert_eq!(usage.body["count"], 1, "{}", usage.body);
    let msgs = call(&srv, &owner, Method::GET, &format!("{acct}/Messages"), None).await;
    assert_eq!(msgs.body["messages"].as_array().unwrap().len(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_key_has_its_accounts_tenancy() {
    let srv = TestServer::start().await;
    let owner = account(&srv).await;
    let acct = sid(&owner).to_owned();
    let sub = subaccount(&srv, &acct).await;
    let stranger = account(&srv).await;
    // The owner's key reads the owner's subaccount, as the owner's credentials do.
    let (_, owner_key) = create(&srv, &owner, &acct, &["read"]).await;
    let path = format!("{}/Messages", sid(&sub));
    let a = call(&srv, &owner_key, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // A parent creates a key for its subaccount; that key never reaches up, nor across.
    let (body, sub_key) = create(&srv, &owner, sid(&sub), &["read"]).await;
    assert_eq!(body["account_sid"], sid(&sub));
    let a = call(&srv, &sub_key, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    for other in [&acct, sid(&stranger)] {
        let p = format!("{other}/Messages");
        let a = call(&srv, &sub_key, Method::GET, &p, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{p}: {}", a.body);
        assert_eq!(a.body["error"], "not_found");
    }
    // The subaccount's own credentials manage its keys, but not its parent's.
    let a = call(&srv, &sub, Method::GET, &keys_path(sid(&sub)), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["keys"].as_array().unwrap().len(), 1);
    let a = call(&srv, &sub, Method::GET, &keys_path(&acct), None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // A closed account's keys stop authenticating.
    let stores = &srv.provider().stores;
    let mut rec = stores.accounts.get_account(sid(&sub)).await.unwrap();
    rec.status = surety::store::AccountStatus::Closed;
    stores.accounts.update_account(&rec).await.unwrap();
    let a = call(&srv, &sub_key, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    srv.shutdown().await;
}

#[tokio::test]
async fn list_hides_secrets_and_revoking_stops_a_key_at_once() {
    let srv = TestServer::start().await;
    let owner = account(&srv).await;
    let acct = sid(&owner).to_owned();
    let (_, a_key) = create(&srv, &owner, &acct, &["read"]).await;
    let (_, b_key) = create(&srv, &owner, &acct, &["read", "calls:write"]).await;
    let list = call(&srv, &owner, Method::GET, &keys_path(&acct), None).await;
    assert_eq!(list.status, StatusCode::OK);
    let keys = list.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{}", list.body);
    let text = list.body.to_string();
    for (k, want) in [
        (&a_key, json!(["read"])),
        (&b_key, json!(["read", "calls:write"])),
    ] {
        let Cred::Basic(ksid, secret) = k else {
            unreachable!()
        };
        assert!(!text.contains(secret.as_str()), "a secret is listed");
        let listed = keys.iter().find(|v| v["sid"] == ksid.as_str()).unwrap();
        assert_eq!(listed["permissions"], want);
        assert_eq!(listed["status"], "active");
        assert!(listed.get("secret").is_none() && listed.get("secret_hash").is_none());
    }
    let path = format!("{acct}/Messages");
    let a_sid = sid(&a_key).to_owned();
    let revoke = format!("{acct}/Keys/{a_sid}");
    let a = call(&srv, &owner, Method::DELETE, &revoke, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let a = call(&srv, &a_key, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_credentials");
    assert_eq!(a.challenge, ["Basic realm=\"surety\""]);
    let a = call(&srv, &b_key, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::OK, "the other key still works");
    // The revoked key is listed as such; revoking again changes nothing.
    let list = call(&srv, &owner, Method::GET, &keys_path(&acct), None).await;
    let listed = list.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["sid"] == a_sid.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["status"], "revoked");
    assert!(listed["revoked_at"].is_i64());
    let a = call(&srv, &owner, Method::DELETE, &revoke, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let list = call(&srv, &owner, Method::GET, &keys_path(&acct), None).await;
    assert!(list.body.to_string().contains(&listed.to_string()));
    // Unknown keys: 404.
    for k in ["SK00000000000000000000000000000000", "not-a-key"] {
        let p = format!("{acct}/Keys/{k}");
        let a = call(&srv, &owner, Method::DELETE, &p, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{k}");
        assert_eq!(a.body["error"], "not_found");
    }
    // A wrong secret for a live key is refused like a wrong auth token.
    let wrong = Cred::Basic(sid(&b_key).to_owned(), "wrong".into());
    let a = call(&srv, &wrong, Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_credentials");
    srv.shutdown().await;
}

#[tokio::test]
async fn only_account_credentials_manage_keys() {
    let srv = TestServer::start().await;
    let owner = account(&srv).await;
    let acct = sid(&owner).to_owned();
    let all = [
        "read",
        "calls:write",
        "messages:send",
        "numbers:manage",
        "callerids:all",
    ];
    let (_, key) = create(&srv, &owner, &acct, &all).await;
    let body = json!({"friendly_name": "child", "permissions": ["read"]});
    let bearer = token(&srv, &acct);
    let key_path = format!("{acct}/Keys/{}", sid(&key));
    for (who, cred) in [("a key", &key), ("an access token", &bearer)] {
        for (m, p, b) in [
            (Method::POST, keys_path(&acct), Some(body.clone())),
            (Method::GET, keys_path(&acct), None),
            (Method::DELETE, key_path.clone(), None),
        ] {
            let a = call(&srv, cred, m.clone(), &p, b).await;
            assert_eq!(
                a.status,
                StatusCode::FORBIDDEN,
                "{who}: {m} {p}: {}",
                a.body
            );
            assert_eq!(a.body["error"], "account_credentials_required");
        }
    }
    // Another account sees none of them and revokes none of them.
    let stranger = account(&srv).await;
    for (m, p, b) in [
        (Method::POST, keys_path(&acct), Some(body.clone())),
        (Method::GET, keys_path(&acct), None),
        (Method::DELETE, key_path.clone(), None),
        (
            Method::DELETE,
            format!("{}/Keys/{}", sid(&stranger), sid(&key)),
            None,
        ),
    ] {
        let a = call(&srv, &stranger, m.clone(), &p, b).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{m} {p}: {}", a.body);
        assert_eq!(a.body["error"], "not_found");
    }
    let a = call(
        &srv,
        &stranger,
        Method::GET,
        &keys_path(sid(&stranger)),
        None,
    )
    .await;
    assert_eq!(a.body["keys"], json!([]));
    let a = call(&srv, &key, Method::GET, &format!("{acct}/Usage"), None).await;
    assert_eq!(a.status, StatusCode::OK, "the key survived");
    srv.shutdown().await;
}

#[tokio::test]
async fn malformed_key_requests_name_the_field() {
    let srv = TestServer::start().await;
    let owner = account(&srv).await;
    let path = keys_path(sid(&owner));
    let cases = [
        (
            json!({"friendly_name": "k", "permissions": ["read", "bogus"]}),
            "permissions",
        ),
        (
            json!({"friendly_name": "k", "permissions": []}),
            "permissions",
        ),
        (json!({"friendly_name": "k"}), "permissions"),
        (
            json!({"friendly_name": "k", "permissions": ["READ"]}),
            "permissions",
        ),
        (
            json!({"friendly_name": " ", "permissions": ["read"]}),
            "friendly_name",
        ),
        (json!({"permissions": ["read"]}), "friendly_name"),
        (
            json!({"friendly_name": "k", "permissions": ["read"], "x": 1}),
            "body",
        ),
        (json!({"friendly_name": "k", "permissions": "read"}), "body"),
    ];
    for (body, field) in cases {
        let a = call(&srv, &owner, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert_eq!(a.body["error"], "invalid_request");
        assert_eq!(a.body["field"], field, "{body}: {}", a.body);
    }
    let a = call(
        &srv,
        &owner,
        Method::POST,
        &path,
        Some(json!({"friendly_name": "k", "permissions": ["read", "bogus"]})),
    )
    .await;
    let desc = a.body["error_description"].as_str().unwrap();
    assert!(
        desc.contains("bogus") && desc.contains("messages:send"),
        "{desc}"
    );
    let a = call(&srv, &owner, Method::GET, &path, None).await;
    assert_eq!(a.body["keys"], json!([]), "nothing was created");
    // The key routes are in the OpenAPI document.
    let doc: Value = srv
        .api
        .get(srv.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/Accounts/{account_sid}/Keys"));
    assert!(paths.contains_key("/api/v1/Accounts/{account_sid}/Keys/{key_sid}"));
    srv.shutdown().await;
}
