//! Passkeys (WebAuthn Level 3) through the `webauthn-rs` crate, which checks every
//! ceremony (CBOR, COSE keys, signatures, origins, challenges, user verification):
//! registration from the account pages (several per user, named), sign-in without a
//! password with a discoverable credential (the browser's autofill "conditional" UI or a
//! button), and the second factor. The relying party is the issuer's host (a loopback
//! address counts as `localhost`, which browsers accept as a secure origin: development
//! and tests). User verification is always required, so a passkey is multi-factor and
//! phishing-resistant (`amr` `hwk` for a device-bound key, `swk` for a synced one —
//! backup eligible —, with `user`). The state of a ceremony waits in the shared cache
//! between its two halves (taken once); credentials are stored per user with their
//! signature counters, which only move forward ([`crate::store::PasskeyStore::use_passkey`]):
//! a regression — a cloned authenticator — is refused and logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use super::assurance::amr;
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::store::{PasskeyRecord, StoreError};
use crate::util::{b64, secret_hash};

/// Seconds a ceremony's state waits for the browser's answer.
const CEREMONY_TTL: u64 = 300;
/// Longest passkey name kept.
const MAX_NAME: usize = 64;
/// Most passkeys per user.
pub const MAX_PER_USER: usize = 20;

/// The issuers' relying-party configurations, built once each.
static RELYING_PARTIES: Mutex<Option<HashMap<String, Arc<Webauthn>>>> = Mutex::new(None);

/// The relying party `rp_id` and origin of an issuer: its host and origin, with a
/// loopback address read as `localhost`.
pub fn relying_party(issuer: &str) -> Option<(String, Url)> {
    let mut origin = Url::parse(issuer).ok()?;
    origin.set_path("");
    if matches!(origin.host_str(), Some("127.0.0.1" | "[::1]")) {
        origin.set_host(Some("localhost")).ok()?;
    }
    let rp_id = origin.domain()?.to_owned();
    Some((rp_id, origin))
}

fn webauthn(p: &Provider) -> Result<Arc<Webauthn>, OAuthError> {
    let mut guard = RELYING_PARTIES
        .lock()
        .map_err(|_| OAuthError::server_error("webauthn configuration lock poisoned"))?;
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(w) = map.get(&p.issuer) {
        return Ok(w.clone());
    }
    let (rp_id, origin) = relying_party(&p.issuer)
        .ok_or_else(|| OAuthError::server_error("the issuer has no host passkeys can use"))?;
    let w = WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Surety").build())
        .map_err(OAuthError::server_error)?;
    let w = Arc::new(w);
    map.insert(p.issuer.clone(), w.clone());
    Ok(w)
}

/// A ceremony's state, kept in the cache under `key`.
async fn keep<T: Serialize>(p: &Provider, key: &str, state: &T) -> Result<(), OAuthError> {
    let v = serde_json::to_vec(state).map_err(OAuthError::server_error)?;
    Ok(p.cache.put(key, &v, CEREMONY_TTL).await?)
}

/// Takes a ceremony's state (once).
async fn take<T: for<'de> Deserialize<'de>>(
    p: &Provider,
    key: &str,
) -> Result<Option<T>, OAuthError> {
    Ok(p.cache
        .take(key)
        .await?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

#[derive(Serialize, Deserialize)]
struct Registering {
    handle: Uuid,
    state: PasskeyRegistration,
}

/// A registration in progress belongs to one browser session of the user (`browser`:
/// its session cookie), so two tabs or devices do not overwrite each other's.
fn registration_key(sub: &str, browser: &str) -> String {
    format!("pk_reg:{}", secret_hash(&format!("{sub}\n{browser}")))
}

/// The user's WebAuthn user handle: the one their passkeys share, or a new random one.
fn handle_of(p: &Provider, keys: &[PasskeyRecord]) -> Uuid {
    keys.iter()
        .find_map(|k| Uuid::parse_str(&k.user_handle).ok())
        .unwrap_or_else(|| {
            let mut b = [0u8; 16];
            p.entropy.fill(&mut b);
            uuid_v4(b)
        })
}

fn uuid_v4(mut b: [u8; 16]) -> Uuid {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// Starts registering a passkey for `sub` (shown to the authenticator as `username`):
/// the creation options (JSON) for `navigator.credentials.create`. Asks for a
/// discoverable credential (`residentKey: preferred`) so it can sign in alone.
pub async fn start_registration(
    p: &Provider,
    sub: &str,
    browser: &str,
    username: &str,
) -> Result<Option<String>, OAuthError> {
    let keys = p.stores.passkeys.user_passkeys(sub).await?;
    if keys.len() >= MAX_PER_USER {
        return Ok(None);
    }
    let handle = handle_of(p, &keys);
    let exclude = keys
        .iter()
        .filter_map(|k| crate::util::b64_decode(&k.credential_id))
        .collect();
    let (ccr, state) = webauthn(p)?
        .start_passkey_registration(handle, username, username, Some(exclude))
        .map_err(OAuthError::server_error)?;
    let key = registration_key(sub, browser);
    keep(p, &key, &Registering { handle, state }).await?;
    let mut options = serde_json::to_value(&ccr).map_err(OAuthError::server_error)?;
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        sel.insert("residentKey".into(), "preferred".into());
    }
    Ok(Some(options.to_string()))
}

/// Why a ceremony was refused (the page says so; the detail goes to the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No ceremony was waiting (expired, or answered already).
    NoCeremony,
    /// The browser's answer did not verify.
    Invalid,
    /// The credential is registered already (to this user or another).
    Taken,
    /// The signature counter went backwards: a cloned authenticator, or a replay.
    Counter,
}

/// Finishes the registration with the browser's answer (`credential`, JSON); the
/// passkey is stored under `name`.
pub async fn finish_registration(
    p: &Provider,
    sub: &str,
    browser: &str,
    name: &str,
    credential: &str,
) -> Result<Result<Vec<&'static str>, Refused>, OAuthError> {
    let Some(r) = take::<Registering>(p, &registration_key(sub, browser)).await? else {
        return Ok(Err(Refused::NoCeremony));
    };
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
        return Ok(Err(Refused::Invalid));
    };
    let passkey = match webauthn(p)?.finish_passkey_registration(&answer, &r.state) {
        Ok(k) => k,
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration did not verify");
            return Ok(Err(Refused::Invalid));
        }
    };
    let name: String = name.trim().chars().take(MAX_NAME).collect();
    let rec = PasskeyRecord {
        credential_id: b64(passkey.cred_id()),
        user_id: sub.to_owned(),
        user_handle: r.handle.to_string(),
        name: if name.is_empty() {
            "Passkey".to_owned()
        } else {
            name
        },
        credential: serde_json::to_string(&passkey).map_err(OAuthError::server_error)?,
        counter: 0,
        created_at: p.now(),
        last_used_at: None,
    };
    let key = match passkey_is_synced(&rec.credential) {
        true => amr::SWK,
        false => amr::HWK,
    };
    match p.stores.passkeys.insert_passkey(&rec).await {
        Ok(()) => Ok(Ok(vec![key, amr::USER])),
        Err(StoreError::Conflict(_)) => Ok(Err(Refused::Taken)),
        Err(e) => Err(e.into()),
    }
}

fn authentication_key(sub: &str) -> String {
    format!("pk_auth:{}", secret_hash(sub))
}

/// Starts a passkey check of `sub` (the second factor): the request options (JSON) for
/// `navigator.credentials.get`, or `None` without passkeys.
pub async fn start_authentication(p: &Provider, sub: &str) -> Result<Option<String>, OAuthError> {
    let keys = passkeys_of(p, sub).await?;
    if keys.is_empty() {
        return Ok(None);
    }
    let (rcr, state) = webauthn(p)?
        .start_passkey_authentication(&keys)
        .map_err(OAuthError::server_error)?;
    keep(p, &authentication_key(sub), &state).await?;
    Ok(Some(
        serde_json::to_string(&rcr).map_err(OAuthError::server_error)?,
    ))
}

async fn passkeys_of(p: &Provider, sub: &str) -> Result<Vec<Passkey>, OAuthError> {
    let rows = p.stores.passkeys.user_passkeys(sub).await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.credential).ok())
        .collect())
}

/// Finishes a passkey check of `sub`: the `amr` methods of the use.
pub async fn finish_authentication(
    p: &Provider,
    sub: &str,
    credential: &str,
) -> Result<Result<Vec<&'static str>, Refused>, OAuthError> {
    let Some(state) = take::<PasskeyAuthentication>(p, &authentication_key(sub)).await? else {
        return Ok(Err(Refused::NoCeremony));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(Refused::Invalid));
    };
    let res = match webauthn(p)?.finish_passkey_authentication(&answer, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "a passkey assertion did not verify");
            return Ok(Err(Refused::Invalid));
        }
    };
    let rec = match p.stores.passkeys.get_passkey(&b64(res.cred_id())).await {
        Ok(r) if r.user_id == sub => r,
        Ok(_) | Err(StoreError::NotFound) => return Ok(Err(Refused::Invalid)),
        Err(e) => return Err(e.into()),
    };
    record_use(p, rec, &res).await
}

fn discoverable_key(ceremony: &str) -> String {
    format!("pk_disc:{}", secret_hash(ceremony))
}

/// Starts a sign-in without a password for the login page `ceremony` (its transaction):
/// request options (JSON) with no credential listed, for the autofill UI or a button.
pub async fn start_sign_in(p: &Provider, ceremony: &str) -> Result<String, OAuthError> {
    let (rcr, state) = webauthn(p)?
        .start_discoverable_authentication()
        .map_err(OAuthError::server_error)?;
    keep(p, &discoverable_key(ceremony), &state).await?;
    let mut options = serde_json::to_value(&rcr).map_err(OAuthError::server_error)?;
    if let Some(o) = options.as_object_mut() {
        // The page chooses the mediation (conditional for autofill, none for a button).
        o.remove("mediation");
    }
    Ok(options.to_string())
}

/// A user signed in with a passkey alone.
#[derive(Debug)]
pub struct SignedIn {
    pub sub: String,
    /// The `amr` methods of the use.
    pub methods: Vec<&'static str>,
}

/// Finishes a sign-in without a password: the user whose discoverable passkey answered.
pub async fn finish_sign_in(
    p: &Provider,
    ceremony: &str,
    credential: &str,
) -> Result<Result<SignedIn, Refused>, OAuthError> {
    let Some(state) = take::<DiscoverableAuthentication>(p, &discoverable_key(ceremony)).await?
    else {
        return Ok(Err(Refused::NoCeremony));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(Refused::Invalid));
    };
    let w = webauthn(p)?;
    let Ok((handle, cred_id)) = w.identify_discoverable_authentication(&answer) else {
        return Ok(Err(Refused::Invalid));
    };
    let rec = match p.stores.passkeys.get_passkey(&b64(cred_id)).await {
        Ok(r) if r.user_handle == handle.to_string() => r,
        Ok(_) | Err(StoreError::NotFound) => return Ok(Err(Refused::Invalid)),
        Err(e) => return Err(e.into()),
    };
    let passkey: Passkey =
        serde_json::from_str(&rec.credential).map_err(OAuthError::server_error)?;
    let res = match w.finish_discoverable_authentication_v2(&answer, state, &passkey) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "a passkey sign-in did not verify");
            return Ok(Err(Refused::Invalid));
        }
    };
    let sub = rec.user_id.clone();
    Ok(record_use(p, rec, &res)
        .await?
        .map(|methods| SignedIn { sub, methods }))
}

/// Stores a verified use: the credential's new counter (only forward) and flags.
async fn record_use(
    p: &Provider,
    rec: PasskeyRecord,
    res: &AuthenticationResult,
) -> Result<Result<Vec<&'static str>, Refused>, OAuthError> {
    if !res.user_verified() {
        return Ok(Err(Refused::Invalid));
    }
    let mut passkey: Passkey =
        serde_json::from_str(&rec.credential).map_err(OAuthError::server_error)?;
    passkey.update_credential(res);
    let counter = i64::from(res.counter());
    let stored = serde_json::to_string(&passkey).map_err(OAuthError::server_error)?;
    if !p
        .stores
        .passkeys
        .use_passkey(&rec.credential_id, &stored, counter, p.now())
        .await?
    {
        tracing::warn!(
            credential = %rec.credential_id,
            counter,
            stored = rec.counter,
            "passkey signature counter did not move forward: a cloned authenticator or a replay; refused"
        );
        return Ok(Err(Refused::Counter));
    }
    let key = if res.backup_eligible() {
        amr::SWK
    } else {
        amr::HWK
    };
    Ok(Ok(vec![key, amr::USER]))
}

/// Whether a stored credential is backup eligible (a synced passkey).
fn passkey_is_synced(credential: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(credential)
        .ok()
        .and_then(|v| {
            v.pointer("/cred/backup_eligible")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(false)
}

/// `sub`'s passkeys, oldest first.
pub async fn list(p: &Provider, sub: &str) -> Result<Vec<PasskeyRecord>, OAuthError> {
    Ok(p.stores.passkeys.user_passkeys(sub).await?)
}

/// Removes one of `sub`'s passkeys; `true` if it was theirs.
pub async fn remove(p: &Provider, sub: &str, credential_id: &str) -> Result<bool, OAuthError> {
    let removed = p.stores.passkeys.delete_passkey(sub, credential_id).await?;
    super::factors::removed(p, sub).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_host() {
        let (id, o) = relying_party("https://id.example.com/").unwrap();
        assert_eq!(
            (id.as_str(), o.as_str()),
            ("id.example.com", "https://id.example.com/")
        );
        let (id, o) = relying_party("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (id.as_str(), o.as_str()),
            ("localhost", "http://localhost:8080/")
        );
        assert!(relying_party("http://10.0.0.1").is_none());
        assert_eq!(uuid_v4([0xff; 16]).get_version_num(), 4);
    }
}
