use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::clock::SystemEntropy;
use crate::store::EntitySample;
use crate::verify::engine::IdentityInput;
use crate::verify::fixtures::{acme, jane, record, with};

fn sample(
    id: &str,
    kind: &str,
    name: &str,
    street: &str,
    city: &str,
    attrs: serde_json::Value,
) -> EntitySample {
    let text = |k: &str| attrs.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    EntitySample {
        id: id.into(),
        kind: kind.into(),
        name: name.into(),
        street: Some(street.into()),
        street_norm: normalize::street(street),
        city: Some(city.into()),
        city_norm: normalize::city(city),
        region: Some("CA".into()),
        title: text("title"),
        industry: text("industry"),
    }
}

fn pool() -> Pool {
    Pool {
        people: vec![
            sample(
                "EN1",
                "person",
                "A",
                "12 Oak St",
                "Pasadena",
                json!({"title": "Buyer"}),
            ),
            sample(
                "EN2",
                "person",
                "B",
                "77 Elm Ave Apt 2",
                "Pasadena",
                json!({"title": "Purchasing Manager"}),
            ),
            sample(
                "EN3",
                "person",
                "C",
                "9 Pine Rd",
                "Fresno",
                json!({"title": "Clerk"}),
            ),
            sample(
                "EN4",
                "person",
                "D",
                "40 Cedar Ln",
                "Pasadena",
                json!({"title": "buyer"}),
            ),
            sample(
                "EN5",
                "person",
                "E",
                "3 Birch Way",
                "Pasadena",
                json!({"title": "Analyst"}),
            ),
        ],
        businesses: vec![
            sample(
                "EN6",
                "business",
                "Bolt Makers LLC",
                "1 A St",
                "Los Angeles",
                json!({"industry": "Manufacturing"}),
            ),
            sample(
                "EN7",
                "business",
                "Cafe Nero",
                "2 B St",
                "Los Angeles",
                json!({"industry": "Hospitality"}),
            ),
            sample(
                "EN8",
                "business",
                "Gear Works",
                "3 C St",
                "Irvine",
                json!({"industry": "manufacturing"}),
            ),
            sample(
                "EN9",
                "business",
                "ACME WIDGETS INC",
                "4 D St",
                "Irvine",
                json!({"industry": "Manufacturing"}),
            ),
            sample(
                "EN10",
                "business",
                "Press Co",
                "5 E St",
                "Irvine",
                json!({"industry": "Manufacturing"}),
            ),
        ],
    }
}

fn no_supply() -> Probe {
    Probe::from_input(&IdentityInput::default()).unwrap()
}

#[test]
fn facts_come_from_the_record_and_skip_what_was_supplied() {
    let p = record(jane());
    let b = record(acme());
    let keys = |fs: Vec<Fact>| fs.iter().map(Fact::key).collect::<BTreeSet<_>>();
    assert_eq!(
        keys(facts_of(&p, Some(&EntitySample::from(&b)), &no_supply())),
        [
            "birth_year",
            "employer",
            "previous_address",
            "start_year",
            "title"
        ]
        .into()
    );
    assert_eq!(
        keys(facts_of(&b, None, &no_supply())),
        [
            "annual_revenue",
            "city",
            "employee_count",
            "founded_year",
            "industry",
            "registration_number"
        ]
        .into()
    );
    let with_city = Probe::from_input(&IdentityInput {
        city: Some("Los Angeles".into()),
        ..Default::default()
    })
    .unwrap();
    assert!(!keys(facts_of(&b, None, &with_city)).contains("city"));
    // A previous address that was supplied as the street is not asked about.
    let street = Probe::from_input(&IdentityInput {
        street: Some("77 Elm Avenue".into()),
        ..Default::default()
    })
    .unwrap();
    assert!(
        !keys(facts_of(&p, Some(&EntitySample::from(&b)), &street)).contains("previous_address")
    );
    let facts = facts_of(&b, None, &no_supply());
    assert!(facts.contains(&Fact::RegistrationLast4("4567".into())));
    assert!(
        facts.contains(&Fact::EmployeeBand(2)),
        "85 employees: 50 to 249"
    );
    assert!(
        facts.contains(&Fact::RevenueBand(2)),
        "$12.5M: $10M to $50M"
    );
}

#[test]
fn open_answers_are_normalized_and_choices_hold_the_answer_among_distinct_distractors() {
    let (_, seed) = window_start("ENX", "years");
    let pool = pool();
    for _ in 0..40 {
        let q = question(
            &SystemEntropy,
            "q1".into(),
            &Fact::BirthYear(1984),
            &pool,
            &seed,
            2025,
        )
        .unwrap();
        assert!(q.check(" 1984 ") && !q.check("1985") && !q.check("") && !q.check("nineteen"));
        if q.kind == QuestionKind::Choice {
            assert_eq!(q.choices.len(), 4);
            assert!(q.choices.contains(&"1984".to_owned()));
            for c in &q.choices {
                let y: i32 = c.parse().unwrap();
                assert!((1980..=1988).contains(&y), "neighbouring years: {c}");
            }
        }
        let q = question(
            &SystemEntropy,
            "q2".into(),
            &Fact::PreviousStreet {
                street: "77 Elm Avenue".into(),
                street_norm: "77 ELM AVE".into(),
                city_norm: Some("PASADENA".into()),
            },
            &pool,
            &seed,
            2025,
        )
        .unwrap();
        assert_eq!(q.kind, QuestionKind::Choice);
        assert!(q.check("77 Elm Avenue") && q.check("77 elm ave."));
        let norms: BTreeSet<_> = q
            .choices
            .iter()
            .map(|c| normalize::street(c).unwrap())
            .collect();
        assert_eq!(norms.len(), q.choices.len(), "distinct: {:?}", q.choices);
        assert_eq!(q.choices.len(), 4);
        assert!(
            !q.choices.iter().any(|c| c.contains("Pine")),
            "same city first: {:?}",
            q.choices
        );
        let q = question(
            &SystemEntropy,
            "q3".into(),
            &Fact::Employer {
                name: "Acme Widgets, Inc.".into(),
                industry: Some("Manufacturing".into()),
            },
            &pool,
            &seed,
            2025,
        )
        .unwrap();
        assert!(q.check("acme widgets incorporated"));
        if q.kind == QuestionKind::Choice {
            // The same business under another spelling is not a distractor; same industry first.
            assert!(!q.choices.iter().any(|c| c == "ACME WIDGETS INC"));
            assert!(
                !q.choices.iter().any(|c| c == "Cafe Nero"),
                "{:?}",
                q.choices
            );
        }
        let q = question(
            &SystemEntropy,
            "q4".into(),
            &Fact::Title("Buyer".into()),
            &pool,
            &seed,
            2025,
        )
        .unwrap();
        if q.kind == QuestionKind::Choice {
            let norms: BTreeSet<_> = q
                .choices
                .iter()
                .map(|c| normalize::name(c).unwrap())
                .collect();
            assert_eq!(norms.len(), q.choices.len(), "{:?}", q.choices);
        }
    }
    let q = question(
        &SystemEntropy,
        "q5".into(),
        &Fact::RevenueBand(0),
        &pool,
        &seed,
        2025,
    )
    .unwrap();
    assert_eq!(
        q.choices,
        REVENUE_BANDS[..4]
            .iter()
            .map(|b| b.1.to_owned())
            .collect::<Vec<_>>()
    );
    assert!(q.check("Under $1 million") && !q.check("$1 million to $10 million"));
    let q = question(
        &SystemEntropy,
        "q6".into(),
        &Fact::RegistrationLast4("4567".into()),
        &pool,
        &seed,
        2025,
    )
    .unwrap();
    assert!(q.check("45-67") && !q.check("1234"));
}

#[test]
fn distractors_are_stable_per_entity_and_order_is_random() {
    let pool = pool();
    let (_, seed) = window_start("ENX", "years");
    let fact = Fact::PreviousStreet {
        street: "77 Elm Avenue".into(),
        street_norm: "77 ELM AVE".into(),
        city_norm: Some("PASADENA".into()),
    };
    let sets: BTreeSet<BTreeSet<String>> = (0..20)
        .map(|_| {
            question(&SystemEntropy, "q".into(), &fact, &pool, &seed, 2025)
                .unwrap()
                .choices
                .into_iter()
                .collect()
        })
        .collect();
    assert_eq!(sets.len(), 1, "the same choices every attempt");
    let orders: BTreeSet<Vec<String>> = (0..40)
        .map(|_| {
            question(&SystemEntropy, "q".into(), &fact, &pool, &seed, 2025)
                .unwrap()
                .choices
        })
        .collect();
    assert!(orders.len() > 1, "shuffled");
    assert_ne!(window_start("ENX", "pool").0, window_start("ENY", "pool").0);
}

#[test]
fn nothing_expected_is_in_the_public_form_and_salts_differ() {
    let (_, seed) = window_start("ENX", "years");
    let q = question(
        &SystemEntropy,
        "q1".into(),
        &Fact::RegistrationLast4("4567".into()),
        &pool(),
        &seed,
        2025,
    )
    .unwrap();
    let public = serde_json::to_string(&q.public()).unwrap();
    assert!(!public.contains("4567") && !public.contains(&q.digest) && !public.contains(&q.salt));
    let again = question(
        &SystemEntropy,
        "q1".into(),
        &Fact::RegistrationLast4("4567".into()),
        &pool(),
        &seed,
        2025,
    )
    .unwrap();
    assert_ne!(q.digest, again.digest);
}

#[test]
fn picks_vary_and_avoid_recent_sets() {
    let keys: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
    let set = |ks: &[&str]| {
        ks.iter()
            .map(|k| (*k).to_owned())
            .collect::<BTreeSet<String>>()
    };
    let recent = vec![set(&["a", "b", "c", "d"]), set(&["a", "b", "c", "e"])];
    for _ in 0..50 {
        let got = pick(&SystemEntropy, keys.clone(), 4, &recent, |k| k.as_str());
        let got: BTreeSet<String> = got.into_iter().collect();
        assert_eq!(got.len(), 4);
        assert!(!recent.contains(&got), "{got:?} was asked recently");
    }
    let sets: BTreeSet<BTreeSet<String>> = (0..50)
        .map(|_| {
            pick(&SystemEntropy, keys.clone(), 4, &[], |k| k.as_str())
                .into_iter()
                .collect()
        })
        .collect();
    assert!(sets.len() > 1, "random sets");
    assert_eq!(
        pick(&SystemEntropy, keys[..2].to_vec(), 4, &recent, |k| k
            .as_str())
        .len(),
        2
    );
}

#[test]
fn csprng_is_uniformish() {
    let mut counts = [0u32; 4];
    for _ in 0..4000 {
        counts[Chance(&SystemEntropy).below(4)] += 1;
    }
    assert!(
        counts.iter().all(|&c| (800..1200).contains(&c)),
        "{counts:?}"
    );
    let _ = with(jane(), json!({}));
}

#[test]
fn streets_are_shown_as_recorded_and_matched_normalized() {
    let shown = |raw: Option<&str>| {
        let norm = raw
            .and_then(normalize::street)
            .unwrap_or("77 ELM AVE APT 4".into());
        choices::street_shown(raw, &norm)
    };
    assert_eq!(shown(Some("88 Old Mill Road, Apt 4")), "88 Old Mill Road");
    assert_eq!(
        shown(Some("  12  North Oak Street #5 ")),
        "12 North Oak Street"
    );
    assert_eq!(shown(Some("500 Park Avenue Suite 200")), "500 Park Avenue");
    assert_eq!(
        shown(None),
        "77 Elm Ave",
        "no written form: the normalized one"
    );

    let facts = facts_of(&record(jane()), None, &no_supply());
    let fact = facts
        .iter()
        .find(|f| f.key() == "previous_address")
        .expect("a previous street");
    assert!(matches!(fact, Fact::PreviousStreet { street, .. } if street == "77 Elm Avenue"));
    let (_, seed) = window_start("ENX", "years");
    let q = question(&SystemEntropy, "q".into(), fact, &pool(), &seed, 2025).unwrap();
    assert!(
        q.choices.contains(&"77 Elm Avenue".to_owned()),
        "{:?}",
        q.choices
    );
    let recorded = [
        "12 Oak St",
        "40 Cedar Ln",
        "3 Birch Way",
        "9 Pine Rd",
        "1 A St",
    ];
    for c in q.choices.iter().filter(|c| *c != "77 Elm Avenue") {
        assert!(recorded.contains(&c.as_str()), "{c} as recorded");
    }
    assert!(q.check("77 ELM AVE") && q.check("77 Elm Avenue"));
}
