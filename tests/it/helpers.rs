//! Test fixtures: each test spawns its own Surety on port 0 with its own database (a
//! fresh SQLite file, or a fresh PostgreSQL database when `SURETY_TEST_DATABASE_URL` is
//! set) and its own Redis key prefix (when `SURETY_TEST_REDIS_URL` is set), and talks real
//! HTTP with redirects off and a cookie jar.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use secrecy::SecretString;
use serde_json::{Value, json};
use surety::app::{self, Deps, Running};
use surety::clock::{Clock, FixedClock, SystemClock};
use surety::config::Settings;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
pub const KEK: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const PASSWORD: &str = "correct horse battery";

/// Which backends a server uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// SQLite file + in-process cache.
    Embedded,
    /// PostgreSQL database URL + Redis URL (with a per-test prefix).
    Shared {
        database_url: String,
        redis_url: String,
        prefix: String,
    },
}

/// A clock standing at the real time until the test moves it (`advance`): tests build
/// assertions and expectations from the real time, so the server starts there too.
pub fn fixed_clock() -> FixedClock {
    FixedClock::at(SystemClock.now())
}

/// 128 random bits in hex, from the system CSPRNG (fixture names, `jti`s).
pub fn random_hex16() -> String {
    surety::clock::Entropy::hex16(&surety::clock::SystemEntropy)
}

/// A random token of `bytes` bytes, from the system CSPRNG.
pub fn random_token(bytes: usize) -> String {
    surety::clock::Entropy::token(&surety::clock::SystemEntropy, bytes)
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The shared backends when configured. Under `CI=true` they are mandatory.
pub async fn shared_backend() -> Option<Backend> {
    let (db, redis) = (
        env("SURETY_TEST_DATABASE_URL"),
        env("SURETY_TEST_REDIS_URL"),
    );
    match (db, redis) {
        (Some(db), Some(redis)) => Some(Backend::Shared {
            database_url: fresh_database(&db).await,
            redis_url: redis,
            prefix: format!("t{}:", random_hex16()),
        }),
        _ => {
            assert!(
                env("CI").as_deref() != Some("true"),
                "CI=true requires SURETY_TEST_DATABASE_URL and SURETY_TEST_REDIS_URL"
            );
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                // Written to the real stderr, past the test harness's output capture.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "PostgreSQL/Redis backend tests SKIPPED (set SURETY_TEST_DATABASE_URL and SURETY_TEST_REDIS_URL)");
            });
            None
        }
    }
}

/// The backend for a test that runs once: shared when configured, embedded otherwise.
pub async fn default_backend() -> Backend {
    match (
        env("SURETY_TEST_DATABASE_URL"),
        env("SURETY_TEST_REDIS_URL"),
    ) {
        (Some(_), Some(_)) => shared_backend().await.unwrap_or(Backend::Embedded),
        _ => Backend::Embedded,
    }
}

/// Every backend available: embedded always, shared when configured.
pub async fn all_backends() -> Vec<Backend> {
    let mut v = vec![Backend::Embedded];
    if let Some(s) = shared_backend().await {
        v.push(s);
    }
    v
}

/// Creates `surety_it_<random>` on the server of `base` and returns its URL.
pub async fn fresh_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("surety_it_{}", random_hex16());
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to SURETY_TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut url = url::Url::parse(base).expect("database URL");
    url.set_path(&name);
    url.to_string()
}

pub fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("surety-it-{}", random_hex16()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn settings_for(backend: &Backend) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: temp_dir(),
        admin_token: Some(SecretString::from(ADMIN_TOKEN)),
        ..Settings::default()
    };
    s.login_max_failures = 5;
    if let Backend::Shared {
        database_url,
        redis_url,
        prefix,
    } = backend
    {
        s.database_url = Some(database_url.clone());
        s.redis_url = Some(redis_url.clone());
        s.redis_prefix = prefix.clone();
        s.key_encryption_key = Some(SecretString::from(KEK));
    }
    s
}

pub struct TestServer {
    pub running: Running,
    pub base: String,
    /// A browser: cookie jar, no redirects.
    pub browser: reqwest::Client,
    /// A plain API client without cookies.
    pub api: reqwest::Client,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_on(&default_backend().await).await
    }

    pub async fn start_on(backend: &Backend) -> Self {
        Self::start_with(settings_for(backend)).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        Self::start_with_deps(settings, Deps::default()).await
    }

    /// A server reading `clock` (see [`fixed_clock`]), which the test moves instead of
    /// sleeping.
    pub async fn start_with_clock(settings: Settings, clock: FixedClock) -> Self {
        Self::start_with_deps(settings, Deps::default().clock(clock)).await
    }

    /// A server with the given clock and entropy source.
    pub async fn start_with_deps(settings: Settings, deps: Deps) -> Self {
        init_logs();
        let running = app::spawn(settings, deps).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        let api = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            running,
            base,
            browser: browser(),
            api,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn provider(&self) -> Arc<surety::oauth::provider::Provider> {
        self.running.provider.clone()
    }

    /// Registers a client through the admin API; returns (client_id, client_secret).
    pub async fn client(&self, metadata: Value) -> (String, Option<String>) {
        let r = self
            .api
            .post(self.url("/admin/clients"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&metadata)
            .send()
            .await
            .expect("admin");
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "client registration failed: {}",
            r.text().await.unwrap_or_default()
        );
        let v: Value = r.json().await.expect("json");
        (
            v["client_id"].as_str().expect("client_id").to_owned(),
            v["client_secret"].as_str().map(str::to_owned),
        )
    }

    /// A confidential web client with the code and refresh grants.
    pub async fn web_client(&self) -> (String, String) {
        let (id, secret) = self
            .client(json!({
                "client_name": "Test RP",
                "redirect_uris": ["http://127.0.0.1:9/cb"],
                "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .await;
        (id, secret.expect("secret"))
    }

    /// Creates a user through the admin API; returns its `sub`.
    pub async fn user(&self, username: &str) -> String {
        let r = self.api.post(self.url("/admin/users")).bearer_auth(ADMIN_TOKEN).json(&json!({"username": username, "password": PASSWORD, "email": format!("{username}@example.com"), "name": "Test User"})).send().await.expect("admin");
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.expect("json")["sub"]
            .as_str()
            .expect("sub")
            .to_owned()
    }

    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// Polls `f` every 25 ms until it yields a value; `None` once `limit` has passed. For
/// what happens on its own time (a background task, another process, a reconnect);
/// what the server decides by its clock is driven with [`fixed_clock`] instead.
pub async fn within<T, F, Fut>(limit: std::time::Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// [`within`] 30 s, failing the test (naming `what`) when nothing came.
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    within(std::time::Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of `name="<field>" value="…"` in a page.
pub fn hidden(page: &str, field: &str) -> String {
    let marker = format!("name=\"{field}\" value=\"");
    let start = page
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no {field} in page"));
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The `<input …>` tag of the form field `name` on `page` (to check its attributes).
pub fn input_tag(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"));
    let start = page[..at].rfind("<input").expect("an input tag");
    let end = at + page[at..].find('>').expect("the end of the tag");
    page[start..=end].to_owned()
}

/// Whether the checkbox `name` on `page` is ticked as served.
pub fn is_ticked(page: &str, name: &str) -> bool {
    input_tag(page, name)
        .trim_end_matches('>')
        .split_whitespace()
        .any(|a| a == "checked" || a.starts_with("checked="))
}

pub fn query_param(url: &str, k: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.into_owned())
}

/// Drives a browser through `authorize_url`: logs in as `username` if asked, approves
/// consent if asked; returns the final redirect to the client.
pub async fn authorize(
    srv: &TestServer,
    browser: &reqwest::Client,
    authorize_url: &str,
    username: &str,
) -> String {
    let mut next = authorize_url.to_owned();
    for _ in 0..8 {
        let url = if next.starts_with('/') {
            srv.url(&next)
        } else {
            next.clone()
        };
        if !url.starts_with(&srv.base) {
            return url;
        }
        let r = browser.get(&url).send().await.expect("get");
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "unexpected page at {url}");
        let page = r.text().await.expect("page");
        let (tx, csrf) = (hidden(&page, "tx"), hidden(&page, "csrf"));
        let form: Vec<(&str, &str)> = if url.contains("/login") {
            vec![
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", username),
                ("password", PASSWORD),
            ]
        } else {
            vec![("tx", &tx), ("csrf", &csrf), ("decision", "approve")]
        };
        let action = if url.contains("/login") {
            "/login"
        } else {
            "/consent"
        };
        let r = browser
            .post(srv.url(action))
            .form(&form)
            .send()
            .await
            .expect("post");
        assert!(
            r.status().is_redirection(),
            "form at {action} answered {}",
            r.status()
        );
        next = location(&r);
    }
    panic!("too many redirects")
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = format!("{}{}", random_hex16(), random_hex16());
    let challenge = surety::util::b64(&surety::util::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization URL for a client.
pub fn authorize_url(
    srv: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("scope", "openid profile email"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(a, _)| a != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    (
        surety::oauth::authorize::with_query(&srv.url("/authorize"), &pairs),
        verifier,
    )
}

/// Runs the code flow and redeems the code; returns the token response JSON.
pub async fn tokens(srv: &TestServer, client: &(String, String), username: &str) -> Value {
    let (url, verifier) = authorize_url(srv, &client.0, &[]);
    let cb = authorize(srv, &srv.browser, &url, username).await;
    let code = query_param(&cb, "code").expect("code");
    let r = srv
        .api
        .post(srv.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

/// POSTs a form to the token endpoint with Basic client auth.
pub async fn token_request(
    srv: &TestServer,
    client: &(String, String),
    form: &[(&str, &str)],
) -> reqwest::Response {
    srv.api
        .post(srv.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .expect("token")
}

/// The status and `error` code of a token-endpoint error (which is never cached).
pub async fn error_of(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    (status, v["error"].as_str().unwrap_or_default().to_owned())
}

/// Whether introspection (RFC 7662, as client `c`) reports `token` active.
pub async fn active(srv: &TestServer, c: &(String, String), token: &str) -> bool {
    let r = srv
        .api
        .post(srv.url("/introspect"))
        .basic_auth(&c.0, Some(&c.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["active"] == true
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_logs() {
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
