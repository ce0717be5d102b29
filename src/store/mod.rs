//! Durable state behind one small trait per aggregate (house rule 8). SQL lives only in
//! this module. One implementation, [`sql::SqlStore`], speaks to both SQLite (the
//! embedded default) and PostgreSQL through sqlx's `Any` driver; the two backends differ
//! only in their migration folders, and both pass the contract suite in `contract.rs`.

mod agents_sql;
mod apps_sql;
pub mod audit_batch;
mod authenticators_sql;
mod bindings_sql;
pub mod cached;
pub mod cached_partners;
#[cfg(test)]
mod contract;
mod device_sql;
mod entities_sql;
mod ids;
mod keys_sql;
mod links_sql;
pub mod migrate;
mod outbox_sql;
mod partners_sql;
mod promotions_sql;
mod registrations_sql;
pub mod resource_servers;
mod resource_sql;
mod sessions_sql;
pub mod sql;
mod stores;
mod types;
mod verify_sql;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::clock::Timestamp;
use crate::scope::Scope;

pub use agents_sql::{AgentLink, AgentLinkStore, agent_status};
pub use authenticators_sql::{
    PasskeyRecord, PasskeyStore, RecoveryCodeStore, TotpRecord, TotpStore,
};
pub use bindings_sql::{EntityBinding, EntityBindingStore};
pub use device_sql::{DeviceApproval, DeviceAuthorization, DeviceStatus, DeviceStore};
pub use entities_sql::{
    ElementProbe, EntityBulk, EntityCounts, EntityLink, EntityRecord, EntityStore, EntityWrite,
    UpsertOutcome,
};
pub use ids::{AccountSid, ClientId, PartnerId};
pub use keys_sql::{ApiKeyRecord, ApiKeyStore};
pub use links_sql::{LinkRecord, LinkStore};
pub use outbox_sql::{OutboxEvent, OutboxFilter, OutboxStore};
pub use partners_sql::AccountChange;
pub use promotions_sql::{PromotionRecord, PromotionStore};
pub use registrations_sql::{
    InitialAccessToken, Registration, RegistrationPolicy, RegistrationStore,
};
pub use resource_sql::{
    AccountNode, ActivityKind, ActivityRecord, Charge, Cursor, Metered, NumberRecord, ResourceStore,
};
pub use sessions_sql::{SessionClient, SessionEnd, SessionRecord, SessionStore};
pub use stores::Stores;
pub use types::{
    AccountStatus, AppPermission, GrantStatus, LinkPurpose, OutboxStatus, PartnerLimits,
    PartnerStatus, UsageLimits,
};
pub use verify_sql::{
    AttemptState, EntitySample, EntitySamples, SamplesQuery, VerificationHistoryRecord,
    VerificationRecord, VerificationStore,
};

/// What a store call can fail with. A failed query is never hidden behind `None`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key constraint refused the write; the name says which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is unreachable or failed; callers answer 503 and retry later.
    #[error("backend error: {0}")]
    Backend(String),
    /// A stored row could not be decoded (a bug or a tampered database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// RFC 7591 client metadata as stored (the subset Surety acts on).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ClientMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 9101 §10.5 `request_object_signing_alg`: the one alg the client's request
    /// objects use; unset: any asymmetric alg Surety verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: every authorization request carries a signed request object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_signed_request_object: bool,
    /// RFC 9126 §6: authorization requests must be pushed (PAR).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// The security profile enforced for the client (unset: the server's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surety_profile: Option<SecurityProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// What the client may do with the token-exchange grant on end users' tokens
    /// (RFC 8693); unset: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange: Option<TokenExchangePolicy>,
    /// RFC 9449 §5.2: the client always uses DPoP; a token request without a proof is
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// §2.2: the client needs `sid` in logout tokens (Surety always sends it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_logout_session_required: bool,
    /// OpenID Connect Core §8: the `sub` the client sees (public unless registered).
    #[serde(default, skip_serializing_if = "SubjectType::is_public")]
    pub subject_type: SubjectType,
    /// Core §8.1, Registration §2: the https URL of a JSON array holding every redirect
    /// URI of the client; its host is the client's sector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// OpenID Connect Dynamic Client Registration 1.0 §2: the `acr` values asked for
    /// when a request names none (voluntary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_acr_values: Vec<String>,
    /// The least level every sign-in at the client must reach (Surety's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_acr: Option<String>,
}

/// The subject identifier type of a client (OpenID Connect Core §8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    /// Every client sees the same `sub`: the user's id (§8).
    #[default]
    Public,
    /// Each sector sees its own `sub` for a user, which no other sector can link (§8.1).
    Pairwise,
}

impl SubjectType {
    pub fn is_public(&self) -> bool {
        *self == SubjectType::Public
    }
}

/// A security profile a client is held to (client metadata `surety_profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SecurityProfile {
    /// No profile beyond the server's own rules (overrides a server-wide default).
    #[serde(rename = "none")]
    None,
    /// FAPI 2.0 Security Profile (`oauth::fapi`).
    #[serde(rename = "fapi2-security")]
    Fapi2Security,
}

/// A client's token-exchange rights over end users' access tokens (RFC 8693 §1.1):
/// which audiences it may ask tokens for, and whether it may impersonate (no
/// `actor_token`: the new token simply acts as the user) or delegate (with an
/// `actor_token`: the new token's `act` names the actor).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenExchangePolicy {
    /// Audiences (`audience` or `resource` values) the client may target.
    #[serde(default)]
    #[schema(max_items = 32, value_type = Vec<crate::uri::Audience>)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub impersonation: bool,
    #[serde(default)]
    pub delegation: bool,
}

/// A registered OAuth client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    pub client_id: ClientId,
    /// SHA-256 hex of the client secret; `None` for public and `private_key_jwt` clients.
    pub secret_hash: Option<String>,
    pub metadata: ClientMetadata,
    pub created_at: Timestamp,
}

/// A person who can log in.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub sub: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub email: Option<String>,
    pub email_verified_at: Option<Timestamp>, // a link sent to `email` was used then
    pub name: Option<String>,
    pub created_at: Timestamp,
}

/// One authorization (a code redemption): refresh tokens and the access tokens issued
/// under it share its id, so revoking it stops them all.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub sub: String,
    pub scope: Scope,
    pub auth_time: Option<Timestamp>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The resources (RFC 8707) its tokens are for; empty: this server.
    pub resources: Vec<String>,
}

/// A refresh token (stored by hash).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub sub: String,
    /// What the grant holds (a refresh may narrow only its access token).
    pub scope: Scope,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    /// The DPoP key (RFC 7638 thumbprint) a public client's token is bound to (RFC 9449
    /// §5); its successors keep it.
    pub jkt: Option<String>,
}

/// A refresh token with its grant and the grant's session (Back-Channel Logout's `sid`).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRead {
    pub token: RefreshRecord,
    pub grant: GrantRecord,
    pub sid: Option<String>,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The token was live and is now rotated; the successor has been stored.
    Rotated(RefreshRecord),
    /// The token had already been rotated (outside the grace window) or its grant is
    /// revoked: the caller must treat this as reuse.
    Reused(RefreshRecord),
    /// A rotated token presented again inside the grace window but not as the one retry of
    /// a lost response (racing the rotation, or retried already): refused, nothing changes.
    Refused,
    /// Unknown or expired.
    Invalid,
}

/// A signing key as stored: the private key is sealed under the key-encryption key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub public_jwk: serde_json::Value,
    pub sealed_private: Vec<u8>,
    pub created_at: Timestamp,
    /// The key signs from this time on (until a newer key of the same alg activates).
    pub activates_at: Timestamp,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<ClientRecord>;
    async fn update_client(&self, c: &ClientRecord) -> StoreResult<()>;
    /// Deletes the client and its registration, and revokes every grant it holds (its
    /// access tokens then fail validation) and kills its refresh tokens, in one
    /// transaction.
    async fn delete_client(&self, client_id: &str, now: Timestamp) -> StoreResult<()>;
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Drops this node's cached copy of the client, after a write that went around this
    /// store (see [`AppStore::delete_app_and_client`]). Stores without a cache ignore it.
    fn forget_cached(&self, _client_id: &str) {}
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<()>;
    async fn get_user(&self, sub: &str) -> StoreResult<UserRecord>;
    async fn find_user_by_username(&self, username: &str) -> StoreResult<UserRecord>;
    async fn delete_user(&self, sub: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scopes `sub` has granted `client_id` (space separated), if any.
    async fn get_consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Scope>>;
    async fn put_consent(
        &self,
        sub: &str,
        client_id: &str,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Records a grant; a grant already present (e.g. revoked by a racing code reuse) is
    /// left as it is.
    async fn insert_grant(&self, g: &GrantRecord) -> StoreResult<()>;
    async fn get_grant(&self, id: &str) -> StoreResult<GrantRecord>;
    /// Marks the grant revoked (creating a revoked tombstone if it does not exist yet) and
    /// kills every refresh token under it.
    async fn revoke_grant(&self, g: &GrantRecord, now: Timestamp) -> StoreResult<()>;
    async fn insert_refresh(&self, r: &RefreshRecord) -> StoreResult<()>;
    async fn find_refresh(&self, token_hash: &str) -> StoreResult<RefreshRecord>;
    /// What a refresh reads, in one statement: the token as [`Self::find_refresh`] reports
    /// it, its grant, and the session the grant was signed in under. `NotFound` when the
    /// token or its grant is missing.
    async fn find_refresh_grant(&self, token_hash: &str) -> StoreResult<RefreshRead>;
    /// Atomically rotates `old_hash` into `successor` (RFC 9700 §4.14.2). A family never
    /// has more than one live token: of concurrent presentations exactly one rotates. With
    /// `grace > 0`, a token rotated between `RETRY_MIN_AGE` and `grace` seconds ago may be
    /// presented once more (the retry of a lost response): its first successor is revoked
    /// and `successor` replaces it, unless that successor was used already (reuse).
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        successor: &RefreshRecord,
        now: Timestamp,
        grace: i64,
    ) -> StoreResult<Rotation>;
    /// Revokes every live grant (and so its refresh and access tokens) `sub` gave `client_id`.
    async fn revoke_client_grants(
        &self,
        client_id: &str,
        sub: &str,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Records that every replay mark made in the cache contents `contents` (its marker)
    /// expires by `until` (keeps the later of the stored and given times).
    async fn raise_replay_horizon(&self, contents: &str, until: Timestamp) -> StoreResult<()>;
    /// The latest `until` recorded for cache contents other than `contents`, if any.
    async fn replay_horizon_besides(&self, contents: &str) -> StoreResult<Option<Timestamp>>;
    /// Records an access token id as revoked until it would have expired anyway.
    async fn revoke_jti(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn insert_key(&self, k: &StoredKey) -> StoreResult<()>;
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn delete_key(&self, kid: &str) -> StoreResult<()>;
    /// The sealed server secret `name`: the stored one, or else `sealed`, stored now. Of
    /// nodes racing to store theirs, one wins and every node gets the winner's.
    async fn server_secret_or_insert(
        &self,
        name: &str,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<Vec<u8>>;
}

/// A partner: a company that owns accounts and vouches for them with signed assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerRecord {
    pub id: PartnerId,
    pub name: String,
    pub status: PartnerStatus,
    /// Public keys (a JWK Set) given inline.
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// An HS256 shared secret, sealed under the key-encryption key.
    pub sealed_secret: Option<Vec<u8>>,
    pub allowed_cidrs: Vec<String>,
    pub limits: PartnerLimits,
    pub branding: serde_json::Value,
    pub created_at: Timestamp,
}

/// An account (`AC` + 32 hex), owned by a partner and/or a parent account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub sid: AccountSid,
    pub partner_id: Option<PartnerId>,
    pub parent_sid: Option<AccountSid>,
    pub friendly_name: String,
    pub status: AccountStatus,
    pub limits: PartnerLimits,
    /// SHA-256 hex of the account's auth token.
    pub auth_token_hash: String,
    pub created_at: Timestamp,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// Who acted (a partner id, a client id, `admin`).
    pub actor: String,
    pub action: String,
    /// What was acted on (an account SID, a partner id).
    pub subject: String,
    /// `ok` or the refusal reason.
    pub outcome: String,
    pub detail: String,
}

#[async_trait]
pub trait PartnerStore: Send + Sync {
    async fn insert_partner(&self, p: &PartnerRecord) -> StoreResult<()>;
    async fn get_partner(&self, id: &str) -> StoreResult<PartnerRecord>;
    /// The partner, possibly from a short-lived cache (`cached_partners.rs`): for hot paths
    /// that accept a change made on another node showing within the cache TTL.
    async fn get_partner_cached(&self, id: &str) -> StoreResult<Arc<PartnerRecord>> {
        self.get_partner(id).await.map(Arc::new)
    }
    async fn update_partner(&self, p: &PartnerRecord) -> StoreResult<()>;
    async fn delete_partner(&self, id: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_account(&self, a: &AccountRecord) -> StoreResult<()>;
    async fn get_account(&self, sid: &str) -> StoreResult<AccountRecord>;
    /// The account, possibly from a short-lived cache (as [`PartnerStore::get_partner_cached`]).
    async fn get_account_cached(&self, sid: &str) -> StoreResult<Arc<AccountRecord>> {
        self.get_account(sid).await.map(Arc::new)
    }
    async fn update_account(&self, a: &AccountRecord) -> StoreResult<()>;
    /// One conditional statement writing one column of account `sid`, only while it is not
    /// `closed` (closing is final), so a racing change cannot undo another (a rotation
    /// cannot reopen a closed account). The account as changed, or `None` if nothing
    /// changed: no such account, a closed one, or one not in [`AccountChange::Status`]'s
    /// `from`.
    async fn change_account(
        &self,
        sid: &str,
        change: AccountChange<'_>,
    ) -> StoreResult<Option<AccountRecord>>;
    /// Drops this node's cached copy of the account, after a write that went around this
    /// store (see [`AppStore::revoke_authorization`]). Stores without a cache ignore it.
    fn forget_cached(&self, _sid: &str) {}
    /// A partner's accounts in SID order, after `after`, at most `limit`.
    async fn list_accounts(
        &self,
        partner_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<AccountRecord>>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record(&self, e: &AuditEvent) -> StoreResult<()>;
    /// Records several events (one statement where the backend can).
    async fn record_many(&self, es: &[AuditEvent]) -> StoreResult<()> {
        for e in es {
            self.record(e).await?;
        }
        Ok(())
    }
    /// Returns once every event recorded so far is stored (a buffering store writes out).
    async fn flush(&self) -> StoreResult<()> {
        Ok(())
    }
    /// The newest events about `subject`, newest first.
    async fn events_for(&self, subject: &str, limit: i64) -> StoreResult<Vec<AuditEvent>>;
}

/// A developer's app: an OAuth client plus what it asks of the accounts it acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    pub client_id: ClientId,
    /// The developer account that owns the app.
    pub developer_sid: AccountSid,
    pub display_name: String,
    pub homepage: Option<String>,
    pub logo_url: Option<String>,
    pub permissions: Vec<AppPermission>,
    /// What the app asks for.
    pub usage_limits: UsageLimits,
    pub deauthorize_uri: Option<String>,
    /// The secret that signs the app's webhooks (deauthorize callback), sealed under the KEK.
    pub webhook_secret_sealed: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

/// A user's authorization of an app: the subaccount it acts on and what it may do.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationRecord {
    /// The user's own (owner) account.
    pub parent_sid: AccountSid,
    pub client_id: ClientId,
    pub sub: String,
    pub subaccount_sid: AccountSid,
    /// The effective permissions.
    pub permissions: Scope,
    /// Optional permissions the user declined on the consent page: a request asking
    /// only for held and declined ones is not asked again.
    pub declined: Scope,
    pub usage_limits: UsageLimits,
    pub status: GrantStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait AppStore: Send + Sync {
    async fn get_app(&self, client_id: &str) -> StoreResult<AppRecord>;
    async fn list_apps(&self, developer_sid: &str) -> StoreResult<Vec<AppRecord>>;
    /// Stores a new app and its OAuth client in one transaction: both or neither.
    async fn create_app(&self, client: &ClientRecord, app: &AppRecord) -> StoreResult<()>;
    /// Deletes an app and its OAuth client in one transaction (`NotFound`, with nothing
    /// deleted, when there is no such app); callers then [`ClientStore::forget_cached`].
    async fn delete_app_and_client(&self, client_id: &str) -> StoreResult<()>;
    /// The owner account of a user, if one was made.
    async fn user_account(&self, sub: &str) -> StoreResult<Option<String>>;
    /// Links a user to its owner account; a link that exists is kept (and returned).
    async fn link_user_account(&self, sub: &str, account_sid: &str) -> StoreResult<String>;
    async fn get_authorization(
        &self,
        parent_sid: &str,
        client_id: &str,
    ) -> StoreResult<Option<AuthorizationRecord>>;
    async fn put_authorization(&self, a: &AuthorizationRecord) -> StoreResult<()>;
    async fn list_authorizations(&self, parent_sid: &str) -> StoreResult<Vec<AuthorizationRecord>>;
    /// Revokes an active authorization in one transaction: the authorization becomes
    /// `revoked`, the app's grants for `sub` are revoked and its refresh tokens killed, the
    /// subaccount (if active) is suspended, and `event` (the deauthorize callback) is
    /// queued — all or nothing, so a crash cannot revoke without queueing the callback.
    /// `false`, with nothing written, when the authorization is not active (a concurrent
    /// revocation won): the callback is queued once.
    async fn revoke_authorization(&self, r: &Revocation) -> StoreResult<bool>;
    /// Sets an active authorization's permissions to `permissions` and, in the same
    /// transaction, revokes the app's grants for `a.sub` (tokens carrying more stop).
    /// `false`, with nothing written, when the authorization is not active.
    async fn narrow_authorization(
        &self,
        a: &AuthorizationRecord,
        permissions: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
}

/// What [`AppStore::revoke_authorization`] changes.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub parent_sid: String,
    pub client_id: String,
    /// The `sub` the app's grants were issued to.
    pub sub: String,
    pub subaccount_sid: String,
    pub at: Timestamp,
    pub event: Option<OutboxEvent>,
}

/// Liveness (for `/readyz`) and upkeep of the database.
#[async_trait]
pub trait Health: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
    /// Deletes revoked `jti`s and refresh tokens expired at `now`, grants whose tokens all
    /// expired (none issued after `grants_before`), closed verifications begun before
    /// `verifications_before` (history kept), events delivered before `delivered_before`.
    async fn purge(
        &self,
        now: Timestamp,
        verifications_before: Timestamp,
        delivered_before: Timestamp,
        grants_before: Timestamp,
    ) -> StoreResult<u64>;
}
