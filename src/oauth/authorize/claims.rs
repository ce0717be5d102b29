//! The `claims` request parameter (OpenID Connect Core §5.5), parsed into types: its
//! `id_token` and `userinfo` members, the `acr` claim request (§5.5.1.1) and
//! `verified_claims` requests (OpenID Connect for Identity Assurance 1.0 §6). Members
//! Surety does not act on are ignored, as §5.5 asks; sizes and counts are bounded.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::acr::AcrRequest;

/// Longest `claims` parameter accepted (bytes).
pub const MAX_CLAIMS_LEN: usize = 4096;
/// Most `verified_claims` requests per member.
const MAX_VERIFIED: usize = 4;
/// The trust framework Surety's verifications run under (advertised in discovery).
pub const TRUST_FRAMEWORK: &str = "surety_kba";

/// A claim Surety can release inside `verified_claims`: the elements an entity record
/// holds as verified facts (`given_name`, `family_name` and `birthdate` are not: the
/// records keep one name and at most a birth year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedClaim {
    Name,
    Address,
    PhoneNumber,
    Email,
}

impl VerifiedClaim {
    /// As advertised in `claims_in_verified_claims_supported`.
    pub const ALL: [VerifiedClaim; 4] = [
        VerifiedClaim::Name,
        VerifiedClaim::Address,
        VerifiedClaim::PhoneNumber,
        VerifiedClaim::Email,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerifiedClaim::Name => "name",
            VerifiedClaim::Address => "address",
            VerifiedClaim::PhoneNumber => "phone_number",
            VerifiedClaim::Email => "email",
        }
    }

    /// Plain words for the consent page.
    pub fn describe(self) -> &'static str {
        match self {
            VerifiedClaim::Name => "your verified name",
            VerifiedClaim::Address => "your verified address",
            VerifiedClaim::PhoneNumber => "your verified phone number",
            VerifiedClaim::Email => "your verified email address",
        }
    }
}

/// A standard claim (Core §5.1) the `claims` parameter may ask for by name, outside
/// `verified_claims`: the ones a Surety user record holds. Each is released under the
/// consent of the scope that would release it (Core §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardClaim {
    Name,
    PreferredUsername,
    Email,
    EmailVerified,
}

impl StandardClaim {
    pub const ALL: [StandardClaim; 4] = [
        StandardClaim::Name,
        StandardClaim::PreferredUsername,
        StandardClaim::Email,
        StandardClaim::EmailVerified,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StandardClaim::Name => "name",
            StandardClaim::PreferredUsername => "preferred_username",
            StandardClaim::Email => "email",
            StandardClaim::EmailVerified => "email_verified",
        }
    }

    /// The scope whose consent releases it.
    pub fn scope(self) -> &'static str {
        match self {
            StandardClaim::Name | StandardClaim::PreferredUsername => "profile",
            StandardClaim::Email | StandardClaim::EmailVerified => "email",
        }
    }
}

/// One `verified_claims` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedClaimsRequest {
    /// The trust frameworks the relying party accepts (empty: any).
    pub trust_frameworks: Vec<String>,
    /// Whether `verification.time` and `verification.evidence` were asked for.
    pub time: bool,
    pub evidence: bool,
    /// The claims asked for that Surety can release, without duplicates.
    pub claims: Vec<VerifiedClaim>,
}

impl VerifiedClaimsRequest {
    /// Whether Surety's trust framework is acceptable.
    pub fn accepts_framework(&self) -> bool {
        self.trust_frameworks.is_empty()
            || self.trust_frameworks.iter().any(|t| t == TRUST_FRAMEWORK)
    }
}

/// What one member (`id_token` or `userinfo`) of the `claims` parameter asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRequest {
    /// The `acr` claim request (only meaningful in `id_token`).
    pub acr: Option<AcrRequest>,
    pub verified_claims: Vec<VerifiedClaimsRequest>,
    /// Whether `verified_claims` was given as an array (answered the same way).
    pub verified_claims_array: bool,
    /// The `sub` value the member demands (Core §3.1.2.2: only that user may be answered).
    #[serde(default)]
    pub sub: Option<String>,
    /// The standard claims the member asks for by name (essential or voluntary alike).
    #[serde(default)]
    pub standard: Vec<StandardClaim>,
}

impl MemberRequest {
    /// Every claim the member's `verified_claims` requests could release.
    pub fn verified_claim_names(&self) -> Vec<VerifiedClaim> {
        let mut all: Vec<VerifiedClaim> = self
            .verified_claims
            .iter()
            .filter(|r| r.accepts_framework())
            .flat_map(|r| r.claims.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The parsed `claims` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    pub id_token: MemberRequest,
    pub userinfo: MemberRequest,
}

impl ClaimsRequest {
    /// Parses the JSON text of the parameter.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_CLAIMS_LEN {
            return Err("the claims parameter is too long");
        }
        let v: Value = serde_json::from_str(s).map_err(|_| "the claims parameter is not JSON")?;
        let Value::Object(top) = v else {
            return Err("the claims parameter must be a JSON object");
        };
        let c = Self {
            id_token: member(top.get("id_token"))?,
            userinfo: member(top.get("userinfo"))?,
        };
        if let (Some(a), Some(b)) = (&c.id_token.sub, &c.userinfo.sub)
            && a != b
        {
            return Err("the claims parameter names two different subjects");
        }
        Ok(c)
    }

    /// The one user this request may be answered for, if it names one (`sub` value).
    pub fn subject(&self) -> Option<&str> {
        self.id_token
            .sub
            .as_deref()
            .or(self.userinfo.sub.as_deref())
    }

    /// The scopes whose consent the requested standard claims need.
    pub fn implied_scopes(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .id_token
            .standard
            .iter()
            .chain(&self.userinfo.standard)
            .map(|c| c.scope())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Drops the standard claims whose scope `allowed` says the client may not hold.
    pub fn retain_standard(&mut self, allowed: impl Fn(&str) -> bool) {
        self.id_token.standard.retain(|c| allowed(c.scope()));
        self.userinfo.standard.retain(|c| allowed(c.scope()));
    }

    /// The same requests, asking only for the claims in `allowed` (what the user agreed
    /// to share); requests left without claims are dropped.
    pub fn only(&self, allowed: &[VerifiedClaim]) -> Self {
        let keep = |m: &MemberRequest| MemberRequest {
            acr: m.acr.clone(),
            verified_claims: m
                .verified_claims
                .iter()
                .map(|r| VerifiedClaimsRequest {
                    claims: r
                        .claims
                        .iter()
                        .copied()
                        .filter(|c| allowed.contains(c))
                        .collect(),
                    ..r.clone()
                })
                .filter(|r| !r.claims.is_empty())
                .collect(),
            verified_claims_array: m.verified_claims_array,
            sub: m.sub.clone(),
            standard: m.standard.clone(),
        };
        Self {
            id_token: keep(&self.id_token),
            userinfo: keep(&self.userinfo),
        }
    }

    /// Every claim that could be released inside `verified_claims`, in either member.
    pub fn verified_claim_names(&self) -> Vec<VerifiedClaim> {
        let mut all = self.id_token.verified_claim_names();
        all.extend(self.userinfo.verified_claim_names());
        all.sort();
        all.dedup();
        all
    }
}

fn member(v: Option<&Value>) -> Result<MemberRequest, &'static str> {
    let m = match v {
        None | Some(Value::Null) => return Ok(MemberRequest::default()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("claims members must be JSON objects"),
    };
    let acr = match m.get("acr") {
        None => None,
        Some(a) => Some(acr_request(a)?),
    };
    let (verified_claims, verified_claims_array) = match m.get("verified_claims") {
        None => (Vec::new(), false),
        Some(Value::Array(items)) if items.len() <= MAX_VERIFIED => (
            items
                .iter()
                .map(verified_request)
                .collect::<Result<_, _>>()?,
            true,
        ),
        Some(Value::Array(_)) => return Err("too many verified_claims requests"),
        Some(one) => (vec![verified_request(one)?], false),
    };
    let sub = match m.get("sub") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => match string_values(o, "the sub claim request is malformed")? {
            v if v.is_empty() => None,
            v if v.len() == 1 => v.into_iter().next(),
            _ => return Err("the sub claim request may name one value"),
        },
        Some(_) => return Err("the sub claim request is malformed"),
    };
    let mut standard: Vec<StandardClaim> = m
        .iter()
        .filter(|(_, spec)| spec.is_null() || spec.is_object())
        .filter_map(|(k, _)| StandardClaim::parse(k))
        .collect();
    standard.sort();
    standard.dedup();
    Ok(MemberRequest {
        acr,
        verified_claims,
        verified_claims_array,
        sub,
        standard,
    })
}

/// `null` or `{"essential": bool, "value": s}` / `{"values": [s, …]}`.
fn acr_request(v: &Value) -> Result<AcrRequest, &'static str> {
    let bad = "the acr claim request is malformed";
    let o = match v {
        Value::Null => return Ok(AcrRequest::default()),
        Value::Object(o) => o,
        _ => return Err(bad),
    };
    let essential = match o.get("essential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad),
    };
    AcrRequest::new(string_values(o, bad)?, essential)
}

/// The `value` / `values` of an individual claim request (§5.5.1).
fn string_values(o: &Map<String, Value>, bad: &'static str) -> Result<Vec<String>, &'static str> {
    match (o.get("value"), o.get("values")) {
        (Some(_), Some(_)) => Err(bad),
        (Some(Value::String(s)), None) => Ok(vec![s.clone()]),
        (None, Some(Value::Array(a))) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or(bad))
            .collect(),
        (None, None) => Ok(Vec::new()),
        _ => Err(bad),
    }
}

/// `{"verification": {"trust_framework": …, "time": …, "evidence": …}, "claims": {…}}`.
fn verified_request(v: &Value) -> Result<VerifiedClaimsRequest, &'static str> {
    let bad = "a verified_claims request is malformed";
    let o = v.as_object().ok_or(bad)?;
    let verification = o
        .get("verification")
        .and_then(Value::as_object)
        .ok_or(bad)?;
    let claims = o.get("claims").and_then(Value::as_object).ok_or(bad)?;
    if claims.is_empty() {
        return Err("a verified_claims request names no claims");
    }
    let trust_frameworks = match verification.get("trust_framework") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(tf)) => string_values(tf, bad)?,
        Some(_) => return Err(bad),
    };
    let mut names: Vec<VerifiedClaim> = claims
        .iter()
        .filter(|(_, spec)| spec.is_null() || spec.is_object())
        .filter_map(|(k, _)| VerifiedClaim::parse(k))
        .collect();
    names.sort();
    names.dedup();
    Ok(VerifiedClaimsRequest {
        trust_frameworks,
        time: verification.contains_key("time"),
        evidence: verification.contains_key("evidence"),
        claims: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn acr_and_verified_claims_are_typed() {
        let c = ClaimsRequest::parse(
            &json!({
                "id_token": {
                    "acr": {"essential": true, "values": ["urn:surety:acr:verified"]},
                    "email": null,
                    "verified_claims": {
                        "verification": {"trust_framework": null, "time": null, "evidence": null},
                        "claims": {"name": null, "given_name": null, "address": {"essential": true}}
                    }
                },
                "userinfo": {"verified_claims": [{
                    "verification": {"trust_framework": {"value": "eidas"}},
                    "claims": {"phone_number": null}
                }]}
            })
            .to_string(),
        )
        .unwrap();
        let acr = c.id_token.acr.clone().unwrap();
        assert!(acr.essential);
        assert_eq!(acr.values, vec!["urn:surety:acr:verified"]);
        let vc = &c.id_token.verified_claims[0];
        assert_eq!(vc.claims, vec![VerifiedClaim::Name, VerifiedClaim::Address]);
        assert!(vc.time && vc.evidence && vc.accepts_framework());
        assert!(!c.id_token.verified_claims_array);
        assert!(c.userinfo.verified_claims_array);
        assert!(!c.userinfo.verified_claims[0].accepts_framework());
        // The other framework's request releases nothing.
        assert!(c.userinfo.verified_claim_names().is_empty());
        assert_eq!(
            c.verified_claim_names(),
            vec![VerifiedClaim::Name, VerifiedClaim::Address]
        );
    }

    #[test]
    fn value_or_values_and_null() {
        let c = ClaimsRequest::parse(r#"{"id_token":{"acr":{"value":"x"}}}"#).unwrap();
        assert_eq!(c.id_token.acr.unwrap().values, vec!["x"]);
        let c = ClaimsRequest::parse(r#"{"id_token":{"acr":null}}"#).unwrap();
        assert_eq!(c.id_token.acr, Some(AcrRequest::default()));
        assert_eq!(
            ClaimsRequest::parse("{}").unwrap(),
            ClaimsRequest::default()
        );
    }

    #[test]
    fn sub_and_standard_claims_are_typed() {
        let c = ClaimsRequest::parse(
            &json!({
                "id_token": {"sub": {"value": "u1"}, "email": {"essential": true}, "nickname": null},
                "userinfo": {"name": null, "email_verified": null}
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(c.subject(), Some("u1"));
        assert_eq!(c.id_token.standard, vec![StandardClaim::Email]);
        assert_eq!(
            c.userinfo.standard,
            vec![StandardClaim::Name, StandardClaim::EmailVerified]
        );
        assert_eq!(c.implied_scopes(), vec!["email", "profile"]);
        let two = r#"{"id_token":{"sub":{"value":"a"}},"userinfo":{"sub":{"value":"b"}}}"#;
        assert!(ClaimsRequest::parse(two).is_err());
        assert!(ClaimsRequest::parse(r#"{"id_token":{"sub":{"values":["a","b"]}}}"#).is_err());
        assert!(ClaimsRequest::parse(r#"{"id_token":{"sub":"a"}}"#).is_err());
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            "[]",
            "not json",
            r#"{"id_token": 3}"#,
            r#"{"id_token":{"acr":{"essential":"yes"}}}"#,
            r#"{"id_token":{"acr":{"value":"a","values":["b"]}}}"#,
            r#"{"id_token":{"acr":{"values":[1]}}}"#,
            r#"{"id_token":{"verified_claims":{"claims":{"name":null}}}}"#,
            r#"{"id_token":{"verified_claims":{"verification":{},"claims":{}}}}"#,
            r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":"x"},"claims":{"name":null}}}}"#,
        ] {
            assert!(ClaimsRequest::parse(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"id_token":{{"x":"{}"}}}}"#, "a".repeat(MAX_CLAIMS_LEN));
        assert!(ClaimsRequest::parse(&long).is_err());
        let one = json!({"verification": {}, "claims": {"name": null}});
        let five = json!({"userinfo": {"verified_claims": vec![one; 5]}}).to_string();
        assert!(ClaimsRequest::parse(&five).is_err());
    }
}
