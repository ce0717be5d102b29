//! Contract cases for [`EntityBindingStore`], on a fresh SQLite file and (when
//! configured) a fresh PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db, user};

contract!(
    bindings_bind_read_and_replace,
    bindings_need_an_existing_user
);

fn binding(user_id: &str, entity_id: &str, at: Timestamp) -> EntityBinding {
    EntityBinding {
        user_id: user_id.into(),
        entity_id: entity_id.into(),
        verified_at: at,
        method: "kba".into(),
    }
}

async fn bindings_bind_read_and_replace(s: &SqlStore) {
    s.insert_user(&user("u1", "alice")).await.unwrap();
    s.insert_user(&user("u2", "bob")).await.unwrap();
    assert!(matches!(
        s.entity_binding("u1").await,
        Err(StoreError::NotFound)
    ));
    s.bind_entity(&binding("u1", "EN1", 1000)).await.unwrap();
    assert_eq!(
        s.entity_binding("u1").await.unwrap(),
        binding("u1", "EN1", 1000)
    );
    // A later pass replaces the binding (another entity, a later time, another method).
    let later = EntityBinding {
        method: "network".into(),
        ..binding("u1", "EN2", 2000)
    };
    s.bind_entity(&later).await.unwrap();
    assert_eq!(s.entity_binding("u1").await.unwrap(), later);
    // Two users may prove to be the same entity; each keeps their own binding.
    s.bind_entity(&binding("u2", "EN2", 1500)).await.unwrap();
    assert_eq!(s.entity_binding("u2").await.unwrap().verified_at, 1500);
    assert_eq!(s.entity_binding("u1").await.unwrap().verified_at, 2000);
}

async fn bindings_need_an_existing_user(s: &SqlStore) {
    assert!(matches!(
        s.bind_entity(&binding("ghost", "EN1", 1000)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.entity_binding("ghost").await,
        Err(StoreError::NotFound)
    ));
}
