//! Unit tests of the rule language: parsing, checking, evaluation and hostile input.

use super::*;
use crate::verify::facts::{BusinessFacts, PersonFacts};

const ISSUE_RULE: &str = r#"parent.kind == "business" && parent.founded_year > now.year - 5 && parent.annual_revenue < 10000000 && role in ["manager"]"#;

fn person() -> EntityView {
    EntityView {
        kind: Some("person".into()),
        region: Some("CA".into()),
        city: Some("LOS ANGELES".into()),
        person: PersonFacts {
            birth_year: Some(1984),
            title: Some("Office  Manager".into()),
            start_year: Some(2020),
            ..PersonFacts::default()
        },
        business: BusinessFacts::default(),
    }
}

fn business(founded: i32, revenue: Option<i64>) -> EntityView {
    EntityView {
        kind: Some("business".into()),
        region: Some("NY".into()),
        city: Some("NEW YORK".into()),
        person: PersonFacts::default(),
        business: BusinessFacts {
            founded_year: Some(founded),
            annual_revenue: revenue,
            employee_count: Some(12),
            industry: Some("Software".into()),
            ..BusinessFacts::default()
        },
    }
}

fn err(src: &str) -> RuleError {
    match Rule::parse(src) {
        Ok(_) => panic!("{src:?} should be refused"),
        Err(e) => e,
    }
}

/// Evaluates `src` for the default person whose parent is `parent` with `role`.
fn truth(src: &str, parent: Option<&EntityView>, role: Option<&str>) -> Truth {
    let rule = Rule::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    let entity = person();
    rule.eval(&Context {
        entity: &entity,
        parent,
        role,
        year: 2026,
    })
}

#[test]
fn the_issue_example_parses_and_decides_on_the_parent_and_role() {
    let rule = Rule::parse(ISSUE_RULE).unwrap();
    assert_eq!(rule.source(), ISSUE_RULE);
    let young = business(2023, Some(4_000_000));
    let old = business(2001, Some(4_000_000));
    let big = business(2023, Some(50_000_000));
    let who = person();
    let link = |b: &EntityView, r: &str| vec![(b.clone(), r.to_owned())];
    assert!(rule.eligible(&who, &link(&young, "manager"), 2026));
    assert!(!rule.eligible(&who, &link(&young, "employee"), 2026));
    assert!(!rule.eligible(&who, &link(&old, "manager"), 2026));
    assert!(!rule.eligible(&who, &link(&big, "manager"), 2026));
    assert!(!rule.eligible(&who, &[], 2026), "no parent: unknown");
    // Several links: one that qualifies is enough.
    let both = vec![(old, "manager".to_owned()), (young, "manager".to_owned())];
    assert!(rule.eligible(&who, &both, 2026));
}

#[test]
fn missing_facts_are_unknown_and_never_eligible() {
    let no_revenue = business(2023, None);
    let p = Some(&no_revenue);
    assert_eq!(
        truth("parent.annual_revenue < 10", p, Some("owner")),
        Truth::Unknown
    );
    assert_eq!(
        truth("!(parent.annual_revenue > 10)", p, None),
        Truth::Unknown
    );
    // Kleene: false && unknown is false; true || unknown is true.
    assert_eq!(
        truth("false && parent.annual_revenue > 1", p, None),
        Truth::False
    );
    assert_eq!(
        truth("parent.annual_revenue > 1 || true", p, None),
        Truth::True
    );
    assert_eq!(
        truth("parent.annual_revenue > 1 || false", p, None),
        Truth::Unknown
    );
    // A person has no founded year, and without a link there is no role.
    assert_eq!(truth("entity.founded_year > 0", None, None), Truth::Unknown);
    assert_eq!(truth(r#"role == "owner""#, None, None), Truth::Unknown);
    assert_eq!(truth(r#"role in []"#, None, None), Truth::Unknown);
    assert_eq!(truth(r#"entity.kind in []"#, None, None), Truth::False);
}

#[test]
fn literals_are_normalized_like_the_field_they_meet() {
    let b = business(2020, Some(1));
    let p = Some(&b);
    assert_eq!(
        truth(r#"entity.region == "California""#, p, None),
        Truth::True
    );
    assert_eq!(
        truth(r#"entity.city in ["Los Angeles", "Saint Louis"]"#, p, None),
        Truth::True
    );
    assert_eq!(
        truth(r#"entity.title == " office manager ""#, p, None),
        Truth::True
    );
    assert_eq!(
        truth(r#"parent.industry != "SOFTWARE""#, p, None),
        Truth::False
    );
    assert_eq!(
        truth(r#"role in ["Vice President"]"#, p, Some("vice_president")),
        Truth::True
    );
    assert_eq!(truth(r#"parent.kind == "Company""#, p, None), Truth::True);
    // A literal that can never be a value of the field is refused at registration.
    assert!(err(r#"parent.kind == "robot""#).message.contains("robot"));
    assert!(err(r#"role == "boss!""#).message.contains("role"));
    // Literal against literal stays as written.
    assert_eq!(truth(r#""a" == "A""#, p, None), Truth::False);
}

#[test]
fn arithmetic_and_comparisons() {
    let cases = [
        ("1 + 2 == 3", Truth::True),
        ("now.year - 2026 == 0", Truth::True),
        ("-5 < 0 && --5 == 5", Truth::True),
        ("10_000_000 == 10000000", Truth::True),
        (
            "1 <= 1 && 1 >= 1 && !(1 < 1) && !(1 > 1) && 1 != 2",
            Truth::True,
        ),
        ("entity.birth_year + 18 <= now.year", Truth::True),
    ];
    for (src, want) in cases {
        assert_eq!(truth(src, None, None), want, "{src}");
    }
    assert!(err("[1, 2, -3] == [1]").message.contains("cannot compare"));
    assert_eq!(truth("-3 in [1, 2, -3]", None, None), Truth::True);
    assert_eq!(truth("true in [false]", None, None), Truth::False);
    assert_eq!(truth("(1 == 1) == true", None, None), Truth::True);
}

#[test]
fn overflow_is_unknown_not_a_panic() {
    let max = i64::MAX;
    assert_eq!(truth(&format!("{max} + 1 > 0"), None, None), Truth::Unknown);
    assert_eq!(
        truth(&format!("-{max} - 2 < 0"), None, None),
        Truth::Unknown
    );
    assert_eq!(
        truth(&format!("-{max} - 1 < 0"), None, None),
        Truth::True,
        "i64::MIN is reachable"
    );
    assert_eq!(
        truth(&format!("-(-{max} - 1) > 0"), None, None),
        Truth::Unknown
    );
    // Unknown from overflow does not become true under `!`.
    assert_eq!(
        truth(&format!("!({max} + 1 > 0)"), None, None),
        Truth::Unknown
    );
    let e = err("99999999999999999999 > 1");
    assert!(e.message.contains("too large"), "{e}");
    assert_eq!(e.column, 1);
}

#[test]
fn type_errors_name_the_position() {
    let e = err(r#"parent.kind == "business" && parent.founded_year > "2020""#);
    assert!(e.message.contains("numbers"), "{e}");
    assert_eq!((e.line, e.column), (1, 50), "{e}");
    let e = err("parent.annual_revenue");
    assert!(e.message.contains("true or false"), "{e}");
    let e = err(r#"!parent.kind"#);
    assert!(e.message.contains("bool"), "{e}");
    let e = err(r#"role in "manager""#);
    assert!(e.message.contains("`in`"), "{e}");
    let e = err(r#"role in [1, 2]"#);
    assert!(e.message.contains("`in`"), "{e}");
    let e = err(r#"entity.kind in ["person", 2]"#);
    assert_eq!(e.column, 27, "{e}");
    let e = err(r#""a" < "b""#);
    assert!(e.message.contains("numbers"), "{e}");
    let e = err("1 == 1 && 2");
    assert!(e.message.contains("&&"), "{e}");
    assert_eq!(e.column, 11);
}

#[test]
fn unknown_fields_are_refused_with_their_position() {
    for (src, col) in [
        ("parent.revenue > 1", 1),
        ("1 < entity.founded", 5),
        ("now.month == 1", 1),
        ("entity > 1", 1),
        ("entity.kind.x == \"a\"", 1),
        ("user.kind == \"person\"", 1),
    ] {
        let e = err(src);
        assert!(e.message.starts_with("unknown field"), "{src}: {e}");
        assert_eq!(e.column, col, "{src}: {e}");
    }
    let e = err("true &&\n  parent.revenu > 1");
    assert_eq!((e.line, e.column, e.offset), (2, 3, 10), "{e}");
}

#[test]
fn syntax_errors() {
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("parent.kind = \"x\"", "=="),
        ("1 & 1", "&&"),
        ("'a' == 'a'", "double quotes"),
        ("(1 == 1", "`)`"),
        ("1 == 1)", "unexpected"),
        ("1 < 2 < 3", "chain"),
        ("1 ==", "ends too early"),
        ("[1, 2", "unclosed `[`"),
        ("1 in [1 2]", "`,` or `]`"),
        ("role in [role]", "literals only"),
        ("\"abc", "unterminated"),
        ("\"a\\qb\" == \"x\"", "escape"),
        ("12abc == 1", "whole number"),
        ("parent. == 1", "field name"),
        ("1 == 1 1", "after a complete expression"),
    ];
    for (src, want) in cases {
        let e = err(src);
        assert!(e.message.contains(want), "{src:?}: {e}");
    }
}

#[test]
fn adversarial_sizes_are_refused_cheaply() {
    // Deep parentheses: refused at the limit, without recursion beyond it.
    let deep = format!("{}true{}", "(".repeat(1000), ")".repeat(1000));
    let e = err(&deep);
    assert!(e.message.contains("nesting"), "{e}");
    assert_eq!(e.column, MAX_DEPTH + 1);
    let ok = format!("{}true{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Rule::parse(&ok).is_ok());
    // Unary chains are nesting too.
    assert!(
        err(&format!("{}true", "!".repeat(100)))
            .message
            .contains("nesting")
    );
    // A long `+` chain is a deep tree.
    let sum = format!("{} == 0", vec!["1"; 60].join(" + "));
    assert!(err(&sum).message.contains("nesting"));
    // Many terms.
    let wide = vec!["1 == 1"; 200].join(" && ");
    assert!(wide.len() < MAX_SOURCE);
    assert!(err(&wide).message.contains("too large"));
    let list = format!("1 in [{}]", vec!["1"; 300].join(","));
    assert!(list.len() < MAX_SOURCE);
    assert!(err(&list).message.contains("too large"));
    // Too long, even when valid.
    let long = format!("true || {}", vec!["true"; 400].join(" || "));
    let e = err(&long);
    assert!(e.message.contains("longer than"), "{e}");
    assert_eq!(e.offset, MAX_SOURCE);
}

#[test]
fn unicode_is_data_not_syntax() {
    // Unicode in strings is fine; column counts characters, not bytes.
    assert_eq!(truth(r#""café ☕" == "café ☕""#, None, None), Truth::True);
    assert_eq!(
        truth(r#"entity.title == "Öffice Manager""#, None, None),
        Truth::False
    );
    let e = err("\"ü\" == ü");
    assert!(e.message.contains("unexpected character"), "{e}");
    assert_eq!(e.column, 8);
    // Look-alike operators and invisible characters are refused, not ignored.
    assert!(err("1 ＝＝ 1").message.contains("unexpected character"));
    assert!(err("true\u{200b}").message.contains("unexpected character"));
    assert!(err("\"a\u{7}\" == \"a\"").message.contains("control"));
    // A cut at the length limit inside a multi-byte character does not panic.
    let long = format!("\"{}\" == \"\"", "é".repeat(MAX_SOURCE));
    assert!(err(&long).message.contains("longer than"));
}

#[test]
fn every_field_of_the_schema_type_checks() {
    for (attr, value) in [
        ("kind", "person"),
        ("region", "CA"),
        ("city", "Boston"),
        ("title", "Owner"),
        ("industry", "Retail"),
    ] {
        for who in ["entity", "parent"] {
            Rule::parse(&format!("{who}.{attr} != \"{value}\"")).unwrap();
        }
    }
    for attr in [
        "birth_year",
        "start_year",
        "founded_year",
        "annual_revenue",
        "employee_count",
    ] {
        for who in ["entity", "parent"] {
            Rule::parse(&format!("{who}.{attr} >= 0")).unwrap();
        }
    }
    Rule::parse("now.year > 2000 && role != \"x\"").unwrap();
}

#[test]
fn stored_records_are_read_with_their_normalized_values() {
    use crate::verify::record::{ParseContext, from_json_line};
    let ctx = ParseContext::at(1_767_225_600); // 2026-01-01
    let rec = |v: serde_json::Value| from_json_line(&v.to_string(), &ctx).unwrap().record;
    let biz = rec(
        serde_json::json!({"external_id": "B1", "kind": "company", "name": "Acme",
        "city": "Saint Louis", "region": "Missouri", "source": "r", "verified_at": "2025-01-01",
        "attributes": {"founded_year": 2023, "annual_revenue": "$4,000,000",
            "industry": "  Retail   Trade "}}),
    );
    let who = rec(
        serde_json::json!({"external_id": "P1", "kind": "person", "name": "Ann",
        "city": "Boston", "region": "MA", "source": "r", "verified_at": "2025-01-01",
        "attributes": {"birth_year": 1990, "title": "CEO", "favorite": "teal"}}),
    );
    let rule = Rule::parse(
        r#"parent.kind == "business" && parent.city == "St. Louis" && parent.region == "MO"
           && parent.industry == "retail trade" && parent.annual_revenue == 4_000_000
           && entity.birth_year == 1990 && entity.title == "ceo" && role == "owner""#,
    )
    .unwrap();
    let parents = vec![(EntityView::from_record(&biz), "owner".to_owned())];
    assert!(rule.eligible(&EntityView::from_record(&who), &parents, 2026));
    // Facts that do not decode are absent, not an error.
    let mut broken = who.clone();
    broken.attributes = serde_json::json!({"birth_year": "not a year"});
    let view = EntityView::from_record(&broken);
    assert_eq!(view.get(schema::Attr::BirthYear), None);
    assert_eq!(view.kind.as_deref(), Some("person"));
}
