//! The reference resource API (`/api/v1/Accounts/{AccountSid}/…`): the isolation matrix
//! of every route × every kind of credential, records a parent sees, caller IDs; usage
//! limits and account status in `limits`, the reusable guard's JWKS and introspection
//! modes in `guard`.

mod guard;
mod limits;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use surety::keys::jws::{self, Alg, Signer};
use surety::store::AccountRecord;

use crate::helpers::*;

const GT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ALL: &str = "read calls:write messages:send numbers:manage";

struct Partner {
    id: String,
    signer: Signer,
}

/// An account and its auth token.
#[derive(Clone)]
struct Account {
    sid: String,
    auth_token: String,
}

#[derive(Clone)]
enum Auth {
    None,
    Basic(Account),
    Bearer(String),
}

fn now() -> i64 {
    surety::clock::Clock::now(&surety::clock::SystemClock)
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

async fn partner(srv: &TestServer) -> (Partner, Account) {
    let (signer, _) = Signer::generate(Alg::ES256).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = json!("k1");
    let body = json!({"name": "Acme", "jwks": {"keys": [jwk]}});
    let r = srv
        .api
        .post(srv.url("/admin/partners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body);
    let v: Value = r.send().await.unwrap().json().await.unwrap();
    let id = v["partner_id"].as_str().unwrap().to_owned();
    let r = srv
        .api
        .post(srv.url(&format!("/admin/partners/{id}/accounts")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"friendly_name": "Owner"}));
    let a: Value = r.send().await.unwrap().json().await.unwrap();
    let owner = Account {
        sid: a["account_sid"].as_str().unwrap().to_owned(),
        auth_token: a["auth_token"].as_str().unwrap().to_owned(),
    };
    (Partner { id, signer }, owner)
}

/// A subaccount of `parent`, inserted directly (the consent flow makes them in real life).
async fn subaccount(srv: &TestServer, p: &Partner, parent: &str) -> Account {
    let token = random_token(32);
    let rec = AccountRecord {
        sid: surety::store::AccountSid::parse(&format!("AC{}", random_hex16())).unwrap(),
        partner_id: surety::store::PartnerId::parse(&p.id),
        parent_sid: surety::store::AccountSid::parse(parent),
        friendly_name: "App subaccount".into(),
        status: surety::store::AccountStatus::Active,
        limits: Default::default(),
        auth_token_hash: surety::util::secret_hash(&token),
        created_at: now(),
    };
    srv.provider()
        .stores
        .accounts
        .insert_account(&rec)
        .await
        .unwrap();
    Account {
        sid: rec.sid.into(),
        auth_token: token,
    }
}

/// An access token for `account` with `scope`, through the partner's jwt-bearer grant.
async fn token(srv: &TestServer, p: &Partner, account: &str, scope: &str) -> String {
    let c = json!({"iss": p.id, "sub": account, "aud": srv.running.issuer, "exp": now() + 120,
        "iat": now(), "jti": random_hex16()});
    let assertion = jws::sign(&p.signer, Alg::ES256, "k1", "JWT", &c).unwrap();
    let form = [
        ("grant_type", GT),
        ("assertion", &assertion),
        ("scope", scope),
    ];
    let r = srv
        .api
        .post(srv.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Answer {
    status: StatusCode,
    body: Value,
    challenge: Vec<String>,
}

async fn call(srv: &TestServer, auth: &Auth, m: Method, path: &str, body: Option<Value>) -> Answer {
    let mut rb = srv
        .api
        .request(m, srv.url(&format!("/api/v1/Accounts/{path}")));
    rb = match auth {
        Auth::None => rb,
        Auth::Basic(a) => rb.basic_auth(&a.sid, Some(&a.auth_token)),
        Auth::Bearer(t) => rb.bearer_auth(t),
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

/// Buys a number for `account` with the owner's credentials; returns its SID.
async fn buy(srv: &TestServer, auth: &Auth, account: &str, phone: &str) -> String {
    let body = json!({"phone_number": phone});
    let a = call(
        srv,
        auth,
        Method::POST,
        &format!("{account}/IncomingPhoneNumbers"),
        Some(body),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["sid"].as_str().unwrap().to_owned()
}

struct Family {
    partner: Partner,
    owner: Account,
    s1: Account,
    s2: Account,
    /// A number S1 owns.
    n1: String,
}

async fn family(srv: &TestServer) -> Family {
    let (partner, owner) = partner(srv).await;
    let s1 = subaccount(srv, &partner, &owner.sid).await;
    let s2 = subaccount(srv, &partner, &owner.sid).await;
    let n1 = number();
    buy(srv, &Auth::Basic(owner.clone()), &s1.sid, &n1).await;
    Family {
        partner,
        owner,
        s1,
        s2,
        n1,
    }
}

async fn get(srv: &TestServer, auth: &Auth, path: &str) -> Answer {
    call(srv, auth, Method::GET, path, None).await
}

async fn post(srv: &TestServer, auth: &Auth, path: &str, body: Value) -> Answer {
    call(srv, auth, Method::POST, path, Some(body)).await
}

/// What a credential should get on S1's routes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Ok,
    NotFound,
    NoPermission,
}

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    permission: &'static str,
    ok: StatusCode,
}

fn route(method: Method, path: String, body: Option<Value>, permission: &'static str) -> Route {
    let ok = match method {
        Method::POST => StatusCode::CREATED,
        Method::DELETE => StatusCode::NO_CONTENT,
        _ => StatusCode::OK,
    };
    Route {
        method,
        path,
        body,
        permission,
        ok,
    }
}

/// Every route on S1; `release` is the number the DELETE names.
fn routes(f: &Family, release: &str) -> Vec<Route> {
    let s1 = &f.s1.sid;
    let sent = json!({"to": "+15005550006", "from": f.n1, "body": "hello"});
    let called = json!({"to": "+15005550006", "from": f.n1});
    let bought = json!({"phone_number": number()});
    let (msgs, calls, nums) = (
        format!("{s1}/Messages"),
        format!("{s1}/Calls"),
        format!("{s1}/IncomingPhoneNumbers"),
    );
    vec![
        route(Method::GET, msgs.clone(), None, "read"),
        route(Method::POST, msgs, Some(sent), "messages:send"),
        route(Method::GET, calls.clone(), None, "read"),
        route(Method::POST, calls, Some(called), "calls:write"),
        route(Method::GET, nums.clone(), None, "read"),
        route(Method::POST, nums.clone(), Some(bought), "numbers:manage"),
        route(
            Method::DELETE,
            format!("{nums}/{release}"),
            None,
            "numbers:manage",
        ),
        route(Method::GET, format!("{s1}/Usage"), None, "read"),
    ]
}

fn judge(who: &str, r: &Route, expect: Expect, a: &Answer) {
    let ctx = format!("{who}: {} {} → {} {}", r.method, r.path, a.status, a.body);
    match expect {
        Expect::Ok => assert_eq!(a.status, r.ok, "{ctx}"),
        Expect::NotFound => {
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{ctx}");
            assert_eq!(a.body["error"], "not_found", "{ctx}");
        }
        Expect::NoPermission => {
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{ctx}");
            assert_eq!(a.body["error"], "insufficient_scope", "{ctx}");
            let want = format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                r.permission
            );
            assert!(
                a.challenge[0].starts_with(&want),
                "{ctx}: {:?}",
                a.challenge
            );
        }
    }
}

/// Each kind of credential, and what it should get on S1.
async fn credentials(srv: &TestServer, f: &Family) -> Vec<(&'static str, Auth, Expect)> {
    let (other, stranger) = partner(srv).await;
    let (p, s1) = (&f.partner, f.s1.sid.as_str());
    vec![
        ("owner (Basic)", Auth::Basic(f.owner.clone()), Expect::Ok),
        (
            "the subaccount (Basic)",
            Auth::Basic(f.s1.clone()),
            Expect::Ok,
        ),
        (
            "the app's token",
            Auth::Bearer(token(srv, p, s1, ALL).await),
            Expect::Ok,
        ),
        (
            "a sibling app's token",
            Auth::Bearer(token(srv, p, &f.s2.sid, ALL).await),
            Expect::NotFound,
        ),
        (
            "another partner's account's token",
            Auth::Bearer(token(srv, &other, &stranger.sid, ALL).await),
            Expect::NotFound,
        ),
        (
            "another account's Basic",
            Auth::Basic(stranger),
            Expect::NotFound,
        ),
        (
            "a token without the permission",
            Auth::Bearer(token(srv, p, s1, "callerids:all").await),
            Expect::NoPermission,
        ),
    ]
}

#[tokio::test]
async fn every_route_answers_each_credential_as_it_should() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let owner = Auth::Basic(f.owner.clone());
    let numbers = format!("{}/IncomingPhoneNumbers", f.s1.sid);
    let n1_sid = get(&srv, &owner, &numbers).await.body["incoming_phone_numbers"][0]["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, auth, expect) in credentials(&srv, &f).await {
        // The number to release: a fresh one for callers that may, S1's own otherwise.
        let release = match expect {
            Expect::Ok => buy(&srv, &owner, &f.s1.sid, &number()).await,
            _ => n1_sid.clone(),
        };
        for r in routes(&f, &release) {
            let a = call(&srv, &auth, r.method.clone(), &r.path, r.body.clone()).await;
            judge(who, &r, expect, &a);
        }
    }
    let listed = get(&srv, &owner, &numbers).await.body.to_string();
    assert!(
        listed.contains(&n1_sid),
        "refused releases kept S1's number"
    );
    // A subaccount's credentials never reach up to the parent, nor anywhere else.
    let app = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, ALL).await);
    for path in [
        format!("{}/Messages", f.owner.sid),
        "AC00000000000000000000000000000000/Messages".into(),
        "not-a-sid/Messages".into(),
    ] {
        assert_eq!(
            get(&srv, &app, &path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn missing_or_bad_credentials_get_401_and_a_challenge() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let path = format!("{}/Messages", f.s1.sid);
    let a = get(&srv, &Auth::None, &path).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // RFC 9449 §7.1: the DPoP scheme is challenged too, with its algorithms.
    assert_eq!(
        a.challenge,
        [
            "Bearer",
            "DPoP algs=\"ES256 EdDSA PS256 RS256\"",
            "Basic realm=\"surety\""
        ]
    );
    // The OpenAPI document needs no credentials and describes every route.
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
    assert_eq!(paths.len(), 8, "{:?}", paths.keys());
    assert!(paths.contains_key("/api/v1/Accounts/{account_sid}/Verified"));
    assert!(paths.contains_key("/api/v1/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}"));
    let wrong = Account {
        sid: f.owner.sid.clone(),
        auth_token: "wrong".into(),
    };
    for bad in [
        wrong,
        Account {
            sid: "nobody".into(),
            auth_token: "x".into(),
        },
    ] {
        let a = get(&srv, &Auth::Basic(bad), &path).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.challenge, ["Basic realm=\"surety\""]);
        assert_eq!(a.body["error"], "invalid_credentials");
    }
    let a = get(&srv, &Auth::Bearer("x.y.z".into()), &path).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.challenge[0].starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(a.body["error"], "invalid_token");
    // A valid token that names no account (a partner's Partner API token) is no key here.
    let partner_token = srv
        .provider()
        .mint_access_token(&surety::oauth::tokens::AccessGrant {
            sub: surety::oauth::subject::Subject::client(&f.partner.id),
            client_id: f.partner.id.clone(),
            scope: surety::oauth::scope::Scope::parse(ALL).unwrap(),
            ..Default::default()
        });
    let a = get(&srv, &Auth::Bearer(partner_token.unwrap().0), &path).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    srv.shutdown().await;
}

fn msg(from: &str) -> Value {
    json!({"to": "+15005550006", "from": from, "body": "hi"})
}

fn dial(from: &str) -> Value {
    json!({"to": "+15005550006", "from": from})
}

#[tokio::test]
async fn a_parent_sees_its_subaccounts_records_and_pages_through_them() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let app = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, ALL).await);
    let (msgs, calls) = (
        format!("{}/Messages", f.s1.sid),
        format!("{}/Calls", f.s1.sid),
    );
    for _ in 0..3 {
        let a = post(&srv, &app, &msgs, msg(&f.n1)).await;
        assert_eq!(a.status, StatusCode::CREATED);
        assert!(a.body["sid"].as_str().unwrap().starts_with("SM"));
        assert_eq!(a.body["account_sid"], f.s1.sid.as_str());
    }
    let a = post(&srv, &app, &calls, dial(&f.n1)).await;
    assert!(a.body["sid"].as_str().unwrap().starts_with("CA"));
    let owner = Auth::Basic(f.owner.clone());
    let a = get(&srv, &owner, &format!("{msgs}?page_size=2")).await;
    assert_eq!(a.body["messages"].as_array().unwrap().len(), 2);
    let next = a.body["next_page_token"].as_str().unwrap().to_owned();
    let a = get(
        &srv,
        &owner,
        &format!("{msgs}?page_size=2&page_token={next}"),
    )
    .await;
    assert_eq!(a.body["messages"].as_array().unwrap().len(), 1);
    assert!(a.body["next_page_token"].is_null());
    let a = get(&srv, &owner, &calls).await;
    assert_eq!(a.body["calls"][0]["from"], f.n1.as_str());
    // The parent's own log holds only its own records.
    let a = get(&srv, &owner, &format!("{}/Messages", f.owner.sid)).await;
    assert_eq!(a.body["messages"], json!([]));
    srv.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_json() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let app = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, ALL).await);
    let msgs = format!("{}/Messages", f.s1.sid);
    let cases = [
        (json!({"to": "5550006", "from": f.n1, "body": "x"}), "to"),
        (
            json!({"to": "+15005550006", "from": "+0", "body": "x"}),
            "from",
        ),
        (
            json!({"to": "+15005550006", "from": f.n1, "body": " "}),
            "body",
        ),
        (json!({"to": 1}), "body"),
        (
            json!({"to": "+15005550006", "from": f.n1, "body": "x", "extra": 1}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let a = post(&srv, &app, &msgs, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert_eq!(a.body["error"], "invalid_request");
        assert_eq!(a.body["field"], field, "{}", a.body);
    }
    let a = get(&srv, &app, &format!("{msgs}?page_size=x")).await;
    assert_eq!(
        (a.status, a.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query"))
    );
    let a = get(&srv, &app, &format!("{msgs}?page_token=nonsense")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let owner = Auth::Basic(f.owner.clone());
    let taken = json!({"phone_number": f.n1});
    let a = post(
        &srv,
        &owner,
        &format!("{}/IncomingPhoneNumbers", f.s2.sid),
        taken,
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("number_unavailable"))
    );
    let a = call(
        &srv,
        &owner,
        Method::DELETE,
        &format!("{}/IncomingPhoneNumbers/PH00", f.s1.sid),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    srv.shutdown().await;
}

/// How a caller-ID case should end.
#[derive(Clone, Copy, Debug)]
enum CallerId {
    Allowed,
    NeedsCallerIdsAll,
    Refused,
}

fn judge_caller_id(expect: CallerId, a: &Answer, ctx: &str) {
    match expect {
        CallerId::Allowed => assert_eq!(a.status, StatusCode::CREATED, "{ctx}"),
        CallerId::NeedsCallerIdsAll => {
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{ctx}");
            assert_eq!(a.body["error"], "insufficient_scope", "{ctx}");
            assert_eq!(a.body["scope"], "callerids:all", "{ctx}");
            assert!(a.challenge[0].contains("scope=\"callerids:all\""), "{ctx}");
        }
        CallerId::Refused => {
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{ctx}");
            assert_eq!(a.body["error"], "caller_id_not_allowed", "{ctx}");
        }
    }
}

#[tokio::test]
async fn caller_ids_of_the_parent_or_a_sibling_need_callerids_all() {
    use CallerId::*;
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let (_, stranger) = partner(&srv).await;
    let (np, n2, nq, nobody) = (number(), number(), number(), number());
    let owner = Auth::Basic(f.owner.clone());
    buy(&srv, &owner, &f.owner.sid, &np).await;
    buy(&srv, &owner, &f.s2.sid, &n2).await;
    buy(&srv, &Auth::Basic(stranger.clone()), &stranger.sid, &nq).await;
    let plain = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, ALL).await);
    let scope = format!("{ALL} callerids:all");
    let all = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, &scope).await);
    let cases = [
        (&plain, &f.n1, Allowed),
        (&plain, &np, NeedsCallerIdsAll),
        (&plain, &n2, NeedsCallerIdsAll),
        (&plain, &nq, Refused),
        (&plain, &nobody, Refused),
        (&all, &f.n1, Allowed),
        (&all, &np, Allowed),
        (&all, &n2, Allowed),
        (&all, &nq, Refused),
        (&all, &nobody, Refused),
    ];
    for (auth, from, expect) in cases {
        for (route, body) in [("Messages", msg(from)), ("Calls", dial(from))] {
            let a = post(&srv, auth, &format!("{}/{route}", f.s1.sid), body).await;
            let ctx = format!("{route} from {from}: {} {}", a.status, a.body);
            judge_caller_id(expect, &a, &ctx);
        }
    }
    // The parent's own credentials carry every permission, callerids:all included.
    let a = post(&srv, &owner, &format!("{}/Messages", f.s1.sid), msg(&n2)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    srv.shutdown().await;
}
