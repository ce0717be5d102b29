//! Unit tests of the token-exchange request parsing, scope capping and `act` nesting.

use super::*;

fn scope(s: &str) -> Scope {
    Scope::parse(s).unwrap()
}

#[test]
fn subject_token_types_are_parsed() {
    assert_eq!(
        SubjectTokenType::parse(ACCESS_TOKEN_TYPE),
        Some(SubjectTokenType::AccessToken)
    );
    assert_eq!(
        SubjectTokenType::parse(ACCOUNT_SID_TYPE),
        Some(SubjectTokenType::AccountSid)
    );
    assert_eq!(
        SubjectTokenType::parse("urn:ietf:params:oauth:token-type:jwt"),
        None
    );
}

#[test]
fn scope_is_capped_by_allowed_denied_and_reserved() {
    let allowed = scope("surety:impersonate partner:api calls:read messages:send");
    let denied = scope("messages:send");
    assert_eq!(
        grant_scope(None, &allowed, &denied).unwrap(),
        scope("calls:read")
    );
    assert_eq!(
        grant_scope(Some(scope("calls:read")), &allowed, &denied).unwrap(),
        scope("calls:read")
    );
    for bad in [
        "messages:send",
        "surety:impersonate",
        "partner:api",
        "numbers:manage",
    ] {
        let e = grant_scope(Some(scope(bad)), &allowed, &denied).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope, "{bad}");
    }
}

#[test]
fn act_nests_prior_actors_and_bounds_the_chain() {
    assert_eq!(act_claim("c1", None).unwrap(), json!({"sub": "c1"}));
    let prior = json!({"sub": "PN1", "act": {"sub": "PN0"}});
    assert_eq!(
        act_claim("c1", Some(prior)).unwrap(),
        json!({"sub": "c1", "act": {"sub": "PN1", "act": {"sub": "PN0"}}})
    );
    let mut long = json!({"sub": "a0"});
    for i in 1..MAX_ACTORS - 1 {
        long = json!({"sub": format!("a{i}"), "act": long});
    }
    assert!(act_claim("c", Some(long.clone())).is_ok());
    let longer = json!({"sub": "x", "act": long});
    assert!(act_claim("c", Some(longer)).is_err());
}

#[test]
fn request_parameters_are_checked() {
    let base = |extra: &[(&str, &str)]| {
        let mut m: Params = [
            ("subject_token", "AC0123456789abcdef0123456789abcdef"),
            ("subject_token_type", ACCOUNT_SID_TYPE),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            m.insert((*k).to_owned(), (*v).to_owned());
        }
        m
    };
    assert!(parse_request(&base(&[])).is_ok());
    assert!(parse_request(&base(&[("requested_token_type", ACCESS_TOKEN_TYPE)])).is_ok());
    for extra in [
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
        ("actor_token", "x"),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:refresh_token",
        ),
        ("subject_token", ""),
    ] {
        let e = parse_request(&base(&[extra])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{extra:?}");
    }
    let e = parse_request(&base(&[("scope", "a\"b")])).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidScope);
}
