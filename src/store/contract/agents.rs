//! Contract cases for [`AgentLinkStore`], on a fresh SQLite file and (when configured) a
//! fresh PostgreSQL database each.

use super::super::sql::SqlStore;
use super::super::*;
use super::{postgres_db, sqlite_db};

contract!(
    agents_verified_link_is_also_an_entity_link,
    agents_pre_approval_never_downgrades_a_verified_link,
);

fn link(parent: &str, child: &str, role: &str, method: &str, at: Timestamp) -> AgentLink {
    AgentLink {
        parent_id: parent.into(),
        child_id: child.into(),
        role: role.into(),
        status: agent_status::VERIFIED.into(),
        method: method.into(),
        approved_by: None,
        client_id: "c1".into(),
        created_at: at,
        updated_at: at,
    }
}

async fn agents_verified_link_is_also_an_entity_link(s: &SqlStore) {
    assert!(matches!(
        s.agent_link("ENb", "ENp").await,
        Err(StoreError::NotFound)
    ));
    s.put_verified_agent(&link("ENb", "ENp", "ambassador", "kba", 100))
        .await
        .unwrap();
    let got = s.agent_link("ENb", "ENp").await.unwrap();
    assert_eq!(got, link("ENb", "ENp", "ambassador", "kba", 100));
    let parents = s.parents_of("ENp").await.unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(
        (parents[0].parent_id.as_str(), parents[0].role.as_str()),
        ("ENb", "ambassador")
    );
    // Verified again later with another role: one agent link, updated; the first
    // creation time is kept; the new role is added to the entity links.
    s.put_verified_agent(&link("ENb", "ENp", "manager", "network", 200))
        .await
        .unwrap();
    let got = s.agent_link("ENb", "ENp").await.unwrap();
    assert_eq!(
        (got.role.as_str(), got.method.as_str()),
        ("manager", "network")
    );
    assert_eq!((got.created_at, got.updated_at), (100, 200));
    assert_eq!(s.parents_of("ENp").await.unwrap().len(), 2);
    s.put_verified_agent(&link("ENc", "ENp", "employee", "kba", 300))
        .await
        .unwrap();
    let all = s.agent_links_of("ENp").await.unwrap();
    let parents: Vec<_> = all.iter().map(|l| l.parent_id.as_str()).collect();
    assert_eq!(parents, ["ENb", "ENc"]);
    assert!(s.agent_links_of("ENx").await.unwrap().is_empty());
}

async fn agents_pre_approval_never_downgrades_a_verified_link(s: &SqlStore) {
    s.put_verified_agent(&link("ENb", "ENv", "manager", "kba", 100))
        .await
        .unwrap();
    let pre = |child: &str, at| AgentLink {
        status: agent_status::PRE_APPROVED.into(),
        approved_by: Some("ENamb".into()),
        ..link("ENb", child, "employee", "list", at)
    };
    let written = s
        .pre_approve_agents(&[pre("ENv", 200), pre("EN1", 200), pre("EN2", 200)])
        .await
        .unwrap();
    assert_eq!(written, 2, "the verified link is kept");
    let kept = s.agent_link("ENb", "ENv").await.unwrap();
    assert_eq!(
        (kept.status.as_str(), kept.role.as_str()),
        ("verified", "manager")
    );
    let one = s.agent_link("ENb", "EN1").await.unwrap();
    assert_eq!(one, pre("EN1", 200));
    assert!(
        s.parents_of("EN1").await.unwrap().is_empty(),
        "a pre-approval is not yet a parent–child link"
    );
    // Submitted again: refreshed, still one row.
    assert_eq!(s.pre_approve_agents(&[pre("EN1", 300)]).await.unwrap(), 1);
    let again = s.agent_link("ENb", "EN1").await.unwrap();
    assert_eq!((again.created_at, again.updated_at), (200, 300));
    assert_eq!(s.pre_approve_agents(&[]).await.unwrap(), 0);
}
