use serde_json::json;

use super::*;
use crate::verify::fixtures::{acme, jane, record, with};

fn input(v: serde_json::Value) -> IdentityInput {
    serde_json::from_value(v).unwrap()
}

fn probe(v: serde_json::Value) -> Probe {
    Probe::from_input(&input(v)).unwrap()
}

#[test]
fn abbreviations_phone_formats_case_and_whitespace_normalize_alike() {
    let r = record(jane());
    for street in [
        "123 N Main St Apt 4",
        "123 north main street, apartment 4",
        "  123  N.  MAIN   ST.  Apt. 4 ",
    ] {
        let p = probe(json!({"street": street, "postal": "90012"}));
        assert_eq!(p.street, r.street_norm, "{street}");
    }
    for phone in [
        "(213) 555-0100",
        "+1 213 555 0100",
        "213.555.0100",
        "1-213-555-0100",
    ] {
        assert_eq!(
            probe(json!({"phone": phone})).phone.as_deref(),
            Some("+12135550100")
        );
    }
    let p = probe(json!({"name": "  jane   SMITH ", "email": " JANE.smith@example.COM "}));
    assert_eq!(p.name.as_deref(), Some(r.name_norm.as_str()));
    assert_eq!(p.email, r.email_norm);
    assert_eq!(
        probe(json!({"street": "9 Sunset Avenue", "postal": "1"}))
            .street
            .as_deref(),
        Some("9 SUNSET AVE")
    );
}

#[test]
fn malformed_or_oversized_elements_are_refused_by_field() {
    let bad = |v| Probe::from_input(&input(v)).unwrap_err();
    assert!(bad(json!({"phone": "555-0100"})).starts_with("phone:"));
    assert!(bad(json!({"email": "jane at example"})).starts_with("email:"));
    assert!(bad(json!({"kind": "robot"})).starts_with("kind:"));
    assert!(bad(json!({"name": "x".repeat(201)})).starts_with("name:"));
    assert!(bad(json!({"name": "a\u{0}b"})).starts_with("name:"));
    assert_eq!(probe(json!({"name": "  "})).name, None);
}

#[test]
fn tiers_count_agreeing_core_elements() {
    let r = record(jane());
    let tier = |v| classify(&probe(v), vec![r.clone()], None).tier;
    let all = json!({"name": "Jane Smith", "street": "123 N Main St Apt 4",
                     "postal": "90012", "phone": "213-555-0100"});
    assert_eq!(tier(all), Tier::Definite);
    assert_eq!(
        tier(
            json!({"name": "Jane Smith", "phone": "2135550100", "email": "jane.smith@example.com"})
        ),
        Tier::Definite
    );
    assert_eq!(
        tier(json!({"name": "Jane Smith", "phone": "2135550100"})),
        Tier::Probable
    );
    assert_eq!(tier(json!({"phone": "2135550100"})), Tier::None);
    // A street needs a supporting city or postal code to count.
    assert_eq!(
        tier(json!({"name": "Jane Smith", "street": "123 N Main St Apt 4", "phone": "2135550100"})),
        Tier::Probable
    );
    assert_eq!(
        tier(
            json!({"name": "Jane Smith", "street": "123 N Main St Apt 4",
                    "city": "los angeles", "phone": "2135550100"})
        ),
        Tier::Definite
    );
    // A wrong element does not count; other kinds never match.
    assert_eq!(
        tier(json!({"name": "Jane Smith", "phone": "2135550100", "email": "other@example.com"})),
        Tier::Probable
    );
    assert_eq!(
        tier(
            json!({"kind": "business", "name": "Jane Smith", "phone": "2135550100",
                    "email": "jane.smith@example.com"})
        ),
        Tier::None
    );
}

#[test]
fn two_strong_candidates_are_ambiguous_and_region_lifts_probable() {
    let a = record(jane());
    let b = record(with(
        jane(),
        json!({"external_id": "P2", "email": "jsmith@example.org"}),
    ));
    let p = probe(json!({"name": "Jane Smith", "phone": "2135550100",
                         "street": "123 N Main St Apt 4", "postal": "90012"}));
    let m = classify(&p, vec![a.clone(), b.clone()], None);
    assert_eq!(m.tier, Tier::Probable);
    assert_eq!(m.records.len(), 2);

    let p = probe(json!({"name": "Jane Smith", "phone": "2135550100"}));
    let m = classify(&p, vec![a.clone()], Some("CA"));
    assert_eq!((m.tier, m.by_region), (Tier::Definite, true));
    assert_eq!(
        classify(&p, vec![a.clone()], Some("NY")).tier,
        Tier::Probable
    );
    // The region never lifts a single element.
    let one = probe(json!({"phone": "2135550100"}));
    assert_eq!(classify(&one, vec![a], Some("CA")).tier, Tier::None);
}

#[test]
fn missing_elements_and_merge() {
    let mut p = probe(json!({"name": "Jane Smith", "phone": "2135550100"}));
    assert_eq!(p.missing(), vec!["street", "email"]);
    p.merge(probe(
        json!({"name": "Someone Else", "email": "jane.smith@example.com"}),
    ));
    assert_eq!(
        p.name.as_deref(),
        Some("JANE SMITH"),
        "supplied elements stay"
    );
    assert_eq!(p.missing(), vec!["street"]);
}

#[test]
fn masked_labels_show_little() {
    assert_eq!(
        mask(&record(jane())),
        "J. Sm••• , ••• N Main St, Los Angeles"
    );
    let b = record(acme());
    assert_eq!(mask(&b), "Ac••• , ••• Industrial Blvd, Los Angeles");
    let label = mask(&record(jane()));
    for secret in ["123", "Smith", "0100", "90012", "Apt"] {
        assert!(!label.contains(secret), "{secret} in {label}");
    }
}
