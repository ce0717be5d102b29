//! Contract cases for app authorizations: [`AppStore::revoke_authorization`] is one
//! transaction for the authorization, the app's grants and refresh tokens, the
//! subaccount and the queued deauthorize callback; the declined optional permissions are
//! kept with the authorization. On a fresh SQLite file and (when configured) a fresh
//! PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{grant, postgres_db, refresh, sqlite_db};
use crate::scope::Scope;

contract!(
    revocation_changes_everything_and_queues_once,
    revocation_is_undone_when_the_callback_cannot_be_queued,
    racing_revocations_queue_one_callback,
    narrowing_keeps_the_authorization_and_stops_the_tokens,
    declined_permissions_are_kept_with_the_authorization,
);

const PARENT: &str = "AC000000000000000000000000000000a0";
const SUBACCOUNT: &str = "AC000000000000000000000000000000b0";

fn sid(s: &str) -> AccountSid {
    AccountSid::parse(s).unwrap()
}

/// An active authorization of client `c1` for user `u1` (the sub of `grant()`), its
/// active subaccount, a live grant and refresh token.
async fn setup(s: &SqlStore) {
    s.insert_account(&AccountRecord {
        sid: sid(SUBACCOUNT),
        partner_id: None,
        parent_sid: Some(sid(PARENT)),
        friendly_name: "app subaccount".into(),
        status: AccountStatus::Active,
        limits: Default::default(),
        auth_token_hash: "00".repeat(32),
        created_at: 1000,
    })
    .await
    .unwrap();
    s.put_authorization(&AuthorizationRecord {
        parent_sid: sid(PARENT),
        client_id: ClientId::parse("c1").unwrap(),
        sub: "u1".into(),
        subaccount_sid: sid(SUBACCOUNT),
        permissions: "read".into(),
        declined: Scope::default(),
        usage_limits: Default::default(),
        status: GrantStatus::Active,
        created_at: 1000,
        updated_at: 1000,
    })
    .await
    .unwrap();
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 9000)).await.unwrap();
}

fn revocation(event_id: Option<&str>) -> Revocation {
    Revocation {
        parent_sid: PARENT.into(),
        client_id: "c1".into(),
        sub: "u1".into(),
        subaccount_sid: SUBACCOUNT.into(),
        at: 2000,
        event: event_id.map(|id| {
            super::super::outbox_sql::test_event(id, "https://app.example/deauthorize", 2000)
        }),
    }
}

async fn state(s: &SqlStore) -> (String, String, Option<Timestamp>, Option<Timestamp>, usize) {
    let auth = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    let account = s.get_account(SUBACCOUNT).await.unwrap();
    let grant = s.get_grant("g1").await.unwrap();
    let token = s.find_refresh("h1").await.unwrap();
    let events = s
        .list_events(&OutboxFilter::default(), 100)
        .await
        .unwrap()
        .len();
    (
        auth.status.as_str().to_owned(),
        account.status.as_str().to_owned(),
        grant.revoked_at,
        token.rotated_at,
        events,
    )
}

async fn revocation_changes_everything_and_queues_once(s: &SqlStore) {
    setup(s).await;
    assert!(
        s.revoke_authorization(&revocation(Some("EV1")))
            .await
            .unwrap()
    );
    assert_eq!(
        state(s).await,
        (
            "revoked".into(),
            "suspended".into(),
            Some(2000),
            Some(2000),
            1
        )
    );
    let queued = s.get_event("EV1").await.unwrap();
    assert_eq!(queued.status.as_str(), "pending");
    assert_eq!(queued.destination, "https://app.example/deauthorize");
    // Already revoked: nothing more is written, no second callback.
    assert!(
        !s.revoke_authorization(&revocation(Some("EV2")))
            .await
            .unwrap()
    );
    assert!(matches!(
        s.get_event("EV2").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(state(s).await.4, 1);
}

async fn revocation_is_undone_when_the_callback_cannot_be_queued(s: &SqlStore) {
    setup(s).await;
    // An event id already taken makes the queueing fail inside the transaction.
    let mut taken = revocation(Some("EVtaken")).event.unwrap();
    taken.destination = "https://other.example/".into();
    s.enqueue(&taken).await.unwrap();
    let r = s.revoke_authorization(&revocation(Some("EVtaken"))).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(
        state(s).await,
        ("active".into(), "active".into(), None, None, 1),
        "a revocation whose callback was not queued must change nothing"
    );
    // Retrying with a fresh id goes through.
    assert!(
        s.revoke_authorization(&revocation(Some("EVnew")))
            .await
            .unwrap()
    );
    assert_eq!(state(s).await.0, "revoked");
}

async fn racing_revocations_queue_one_callback(s: &SqlStore) {
    setup(s).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.revoke_authorization(&revocation(Some(&format!("EVrace{i}"))))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(state(s).await.4, 1);
}

async fn narrowing_keeps_the_authorization_and_stops_the_tokens(s: &SqlStore) {
    setup(s).await;
    let a = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert!(s.narrow_authorization(&a, "", 2000).await.unwrap());
    let narrowed = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert_eq!(
        (
            narrowed.permissions.to_string().as_str(),
            narrowed.updated_at
        ),
        ("", 2000)
    );
    // Still authorized, subaccount untouched, no callback; the old tokens are dead.
    assert_eq!(
        state(s).await,
        ("active".into(), "active".into(), Some(2000), Some(2000), 0)
    );
    s.revoke_authorization(&revocation(None)).await.unwrap();
    assert!(!s.narrow_authorization(&a, "read", 3000).await.unwrap());
    let after = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert_eq!(
        (
            after.status.as_str(),
            after.permissions.to_string().as_str()
        ),
        ("revoked", "")
    );
}

async fn declined_permissions_are_kept_with_the_authorization(s: &SqlStore) {
    setup(s).await;
    let a = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert!(a.declined.is_empty(), "none unless recorded");
    let declined = AuthorizationRecord {
        declined: "calls:write callerids:all".into(),
        updated_at: 1500,
        ..a
    };
    s.put_authorization(&declined).await.unwrap();
    let got = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert_eq!(got, declined);
    assert_eq!(s.list_authorizations(PARENT).await.unwrap(), vec![declined]);
    // Narrowing changes the permissions only.
    assert!(s.narrow_authorization(&got, "", 2000).await.unwrap());
    let narrowed = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert_eq!(narrowed.declined, "calls:write callerids:all".into());
    // A later answer replaces them.
    let again = AuthorizationRecord {
        declined: Scope::default(),
        updated_at: 3000,
        ..narrowed
    };
    s.put_authorization(&again).await.unwrap();
    let got = s.get_authorization(PARENT, "c1").await.unwrap().unwrap();
    assert!(got.declined.is_empty());
}
