//! Unit tests of the token-exchange request parsing, subject token types and `act`
//! nesting.

use super::*;

fn parse_request_with(params: &Params) -> Result<Request<'_>, OAuthError> {
    parse_request(params, &subjects())
}

/// A product's subject token type, as partners' account SIDs.
struct Product;

#[async_trait]
impl SubjectExchange for Product {
    fn token_type(&self) -> (&'static str, &'static str) {
        (PRODUCT_TYPE, "product")
    }
    fn owns(&self, _: &AccessClaims) -> bool {
        false
    }
    async fn exchange(
        &self,
        _: &Provider,
        _: &ClientRecord,
        _: Request<'_>,
        _: Option<AccessClaims>,
        _: &mut Audit,
    ) -> Result<TokenResponse, OAuthError> {
        Err(OAuthError::invalid_request("unused"))
    }
}

const PRODUCT_TYPE: &str = "urn:example:params:token-type:product";

fn subjects() -> Vec<Arc<dyn SubjectExchange>> {
    vec![Arc::new(Product)]
}

#[test]
fn subject_token_types_are_the_engine_s_and_the_products() {
    let s = subjects();
    assert_eq!(
        subject_type_of(ACCESS_TOKEN_TYPE, &s),
        Some(ACCESS_TOKEN_TYPE)
    );
    assert_eq!(subject_type_of(PRODUCT_TYPE, &s), Some(PRODUCT_TYPE));
    assert_eq!(subject_type_of(PRODUCT_TYPE, &[]), None);
    assert_eq!(
        subject_type_of("urn:ietf:params:oauth:token-type:jwt", &s),
        None
    );
    assert_eq!(short_name(PRODUCT_TYPE, &s), "product");
    assert_eq!(short_name(ACCESS_TOKEN_TYPE, &s), "access_token");
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
            ("subject_token_type", PRODUCT_TYPE),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            m.insert((*k).to_owned(), (*v).to_owned());
        }
        m
    };
    assert!(parse_request_with(&base(&[])).is_ok());
    assert!(parse_request_with(&base(&[("requested_token_type", ACCESS_TOKEN_TYPE)])).is_ok());
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
        let e = parse_request_with(&base(&[extra])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{extra:?}");
    }
    let e = parse_request_with(&base(&[("scope", "a\"b")])).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidScope);
}
