//! Contract cases for [`PromotionStore`], on a fresh SQLite file and (when configured) a
//! fresh PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db};

contract!(
    promotions_insert_get_list_delete,
    promotions_codes_are_unique_per_client,
    promotions_open_ones_across_clients,
);

fn promo(client: &str, code: &str, requires_challenge: bool, at: Timestamp) -> PromotionRecord {
    PromotionRecord {
        id: format!(
            "PR{}",
            crate::clock::Entropy::hex16(&crate::clock::SystemEntropy)
        ),
        client_id: client.into(),
        code: code.into(),
        description: format!("{code} — «discount» for managers"),
        rule: r#"role in ["manager"] && parent.founded_year > now.year - 5"#.into(),
        requires_challenge,
        created_at: at,
    }
}

async fn promotions_insert_get_list_delete(s: &SqlStore) {
    let a = promo("c1", "SPRING", true, 1000);
    let b = promo("c1", "NEWBIZ", false, 2000);
    s.insert_promotion(&a).await.unwrap();
    s.insert_promotion(&b).await.unwrap();
    assert_eq!(s.get_promotion("c1", "SPRING").await.unwrap(), a);
    assert_eq!(s.list_promotions("c1").await.unwrap(), vec![a.clone(), b]);
    assert!(s.list_promotions("c2").await.unwrap().is_empty());
    // Another client cannot read or delete it.
    assert!(matches!(
        s.get_promotion("c2", "SPRING").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_promotion("c2", "SPRING").await,
        Err(StoreError::NotFound)
    ));
    s.delete_promotion("c1", "NEWBIZ").await.unwrap();
    assert!(matches!(
        s.delete_promotion("c1", "NEWBIZ").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.list_promotions("c1").await.unwrap(), vec![a]);
}

async fn promotions_codes_are_unique_per_client(s: &SqlStore) {
    s.insert_promotion(&promo("c1", "SPRING", false, 1000))
        .await
        .unwrap();
    let again = s.insert_promotion(&promo("c1", "SPRING", true, 1001)).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(t)) if t == "promotions"),
        "{again:?}"
    );
    // Codes are case-sensitive and per client.
    s.insert_promotion(&promo("c1", "spring", false, 1002))
        .await
        .unwrap();
    s.insert_promotion(&promo("c2", "SPRING", false, 1003))
        .await
        .unwrap();
    assert_eq!(s.list_promotions("c1").await.unwrap().len(), 2);
}

async fn promotions_open_ones_across_clients(s: &SqlStore) {
    let open1 = promo("c1", "A", false, 3000);
    let gated = promo("c1", "B", true, 1000);
    let open2 = promo("c2", "A", false, 2000);
    for p in [&open1, &gated, &open2] {
        s.insert_promotion(p).await.unwrap();
    }
    let open = s.open_promotions(10).await.unwrap();
    assert_eq!(open, vec![open2.clone(), open1]);
    assert_eq!(s.open_promotions(1).await.unwrap(), vec![open2]);
}
