//! Contract cases for accounts' conditional changes ([`AccountStore::change_account`]:
//! one column each, never on a closed account, so a change racing a close cannot reopen
//! it) and for apps stored and deleted with their clients in one transaction
//! ([`AppStore::create_app`], [`AppStore::delete_app_and_client`]), and for typed values
//! read back: a status or limits that no longer parse are `Corrupt`, never a default.
//! On a fresh SQLite file and (when configured) a fresh PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{client, is_conflict, is_not_found, postgres_db, sqlite_db};

contract!(
    account_changes_write_one_column_and_spare_closed_accounts,
    a_rotation_racing_a_close_never_reopens_the_account,
    apps_and_their_clients_are_stored_and_deleted_together,
    stored_values_that_do_not_parse_are_corrupt,
);

fn account(sid: &str) -> AccountRecord {
    AccountRecord {
        sid: AccountSid::parse(sid).unwrap(),
        partner_id: Some(PartnerId::parse("PN00000000000000000000000000000001").unwrap()),
        parent_sid: None,
        friendly_name: "A".into(),
        status: AccountStatus::Active,
        limits: PartnerLimits::default(),
        auth_token_hash: "h0".into(),
        created_at: 1000,
    }
}

fn status(from: Option<&str>, to: &str) -> AccountChange<'static> {
    let parse = |s: &str| AccountStatus::parse(s).unwrap();
    AccountChange::Status {
        from: from.map(parse),
        to: parse(to),
    }
}

async fn account_changes_write_one_column_and_spare_closed_accounts(s: &SqlStore) {
    let sid = "AC00000000000000000000000000000001";
    s.insert_account(&account(sid)).await.unwrap();
    let change = |c| s.change_account(sid, c);
    let a = change(AccountChange::FriendlyName("B"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            a.friendly_name.as_str(),
            a.status.as_str(),
            a.auth_token_hash.as_str()
        ),
        ("B", "active", "h0")
    );
    let a = change(AccountChange::AuthTokenHash("h1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.friendly_name.as_str(), a.auth_token_hash.as_str()),
        ("B", "h1")
    );
    let limits = PartnerLimits {
        denied_scopes: vec!["read".into()],
        ..PartnerLimits::default()
    };
    let a = change(AccountChange::Limits(&limits))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.limits, limits);
    // With `from`, only from that status.
    let not_suspended = change(status(Some("suspended"), "active")).await.unwrap();
    assert!(not_suspended.is_none());
    let a = change(status(None, "suspended")).await.unwrap().unwrap();
    assert_eq!(a.status.as_str(), "suspended");
    let a = change(status(Some("suspended"), "active"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status.as_str(), "active");
    // Closing is final: nothing changes a closed account.
    let a = change(status(None, "closed")).await.unwrap().unwrap();
    assert_eq!(a.status.as_str(), "closed");
    let frozen = PartnerLimits::default();
    for c in [
        status(None, "active"),
        status(Some("closed"), "active"),
        status(None, "closed"),
        AccountChange::AuthTokenHash("h2"),
        AccountChange::FriendlyName("C"),
        AccountChange::Limits(&frozen),
    ] {
        assert!(change(c).await.unwrap().is_none(), "{c:?}");
    }
    let a = s.get_account(sid).await.unwrap();
    assert_eq!(
        (
            a.status.as_str(),
            a.friendly_name.as_str(),
            a.auth_token_hash.as_str()
        ),
        ("closed", "B", "h1")
    );
    assert_eq!(a.limits, limits);
    let unknown = "AC00000000000000000000000000000009";
    let none = s.change_account(unknown, AccountChange::FriendlyName("x"));
    assert!(none.await.unwrap().is_none());
}

async fn a_rotation_racing_a_close_never_reopens_the_account(s: &SqlStore) {
    for round in 0..20 {
        let sid = format!("AC{round:032x}");
        s.insert_account(&account(&sid)).await.unwrap();
        let hash = format!("rotated-{round}");
        let (close, rotate) = {
            let (a, b) = (s.clone(), s.clone());
            let (sid_a, sid_b, hash) = (sid.clone(), sid.clone(), hash.clone());
            tokio::join!(
                tokio::spawn(async move { a.change_account(&sid_a, status(None, "closed")).await }),
                tokio::spawn(async move {
                    b.change_account(&sid_b, AccountChange::AuthTokenHash(&hash))
                        .await
                })
            )
        };
        let closed = close.unwrap().unwrap().expect("the close always applies");
        assert_eq!(closed.status.as_str(), "closed");
        let a = s.get_account(&sid).await.unwrap();
        assert_eq!(
            a.status.as_str(),
            "closed",
            "round {round}: the account ends closed"
        );
        match rotate.unwrap().unwrap() {
            // The rotation came first: it saw an open account and kept its status.
            Some(r) => {
                assert_eq!(r.status.as_str(), "active", "round {round}");
                assert_eq!(a.auth_token_hash, hash, "round {round}");
            }
            // The close came first: the rotation changed nothing.
            None => assert_eq!(a.auth_token_hash, "h0", "round {round}"),
        }
    }
}

fn app(client_id: &str) -> AppRecord {
    AppRecord {
        client_id: ClientId::parse(client_id).unwrap(),
        developer_sid: AccountSid::parse("AC00000000000000000000000000000de0").unwrap(),
        display_name: "Dialer".into(),
        homepage: None,
        logo_url: Some("https://dialer.example/logo.png".into()),
        permissions: vec![AppPermission {
            name: "read".into(),
            optional: false,
        }],
        usage_limits: Default::default(),
        deauthorize_uri: None,
        webhook_secret_sealed: Some(vec![1, 2, 3]),
        created_at: 1000,
    }
}

async fn apps_and_their_clients_are_stored_and_deleted_together(s: &SqlStore) {
    s.create_app(&client("app1"), &app("app1")).await.unwrap();
    assert_eq!(s.get_client("app1").await.unwrap(), client("app1"));
    assert_eq!(s.get_app("app1").await.unwrap(), app("app1"));
    // The app's row is refused (its id is taken): the new client is not kept either.
    assert!(is_conflict(
        s.create_app(&client("app2"), &app("app1")).await
    ));
    assert!(is_not_found(s.get_client("app2").await));
    // Deleting takes both, once.
    s.delete_app_and_client("app1").await.unwrap();
    assert!(is_not_found(s.get_app("app1").await));
    assert!(is_not_found(s.get_client("app1").await));
    assert!(is_not_found(s.delete_app_and_client("app1").await));
    // A client that is no app is not deleted as one.
    s.insert_client(&client("plain")).await.unwrap();
    assert!(is_not_found(s.delete_app_and_client("plain").await));
    assert!(s.get_client("plain").await.is_ok());
}

async fn stored_values_that_do_not_parse_are_corrupt(s: &SqlStore) {
    let (sid, other) = (
        "AC0000000000000000000000000000000a",
        "AC0000000000000000000000000000000b",
    );
    s.insert_account(&account(sid)).await.unwrap();
    s.insert_account(&account(other)).await.unwrap();
    let corrupt = |r: StoreResult<AccountRecord>| matches!(r, Err(StoreError::Corrupt(_)));
    for (set, id) in [
        ("status = 'frozen'", sid),
        ("limits = '{\"max_calls\": 5}'", other),
    ] {
        let sql = format!("UPDATE accounts SET {set} WHERE sid = '{id}'");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(s.pool())
            .await
            .unwrap();
        assert!(corrupt(s.get_account(id).await), "{set}");
    }
    // A conditional change reads the row back: it fails the same way.
    let renamed = s
        .change_account(sid, AccountChange::FriendlyName("x"))
        .await;
    assert!(matches!(renamed, Err(StoreError::Corrupt(_))));
}
