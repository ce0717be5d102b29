//! Contract cases for [`SessionStore`] (OpenID Connect Back-Channel Logout 1.0: browser
//! sessions and the grants issued under them), on a fresh SQLite file and (when
//! configured) a fresh PostgreSQL database each.

use std::sync::Arc;

use super::super::sql::SqlStore;
use super::super::*;
use super::{grant, is_not_found, postgres_db, refresh, sqlite_db};

contract!(
    sessions_insert_rekey_list_and_clients,
    sessions_end_once_revokes_and_queues_atomically,
    sessions_of_an_account_and_purge,
    a_refresh_reads_its_token_grant_and_session_at_once,
);

fn session(sid: &str, sub: &str, created_at: Timestamp) -> SessionRecord {
    SessionRecord {
        sid: sid.into(),
        sub: sub.into(),
        cache_key: format!("sess:{sid}"),
        acr: "urn:surety:acr:password".into(),
        created_at,
        expires_at: created_at + 1000,
        ended_at: None,
    }
}

fn client(sid: &str, grant_id: &str, client_id: &str, offline: bool) -> SessionClient {
    SessionClient {
        sid: sid.into(),
        grant_id: grant_id.into(),
        client_id: client_id.into(),
        sub: "u1".into(),
        scope: "openid".into(),
        offline,
        created_at: 1000,
    }
}

async fn sessions_insert_rekey_list_and_clients(s: &SqlStore) {
    s.insert_session(&session("S1", "u1", 1000)).await.unwrap();
    s.insert_session(&session("S2", "u1", 1100)).await.unwrap();
    s.insert_session(&session("S3", "u2", 1000)).await.unwrap();
    assert!(matches!(
        s.insert_session(&session("S1", "u1", 1000)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(is_not_found(s.get_session("nope").await));
    let live: Vec<String> = s
        .live_sessions("u1", 1500, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.sid)
        .collect();
    assert_eq!(live, ["S2", "S1"], "newest first, only u1's");
    assert_eq!(s.live_sessions("u1", 2000, 10).await.unwrap().len(), 1);
    assert!(
        s.rekey_session("S1", "sess:new", "urn:x", 5000)
            .await
            .unwrap()
    );
    let r = s.get_session("S1").await.unwrap();
    assert_eq!(
        (r.cache_key.as_str(), r.acr.as_str(), r.expires_at),
        ("sess:new", "urn:x", 5000)
    );
    assert!(!s.rekey_session("nope", "k", "a", 1).await.unwrap());
    s.record_client(&client("S1", "g1", "c1", false))
        .await
        .unwrap();
    s.record_client(&client("S1", "g1", "c1", false))
        .await
        .unwrap();
    s.record_client(&client("S1", "g2", "c2", true))
        .await
        .unwrap();
    let got = s.session_clients("S1").await.unwrap();
    assert_eq!(
        got,
        [
            client("S1", "g1", "c1", false),
            client("S1", "g2", "c2", true)
        ]
    );
    assert_eq!(s.sid_of_grant("g2").await.unwrap().as_deref(), Some("S1"));
    assert_eq!(s.sid_of_grant("g9").await.unwrap(), None);
}

async fn sessions_end_once_revokes_and_queues_atomically(s: &SqlStore) {
    let s = Arc::new(s.clone());
    s.insert_session(&session("S1", "u1", 1000)).await.unwrap();
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("r1", "g1", 9000)).await.unwrap();
    let event = crate::outbox::jwt_post::jwt_post_event(
        &crate::clock::SystemEntropy,
        1200,
        "https://rp.example/bcl",
        &crate::outbox::jwt_post::JwtPost {
            param: "logout_token".into(),
            typ: "logout+jwt".into(),
            alg: "RS256".into(),
            ttl: 120,
            claims: serde_json::Map::new(),
        },
    )
    .unwrap();
    let mut never_redeemed = grant("g2");
    never_redeemed.revoked_at = Some(1200);
    let end = SessionEnd {
        sid: "S1".into(),
        at: 1200,
        revoke: vec![grant("g1"), never_redeemed],
        events: vec![event.clone()],
    };
    let (a, b) = tokio::join!(
        {
            let (s, e) = (s.clone(), end.clone());
            async move { s.end_session(&e).await }
        },
        {
            let (s, e) = (s.clone(), end.clone());
            async move { s.end_session(&e).await }
        },
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one winner");
    assert_eq!(s.get_session("S1").await.unwrap().ended_at, Some(1200));
    assert!(s.live_sessions("u1", 1300, 10).await.unwrap().is_empty());
    assert_eq!(s.get_grant("g1").await.unwrap().revoked_at, Some(1200));
    assert_eq!(
        s.get_grant("g2").await.unwrap().revoked_at,
        Some(1200),
        "tombstone"
    );
    assert!(s.find_refresh("r1").await.unwrap().rotated_at.is_some());
    let queued = s.get_event(&event.id).await.unwrap();
    assert_eq!(queued.kind, "backchannel_logout");
    assert!(
        !s.rekey_session("S1", "k", "a", 9000).await.unwrap(),
        "ended stays ended"
    );
}

async fn sessions_of_an_account_and_purge(s: &SqlStore) {
    let acct = "AC0123456789abcdef0123456789abcdef";
    s.link_user_account("u1", acct).await.unwrap();
    s.insert_session(&session("S1", "u1", 1000)).await.unwrap();
    s.insert_session(&session("S2", acct, 1100)).await.unwrap();
    s.insert_session(&session("S3", "u2", 1000)).await.unwrap();
    let mut got: Vec<String> = s
        .account_sessions(acct, 1500, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.sid)
        .collect();
    got.sort();
    assert_eq!(got, ["S1", "S2"], "the account's own and its user's");
    s.record_client(&client("S1", "g1", "c1", false))
        .await
        .unwrap();
    super::super::sessions_sql::purge_expired(s, 2050)
        .await
        .unwrap();
    assert!(is_not_found(s.get_session("S1").await));
    assert!(s.session_clients("S1").await.unwrap().is_empty());
    assert!(s.get_session("S2").await.is_ok(), "not expired yet");
}

/// [`GrantStore::find_refresh_grant`]: the token, its grant and the grant's session in one
/// read; a revoked grant shows as a rotated token; a token without its grant, or none, is
/// not found.
async fn a_refresh_reads_its_token_grant_and_session_at_once(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    let r = refresh("h1", "g1", 5000);
    s.insert_refresh(&r).await.unwrap();
    let read = s.find_refresh_grant("h1").await.unwrap();
    assert_eq!(
        (read.token, read.grant, read.sid),
        (r.clone(), grant("g1"), None)
    );
    s.insert_session(&session("S1", "u1", 1000)).await.unwrap();
    s.record_client(&client("S1", "g1", "c1", false))
        .await
        .unwrap();
    let read = s.find_refresh_grant("h1").await.unwrap();
    assert_eq!(read.sid.as_deref(), Some("S1"));
    assert_eq!(read.token.rotated_at, None);
    s.revoke_grant(&grant("g1"), 1500).await.unwrap();
    let read = s.find_refresh_grant("h1").await.unwrap();
    assert_eq!(
        read.token.rotated_at,
        Some(1500),
        "a revoked grant's token is not live"
    );
    assert_eq!(read.grant.revoked_at, Some(1500));
    s.insert_refresh(&refresh("h2", "g-missing", 5000))
        .await
        .unwrap();
    assert!(is_not_found(s.find_refresh_grant("h2").await));
    assert!(is_not_found(s.find_refresh_grant("nope").await));
}
