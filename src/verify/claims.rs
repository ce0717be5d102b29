//! `verified_claims` (OpenID Connect for Identity Assurance 1.0) from the entity record
//! a user is bound to by a passed challenge ([`super::step`]), while the binding is
//! within `verified_policy_age`: the engine's [`ClaimsSource`], registered in `app.rs`.
//! Only the requested claims the record holds are released, under `verification` with
//! Surety's trust framework, the time of the last passed challenge and, when asked, its
//! evidence (an electronic record checked by knowledge-based verification, `kbv`).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::CivilDate;
use super::step::fresh_binding;
use crate::clock::Timestamp;
use crate::oauth::authorize::claims::{
    MemberRequest, TRUST_FRAMEWORK, VerifiedClaim, VerifiedClaimsRequest,
};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::verified_claims::ClaimsSource;
use crate::store::{EntityBinding, EntityRecord, StoreError};

/// The bound entity's record as the source of `verified_claims`.
pub struct EntityClaims;

#[async_trait]
impl ClaimsSource for EntityClaims {
    async fn available(&self, p: &Provider, sub: &str) -> Result<bool, OAuthError> {
        Ok(fresh_binding(p, sub).await?.is_some())
    }

    async fn build(
        &self,
        p: &Provider,
        sub: &str,
        member: &MemberRequest,
    ) -> Result<Option<Value>, OAuthError> {
        let Some(binding) = fresh_binding(p, sub).await? else {
            return Ok(None);
        };
        let entity = match p.stores.entities.get_entity(&binding.entity_id).await {
            Ok(e) => e,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let items: Vec<Value> = member
            .verified_claims
            .iter()
            .filter_map(|r| shape(&entity, &binding, r))
            .collect();
        Ok(match (member.verified_claims_array, items.len()) {
            (_, 0) => None,
            (true, _) => Some(Value::Array(items)),
            (false, _) => items.into_iter().next(),
        })
    }
}

/// One `verified_claims` element for request `r`, or `None` when the framework is not
/// acceptable or the record holds none of the requested claims.
fn shape(e: &EntityRecord, b: &EntityBinding, r: &VerifiedClaimsRequest) -> Option<Value> {
    if !r.accepts_framework() || e.kind != "person" {
        return None;
    }
    let mut claims = Map::new();
    for c in &r.claims {
        if let Some(v) = claim(e, *c) {
            claims.insert(c.as_str().to_owned(), v);
        }
    }
    if claims.is_empty() {
        return None;
    }
    let mut verification = Map::new();
    verification.insert("trust_framework".into(), json!(TRUST_FRAMEWORK));
    let time = rfc3339(b.verified_at);
    if r.time {
        verification.insert("time".into(), json!(time));
    }
    if r.evidence {
        let check_method = if b.method.split('+').any(|m| m == "kba") {
            "kbv"
        } else {
            "data"
        };
        verification.insert(
            "evidence".into(),
            json!([{
                "type": "electronic_record",
                "check_details": [{"check_method": check_method, "time": time}],
                "record": {"type": "surety_entity_record", "source": {"name": e.source}},
            }]),
        );
    }
    Some(json!({"verification": verification, "claims": claims}))
}

/// A claim's value from the record, as the record holds it.
fn claim(e: &EntityRecord, c: VerifiedClaim) -> Option<Value> {
    match c {
        VerifiedClaim::Name => Some(json!(e.name)),
        VerifiedClaim::PhoneNumber => e.phone_e164.as_ref().map(|v| json!(v)),
        VerifiedClaim::Email => e.email_norm.as_ref().map(|v| json!(v)),
        VerifiedClaim::Address => {
            let mut a = Map::new();
            for (k, v) in [
                ("street_address", &e.street),
                ("locality", &e.city),
                ("region", &e.region),
                ("postal_code", &e.postal),
            ] {
                if let Some(v) = v {
                    a.insert(k.into(), json!(v));
                }
            }
            (!a.is_empty()).then_some(Value::Object(a))
        }
    }
}

/// `YYYY-MM-DDThh:mm:ssZ`.
fn rfc3339(t: Timestamp) -> String {
    let d = CivilDate::from_unix(t);
    let s = t.rem_euclid(86_400);
    format!("{d}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity() -> EntityRecord {
        EntityRecord {
            id: "EN1".into(),
            external_id: "P1".into(),
            kind: "person".into(),
            name: "Maria Garcia".into(),
            street: Some("12 North Oak Street".into()),
            city: Some("Oakland".into()),
            phone: Some("(510) 555-0142".into()),
            email: Some("Maria.Garcia@example.com".into()),
            name_norm: "MARIA GARCIA".into(),
            street_norm: Some("12 N OAK ST".into()),
            city_norm: Some("OAKLAND".into()),
            region: Some("CA".into()),
            postal: None,
            phone_e164: Some("+15105550142".into()),
            email_norm: Some("maria.garcia@example.com".into()),
            attributes: json!({"birth_year": 1984}),
            source: "dmv".into(),
            verified_at: "2024-03-01".into(),
            provenance: json!({}),
            content_hash: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn binding() -> EntityBinding {
        EntityBinding {
            user_id: "u".into(),
            entity_id: "EN1".into(),
            verified_at: 1_767_225_600 + 3661,
            method: "kba".into(),
        }
    }

    #[test]
    fn only_requested_claims_the_record_holds() {
        let r = VerifiedClaimsRequest {
            trust_frameworks: vec![],
            time: true,
            evidence: true,
            claims: vec![VerifiedClaim::Name, VerifiedClaim::Address],
        };
        let v = shape(&entity(), &binding(), &r).unwrap();
        assert_eq!(
            v,
            json!({
                "verification": {
                    "trust_framework": "surety_kba",
                    "time": "2026-01-01T01:01:01Z",
                    "evidence": [{
                        "type": "electronic_record",
                        "check_details": [{"check_method": "kbv", "time": "2026-01-01T01:01:01Z"}],
                        "record": {"type": "surety_entity_record", "source": {"name": "dmv"}}
                    }]
                },
                "claims": {
                    "name": "Maria Garcia",
                    "address": {"street_address": "12 North Oak Street", "locality": "Oakland",
                        "region": "CA"}
                }
            })
        );
        let bare = VerifiedClaimsRequest {
            claims: vec![VerifiedClaim::PhoneNumber],
            ..VerifiedClaimsRequest::default()
        };
        assert_eq!(
            shape(&entity(), &binding(), &bare).unwrap(),
            json!({"verification": {"trust_framework": "surety_kba"},
                "claims": {"phone_number": "+15105550142"}})
        );
    }

    #[test]
    fn other_frameworks_businesses_and_missing_facts_release_nothing() {
        let other = VerifiedClaimsRequest {
            trust_frameworks: vec!["eidas".into()],
            claims: vec![VerifiedClaim::Name],
            ..VerifiedClaimsRequest::default()
        };
        assert!(shape(&entity(), &binding(), &other).is_none());
        let mut e = entity();
        e.email_norm = None;
        let email = VerifiedClaimsRequest {
            claims: vec![VerifiedClaim::Email],
            ..VerifiedClaimsRequest::default()
        };
        assert!(shape(&e, &binding(), &email).is_none());
        e.kind = "business".into();
        assert!(shape(&e, &binding(), &other).is_none());
    }
}
