//! Wiring: settings → stores, cache, keys, provider → router → a running server.
//! [`spawn`] binds (port 0 works), serves until shut down, and finishes in-flight
//! requests on shutdown; the binary and every integration test start Surety this way,
//! handing it its [`Deps`] (the clock and the entropy source).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cache::{Ephemeral, memory::MemoryCache, redis::RedisCache};
use crate::clock::{Clock, Entropy, SharedClock, SharedEntropy, SystemClock, SystemEntropy};
use crate::config::Settings;
use crate::keys::KeyRing;
use crate::keys::seal::Kek;
use crate::oauth::extensions::Extensions;
use crate::oauth::grants::GrantRegistry;
use crate::oauth::provider::Provider;
use crate::partners::keys::PartnerKeys;
use crate::store::Stores;
use crate::store::sql::SqlStore;
use crate::web::{AppState, router};

/// What a server reads the time and draws randomness from: the system clock and CSPRNG
/// by default; tests give a `FixedClock` they move, or a `SeededEntropy`.
#[derive(Clone)]
pub struct Deps {
    pub clock: SharedClock,
    pub entropy: SharedEntropy,
}

impl Default for Deps {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy),
        }
    }
}

impl Deps {
    /// These dependencies reading the time from `clock`.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
    /// These dependencies drawing randomness from `entropy`.
    pub fn entropy(mut self, entropy: impl Entropy) -> Self {
        self.entropy = Arc::new(entropy);
        self
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub issuer: String,
    pub provider: Arc<Provider>,
    /// The verified-entity engine the server uses.
    pub verifier: crate::verify::engine::Verifier,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
    /// Resolves when the server stops.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
    pub fn trigger_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Connects the durable store and applies migrations.
pub async fn open_store(s: &Settings) -> anyhow::Result<SqlStore> {
    if !s.is_postgres() {
        create_private_dir(&s.data_dir)?;
    }
    let store = SqlStore::connect(&s.database_url())
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("applying migrations")?;
    if !s.is_postgres() {
        let db = s.data_dir.join("surety.db");
        if db.exists() {
            set_mode(&db, 0o600)?;
        }
    }
    Ok(store)
}

/// What the products keep for the life of the server, shared between what they plug
/// into the engine and the web layer.
#[derive(Clone, Default)]
pub struct ProductState {
    /// Partners' inline and HS256 keys, imported once (see `partners::keys`): used by the
    /// jwt-bearer grant and the signed login link.
    pub partner_keys: Arc<PartnerKeys>,
}

/// Builds the provider from settings (connects, migrates, loads or creates keys).
pub async fn build_provider(s: Settings, deps: Deps) -> anyhow::Result<Provider> {
    build_provider_with(s, deps, &ProductState::default()).await
}

/// [`build_provider`] with the products' state the caller shares with the web layer.
async fn build_provider_with(
    s: Settings,
    deps: Deps,
    products: &ProductState,
) -> anyhow::Result<Provider> {
    let Deps { clock, entropy } = deps;
    if let Some(m) = &s.minimum_acr {
        crate::accounts::assurance::parse_policy(m)
            .map_err(|e| anyhow::anyhow!("SURETY_MINIMUM_ACR: {e}"))?;
    }
    let store = open_store(&s).await?;
    let stores = Stores::from_sql(store, clock.clone(), s.client_cache_ttl)
        .with_partner_cache(clock.clone(), s.partner_cache_ttl);
    let cache: Arc<dyn Ephemeral> = match &s.redis_url {
        Some(url) => Arc::new(
            RedisCache::connect(url, &s.redis_prefix)
                .await
                .context("connecting to Redis")?,
        ),
        None => Arc::new(MemoryCache::new(clock.clone())),
    };
    let kek = load_kek(&s)?;
    let dpop_nonces =
        crate::oauth::dpop::nonce::Nonces::new(&kek.derive("dpop-nonce"), s.dpop_nonce_period);
    let keys = KeyRing::open(
        stores.keys.clone(),
        kek,
        entropy.clone(),
        s.max_token_ttl(),
        clock.now(),
    )
    .await
    .context("loading signing keys")?;
    let issuer = s
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", s.listen))
        .trim_end_matches('/')
        .to_owned();
    let remote_jwks = crate::keys::remote::RemoteJwks::new(s.jwks_min_refetch);
    let ext = extensions(&s);
    let pairwise = pairwise_key(&s, &keys, clock.now()).await?;
    let fetch = crate::fetch::Fetcher::new(s.fetch_allow_loopback);
    Ok(Provider {
        remote_jwks,
        issuer,
        settings: s,
        stores,
        cache,
        keys: Arc::new(keys),
        clock,
        entropy,
        grants: grants(products),
        ext,
        scopes: scope_registry(),
        replay_horizon: Default::default(),
        dpop_nonces,
        pairwise,
        fetch,
    })
}

/// The pairwise subject key (OpenID Connect Core §8.1): from `SURETY_PAIRWISE_SECRET`,
/// else the server secret generated once and kept in the database (the same on every
/// node sharing it, untouched by signing-key rotation).
async fn pairwise_key(
    s: &Settings,
    keys: &KeyRing,
    now: crate::clock::Timestamp,
) -> anyhow::Result<crate::oauth::subject::PairwiseKey> {
    use crate::oauth::subject::PairwiseKey;
    if let Some(secret) = &s.pairwise_secret {
        let bytes = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            bytes.len() >= PairwiseKey::MIN_SECRET,
            "SURETY_PAIRWISE_SECRET must be at least {} characters",
            PairwiseKey::MIN_SECRET
        );
        return Ok(PairwiseKey::new(bytes));
    }
    let generated = keys
        .server_secret("pairwise", now)
        .await
        .context("loading the pairwise subject secret")?;
    Ok(PairwiseKey::new(&generated))
}

/// The engine's grants and the products' (partners' jwt-bearer).
fn grants(products: &ProductState) -> GrantRegistry {
    let mut g = GrantRegistry::default();
    g.register(Arc::new(crate::partners::jwt_bearer::JwtBearer {
        keys: products.partner_keys.clone(),
    }));
    g
}

/// What the products plug into the engine (see `oauth::extensions`).
fn extensions(s: &Settings) -> Extensions {
    let mut ext = Extensions::default();
    // The assurance ladder's levels, then the authentication steps, weakest first: the
    // login, the second factor and the passkey, then the step-up challenge.
    crate::accounts::assurance::define(&mut ext.authn);
    ext.authn
        .register(Arc::new(crate::accounts::login_step::PasswordLogin));
    ext.authn
        .register(Arc::new(crate::accounts::login_step::Factor::MULTI));
    ext.authn
        .register(Arc::new(crate::accounts::login_step::Factor::PASSKEY));
    ext.authn.register(Arc::new(crate::verify::step::Challenge));
    ext.verified_claims = Some(Arc::new(crate::verify::claims::EntityClaims));
    // Developer apps: their consent and refreshes are connect's.
    let apps = Arc::new(crate::connect::policy::Apps);
    ext.consent = Some(apps.clone());
    ext.refresh = Some(apps);
    ext.acr_policies
        .push(Arc::new(crate::connect::acr::PartnerMinimum));
    // Partners authenticate at the token endpoint under their own ids.
    ext.clients
        .push(Arc::new(crate::partners::client::PartnerClients));
    // Clients known by their metadata documents (URL client ids), when enabled.
    if s.client_metadata_documents {
        ext.clients.push(Arc::new(
            crate::admin::client_documents::DocumentClients::from_settings(s),
        ));
    }
    // Token exchange on accounts (operators' impersonation, partners' own accounts).
    ext.exchange_subjects
        .push(Arc::new(crate::partners::exchange::AccountExchange));
    ext
}

/// The scopes the products define: the permission registry (delegable), and the scopes
/// that belong to one grant and client (the Partner API's, operator impersonation's and
/// the verification API's).
fn scope_registry() -> crate::oauth::scope::ScopeRegistry {
    let mut r = crate::oauth::scope::ScopeRegistry::default();
    for p in crate::resource::permissions::Permission::ALL {
        r.register(p.as_str());
    }
    for s in [
        crate::partners::PARTNER_API_SCOPE,
        crate::partners::exchange::IMPERSONATE_SCOPE,
        crate::web::api::verify_auth::SCOPE,
    ] {
        r.register_internal(s);
    }
    r
}

/// The key-encryption key: from configuration, else (embedded default only) a file
/// generated under the data dir with mode 0600.
pub fn load_kek(s: &Settings) -> anyhow::Result<Kek> {
    if let Some(k) = &s.key_encryption_key {
        return Kek::parse(k.expose_secret()).context("SURETY_KEY_ENCRYPTION_KEY");
    }
    if let Some(f) = &s.key_encryption_key_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        return Kek::parse(&text).context("the key-encryption key file");
    }
    anyhow::ensure!(
        !s.is_postgres(),
        "with PostgreSQL, set SURETY_KEY_ENCRYPTION_KEY or SURETY_KEY_ENCRYPTION_KEY_FILE so every node opens the same keys"
    );
    let dir = s.data_dir.join("keys");
    create_private_dir(&dir)?;
    let path = dir.join("kek");
    if path.exists() {
        return Kek::parse(&std::fs::read_to_string(&path)?)
            .context("the generated key-encryption key");
    }
    let (kek, text) = Kek::generate()?;
    std::fs::write(&path, text)?;
    set_mode(&path, 0o600)?;
    tracing::info!(path = %path.display(), "generated a key-encryption key");
    Ok(kek)
}

fn create_private_dir(p: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    set_mode(p, 0o700)
}

fn set_mode(p: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", p.display()))
}

/// The process-wide Prometheus recorder (installed once, shared by every server in it).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

/// Binds, builds and serves, reading the time and drawing randomness from `deps`
/// (`Deps::default()`: the system's). With `settings.issuer` unset, the issuer is
/// `http://<bound address>` (so port 0 yields a correct issuer).
pub async fn spawn(mut settings: Settings, deps: Deps) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let addr = listener.local_addr()?;
    settings.listen = addr;
    let admin_token = settings.admin_token.clone().map(Arc::new);
    let products = ProductState::default();
    let mut provider = build_provider_with(settings, deps, &products).await?;
    // Audit records leave the request path; the server flushes them when it stops.
    provider.stores.audit = Arc::new(crate::store::audit_batch::BatchedAudit::spawn(
        provider.stores.audit.clone(),
    ));
    let provider = Arc::new(provider);
    let verifier = crate::verify::engine::Verifier::from_settings(
        provider.stores.clone(),
        &provider.settings,
        provider.clock.clone(),
        provider.entropy.clone(),
    )
    .context("verification settings")?;
    let state = AppState {
        provider: provider.clone(),
        metrics: metrics_handle(),
        admin_token,
        verifier: verifier.clone(),
        partner_keys: products.partner_keys,
    };
    let app = router(state);
    let limits = crate::web::serve::Limits::from_settings(&provider.settings);
    let (tx, rx) = watch::channel(false);
    tokio::spawn(reload_keys(provider.clone(), rx.clone()));
    tokio::spawn(outbox_worker(&provider)?.run(rx.clone()));
    tokio::spawn(upkeep(provider.clone(), rx.clone()));
    let audit = provider.stores.audit.clone();
    let task = tokio::spawn(async move {
        crate::web::serve::serve(listener, app, limits, rx).await;
        if let Err(e) = audit.flush().await {
            tracing::warn!(error = %e, "audit flush at shutdown failed");
        }
    });
    let issuer = provider.issuer.clone();
    tracing::info!(%addr, %issuer, "surety listening");
    Ok(Running {
        addr,
        issuer,
        provider,
        verifier,
        shutdown: tx,
        task,
    })
}

/// The outbox delivery worker the provider's settings describe.
fn outbox_worker(p: &Provider) -> anyhow::Result<Arc<crate::outbox::worker::Worker>> {
    let worker = crate::outbox::worker::Worker::from_settings(
        &p.settings,
        &p.issuer,
        p.keys.clone(),
        p.stores.outbox.clone(),
        p.clock.clone(),
        p.entropy.clone(),
    )
    .context("outbox")?;
    Ok(Arc::new(worker))
}

/// Every `key_reload_interval` seconds, reloads the signing keys (another node may have
/// rotated them); stops with the server.
async fn reload_keys(p: Arc<Provider>, mut stop: watch::Receiver<bool>) {
    let every = p.settings.key_reload_interval.max(1);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(every)) => {
                if let Err(e) = p.keys.reload().await {
                    tracing::warn!(error = %e, "signing-key reload failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// Every `purge_interval` seconds (first after one interval), runs [`upkeep_pass`].
/// Idempotent, so every node may run it; stops with the server.
async fn upkeep(p: Arc<Provider>, mut stop: watch::Receiver<bool>) {
    let every = p.settings.purge_interval;
    if every == 0 {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(every)) => {}
            _ = stop.changed() => return,
        }
        let started = std::time::Instant::now();
        match upkeep_pass(&p).await {
            Ok(n) => tracing::info!(
                rows = n,
                ms = started.elapsed().as_millis() as u64,
                "upkeep: expired rows deleted"
            ),
            Err(e) => tracing::warn!(error = %e, "upkeep failed; retried at the next interval"),
        }
    }
}

/// One upkeep pass (what every node runs each `purge_interval`, and `surety upkeep` runs
/// once): deletes expired refresh tokens and the grants they ended, revoked `jti`s,
/// sessions, device authorizations and e-mailed links, closed verifications older than
/// their retention (at least the attempt window) and delivered outbox events older than
/// theirs. Returns the rows removed.
pub async fn upkeep_pass(p: &Provider) -> crate::store::StoreResult<u64> {
    let keep = (p.settings.verify_retention_days * 86_400).max(p.settings.verify_attempt_window);
    let sent = p.settings.outbox_retention_days * 86_400;
    let now = p.now();
    let grants = now - p.settings.max_token_ttl();
    p.stores
        .health
        .purge(now, now - keep, now - sent, grants)
        .await
}
