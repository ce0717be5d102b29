//! Contract cases for [`TotpStore`], [`RecoveryCodeStore`] and [`PasskeyStore`]: every
//! single use is won by one caller, on a fresh SQLite file and (when configured) a fresh
//! PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{is_not_found, postgres_db, sqlite_db, user};

contract!(
    totp_steps_are_accepted_once_and_forward,
    recovery_codes_are_spent_once_with_their_notice,
    passkey_counters_only_move_forward,
    a_deleted_user_takes_their_authenticators,
);

async fn totp_steps_are_accepted_once_and_forward(s: &SqlStore) {
    assert!(is_not_found(s.get_totp("u1").await));
    let t = TotpRecord {
        user_id: "u1".into(),
        sealed_secret: vec![1, 2, 3],
        created_at: 100,
        last_step: 0,
    };
    s.put_totp(&t).await.unwrap();
    assert_eq!(s.get_totp("u1").await.unwrap(), t);
    assert!(s.advance_totp("u1", 10).await.unwrap());
    assert!(
        !s.advance_totp("u1", 10).await.unwrap(),
        "the same step twice"
    );
    assert!(!s.advance_totp("u1", 9).await.unwrap(), "an older step");
    assert!(s.advance_totp("u1", 11).await.unwrap());
    assert!(!s.advance_totp("u2", 11).await.unwrap());
    // Re-enrolment replaces the secret and starts over.
    s.put_totp(&TotpRecord {
        sealed_secret: vec![9],
        ..t.clone()
    })
    .await
    .unwrap();
    assert_eq!(s.get_totp("u1").await.unwrap().last_step, 0);
    assert!(s.delete_totp("u1").await.unwrap());
    assert!(!s.delete_totp("u1").await.unwrap());
}

fn notice(id: &str) -> OutboxEvent {
    OutboxEvent {
        id: id.into(),
        kind: "email".into(),
        destination: "u1@example.com".into(),
        payload: "{}".into(),
        secret_sealed: None,
        created_at: 100,
        next_attempt_at: 100,
        attempts: 0,
        status: OutboxStatus::Pending,
        last_error: None,
        last_attempt_at: None,
        delivered_at: None,
        locked_until: None,
        locked_by: None,
    }
}

async fn recovery_codes_are_spent_once_with_their_notice(s: &SqlStore) {
    let hashes: Vec<String> = (0..3).map(|i| format!("h{i}")).collect();
    s.replace_recovery_codes("u1", &hashes, 100).await.unwrap();
    assert_eq!(s.recovery_codes_left("u1").await.unwrap(), 3);
    let ev = notice("EV00000000000000000000000000000001");
    assert!(
        s.use_recovery_code("u1", "h1", 200, Some(&ev))
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_event(&ev.id).await.unwrap().destination,
        ev.destination
    );
    let again = notice("EV00000000000000000000000000000002");
    assert!(
        !s.use_recovery_code("u1", "h1", 201, Some(&again))
            .await
            .unwrap()
    );
    assert!(
        is_not_found(s.get_event(&again.id).await),
        "no notice for a refusal"
    );
    assert!(!s.use_recovery_code("u2", "h0", 201, None).await.unwrap());
    assert_eq!(s.recovery_codes_left("u1").await.unwrap(), 2);
    // A new set replaces the old one at once.
    s.replace_recovery_codes("u1", &["n0".to_owned()], 300)
        .await
        .unwrap();
    assert!(!s.use_recovery_code("u1", "h0", 301, None).await.unwrap());
    assert_eq!(s.recovery_codes_left("u1").await.unwrap(), 1);
    s.delete_recovery_codes("u1").await.unwrap();
    assert_eq!(s.recovery_codes_left("u1").await.unwrap(), 0);
}

fn passkey(id: &str, user: &str, counter: i64) -> PasskeyRecord {
    PasskeyRecord {
        credential_id: id.into(),
        user_id: user.into(),
        user_handle: format!("handle-{user}"),
        name: "laptop".into(),
        credential: "{}".into(),
        counter,
        created_at: 100,
        last_used_at: None,
    }
}

async fn passkey_counters_only_move_forward(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    s.insert_passkey(&passkey("c1", "u1", 5)).await.unwrap();
    s.insert_passkey(&passkey("c2", "u1", 0)).await.unwrap();
    assert!(matches!(
        s.insert_passkey(&passkey("c1", "u2", 0)).await,
        Err(StoreError::Conflict(_))
    ));
    let mine: Vec<String> = s
        .user_passkeys("u1")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.credential_id)
        .collect();
    assert_eq!(mine, ["c1", "c2"]);
    assert!(s.use_passkey("c1", "{\"n\":6}", 6, 200).await.unwrap());
    assert!(
        !s.use_passkey("c1", "{}", 6, 201).await.unwrap(),
        "same counter"
    );
    assert!(
        !s.use_passkey("c1", "{}", 3, 201).await.unwrap(),
        "regression"
    );
    let k = s.get_passkey("c1").await.unwrap();
    assert_eq!((k.counter, k.last_used_at), (6, Some(200)));
    assert_eq!(k.credential, "{\"n\":6}");
    // No counter at all (synced passkeys): every use is recorded.
    assert!(s.use_passkey("c2", "{}", 0, 300).await.unwrap());
    assert!(s.use_passkey("c2", "{}", 0, 301).await.unwrap());
    assert!(!s.delete_passkey("u2", "c1").await.unwrap(), "not u2's");
    assert!(s.delete_passkey("u1", "c1").await.unwrap());
    assert!(is_not_found(s.get_passkey("c1").await));
}

/// Deleting a user deletes their passkeys, TOTP and recovery codes with them, and a
/// passkey whose user is gone (left by an older version) is never found for a sign-in.
async fn a_deleted_user_takes_their_authenticators(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    s.insert_user(&user("u2", "bob")).await.unwrap();
    s.insert_passkey(&passkey("c1", "u1", 0)).await.unwrap();
    s.insert_passkey(&passkey("c2", "u2", 0)).await.unwrap();
    s.insert_passkey(&passkey("orphan", "u-gone", 0))
        .await
        .unwrap();
    let totp = TotpRecord {
        user_id: "u1".into(),
        sealed_secret: vec![1],
        created_at: 100,
        last_step: 0,
    };
    s.put_totp(&totp).await.unwrap();
    s.replace_recovery_codes("u1", &["h1".into(), "h2".into()], 100)
        .await
        .unwrap();
    assert_eq!(s.get_passkey("c1").await.unwrap().user_id, "u1");
    assert!(
        is_not_found(s.get_passkey("orphan").await),
        "no user, no sign-in"
    );

    s.delete_user("u1").await.unwrap();
    assert!(is_not_found(s.get_passkey("c1").await));
    assert!(s.user_passkeys("u1").await.unwrap().is_empty());
    assert!(is_not_found(s.get_totp("u1").await));
    assert_eq!(s.recovery_codes_left("u1").await.unwrap(), 0);
    assert_eq!(
        s.get_passkey("c2").await.unwrap().user_id,
        "u2",
        "others' stay"
    );
    assert!(is_not_found(s.delete_user("u1").await));
}
