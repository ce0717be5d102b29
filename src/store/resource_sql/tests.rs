//! The resource store on SQLite and PostgreSQL.

//! Run on a fresh SQLite file and, when `SURETY_TEST_DATABASE_URL` is set, on a fresh
//! PostgreSQL database.
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::clock::{Entropy, SystemEntropy};
use crate::store::{
    AccountSid, AccountStatus, AccountStore, PartnerId, PartnerLimits, PartnerRecord,
    PartnerStatus, PartnerStore,
};

/// Fresh migrated stores, and what to drop afterwards.
struct Dbs {
    stores: Vec<SqlStore>,
    dir: std::path::PathBuf,
    pg: Option<(SqlStore, String)>,
}

impl Dbs {
    async fn finish(self) {
        for s in &self.stores {
            s.pool().close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, name)) = self.pg {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(admin.pool())
                .await;
            admin.pool().close().await;
        }
    }
}

async fn dbs() -> Dbs {
    let dir = std::env::temp_dir().join(format!("surety-res-{}", SystemEntropy.hex16()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("surety.db").display());
    let mut stores = vec![SqlStore::connect(&url).await.unwrap()];
    let mut pg = None;
    if let Some(admin) = std::env::var("SURETY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let a = SqlStore::connect(&admin).await.unwrap();
        let name = format!("surety_t_{}", SystemEntropy.hex16());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(a.pool())
            .await
            .unwrap();
        let mut u = url::Url::parse(&admin).unwrap();
        u.set_path(&format!("/{name}"));
        stores.push(SqlStore::connect(u.as_str()).await.unwrap());
        pg = Some((a, name));
    }
    for s in &stores {
        s.migrate().await.unwrap();
    }
    Dbs { stores, dir, pg }
}

fn account(
    parent: Option<&AccountSid>,
    partner: Option<&PartnerId>,
    limits: PartnerLimits,
) -> AccountRecord {
    AccountRecord {
        sid: AccountSid::new(&SystemEntropy),
        partner_id: partner.cloned(),
        parent_sid: parent.cloned(),
        friendly_name: "t".into(),
        status: AccountStatus::Active,
        limits,
        auth_token_hash: "h".into(),
        created_at: 1,
    }
}

fn charge(a: &AccountRecord, limit: Option<i64>) -> Charge {
    Charge {
        account_sid: a.sid.to_string(),
        limit,
    }
}

fn message(account_sid: &str, created_at: Timestamp) -> ActivityRecord {
    ActivityRecord {
        sid: format!("SM{}", SystemEntropy.hex16()),
        kind: ActivityKind::Message,
        account_sid: account_sid.into(),
        to: "+15005550006".into(),
        from: "+15005550001".into(),
        body: Some("hi".into()),
        status: "queued".into(),
        created_at,
    }
}

fn monthly(n: u64) -> PartnerLimits {
    PartnerLimits {
        max_monthly_api_calls: Some(n),
        ..PartnerLimits::default()
    }
}

/// root (partner P) ← child ← grandchild.
async fn family(s: &SqlStore) -> (AccountRecord, AccountRecord, AccountRecord) {
    let pid = PartnerId::new(&SystemEntropy);
    s.insert_partner(&PartnerRecord {
        id: pid.clone(),
        name: "P".into(),
        status: PartnerStatus::Active,
        jwks: None,
        jwks_uri: None,
        sealed_secret: None,
        allowed_cidrs: vec![],
        limits: monthly(7),
        branding: json!({}),
        created_at: 1,
    })
    .await
    .unwrap();
    let root = account(None, Some(&pid), PartnerLimits::default());
    let child = account(Some(&root.sid), None, PartnerLimits::default());
    let grand = account(Some(&child.sid), Some(&pid), PartnerLimits::default());
    for a in [&root, &child, &grand] {
        s.insert_account(a).await.unwrap();
    }
    (root, child, grand)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_walks_up_with_partner_details() {
    let dbs = dbs().await;
    for s in &dbs.stores {
        let (root, child, grand) = family(s).await;
        let l = s.lineage(&grand.sid, 8).await.unwrap();
        let sids: Vec<&str> = l.iter().map(|n| n.account.sid.as_str()).collect();
        assert_eq!(
            sids,
            [grand.sid.as_str(), child.sid.as_str(), root.sid.as_str()]
        );
        assert_eq!(l[0].partner_status, Some(PartnerStatus::Active));
        assert_eq!(l[1].partner_status, None);
        assert_eq!(l[2].partner_limits, Some(monthly(7)));
        assert_eq!(l[0].account, grand);
        assert_eq!(s.lineage(&grand.sid, 1).await.unwrap().len(), 2);
        assert!(matches!(
            s.lineage("AC00000000000000000000000000000000", 8).await,
            Err(StoreError::NotFound)
        ));
    }
    dbs.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_ancestor_rolls_the_whole_charge_back() {
    let dbs = dbs().await;
    for s in &dbs.stores {
        let (root, child, grand) = family(s).await;
        let charges = [
            charge(&grand, None),
            charge(&child, Some(3)),
            charge(&root, None),
        ];
        for _ in 0..3 {
            let r = s
                .record_metered(&message(&grand.sid, 5), &charges, "2030-01")
                .await;
            assert_eq!(r.unwrap(), Metered::Recorded);
        }
        let r = s
            .record_metered(&message(&grand.sid, 5), &charges, "2030-01")
            .await;
        assert_eq!(
            r.unwrap(),
            Metered::LimitReached {
                account_sid: child.sid.to_string(),
                limit: 3
            }
        );
        for a in [&grand, &child, &root] {
            assert_eq!(s.usage(&a.sid, "2030-01").await.unwrap(), 3);
        }
        assert_eq!(s.usage(&root.sid, "2030-02").await.unwrap(), 0);
        let listed = s
            .list_activity(ActivityKind::Message, &grand.sid, None, 10)
            .await
            .unwrap();
        assert_eq!(listed.len(), 3, "the refused call stored nothing");
        let zero = [charge(&root, Some(0))];
        let r = s
            .record_metered(&message(&root.sid, 5), &zero, "2030-03")
            .await;
        assert!(matches!(r.unwrap(), Metered::LimitReached { limit: 0, .. }));
        assert_eq!(s.usage(&root.sid, "2030-03").await.unwrap(), 0);
    }
    dbs.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_charges_never_overshoot() {
    let dbs = dbs().await;
    for s in &dbs.stores {
        let (root, _, grand) = family(s).await;
        let s = Arc::new(s.clone());
        let charges = Arc::new(vec![charge(&grand, None), charge(&root, Some(5))]);
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (s, c, sid) = (s.clone(), charges.clone(), grand.sid.clone());
                tokio::spawn(async move {
                    s.record_metered(&message(&sid, 9), &c, "2030-01")
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut recorded = 0;
        for t in tasks {
            if t.await.unwrap() == Metered::Recorded {
                recorded += 1;
            }
        }
        assert_eq!(recorded, 5);
        assert_eq!(s.usage(&root.sid, "2030-01").await.unwrap(), 5);
        assert_eq!(s.usage(&grand.sid, "2030-01").await.unwrap(), 5);
    }
    dbs.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_owned_once_and_listed_newest_first() {
    let dbs = dbs().await;
    for s in &dbs.stores {
        let (root, child, _) = family(s).await;
        let n = |i: i64| NumberRecord {
            sid: format!("PH{}", SystemEntropy.hex16()),
            account_sid: root.sid.to_string(),
            phone_number: format!("+1500555000{i}"),
            created_at: 100 + i,
        };
        let nums: Vec<NumberRecord> = (0..3).map(n).collect();
        for x in &nums {
            s.insert_number(x).await.unwrap();
        }
        let mut dup = n(1);
        dup.account_sid = child.sid.to_string();
        assert!(matches!(
            s.insert_number(&dup).await,
            Err(StoreError::Conflict(t)) if t == "resource_numbers"
        ));
        assert_eq!(s.find_number("+15005550001").await.unwrap(), nums[1]);
        let page = s.list_numbers(&root.sid, None, 2).await.unwrap();
        assert_eq!(page, vec![nums[2].clone(), nums[1].clone()]);
        let after = Cursor {
            created_at: page[1].created_at,
            sid: page[1].sid.clone(),
        };
        let rest = s.list_numbers(&root.sid, Some(&after), 2).await.unwrap();
        assert_eq!(rest, vec![nums[0].clone()]);
        assert!(matches!(
            s.delete_number(&child.sid, &nums[0].sid).await,
            Err(StoreError::NotFound)
        ));
        s.delete_number(&root.sid, &nums[0].sid).await.unwrap();
        assert!(matches!(
            s.find_number("+15005550000").await,
            Err(StoreError::NotFound)
        ));
    }
    dbs.finish().await;
}
