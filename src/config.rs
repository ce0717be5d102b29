//! Typed settings, layered (house rule 11): built-in defaults → optional `surety.toml`
//! (or the file named by `SURETY_CONFIG`) → `SURETY_*` environment variables. Secrets are
//! [`SecretString`]s: they never print in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on (`SURETY_LISTEN`).
    pub listen: SocketAddr,
    /// The issuer identifier (`SURETY_ISSUER`); defaults to `http://<listen address>`.
    pub issuer: Option<String>,
    /// Where the SQLite file and the generated key-encryption key live (`SURETY_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`SURETY_DATABASE_URL`); default: `<data_dir>/surety.db`.
    pub database_url: Option<String>,
    /// Switches single-use and ephemeral state to Redis (`SURETY_REDIS_URL`).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key (`SURETY_REDIS_PREFIX`), so deployments can share a Redis.
    pub redis_prefix: String,
    /// Enables the admin API when set (`SURETY_ADMIN_TOKEN`).
    #[serde(skip_serializing)]
    pub admin_token: Option<SecretString>,
    /// 32-byte key-encryption key, hex or base64url (`SURETY_KEY_ENCRYPTION_KEY`).
    /// Required with PostgreSQL unless `key_encryption_key_file` is set.
    #[serde(skip_serializing)]
    pub key_encryption_key: Option<SecretString>,
    /// File holding the key-encryption key (`SURETY_KEY_ENCRYPTION_KEY_FILE`).
    pub key_encryption_key_file: Option<PathBuf>,
    /// `json` for JSON log lines, `text` otherwise (`SURETY_LOG_FORMAT`).
    pub log_format: String,
    /// Access-token lifetime in seconds (`SURETY_ACCESS_TOKEN_TTL`).
    pub access_token_ttl: i64,
    /// ID-token lifetime in seconds (`SURETY_ID_TOKEN_TTL`).
    pub id_token_ttl: i64,
    /// Refresh-token lifetime in seconds (`SURETY_REFRESH_TOKEN_TTL`).
    pub refresh_token_ttl: i64,
    /// Seconds a rotated refresh token may be retried once (lost response) before it
    /// counts as reuse (`SURETY_REFRESH_GRACE`); 0, the default, means never.
    pub refresh_grace: i64,
    /// Authorization-code lifetime in seconds (`SURETY_CODE_TTL`).
    pub code_ttl: u64,
    /// Browser-session lifetime in seconds (`SURETY_SESSION_TTL`).
    pub session_ttl: u64,
    /// Lifetime of a device authorization (RFC 8628 `expires_in`) in seconds
    /// (`SURETY_DEVICE_CODE_TTL`, default 600).
    pub device_code_ttl: i64,
    /// Seconds a device waits between two polls of the token endpoint (RFC 8628
    /// `interval`; `SURETY_DEVICE_POLL_INTERVAL`, default 5); `slow_down` adds 5.
    pub device_poll_interval: i64,
    /// User codes one client address may try on the verification page within
    /// `user_code_window` (`SURETY_USER_CODE_MAX_ATTEMPTS`, default 10); a code accepted
    /// does not count.
    pub user_code_max_attempts: u64,
    /// User codes all addresses together may try within `user_code_window`, across every
    /// node sharing the cache (`SURETY_USER_CODE_MAX_TOTAL`, default 1000).
    pub user_code_max_total: u64,
    /// The window of those two limits in seconds (`SURETY_USER_CODE_WINDOW`, default 900).
    pub user_code_window: u64,
    /// Device authorization requests (RFC 8628 §3.1) one client address may make per
    /// minute, across every node sharing the cache (`SURETY_DEVICE_AUTHORIZATION_RATE`,
    /// default 30; 0: no limit). More get 429 with `Retry-After`.
    pub device_authorization_rate: u64,
    /// The secret pairwise subject identifiers are derived from (OpenID Connect Core
    /// §8.1; `SURETY_PAIRWISE_SECRET`, at least 32 characters). Unset: one is generated
    /// on first start and kept in the database, sealed under the key-encryption key, so
    /// every node sharing the database derives the same identifiers. Changing it changes
    /// every pairwise `sub`; rotating signing keys changes none.
    #[serde(skip_serializing)]
    pub pairwise_secret: Option<SecretString>,
    /// Lets documents fetched for client registrations (`sector_identifier_uri`, Client
    /// ID Metadata Documents, which may then also use `http://` on loopback) come from
    /// loopback addresses (`SURETY_FETCH_ALLOW_LOOPBACK`, default `false`): for tests and
    /// local development only. Private, link-local and other special addresses are
    /// always refused.
    pub fetch_allow_loopback: bool,
    /// Seconds between reloads of the signing-key ring (`SURETY_KEY_RELOAD_INTERVAL`).
    pub key_reload_interval: u64,
    /// Failed logins per username before a lockout (`SURETY_LOGIN_MAX_FAILURES`).
    pub login_max_failures: u64,
    /// Lockout and failure-counting window in seconds (`SURETY_LOGIN_LOCKOUT`).
    pub login_lockout: u64,
    /// Least seconds between two fetches of one `jwks_uri` when a token names an unknown
    /// `kid` (`SURETY_JWKS_MIN_REFETCH`).
    pub jwks_min_refetch: i64,
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs; `SURETY_TRUSTED_PROXIES`, e.g.
    /// `["10.0.0.0/8"]`). Requests from anywhere else are judged by their socket address.
    pub trusted_proxies: Vec<String>,
    /// Seconds a node may serve a client registration from memory (`SURETY_CLIENT_CACHE_TTL`);
    /// changes made on another node are seen within this time. 0 disables the cache.
    pub client_cache_ttl: i64,
    /// Seconds a node may serve a partner or account record from memory when verifying a
    /// partner's assertion (`SURETY_PARTNER_CACHE_TTL`): a suspension or key change made
    /// on another node is seen within this time (at once on the node that made it).
    /// 0 disables the cache.
    pub partner_cache_ttl: i64,
    /// Milliseconds between two polls of the outbox by this node's delivery worker
    /// (`SURETY_OUTBOX_POLL_INTERVAL`); at least 10.
    pub outbox_poll_interval: u64,
    /// Seconds before the first retry of a failed outbox delivery, doubled after each
    /// further failure (with jitter, at most one hour) (`SURETY_OUTBOX_RETRY_BASE`).
    pub outbox_retry_base: u64,
    /// Delivery attempts before an outbox event is marked `failed`
    /// (`SURETY_OUTBOX_MAX_ATTEMPTS`).
    pub outbox_max_attempts: u32,
    /// Seconds a passed verified-entity challenge counts for (`SURETY_VERIFIED_POLICY_AGE`,
    /// default 365 days): within it a session that stepped up at any relying party keeps
    /// the `urn:surety:acr:verified` level, and `verified_claims` are released.
    pub verified_policy_age: i64,
    /// The least level (`acr`) every sign-in must reach, at every client
    /// (`SURETY_MINIMUM_ACR`; unset: none). One of `acr_values_supported`; a request
    /// below it is raised to it and becomes essential.
    pub minimum_acr: Option<String>,
    /// SMTP server that sends e-mail alerts (`SURETY_SMTP_HOST`); unset: no e-mail is sent.
    pub smtp_host: Option<String>,
    /// Its port (`SURETY_SMTP_PORT`); default by `smtp_tls`: 25, 587 or 465.
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` (default; the server must offer it) or `tls` (implicit TLS)
    /// (`SURETY_SMTP_TLS`). Certificates are checked against the Web PKI roots.
    pub smtp_tls: SmtpTls,
    /// SMTP AUTH user (`SURETY_SMTP_USERNAME`); with `smtp_password`, never over `none`.
    pub smtp_username: Option<String>,
    /// SMTP AUTH password (`SURETY_SMTP_PASSWORD`).
    #[serde(skip_serializing)]
    pub smtp_password: Option<SecretString>,
    /// Sender address of e-mail (`SURETY_SMTP_FROM`).
    pub smtp_from: String,
    /// Seconds an e-mail verification link works (`SURETY_EMAIL_VERIFY_TTL`, default 3600).
    pub email_verify_ttl: i64,
    /// Seconds a password-reset link works (`SURETY_PASSWORD_RESET_TTL`, default 1800).
    pub password_reset_ttl: i64,
    /// Links of one kind (reset, verification) sent per asked address or login name within
    /// `mail_link_window` (`SURETY_MAIL_LINK_MAX_PER_ADDRESS`, default 3); one client
    /// address may ask 10× as often. More are refused with 429, whether or not an account
    /// matches.
    pub mail_link_max_per_address: u64,
    /// Links of one kind sent per account within `mail_link_window`, however asked
    /// (`SURETY_MAIL_LINK_MAX_PER_ACCOUNT`, default 5); more are silently not sent.
    pub mail_link_max_per_account: u64,
    /// The window of those limits in seconds (`SURETY_MAIL_LINK_WINDOW`, default 3600).
    pub mail_link_window: u64,
    /// Correct answers a verified-entity challenge needs (`SURETY_VERIFY_PASS_THRESHOLD`,
    /// default 3)…
    pub verify_pass_threshold: u32,
    /// …of this many questions per attempt (`SURETY_VERIFY_QUESTIONS`, default 4).
    pub verify_questions: u32,
    /// Attempts per entity within `verify_attempt_window` before it is locked
    /// (`SURETY_VERIFY_MAX_ATTEMPTS`, default 3).
    pub verify_max_attempts: u32,
    /// Seconds (`SURETY_VERIFY_ATTEMPT_WINDOW`, default 24 h).
    pub verify_attempt_window: i64,
    /// Seconds a verification stays open (`SURETY_VERIFY_TTL`, default 10 min).
    pub verify_ttl: i64,
    /// CSV file of `cidr,region` lines mapping source networks to regions
    /// (`SURETY_VERIFY_REGION_TABLE`); unset: the built-in sample (`samples/regions.csv`,
    /// documentation ranges only).
    pub verify_region_table: Option<PathBuf>,
    /// Verifications one relying party may start per minute, across every node sharing the
    /// cache (`SURETY_VERIFY_START_RATE`, default 600; 0: no limit). More get 429 with
    /// `Retry-After`.
    pub verify_start_rate: u32,
    /// Days a closed verification's row is kept (`SURETY_VERIFY_RETENTION_DAYS`, default 30;
    /// never less than the attempt window, whose count needs them); its decision stays in
    /// the entity's history.
    pub verify_retention_days: i64,
    /// Days a delivered outbox event is kept for the admin API
    /// (`SURETY_OUTBOX_RETENTION_DAYS`, default 30); pending and failed ones stay.
    pub outbox_retention_days: i64,
    /// Seconds between two upkeep passes of a node: expired refresh tokens and revoked
    /// `jti`s, old verifications (`SURETY_PURGE_INTERVAL`, default 3600; 0: never).
    pub purge_interval: u64,
    /// Seconds a connection has to send a complete request header, from its opening or
    /// its previous response (so also the idle keep-alive timeout)
    /// (`SURETY_HEADER_TIMEOUT`, default 10).
    pub header_timeout: u64,
    /// Open connections in all (`SURETY_MAX_CONNECTIONS`; 0, the default: 10,000, and
    /// always below the file-descriptor limit less 128).
    pub max_connections: usize,
    /// Open connections per client address (`SURETY_MAX_CONNECTIONS_PER_IP`, default
    /// 128); trusted proxies count only toward the total.
    pub max_connections_per_ip: usize,
    /// When DPoP proofs must carry a server nonce (RFC 9449 §8, §9; `SURETY_DPOP_NONCE`):
    /// `bound` (default: for clients registered with `dpop_bound_access_tokens`, at the
    /// token and PAR endpoints and, for their tokens, at UserInfo and the resource API),
    /// `always` (every proof, at those endpoints) or `off`. A nonce a proof carries is always checked.
    pub dpop_nonce: DpopNonce,
    /// Seconds one DPoP nonce period lasts (`SURETY_DPOP_NONCE_PERIOD`, default 120): a
    /// nonce is accepted in its period and the next.
    pub dpop_nonce_period: i64,
    /// Seconds after its `iat` a DPoP proof is accepted (`SURETY_DPOP_PROOF_MAX_AGE`,
    /// default 60); its `jti` is remembered as long.
    pub dpop_proof_max_age: i64,
    /// Seconds a DPoP proof's `iat` may lie ahead of the server's clock
    /// (`SURETY_DPOP_PROOF_LEEWAY`, default 5).
    pub dpop_proof_leeway: i64,
    /// Every authorization request must be pushed (RFC 9126 §6; `SURETY_REQUIRE_PAR`,
    /// default `false`); discovery then says `require_pushed_authorization_requests`.
    pub require_par: bool,
    /// The security profile of clients registered without `surety_profile`
    /// (`SURETY_DEFAULT_PROFILE`: `none`, the default, or `fapi2-security`).
    pub default_profile: crate::store::SecurityProfile,
    /// Dynamic client registration (RFC 7591, RFC 7592) at `/register`
    /// (`SURETY_REGISTRATION`): `off` (the default: no endpoint, nothing in discovery),
    /// `token` (a client registers with an initial access token the admin API minted,
    /// whose policy bounds what it may register) or `open` (anyone may register, held to
    /// the open policy: the `authorization_code`, `refresh_token` and device grants; an
    /// initial access token, if sent, still applies its own policy). Discovery says
    /// `registration_endpoint` unless `off`.
    pub registration: RegistrationMode,
    /// Registration requests (`POST /register`) one client address may make per hour,
    /// across every node sharing the cache (`SURETY_REGISTRATION_MAX_PER_ADDRESS`,
    /// default 20); more get 429 with `Retry-After`.
    pub registration_max_per_address: u64,
    /// Issuers whose software statements (RFC 7591 §2.3) registration accepts
    /// (`SURETY_SOFTWARE_STATEMENT_ISSUERS`, e.g.
    /// `[{issuer = "https://ca.example", jwks_uri = "https://ca.example/jwks"}]`), each
    /// with its public keys inline (`jwks`) or at a `jwks_uri`. A statement signed by
    /// anyone else is `unapproved_software_statement`; empty, the default: every
    /// statement is.
    pub software_statement_issuers: Vec<TrustedIssuer>,
    /// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document;
    /// `SURETY_CLIENT_METADATA_DOCUMENTS`, default `false`): a `client_id` that is an
    /// https URL is fetched at `/authorize` and `/token` (never from the server's own
    /// network; loopback only with `fetch_allow_loopback`) and its JSON document is the
    /// client's metadata (public clients and `private_key_jwt` with a `jwks_uri` only).
    /// Discovery then says `client_id_metadata_document_supported`.
    pub client_metadata_documents: bool,
    /// Milliseconds a metadata document fetch may take, connection included
    /// (`SURETY_CLIENT_METADATA_DOCUMENT_TIMEOUT_MS`, default 3000).
    pub client_metadata_document_timeout_ms: u64,
}

/// How clients may register themselves (`SURETY_REGISTRATION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// No registration endpoint.
    #[default]
    Off,
    /// With an initial access token minted by the admin API.
    Token,
    /// By anyone, within the open policy.
    Open,
}

/// An issuer of software statements registration trusts, with its public keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The statements' `iss`.
    pub issuer: String,
    /// Its JWK Set, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where its JWK Set is published (fetched and cached as clients' `jwks_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// When a DPoP proof must carry a server nonce (`SURETY_DPOP_NONCE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopNonce {
    /// For clients registered with `dpop_bound_access_tokens` and their tokens.
    #[default]
    Bound,
    /// Every proof, at the token endpoint and the resource endpoints.
    Always,
    /// Never required.
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "surety:".into(),
            admin_token: None,
            key_encryption_key: None,
            key_encryption_key_file: None,
            log_format: "text".into(),
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 14 * 24 * 3600,
            refresh_grace: 0,
            code_ttl: 60,
            session_ttl: 8 * 3600,
            device_code_ttl: 600,
            device_poll_interval: 5,
            user_code_max_attempts: 10,
            user_code_max_total: 1000,
            user_code_window: 900,
            device_authorization_rate: 30,
            pairwise_secret: None,
            fetch_allow_loopback: false,
            key_reload_interval: 60,
            login_max_failures: 5,
            login_lockout: 900,
            client_cache_ttl: 10,
            partner_cache_ttl: 5,
            trusted_proxies: Vec::new(),
            jwks_min_refetch: 10,
            outbox_poll_interval: 1000,
            outbox_retry_base: 5,
            outbox_max_attempts: 8,
            verified_policy_age: 365 * 24 * 3600,
            minimum_acr: None,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::default(),
            smtp_username: None,
            smtp_password: None,
            smtp_from: "surety@localhost".into(),
            email_verify_ttl: 3600,
            password_reset_ttl: 1800,
            mail_link_max_per_address: 3,
            mail_link_max_per_account: 5,
            mail_link_window: 3600,
            verify_pass_threshold: 3,
            verify_questions: 4,
            verify_max_attempts: 3,
            verify_attempt_window: 24 * 3600,
            verify_ttl: 600,
            verify_region_table: None,
            verify_start_rate: 600,
            verify_retention_days: 30,
            outbox_retention_days: 30,
            purge_interval: 3600,
            header_timeout: 10,
            max_connections: 0,
            max_connections_per_ip: 128,
            dpop_nonce: DpopNonce::default(),
            dpop_nonce_period: 120,
            dpop_proof_max_age: 60,
            dpop_proof_leeway: 5,
            require_par: false,
            default_profile: crate::store::SecurityProfile::None,
            registration: RegistrationMode::default(),
            registration_max_per_address: 20,
            software_statement_issuers: Vec::new(),
            client_metadata_documents: false,
            client_metadata_document_timeout_ms: 3000,
        }
    }
}

impl Settings {
    /// Defaults, then the config file if present, then `SURETY_*` variables.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var("SURETY_CONFIG").unwrap_or_else(|_| "surety.toml".into());
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("SURETY_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("surety.db").display()))
    }

    pub fn is_postgres(&self) -> bool {
        let u = self.database_url();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    }

    /// The longest lifetime of any token Surety signs (how long old keys stay published).
    pub fn max_token_ttl(&self) -> i64 {
        self.access_token_ttl.max(self.id_token_ttl)
    }
}

/// How the connection to the SMTP server is protected (`SURETY_SMTP_TLS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text throughout (a relay on the same host or network); no credentials.
    None,
    /// Plain connection upgraded with `STARTTLS`, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Tls,
}

impl SmtpTls {
    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(!s.is_postgres());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings {
            admin_token: Some(SecretString::from("hunter2-admin")),
            pairwise_secret: Some(SecretString::from("hunter2-pairwise-0123456789abcdef")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
