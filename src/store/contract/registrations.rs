//! Contract cases for [`RegistrationStore`] (RFC 7591 initial access tokens, RFC 7592
//! registrations) and for deleting a client (its registration goes, its tokens die), on
//! a fresh SQLite file and (when configured) a fresh PostgreSQL database each.

use std::sync::Arc;

use super::super::sql::SqlStore;
use super::super::*;
use super::{client, grant, is_conflict, is_not_found, postgres_db, refresh, sqlite_db};

contract!(
    initial_tokens_are_found_by_hash_listed_and_revoked,
    registration_is_stored_with_its_client_and_rotated_once,
    deleting_a_client_removes_its_registration_and_revokes_its_tokens,
);

fn token(id: &str, hash: &str, created_at: Timestamp) -> InitialAccessToken {
    InitialAccessToken {
        id: id.into(),
        token_hash: hash.into(),
        policy: RegistrationPolicy {
            grant_types: vec!["authorization_code".into()],
            scope: crate::scope::Scope::parse("openid profile"),
            redirect_uris: vec!["https://*.rp.example/*".into()],
        },
        description: Some("partner onboarding".into()),
        created_at,
        expires_at: created_at + 3600,
        revoked_at: None,
    }
}

fn registration(client_id: &str, hash: &str) -> Registration {
    Registration {
        client_id: ClientId::parse(client_id).unwrap(),
        token_hash: hash.into(),
        policy: RegistrationPolicy {
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ..RegistrationPolicy::default()
        },
        initial_token_id: Some("iat_1".into()),
        software_statement: Some("a.b.c".into()),
        created_at: 1000,
        updated_at: 1000,
    }
}

async fn initial_tokens_are_found_by_hash_listed_and_revoked(s: &SqlStore) {
    let (a, b) = (token("iat_a", "ha", 1000), token("iat_b", "hb", 2000));
    s.insert_initial_token(&a).await.unwrap();
    s.insert_initial_token(&b).await.unwrap();
    assert!(is_conflict(
        s.insert_initial_token(&token("iat_c", "ha", 3000)).await
    ));
    assert_eq!(s.initial_token_by_hash("ha").await.unwrap(), a);
    assert!(is_not_found(s.initial_token_by_hash("nope").await));
    assert_eq!(
        s.list_initial_tokens().await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    assert!(a.usable(1000) && !a.usable(4600));

    s.revoke_initial_token("iat_a", 1500).await.unwrap();
    s.revoke_initial_token("iat_a", 1600).await.unwrap();
    let revoked = s.initial_token_by_hash("ha").await.unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(1500),
        "the first revocation stands"
    );
    assert!(!revoked.usable(1501));
    assert!(is_not_found(s.revoke_initial_token("nope", 1500).await));
}

async fn registration_is_stored_with_its_client_and_rotated_once(s: &SqlStore) {
    let c = client("dyn1");
    let r = registration("dyn1", "t1");
    s.register_client(&c, &r).await.unwrap();
    assert_eq!(s.get_client("dyn1").await.unwrap(), c);
    assert_eq!(s.registration("dyn1").await.unwrap(), r);
    // The same client twice: neither row is written again.
    assert!(is_conflict(s.register_client(&c, &r).await));
    assert!(is_not_found(s.registration("nope").await));

    let mut changed = c.clone();
    changed.metadata.client_name = Some("Renamed".into());
    assert!(
        !s.update_registered(&changed, None, "wrong", "t2", 1100)
            .await
            .unwrap(),
        "a token the registration does not hold changes nothing"
    );
    assert_eq!(s.get_client("dyn1").await.unwrap(), c);
    assert!(
        s.update_registered(&changed, None, "t1", "t2", 1100)
            .await
            .unwrap()
    );
    assert!(
        !s.update_registered(&changed, None, "t1", "t3", 1200)
            .await
            .unwrap(),
        "the old token is spent"
    );
    let now = s.registration("dyn1").await.unwrap();
    assert_eq!(
        (
            now.token_hash.as_str(),
            now.updated_at,
            now.software_statement
        ),
        ("t2", 1100, None)
    );
    assert_eq!(s.get_client("dyn1").await.unwrap(), changed);
}

async fn deleting_a_client_removes_its_registration_and_revokes_its_tokens(s: &SqlStore) {
    let st = Stores::from_sql(s.clone(), Arc::new(crate::clock::SystemClock), 0);
    s.register_client(&client("c1"), &registration("c1", "t1"))
        .await
        .unwrap();
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("r1", "g1", 9000)).await.unwrap();
    let other = GrantRecord {
        client_id: "c2".into(),
        ..grant("g2")
    };
    s.insert_grant(&other).await.unwrap();

    st.clients.delete_client("c1", 5000).await.unwrap();
    assert!(is_not_found(s.registration("c1").await));
    assert_eq!(s.get_grant("g1").await.unwrap().revoked_at, Some(5000));
    assert_eq!(s.find_refresh("r1").await.unwrap().rotated_at, Some(5000));
    assert_eq!(
        s.get_grant("g2").await.unwrap().revoked_at,
        None,
        "another client's grants stay"
    );
    assert!(is_not_found(st.clients.delete_client("c1", 5001).await));
}
