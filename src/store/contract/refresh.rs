//! Contract cases for refresh-token rotation (RFC 9700 §4.14.2): one live token per
//! family, one winner of concurrent presentations with and without a grace window, the
//! one retry of a lost response, reuse; the upkeep pass ending a family whose tokens all
//! expired. On a fresh SQLite file and (when configured) a fresh PostgreSQL database each.

use std::sync::Arc;

use super::super::sql::SqlStore;
use super::super::*;
use super::{grant, is_not_found, postgres_db, refresh, sqlite_db};

contract!(
    rotate_live_then_reused,
    rotate_unknown_or_expired_is_invalid,
    rotate_within_grace_window,
    retry_after_the_successor_was_used_is_reuse,
    rotate_under_revoked_grant_is_reused,
    rotate_concurrently_has_one_winner,
    upkeep_deletes_the_grants_whose_tokens_all_expired,
    revoking_a_clients_grants_spares_other_users,
);

async fn rotate_live_then_reused(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 5000)).await.unwrap();
    let next = refresh("h2", "g1", 6000);
    let Rotation::Rotated(old) = s.rotate_refresh("h1", &next, 2000, 0).await.unwrap() else {
        panic!("a live token must rotate");
    };
    assert_eq!(old.token_hash, "h1");
    assert_eq!(s.find_refresh("h1").await.unwrap().rotated_at, Some(2000));
    assert_eq!(s.find_refresh("h2").await.unwrap(), next);

    let again = refresh("h3", "g1", 6000);
    let reused = s.rotate_refresh("h1", &again, 2001, 0).await.unwrap();
    assert!(matches!(reused, Rotation::Reused(ref r) if r.token_hash == "h1"));
    assert!(is_not_found(s.find_refresh("h3").await));

    let rotated = s.rotate_refresh("h2", &again, 2002, 0).await.unwrap();
    assert!(matches!(rotated, Rotation::Rotated(_)));
}

async fn rotate_unknown_or_expired_is_invalid(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 5000)).await.unwrap();
    let next = refresh("h2", "g1", 9000);
    assert_eq!(
        s.rotate_refresh("nope", &next, 2000, 0).await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        s.rotate_refresh("h1", &next, 5000, 60).await.unwrap(),
        Rotation::Invalid
    );
    assert!(is_not_found(s.find_refresh("h2").await));
    // Still live one second earlier.
    let ok = s.rotate_refresh("h1", &next, 4999, 0).await.unwrap();
    assert!(matches!(ok, Rotation::Rotated(_)));
}

async fn rotate_within_grace_window(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 9000)).await.unwrap();
    let rotate = |succ: &'static str, now| {
        let next = refresh(succ, "g1", 9000);
        async move { s.rotate_refresh("h1", &next, now, 10).await.unwrap() }
    };
    let live =
        |h: &'static str| async move { s.find_refresh(h).await.unwrap().rotated_at.is_none() };
    assert!(matches!(rotate("h2", 2000).await, Rotation::Rotated(_)));
    // Presented again at once: racing the rotation, refused; nothing forks or dies.
    assert_eq!(rotate("h2x", 2001).await, Rotation::Refused);
    assert!(is_not_found(s.find_refresh("h2x").await));
    assert!(live("h2").await);
    // The retry of a lost response, 10 s later: allowed once, and it replaces h2.
    assert!(matches!(rotate("h3", 2010).await, Rotation::Rotated(_)));
    assert!(live("h3").await);
    assert!(!live("h2").await, "the replaced successor is revoked");
    // A second retry inside the window: refused, h3 stays the one live token.
    assert_eq!(rotate("h3x", 2010).await, Rotation::Refused);
    assert!(live("h3").await);
    // 11 s later: reuse.
    assert!(matches!(rotate("h4", 2011).await, Rotation::Reused(_)));
    assert!(is_not_found(s.find_refresh("h4").await));
}

async fn retry_after_the_successor_was_used_is_reuse(s: &SqlStore) {
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 9000)).await.unwrap();
    let next = refresh("h2", "g1", 9000);
    assert!(matches!(
        s.rotate_refresh("h1", &next, 2000, 60).await.unwrap(),
        Rotation::Rotated(_)
    ));
    let next = refresh("h3", "g1", 9000);
    assert!(matches!(
        s.rotate_refresh("h2", &next, 2003, 60).await.unwrap(),
        Rotation::Rotated(_)
    ));
    // h1's response was not lost (its successor h2 was used): presenting h1 is reuse.
    let retry = refresh("h4", "g1", 9000);
    let out = s.rotate_refresh("h1", &retry, 2005, 60).await.unwrap();
    assert!(matches!(out, Rotation::Reused(ref r) if r.token_hash == "h1"));
    assert!(is_not_found(s.find_refresh("h4").await));
}

/// Live refresh tokens of `grant_id` among `hashes`.
async fn live_among(s: &SqlStore, hashes: &[String]) -> usize {
    let mut n = 0;
    for h in hashes {
        if let Ok(r) = s.find_refresh(h).await {
            n += usize::from(r.rotated_at.is_none());
        }
    }
    n
}

async fn rotate_under_revoked_grant_is_reused(s: &SqlStore) {
    let g = grant("g1");
    s.insert_grant(&g).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 9000)).await.unwrap();
    s.insert_refresh(&refresh("h2", "g1", 9000)).await.unwrap();
    s.revoke_grant(&g, 2000).await.unwrap();
    // Neither token looks live any more.
    assert_eq!(s.find_refresh("h1").await.unwrap().rotated_at, Some(2000));
    let next = refresh("h3", "g1", 9000);
    let out = s.rotate_refresh("h2", &next, 2001, 3600).await.unwrap();
    assert!(matches!(out, Rotation::Reused(ref r) if r.token_hash == "h2"));
    assert!(is_not_found(s.find_refresh("h3").await));

    // A token inserted after the revocation (a racing rotation) is dead too.
    s.insert_refresh(&refresh("h5", "g1", 9000)).await.unwrap();
    assert!(s.find_refresh("h5").await.unwrap().rotated_at.is_some());
    let late = s.rotate_refresh("h5", &next, 2002, 0).await.unwrap();
    assert!(matches!(late, Rotation::Reused(_)));
}

async fn rotate_concurrently_has_one_winner(s: &SqlStore) {
    for grace in [0, 60] {
        let g = format!("g{grace}");
        let h0 = format!("h0-{grace}");
        s.insert_grant(&grant(&g)).await.unwrap();
        s.insert_refresh(&refresh(&h0, &g, 9000)).await.unwrap();
        let store = Arc::new(s.clone());
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (store, g, h0) = (store.clone(), g.clone(), h0.clone());
                tokio::spawn(async move {
                    let next = refresh(&format!("succ{grace}-{i}"), &g, 9000);
                    store.rotate_refresh(&h0, &next, 2000, grace).await
                })
            })
            .collect();
        let (mut rotated, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Rotation::Rotated(_) => rotated += 1,
                Rotation::Reused(_) | Rotation::Refused => refused += 1,
                Rotation::Invalid => panic!("a known live token is never invalid"),
            }
        }
        assert_eq!((rotated, refused), (1, 19), "grace {grace}");
        let all: Vec<String> = (0..20).map(|i| format!("succ{grace}-{i}")).collect();
        assert_eq!(
            live_among(s, &all).await,
            1,
            "grace {grace}: one live successor"
        );
    }
}

/// A family whose tokens all expired is gone with them; one with a live token, one that
/// never had a token, and one whose last token may have minted a still-live access token
/// stay.
async fn upkeep_deletes_the_grants_whose_tokens_all_expired(s: &SqlStore) {
    for g in ["ended", "live", "tokenless", "recent"] {
        s.insert_grant(&grant(g)).await.unwrap();
    }
    let tokens = [("e1", "ended", 1500), ("e2", "ended", 1800)];
    for (hash, g, exp) in tokens
        .into_iter()
        .chain([("l1", "live", 1500), ("l2", "live", 9000)])
    {
        s.insert_refresh(&refresh(hash, g, exp)).await.unwrap();
    }
    let mut late = refresh("r1", "recent", 1900);
    late.created_at = 1950;
    s.insert_refresh(&late).await.unwrap();
    // now = 2000; access tokens minted up to 1900 have expired.
    assert_eq!(s.purge(2000, 0, 0, 1900).await.unwrap(), 1 + 4);
    assert!(is_not_found(s.get_grant("ended").await));
    for g in ["live", "tokenless", "recent"] {
        assert!(s.get_grant(g).await.is_ok(), "{g} must stay");
    }
    assert!(s.find_refresh("l2").await.is_ok());
    assert_eq!(s.purge(2000, 0, 0, 1900).await.unwrap(), 0);
}

/// Revoking what a client holds for one user ends that user's tokens only.
async fn revoking_a_clients_grants_spares_other_users(s: &SqlStore) {
    let mut other = grant("g2");
    other.sub = "u2".into();
    s.insert_grant(&grant("g1")).await.unwrap();
    s.insert_grant(&other).await.unwrap();
    s.insert_refresh(&refresh("h1", "g1", 9000)).await.unwrap();
    let mut theirs = refresh("h2", "g2", 9000);
    theirs.sub = "u2".into();
    s.insert_refresh(&theirs).await.unwrap();
    assert_eq!(s.revoke_client_grants("c1", "u1", 2000).await.unwrap(), 1);
    assert_eq!(s.find_refresh("h1").await.unwrap().rotated_at, Some(2000));
    assert_eq!(s.find_refresh("h2").await.unwrap().rotated_at, None);
    let next = refresh("h3", "g1", 9000);
    let again = s.rotate_refresh("h1", &next, 2001, 0).await.unwrap();
    assert!(matches!(again, Rotation::Reused(_)));
}
