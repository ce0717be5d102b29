//! Promotions and eligibility: a relying party registers
//! promotions (a code, a description, a [`Rule`]) and asks whether the entity behind one
//! of its verifications qualifies. The answer is only yes or no: no attribute of the
//! entity or its parent ever leaves this module.
//!
//! Which verifications can be asked about (the same client's only; others are
//! "not found"):
//! - one that **passed**, decided within [`MAX_VERIFICATION_AGE`];
//! - for a promotion registered with `requires_challenge: false`, also one still open
//!   whose match was **definite** (three or more core elements agreed).
//!
//! Anything else (failed, locked, expired, probable or no match, too old) is
//! [`PromotionError::ChallengeRequired`]: the client runs a verification to the end
//! first.
//!
//! Every answer is one bit about the entity, and a client writes the rules: with enough
//! threshold rules it could binary-search an attribute. So one verification answers at
//! most [`MAX_ASKED_PER_VERIFICATION`] distinct promotions (asking again about one
//! already answered is free), counted in the shared cache. A verified person's passport lists every client's promotions that need no
//! challenge and that the person qualifies for ([`passport`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{EntityView, Rule, RuleError};
use crate::cache::{CacheError, Ephemeral};
use crate::clock::{Entropy, Timestamp};
use crate::store::{
    EntityRecord, PromotionRecord, StoreError, StoreResult, Stores, VerificationRecord,
};
use crate::verify::CivilDate;

/// A passed verification older than this (seconds) no longer answers eligibility.
pub const MAX_VERIFICATION_AGE: i64 = 24 * 3600;
/// The most promotions one client may register.
pub const MAX_PROMOTIONS_PER_CLIENT: usize = 100;
/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// The most open promotions a passport is checked against.
pub const PASSPORT_SCAN: i64 = 500;
/// The most distinct promotions one verification answers.
pub const MAX_ASKED_PER_VERIFICATION: u64 = 8;
/// The most parent links of an entity a rule is evaluated over.
const MAX_PARENTS: usize = 16;

/// A promotion's code: 1–64 of `A-Z a-z 0-9 _ -` (case-sensitive), unique per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionCode(String);

impl PromotionCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
        if ok {
            Ok(PromotionCode(s.to_owned()))
        } else {
            Err("the code must be 1-64 letters, digits, '_' or '-'".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A promotion to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionInput {
    /// 1–64 of `A-Z a-z 0-9 _ -`, unique among your promotions.
    #[schema(example = "NEWBIZ25")]
    pub code: String,
    /// Shown to the person on their passport page (1–500 characters).
    #[schema(example = "25% off for managers of businesses founded in the last five years")]
    pub description: String,
    /// An eligibility rule (see the API description for the language).
    #[schema(
        example = "parent.kind == \"business\" && parent.founded_year > now.year - 5 && role in [\"manager\"]"
    )]
    pub rule: String,
    /// Whether eligibility needs a verification that passed its challenge (default
    /// false: a definite match is enough).
    #[serde(default)]
    pub requires_challenge: bool,
}

/// A registered promotion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromotionOutput {
    pub code: String,
    pub description: String,
    pub rule: String,
    pub requires_challenge: bool,
    /// Unix time.
    pub created_at: Timestamp,
}

impl From<PromotionRecord> for PromotionOutput {
    fn from(p: PromotionRecord) -> Self {
        PromotionOutput {
            code: p.code,
            description: p.description,
            rule: p.rule,
            requires_challenge: p.requires_challenge,
            created_at: p.created_at,
        }
    }
}

/// What registration and eligibility can fail with.
#[derive(Debug)]
pub enum PromotionError {
    /// A field was refused.
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The rule was refused, at a position.
    Rule(RuleError),
    /// The client already has a promotion with this code.
    Duplicate,
    /// The client has [`MAX_PROMOTIONS_PER_CLIENT`] promotions.
    TooMany,
    /// No such promotion or verification for this client.
    NotFound,
    /// The verification cannot answer for this promotion (see the module docs).
    ChallengeRequired(&'static str),
    /// The verification already answered [`MAX_ASKED_PER_VERIFICATION`] promotions.
    TooManyAsked,
    Store(StoreError),
}

impl From<StoreError> for PromotionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PromotionError::NotFound,
            e => PromotionError::Store(e),
        }
    }
}

impl From<CacheError> for PromotionError {
    fn from(e: CacheError) -> Self {
        PromotionError::Store(StoreError::Backend(e.to_string()))
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> PromotionError {
    PromotionError::Invalid {
        field,
        message: message.into(),
    }
}

/// Checks `input` and stores it as `client_id`'s promotion.
pub async fn register(
    stores: &Stores,
    rng: &dyn Entropy,
    client_id: &str,
    input: PromotionInput,
    now: Timestamp,
) -> Result<PromotionRecord, PromotionError> {
    let code = PromotionCode::parse(&input.code).map_err(|m| invalid("code", m))?;
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(
            "description",
            format!("the description must be 1-{MAX_DESCRIPTION} characters"),
        ));
    }
    if description.chars().any(char::is_control) {
        return Err(invalid(
            "description",
            "the description contains control characters",
        ));
    }
    let rule = Rule::parse(&input.rule).map_err(PromotionError::Rule)?;
    if stores.promotions.list_promotions(client_id).await?.len() >= MAX_PROMOTIONS_PER_CLIENT {
        return Err(PromotionError::TooMany);
    }
    let record = PromotionRecord {
        id: format!("PR{}", rng.hex16()),
        client_id: client_id.to_owned(),
        code: code.as_str().to_owned(),
        description: description.to_owned(),
        rule: rule.source().to_owned(),
        requires_challenge: input.requires_challenge,
        created_at: now,
    };
    match stores.promotions.insert_promotion(&record).await {
        Ok(()) => Ok(record),
        Err(StoreError::Conflict(_)) => Err(PromotionError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Whether the entity behind `client_id`'s verification `verification_id` qualifies for
/// the client's promotion `code`.
pub async fn eligibility(
    stores: &Stores,
    cache: &dyn Ephemeral,
    client_id: &str,
    code: &str,
    verification_id: &str,
    now: Timestamp,
) -> Result<bool, PromotionError> {
    let code = PromotionCode::parse(code).map_err(|m| invalid("promotion", m))?;
    let promo = stores
        .promotions
        .get_promotion(client_id, code.as_str())
        .await?;
    if verification_id.is_empty()
        || verification_id.len() > 64
        || !verification_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return Err(PromotionError::NotFound);
    }
    let v = stores
        .verifications
        .get_verification(verification_id)
        .await?;
    if v.client_id != client_id {
        return Err(PromotionError::NotFound);
    }
    let entity_id = answering_entity(&v, &promo, now)?;
    let rule = stored_rule(&promo)?;
    spend(cache, verification_id, code.as_str()).await?;
    Ok(qualifies(stores, &rule, &entity_id, now).await?)
}

/// The entity a verification answers for about `promo` (see the module docs).
fn answering_entity(
    v: &VerificationRecord,
    promo: &PromotionRecord,
    now: Timestamp,
) -> Result<String, PromotionError> {
    let passed = v.outcome.as_deref() == Some("passed")
        && v.decided_at
            .is_some_and(|t| now - t <= MAX_VERIFICATION_AGE);
    let definite = v.outcome.is_none() && v.tier == "definite" && v.expires_at > now;
    match &v.entity_id {
        Some(e) if passed || (definite && !promo.requires_challenge) => Ok(e.clone()),
        _ if promo.requires_challenge => Err(PromotionError::ChallengeRequired(
            "this promotion needs a verification that passed its challenge in the last 24 \
             hours: run /verify/v1/verifications to the end first",
        )),
        _ => Err(PromotionError::ChallengeRequired(
            "this verification cannot answer: it needs an open definite match or a challenge \
             passed in the last 24 hours; run /verify/v1/verifications first",
        )),
    }
}

/// Counts `code` against the verification's budget of distinct promotions.
async fn spend(
    cache: &dyn Ephemeral,
    verification_id: &str,
    code: &str,
) -> Result<(), PromotionError> {
    let ttl = (2 * MAX_VERIFICATION_AGE) as u64;
    let asked = format!("eligq:{verification_id}:{code}");
    if cache.get(&asked).await?.is_some() {
        return Ok(());
    }
    let n = cache.incr(&format!("elign:{verification_id}"), ttl).await?;
    if n > MAX_ASKED_PER_VERIFICATION {
        return Err(PromotionError::TooManyAsked);
    }
    cache.put(&asked, b"1", ttl).await?;
    Ok(())
}

/// The stored rule, checked again (the schema may have changed since registration).
fn stored_rule(p: &PromotionRecord) -> Result<Rule, PromotionError> {
    Rule::parse(&p.rule).map_err(|e| {
        tracing::warn!(promotion = %p.id, error = %e, "a stored rule no longer checks");
        PromotionError::Store(StoreError::Corrupt("stored rule".into()))
    })
}

/// An entity's values for rules, with its parents and its role in each link.
pub struct Subject {
    pub entity: EntityView,
    pub parents: Vec<(EntityView, String)>,
}

/// Loads what rules are evaluated over for `entity_id` (a parent that is not stored is
/// a parent whose facts are all unknown).
pub async fn subject(stores: &Stores, entity_id: &str) -> StoreResult<Subject> {
    let entity = stores.entities.get_entity(entity_id).await?;
    let mut parents = Vec::new();
    for link in stores
        .entities
        .parents_of(entity_id)
        .await?
        .into_iter()
        .take(MAX_PARENTS)
    {
        let view = match stores.entities.get_entity(&link.parent_id).await {
            Ok(p) => view_of(&p),
            Err(StoreError::NotFound) => EntityView::default(),
            Err(e) => return Err(e),
        };
        parents.push((view, link.role));
    }
    Ok(Subject {
        entity: view_of(&entity),
        parents,
    })
}

fn view_of(r: &EntityRecord) -> EntityView {
    EntityView::from_record(r)
}

/// The current UTC year.
pub fn year_of(now: Timestamp) -> i32 {
    CivilDate::from_unix(now).year
}

async fn qualifies(
    stores: &Stores,
    rule: &Rule,
    entity_id: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let s = subject(stores, entity_id).await?;
    Ok(rule.eligible(&s.entity, &s.parents, year_of(now)))
}

/// A promotion on a passport: who offers it and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportLine {
    pub relying_party: String,
    pub code: String,
    pub description: String,
}

/// Every open promotion (no challenge required) of a client that still exists that
/// `entity_id` qualifies for.
pub async fn passport(
    stores: &Stores,
    entity_id: &str,
    now: Timestamp,
) -> StoreResult<Vec<PassportLine>> {
    let s = subject(stores, entity_id).await?;
    let year = year_of(now);
    let mut out = Vec::new();
    for p in stores.promotions.open_promotions(PASSPORT_SCAN).await? {
        let Ok(rule) = stored_rule(&p) else { continue };
        if !rule.eligible(&s.entity, &s.parents, year) {
            continue;
        }
        let client = match stores.clients.get_client(&p.client_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        out.push(PassportLine {
            relying_party: client.metadata.client_name.unwrap_or(p.client_id),
            code: p.code,
            description: p.description,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const NOW: Timestamp = 1_800_000_000;

    fn verification(outcome: Option<&str>, tier: &str, decided_ago: i64) -> VerificationRecord {
        VerificationRecord {
            id: "vf_1".into(),
            client_id: "c1".into(),
            client_name: "Shop".into(),
            account: None,
            kind: "person".into(),
            entity_id: Some("EN1".into()),
            tier: tier.into(),
            state: if outcome.is_some() {
                "done"
            } else {
                "questions"
            }
            .into(),
            input: Value::Null,
            candidates: Value::Null,
            questions: Value::Null,
            method: "kba".into(),
            attempt: true,
            outcome: outcome.map(str::to_owned),
            correct: 0,
            asked: 4,
            required: 3,
            source_ip: None,
            created_at: NOW - decided_ago - 60,
            expires_at: NOW + 600,
            decided_at: outcome.map(|_| NOW - decided_ago),
        }
    }

    fn promo(requires_challenge: bool) -> PromotionRecord {
        PromotionRecord {
            id: "PR1".into(),
            client_id: "c1".into(),
            code: "X".into(),
            description: "d".into(),
            rule: "true".into(),
            requires_challenge,

            created_at: NOW,
        }
    }

    fn answers(v: &VerificationRecord, requires_challenge: bool) -> bool {
        answering_entity(v, &promo(requires_challenge), NOW).is_ok()
    }

    #[test]
    fn which_verifications_answer_which_promotions() {
        let passed = verification(Some("passed"), "definite", 60);
        assert!(answers(&passed, true) && answers(&passed, false));
        let stale = verification(Some("passed"), "definite", MAX_VERIFICATION_AGE + 1);
        assert!(!answers(&stale, true) && !answers(&stale, false));
        let open = verification(None, "definite", 0);
        assert!(answers(&open, false) && !answers(&open, true));
        let probable = verification(None, "probable", 0);
        assert!(!answers(&probable, false));
        let mut expired = verification(None, "definite", 0);
        expired.expires_at = NOW;
        assert!(!answers(&expired, false));
        for bad in ["failed", "locked"] {
            let v = verification(Some(bad), "definite", 60);
            assert!(!answers(&v, false) && !answers(&v, true), "{bad}");
        }
        let mut nobody = verification(Some("passed"), "none", 60);
        nobody.entity_id = None;
        assert!(!answers(&nobody, false));
    }

    #[test]
    fn codes() {
        assert!(PromotionCode::parse("NEWBIZ-25_a").is_ok());
        for bad in ["", "has space", "ü", "a/b", &"x".repeat(65)] {
            assert!(PromotionCode::parse(bad).is_err(), "{bad:?}");
        }
    }
}
