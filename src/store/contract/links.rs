//! Contract cases for [`LinkStore`] (e-mailed single-use links and the user changes they
//! make), on a fresh SQLite file and (when configured) a fresh PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{is_conflict, is_not_found, postgres_db, sqlite_db, user};
use crate::clock::SystemEntropy;
use crate::outbox::email::{EmailMessage, email_event};

contract!(
    links_are_used_once_within_their_life,
    links_die_with_a_change_of_address,
    password_changes_are_conditional_and_void_reset_links,
    reset_candidates_by_name_or_address,
);

fn link(hash: &str, purpose: LinkPurpose, sub: &str, email: &str) -> LinkRecord {
    LinkRecord {
        token_hash: hash.into(),
        purpose,
        sub: sub.into(),
        email: email.into(),
        created_at: 1000,
        expires_at: 2000,
        consumed_at: None,
    }
}

fn mail(to: &str) -> OutboxEvent {
    let m = EmailMessage {
        subject: "A link".into(),
        text: "open it".into(),
    };
    email_event(None, &SystemEntropy, 1000, to, &m).unwrap()
}

async fn issue(s: &SqlStore, l: &LinkRecord) {
    s.issue_link(l, &mail(&l.email)).await.unwrap();
}

async fn links_are_used_once_within_their_life(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    let (verify, reset) = (LinkPurpose::VerifyEmail, LinkPurpose::ResetPassword);
    let l = link("h1", verify, "u1", "alice@example.com");
    let e = mail("alice@example.com");
    s.issue_link(&l, &e).await.unwrap();
    assert_eq!(
        s.get_event(&e.id).await.unwrap().destination,
        "alice@example.com"
    );
    assert!(is_conflict(s.issue_link(&l, &mail("x@example.com")).await));
    assert_eq!(s.live_link("h1", verify, 1500).await.unwrap(), l);
    assert!(
        is_not_found(s.live_link("h1", reset, 1500).await),
        "another purpose"
    );
    assert!(
        is_not_found(s.live_link("h1", verify, 2000).await),
        "expired"
    );
    assert!(is_not_found(s.redeem_reset("h1", "phc", 1500).await));
    assert!(is_not_found(s.redeem_verification("h1", 2000).await));
    assert!(s.get_user("u1").await.unwrap().email_verified_at.is_none());

    let used = s.redeem_verification("h1", 1500).await.unwrap();
    assert_eq!((used.sub.as_str(), used.consumed_at), ("u1", Some(1500)));
    assert_eq!(
        s.get_user("u1").await.unwrap().email_verified_at,
        Some(1500)
    );
    assert!(
        is_not_found(s.redeem_verification("h1", 1600).await),
        "once"
    );
    assert!(is_not_found(s.live_link("h1", verify, 1600).await));

    issue(s, &link("h2", reset, "u1", "alice@example.com")).await;
    issue(s, &link("h3", reset, "u1", "alice@example.com")).await;
    s.redeem_reset("h2", "new-phc", 1700).await.unwrap();
    let u = s.get_user("u1").await.unwrap();
    assert_eq!(
        (u.password_hash.as_str(), u.email_verified_at),
        ("new-phc", Some(1500))
    );
    assert!(
        is_not_found(s.redeem_reset("h3", "other", 1700).await),
        "siblings void"
    );

    assert_eq!(s.purge_expired(2000).await.unwrap(), 3);
    assert!(is_not_found(s.redeem_reset("h2", "again", 1000).await));
}

async fn links_die_with_a_change_of_address(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    let verify = LinkPurpose::VerifyEmail;
    issue(s, &link("h1", verify, "u1", "alice@example.com")).await;
    issue(
        s,
        &link("h2", LinkPurpose::ResetPassword, "u1", "alice@example.com"),
    )
    .await;
    s.redeem_verification("h1", 1100).await.unwrap();
    s.change_email("u1", "new@example.com", 1200).await.unwrap();
    let u = s.get_user("u1").await.unwrap();
    assert_eq!(u.email.as_deref(), Some("new@example.com"));
    assert_eq!(u.email_verified_at, None, "a new address is not verified");
    assert!(is_not_found(s.redeem_reset("h2", "phc", 1300).await));
    assert!(is_not_found(
        s.change_email("nobody", "x@example.com", 1300).await
    ));

    // A link issued for an address no longer the user's, yet unused, proves nothing.
    issue(s, &link("h3", verify, "u1", "alice@example.com")).await;
    assert!(is_not_found(s.redeem_verification("h3", 1400).await));
    assert_eq!(s.get_user("u1").await.unwrap().email_verified_at, None);
    issue(s, &link("h4", verify, "u1", "new@example.com")).await;
    s.redeem_verification("h4", 1500).await.unwrap();
    assert_eq!(
        s.get_user("u1").await.unwrap().email_verified_at,
        Some(1500)
    );
}

async fn password_changes_are_conditional_and_void_reset_links(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    let old = s.get_user("u1").await.unwrap().password_hash;
    issue(
        s,
        &link("h1", LinkPurpose::ResetPassword, "u1", "alice@example.com"),
    )
    .await;
    assert!(s.change_password("u1", &old, "phc-2", 1100).await.unwrap());
    assert!(
        !s.change_password("u1", &old, "phc-3", 1100).await.unwrap(),
        "lost race"
    );
    assert_eq!(s.get_user("u1").await.unwrap().password_hash, "phc-2");
    assert!(is_not_found(s.redeem_reset("h1", "phc-4", 1200).await));
}

async fn reset_candidates_by_name_or_address(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    let shared = |sub: &str, name: &str| UserRecord {
        email: Some("Team@Example.com".into()),
        ..user(sub, name)
    };
    s.insert_user(&shared("u2", "bob")).await.unwrap();
    s.insert_user(&shared("u3", "carol")).await.unwrap();
    let subs = |v: Vec<UserRecord>| v.into_iter().map(|u| u.sub).collect::<Vec<_>>();
    assert_eq!(subs(s.reset_candidates("alice").await.unwrap()), ["u1"]);
    assert_eq!(
        subs(s.reset_candidates("ALICE@example.com").await.unwrap()),
        ["u1"]
    );
    assert_eq!(
        subs(s.reset_candidates("team@example.com").await.unwrap()),
        ["u2", "u3"]
    );
    assert!(
        s.reset_candidates("Alice").await.unwrap().is_empty(),
        "names are exact"
    );
    assert!(s.reset_candidates("nobody").await.unwrap().is_empty());
}
