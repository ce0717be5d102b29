//! Contract cases for [`DeviceStore`] (RFC 8628 device authorizations), on a fresh
//! SQLite file and (when configured) a fresh PostgreSQL database each.

use std::sync::Arc;

use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db};

contract!(
    devices_insert_find_and_user_code_unique,
    devices_approve_once_then_redeem_once,
    devices_deny_and_expiry_stop_every_move,
    devices_concurrent_redemptions_have_one_winner,
    devices_expired_rows_are_purged,
);

fn device(hash: &str, user_code: &str, expires_at: Timestamp) -> DeviceAuthorization {
    DeviceAuthorization {
        device_code_hash: hash.into(),
        user_code_hash: user_code.into(),
        client_id: "tv".into(),
        scope: "openid profile".into(),
        request: r#"{"client_id":"tv"}"#.into(),
        poll_interval: 5,
        status: DeviceStatus::Pending,
        approval: None,
        created_at: 1000,
        expires_at,
    }
}

fn approval() -> DeviceApproval {
    DeviceApproval {
        sub: "u1".into(),
        scope: "openid".into(),
        auth_time: 1100,
        acr: Some("urn:surety:acr:password".into()),
        grant: r#"{"grant_id":"g1"}"#.into(),
    }
}

async fn devices_insert_find_and_user_code_unique(s: &SqlStore) {
    let d = device("d1", "u1", 2000);
    s.insert_device(&d).await.unwrap();
    assert_eq!(s.device_by_code("d1").await.unwrap(), d);
    assert_eq!(s.device_by_user_code("u1").await.unwrap(), d);
    assert!(matches!(
        s.device_by_code("nope").await,
        Err(StoreError::NotFound)
    ));
    // Another device code cannot take a user code that is still stored.
    assert!(matches!(
        s.insert_device(&device("d2", "u1", 2000)).await,
        Err(StoreError::Conflict(t)) if t.contains("device_authorizations")
    ));
}

async fn devices_approve_once_then_redeem_once(s: &SqlStore) {
    s.insert_device(&device("d1", "u1", 2000)).await.unwrap();
    // Not redeemable while pending.
    assert_eq!(s.redeem_device("d1", "tv", 1200).await.unwrap(), None);
    assert!(s.approve_device("d1", &approval(), 1200).await.unwrap());
    // A second decision changes nothing: the first one stands.
    let other = DeviceApproval {
        sub: "u2".into(),
        ..approval()
    };
    assert!(!s.approve_device("d1", &other, 1201).await.unwrap());
    assert!(!s.deny_device("d1", 1201).await.unwrap());
    let got = s.device_by_code("d1").await.unwrap();
    assert_eq!(got.status, DeviceStatus::Approved);
    assert_eq!(got.approval, Some(approval()));
    // Another client cannot redeem it; its own client can, once.
    assert_eq!(s.redeem_device("d1", "other", 1300).await.unwrap(), None);
    let redeemed = s.redeem_device("d1", "tv", 1300).await.unwrap().unwrap();
    assert_eq!(redeemed.status, DeviceStatus::Redeemed);
    assert_eq!(redeemed.approval, Some(approval()));
    assert_eq!(s.redeem_device("d1", "tv", 1301).await.unwrap(), None);
    assert_eq!(
        s.device_by_code("d1").await.unwrap().status,
        DeviceStatus::Redeemed
    );
}

async fn devices_deny_and_expiry_stop_every_move(s: &SqlStore) {
    s.insert_device(&device("d1", "u1", 2000)).await.unwrap();
    assert!(s.deny_device("d1", 1200).await.unwrap());
    assert!(!s.approve_device("d1", &approval(), 1201).await.unwrap());
    assert_eq!(s.redeem_device("d1", "tv", 1202).await.unwrap(), None);
    assert_eq!(
        s.device_by_code("d1").await.unwrap().status,
        DeviceStatus::Denied
    );
    // At its expiry nothing moves any more.
    s.insert_device(&device("d2", "u2", 2000)).await.unwrap();
    assert!(!s.approve_device("d2", &approval(), 2000).await.unwrap());
    assert!(!s.deny_device("d2", 2000).await.unwrap());
    s.insert_device(&device("d3", "u3", 2000)).await.unwrap();
    assert!(s.approve_device("d3", &approval(), 1999).await.unwrap());
    assert_eq!(s.redeem_device("d3", "tv", 2000).await.unwrap(), None);
}

async fn devices_concurrent_redemptions_have_one_winner(s: &SqlStore) {
    s.insert_device(&device("d1", "u1", 2000)).await.unwrap();
    assert!(s.approve_device("d1", &approval(), 1200).await.unwrap());
    let s = Arc::new(s.clone());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.redeem_device("d1", "tv", 1300).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
}

async fn devices_expired_rows_are_purged(s: &SqlStore) {
    s.insert_device(&device("old", "u1", 1500)).await.unwrap();
    s.insert_device(&device("new", "u2", 9000)).await.unwrap();
    assert_eq!(s.purge_expired(2000).await.unwrap(), 1);
    assert!(matches!(
        s.device_by_code("old").await,
        Err(StoreError::NotFound)
    ));
    assert!(s.device_by_code("new").await.is_ok());
    // Its user code is free again.
    s.insert_device(&device("again", "u1", 9000)).await.unwrap();
}
