//! Subject identifiers (OpenID Connect Core §8): the `sub` a client sees for a user. A
//! public client sees the user's local id; a pairwise client (§8.1) sees
//! `base64url(HMAC-SHA256(secret, sector ‖ 0x00 ‖ local id))`, where the sector is the
//! host of its `sector_identifier_uri`, else the one host of its redirect URIs, and the
//! secret is the server's pairwise secret ([`PairwiseKey`]: configured, or generated once
//! and kept sealed in the database, so every node derives the same `sub` and rotating
//! the signing keys changes none). Clients of one sector see one `sub`; no other sector
//! can link it to theirs.
//!
//! The mapping happens here only, through the client record: an access token's subject
//! is a [`Subject`], which this module makes from a user id and the client
//! ([`Provider::subject`]) — or, for subjects that are not end users, from a client's or
//! an account's own id, which every client sees alike (partners' and developer apps'
//! accounts keep their `account_sid`). ID tokens, UserInfo, introspection of refresh
//! tokens, logout tokens and token exchange map through the same function. An incoming
//! `sub` (an access token presented back, an `id_token_hint`) is resolved to the local
//! user by [`Provider::token_subject`], or compared with [`Provider::is_subject_of`].

use aws_lc_rs::hmac;

use super::error::OAuthError;
use super::provider::Provider;
use super::tokens::AccessClaims;
use crate::store::{AccountSid, ClientMetadata, ClientRecord, StoreError, SubjectType};
use crate::util::{b64, ct_eq};

/// The key pairwise subject identifiers are derived with.
pub struct PairwiseKey(hmac::Key);

impl std::fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseKey(..)")
    }
}

impl PairwiseKey {
    /// Least length of a configured pairwise secret (`SURETY_PAIRWISE_SECRET`), in bytes.
    pub const MIN_SECRET: usize = 32;

    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The pairwise `sub` of user `local` in `sector` (Core §8.1).
    pub fn derive(&self, sector: &str, local: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(sector.as_bytes());
        ctx.update(&[0]);
        ctx.update(local.as_bytes());
        b64(ctx.sign().as_ref())
    }
}

/// The sector identifier of a pairwise client (Core §8.1): the host of its
/// `sector_identifier_uri`, else the host its redirect URIs share. `Err` says why a
/// pairwise client has none (registration refuses it); a public client has none.
pub fn sector_of(m: &ClientMetadata) -> Result<Option<String>, &'static str> {
    if m.subject_type.is_public() {
        return Ok(None);
    }
    if let Some(u) = &m.sector_identifier_uri {
        return host_of(u)
            .map(Some)
            .ok_or("sector_identifier_uri has no host");
    }
    let mut hosts = m.redirect_uris.iter().map(|u| host_of(u));
    match hosts.next() {
        None => Err("a pairwise client without redirect URIs needs a sector_identifier_uri"),
        Some(None) => {
            Err("a pairwise client whose redirect URIs have no host needs a sector_identifier_uri")
        }
        Some(Some(first)) if hosts.all(|h| h.as_deref() == Some(first.as_str())) => Ok(Some(first)),
        Some(Some(_)) => Err(
            "the redirect URIs of a pairwise client span more than one host: register a sector_identifier_uri (OpenID Connect Core §8.1)",
        ),
    }
}

/// The host of an absolute URL, lowercase (`None`: none, e.g. a private-use scheme).
fn host_of(u: &str) -> Option<String> {
    let url = url::Url::parse(u).ok()?;
    url.host_str()
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whom an access token is about, as its client sees it: made only by
/// [`Provider::subject`] (an end user, mapped for the client), [`Subject::client`] or
/// [`Subject::account`] (the same for every client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// A client (or a partner) acting for itself: client credentials.
    pub fn client(client_id: &str) -> Self {
        Self(client_id.to_owned())
    }

    /// An account (a partner's account, acted on through its `account_sid`).
    pub fn account(sid: &AccountSid) -> Self {
        Self(sid.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who an access token Surety issued is about, resolved ([`Provider::token_subject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSubject {
    /// An end user: the local user id.
    User(String),
    /// Not an end user — a client's own token, an account's: its id as it stands.
    Other(String),
}

impl TokenSubject {
    /// The local user id, or the client's or account's id.
    pub fn id(&self) -> &str {
        match self {
            Self::User(s) | Self::Other(s) => s,
        }
    }
}

impl Provider {
    /// User `local` as `client` sees them (Core §8).
    pub fn subject(&self, client: &ClientRecord, local: &str) -> Subject {
        self.subject_of(&client.client_id, &client.metadata, local)
    }

    /// [`Provider::subject`] from the client's id and metadata.
    pub fn subject_of(&self, client_id: &str, m: &ClientMetadata, local: &str) -> Subject {
        Subject(match m.subject_type {
            SubjectType::Public => local.to_owned(),
            // Registration refuses a pairwise client without a sector; should one be
            // stored anyway, its own id is its sector (still unlinkable to others).
            SubjectType::Pairwise => {
                let sector = sector_of(m).ok().flatten();
                self.pairwise
                    .derive(sector.as_deref().unwrap_or(client_id), local)
            }
        })
    }

    /// Whether `presented` is user `local` as `client` sees them (constant time).
    pub fn is_subject_of(&self, client: &ClientRecord, local: &str, presented: &str) -> bool {
        let expected = self.subject(client, local);
        ct_eq(expected.as_str().as_bytes(), presented.as_bytes())
    }

    /// The subject `ts` (resolved from another token) as `client` sees it.
    pub fn subject_as(&self, client: &ClientRecord, ts: &TokenSubject) -> Subject {
        match ts {
            TokenSubject::User(local) => self.subject(client, local),
            TokenSubject::Other(id) => Subject(id.clone()),
        }
    }

    /// Who a valid access token Surety issued is about. A client's own token (`sub` =
    /// `client_id`, no grant) and an account's (`sub` = `account_sid`) name no end user.
    /// Otherwise the `sub` is a user as the token's client sees them: a public client's
    /// is the local id; a pairwise client's is resolved through the token's grant, whose
    /// user it must be. `None`: a pairwise `sub` that cannot be resolved (no grant, or
    /// not its user) — refused by the callers.
    pub async fn token_subject(
        &self,
        claims: &AccessClaims,
    ) -> Result<Option<TokenSubject>, OAuthError> {
        let Some(sub) = claims.str("sub").filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let grant_id = claims.str("grant_id");
        let own = claims.str("client_id") == Some(sub) && grant_id.is_none();
        if own || claims.str("account_sid") == Some(sub) {
            return Ok(Some(TokenSubject::Other(sub.to_owned())));
        }
        let client = match claims.str("client_id") {
            Some(id) => match self.stores.clients.get_client(id).await {
                Ok(c) => Some(c),
                // A partner acting as a client, or a client deleted since.
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let Some(client) = client.filter(|c| !c.metadata.subject_type.is_public()) else {
            return Ok(Some(TokenSubject::User(sub.to_owned())));
        };
        let Some(gid) = grant_id else {
            return Ok(None);
        };
        let local = match self.stores.grants.get_grant(gid).await {
            Ok(g) => g.sub,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(self
            .is_subject_of(&client, &local, sub)
            .then_some(TokenSubject::User(local)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(uris: &[&str], sector: Option<&str>) -> ClientMetadata {
        ClientMetadata {
            subject_type: SubjectType::Pairwise,
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            sector_identifier_uri: sector.map(str::to_owned),
            ..ClientMetadata::default()
        }
    }

    #[test]
    fn pairwise_subs_differ_per_sector_and_user_and_are_stable() {
        let k = PairwiseKey::new(&[7; 32]);
        let a = k.derive("rp.example", "u1");
        assert_eq!(a, k.derive("rp.example", "u1"));
        assert_eq!(a.len(), 43, "base64url of 32 bytes");
        assert_ne!(a, k.derive("other.example", "u1"));
        assert_ne!(a, k.derive("rp.example", "u2"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(k.derive("ab", "c"), k.derive("a", "bc"));
        assert_ne!(a, PairwiseKey::new(&[8; 32]).derive("rp.example", "u1"));
    }

    #[test]
    fn the_sector_is_the_sector_uri_host_or_the_one_redirect_host() {
        let one = meta(&["https://RP.example/a", "https://rp.example:8443/b"], None);
        assert_eq!(sector_of(&one).unwrap().as_deref(), Some("rp.example"));
        let two = meta(&["https://a.example/cb", "https://b.example/cb"], None);
        assert!(sector_of(&two).is_err());
        let with = meta(
            &["https://a.example/cb", "https://b.example/cb"],
            Some("https://sector.example/ids.json"),
        );
        assert_eq!(sector_of(&with).unwrap().as_deref(), Some("sector.example"));
        assert!(sector_of(&meta(&[], None)).is_err());
        assert!(sector_of(&meta(&["com.example.app:/cb"], None)).is_err());
        let public = ClientMetadata::default();
        assert_eq!(sector_of(&public).unwrap(), None);
    }
}
