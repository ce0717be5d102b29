//! The verification lifecycle: match → (more info | candidates) → questions → verdict,
//! with the alternative checks (office network, source region), per-entity attempt
//! limits and single-use answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    AnswerInput, HistoryEntry, IdentityInput, MaskedCandidate, Outcome, Requester, Started, Step,
    Tier, Verdict, Verifier, VerifyError,
};
use crate::partners::cidr::Cidr;
use crate::store::{EntityRecord, VerificationHistoryRecord, VerificationRecord};
use crate::verify::facts::{BusinessFacts, PersonFacts};
use crate::verify::matching::{self, MatchResult, Probe};
use crate::verify::questions::{self, Pool, StoredQuestion};
use crate::verify::{CivilDate, entity_id};

/// Most answers accepted in one submission, and longest answer (characters).
pub const MAX_ANSWERS: usize = 20;
pub const MAX_ANSWER_CHARS: usize = 200;
/// Fewer questions than this cannot make a challenge.
const MIN_QUESTIONS: usize = 2;
/// Candidates looked up per match.
const LOOKUP_LIMIT: i64 = 50;
/// Records per window distractors are drawn from.
const POOL_WINDOW: i64 = 48;
/// Previous attempts whose question sets a new attempt avoids: the attempt limit (default
/// 3), at least 3 and at most this many (a high limit must not make every start read the
/// entity's whole history; an entity has few distinct sets of facts anyway).
const MAX_RECENT_SETS: i64 = 8;

const MORE_INFO: &str = "more_info";
const CANDIDATES: &str = "candidates";
const QUESTIONS: &str = "questions";
const DONE: &str = "done";

/// A masked candidate as stored (the entity id never leaves the server).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredCandidate {
    id: String,
    entity_id: String,
    label: String,
}

fn tier_str(t: Tier) -> &'static str {
    match t {
        Tier::Definite => "definite",
        Tier::Probable => "probable",
        Tier::None => "none",
    }
}

fn tier_of(s: &str) -> Tier {
    match s {
        "definite" => Tier::Definite,
        "probable" => Tier::Probable,
        _ => Tier::None,
    }
}

pub(crate) fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Locked => "locked",
    }
}

pub(crate) fn outcome_of(s: &str) -> Outcome {
    match s {
        "passed" => Outcome::Passed,
        "locked" => Outcome::Locked,
        _ => Outcome::Failed,
    }
}

fn corrupt(what: &str, e: serde_json::Error) -> VerifyError {
    VerifyError::Store(crate::store::StoreError::Corrupt(format!("{what}: {e}")))
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn questions_of(v: &VerificationRecord) -> Result<Vec<StoredQuestion>, VerifyError> {
    Vec::<StoredQuestion>::deserialize(&v.questions).map_err(|e| corrupt("questions", e))
}

fn candidates_of(v: &VerificationRecord) -> Result<Vec<StoredCandidate>, VerifyError> {
    Vec::<StoredCandidate>::deserialize(&v.candidates).map_err(|e| corrupt("candidates", e))
}

fn probe_of(v: &VerificationRecord) -> Result<Probe, VerifyError> {
    Probe::deserialize(&v.input).map_err(|e| corrupt("input", e))
}

/// Correct answers needed of `asked`: the configured share, rounded up.
fn required_of(threshold: u32, per_attempt: u32, asked: usize) -> u32 {
    let asked = asked as u32;
    (threshold * asked)
        .div_ceil(per_attempt.max(1))
        .clamp(1, asked.max(1))
}

/// Whether `id` looks like a verification id (anything else is simply not found).
fn plausible_id(id: &str) -> bool {
    id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Verifier {
    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn fresh(&self, who: &Requester, kind: &str) -> VerificationRecord {
        let now = self.now();
        VerificationRecord {
            id: format!("vf_{}", self.inner.entropy.hex16()),
            client_id: who.client_id.clone(),
            client_name: who.client_name.clone(),
            account: who.account.clone(),
            kind: kind.to_owned(),
            entity_id: None,
            tier: tier_str(Tier::None).to_owned(),
            state: MORE_INFO.to_owned(),
            input: Value::Null,
            candidates: Value::Array(Vec::new()),
            questions: Value::Array(Vec::new()),
            method: "kba".to_owned(),
            attempt: false,
            outcome: None,
            correct: 0,
            asked: 0,
            required: 0,
            source_ip: who.source_ip.map(|ip| ip.to_string()),
            created_at: now,
            expires_at: now + self.inner.config.ttl,
            decided_at: None,
        }
    }

    /// Writes `v`: a new row when `from` is `None`, else over the row still in state
    /// `from` (`Finished` when another request moved it first).
    async fn save(
        &self,
        v: &VerificationRecord,
        from: Option<&str>,
        history: Option<&VerificationHistoryRecord>,
    ) -> Result<(), VerifyError> {
        let store = &self.inner.stores.verifications;
        match from {
            None => {
                store.insert_verification(v).await?;
                if let Some(h) = history {
                    // A decision at start (lockout, network): the row is new, so the CAS
                    // from its own state records the history in one transaction.
                    if !store.update_verification(v, &v.state, Some(h)).await? {
                        return Err(VerifyError::Finished);
                    }
                }
                Ok(())
            }
            Some(state) => match store.update_verification(v, state, history).await? {
                true => Ok(()),
                false => Err(VerifyError::Finished),
            },
        }
    }

    /// The verification `id` if `who` started it and it is still open in one of `states`.
    async fn open(
        &self,
        who: &Requester,
        id: &str,
        states: &[&str],
    ) -> Result<VerificationRecord, VerifyError> {
        let v = self.owned(who, id).await?;
        if v.state == DONE {
            return Err(VerifyError::Finished);
        }
        if self.now() >= v.expires_at {
            return Err(VerifyError::Expired);
        }
        if !states.contains(&v.state.as_str()) {
            return Err(VerifyError::Invalid(format!(
                "the verification is at the {} step",
                v.state
            )));
        }
        Ok(v)
    }

    async fn owned(&self, who: &Requester, id: &str) -> Result<VerificationRecord, VerifyError> {
        if !plausible_id(id) {
            return Err(VerifyError::NotFound);
        }
        let v = self.inner.stores.verifications.get_verification(id).await?;
        if v.client_id != who.client_id {
            return Err(VerifyError::NotFound);
        }
        Ok(v)
    }

    fn source_region(&self, who: &Requester) -> Option<String> {
        let ip = who.source_ip?;
        self.inner.config.regions.region_of(ip).map(str::to_owned)
    }

    async fn match_probe(&self, who: &Requester, p: &Probe) -> Result<MatchResult, VerifyError> {
        let found = self
            .inner
            .stores
            .entities
            .candidates(&p.element_probe(), LOOKUP_LIMIT)
            .await?;
        Ok(matching::classify(
            p,
            found,
            self.source_region(who).as_deref(),
        ))
    }

    /// The business's office networks: the record's and those learned since.
    async fn networks_of(&self, r: &EntityRecord) -> Result<Vec<Cidr>, VerifyError> {
        let facts = BusinessFacts::deserialize(&r.attributes).unwrap_or_default();
        let learned = self
            .inner
            .stores
            .verifications
            .learned_networks(&r.id)
            .await?;
        Ok(facts
            .office_networks
            .iter()
            .chain(&learned)
            .filter_map(|c| Cidr::parse(c))
            .collect())
    }

    /// The first business of `records` whose office networks hold the source address.
    async fn network_match<'a>(
        &self,
        who: &Requester,
        records: &'a [EntityRecord],
    ) -> Result<Option<&'a EntityRecord>, VerifyError> {
        let Some(ip) = who.source_ip else {
            return Ok(None);
        };
        for r in records.iter().filter(|r| r.kind == "business") {
            if self.networks_of(r).await?.iter().any(|c| c.contains(ip)) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Records a network learned for a business (e.g. where a colleague verified from).
    pub async fn learn_network(
        &self,
        entity_id: &str,
        cidr: &str,
        learned_from: &str,
    ) -> Result<(), VerifyError> {
        if Cidr::parse(cidr).is_none() || cidr.len() > 64 {
            return Err(VerifyError::Invalid("not a CIDR block".into()));
        }
        let r = self.inner.stores.entities.get_entity(entity_id).await?;
        if r.kind != "business" {
            return Err(VerifyError::Invalid(
                "only businesses have office networks".into(),
            ));
        }
        let from: String = learned_from.chars().take(128).collect();
        self.inner
            .stores
            .verifications
            .add_network(entity_id, cidr.trim(), &from, self.now())
            .await?;
        Ok(())
    }

    pub async fn start(
        &self,
        who: &Requester,
        input: IdentityInput,
    ) -> Result<Started, VerifyError> {
        let probe = Probe::from_input(&input).map_err(VerifyError::Invalid)?;
        if probe.is_empty() {
            return Err(VerifyError::Invalid(
                "supply at least one of name, street (with city or postal), phone, email".into(),
            ));
        }
        let mut v = self.fresh(who, &probe.kind);
        let m = self.match_probe(who, &probe).await?;
        self.proceed(who, &mut v, probe, m, None).await
    }

    /// The person adds elements after a `MoreInfo` step.
    pub async fn more_info(
        &self,
        who: &Requester,
        id: &str,
        input: IdentityInput,
    ) -> Result<Started, VerifyError> {
        let more = Probe::from_input(&input).map_err(VerifyError::Invalid)?;
        let mut v = self.open(who, id, &[MORE_INFO]).await?;
        let mut probe = probe_of(&v)?;
        probe.merge(more);
        let m = self.match_probe(who, &probe).await?;
        self.proceed(who, &mut v, probe, m, Some(MORE_INFO)).await
    }

    /// The person picks one of the masked candidates.
    pub async fn choose(
        &self,
        who: &Requester,
        id: &str,
        candidate_id: &str,
    ) -> Result<Started, VerifyError> {
        let mut v = self.open(who, id, &[CANDIDATES]).await?;
        let chosen = candidates_of(&v)?
            .into_iter()
            .find(|c| c.id == candidate_id)
            .ok_or_else(|| VerifyError::Invalid("no such candidate".into()))?;
        let r = self
            .inner
            .stores
            .entities
            .get_entity(&chosen.entity_id)
            .await?;
        let probe = probe_of(&v)?;
        self.challenge(who, &mut v, &r, &probe, "kba", Some(CANDIDATES))
            .await
    }

    /// Questions straight away for an entity already known (a signed-in user linked to an
    /// entity re-verifying, or the business stage of an agent). A business whose office
    /// networks hold the source address passes by network.
    pub async fn start_for_entity(
        &self,
        who: &Requester,
        entity_id: &str,
    ) -> Result<Started, VerifyError> {
        let r = self.inner.stores.entities.get_entity(entity_id).await?;
        let probe = Probe {
            kind: r.kind.clone(),
            ..Probe::default()
        };
        let mut v = self.fresh(who, &r.kind);
        v.tier = tier_str(Tier::Definite).to_owned();
        v.input = to_value(&probe);
        if self
            .network_match(who, std::slice::from_ref(&r))
            .await?
            .is_some()
        {
            return self.conclude_network(who, &mut v, &r, None).await;
        }
        self.challenge(who, &mut v, &r, &probe, "kba", None).await
    }

    /// Status of a verification (tier, step without questions' answers, verdict if
    /// decided).
    pub async fn status(&self, who: &Requester, id: &str) -> Result<Started, VerifyError> {
        let v = self.owned(who, id).await?;
        if v.state != DONE && self.now() >= v.expires_at {
            return Err(VerifyError::Expired);
        }
        self.started(&v, None).await
    }

    /// Every decided verification against `entity_id`, newest first (at most 100).
    pub async fn history(&self, entity_id: &str) -> Result<Vec<HistoryEntry>, VerifyError> {
        let rows = self
            .inner
            .stores
            .verifications
            .history(entity_id, 100)
            .await?;
        Ok(rows
            .into_iter()
            .map(|h| HistoryEntry {
                verification_id: h.verification_id,
                entity_id: h.entity_id,
                client_id: h.client_id,
                client_name: h.client_name,
                account: h.account,
                outcome: outcome_of(&h.outcome),
                method: h.method,
                decided_at: h.decided_at,
            })
            .collect())
    }

    /// Answers to the questions of verification `id` (single use: consumed atomically).
    pub async fn answer(
        &self,
        who: &Requester,
        id: &str,
        answers: Vec<AnswerInput>,
    ) -> Result<Verdict, VerifyError> {
        if answers.len() > MAX_ANSWERS {
            return Err(VerifyError::Invalid(format!(
                "at most {MAX_ANSWERS} answers"
            )));
        }
        if answers
            .iter()
            .any(|a| a.answer.chars().count() > MAX_ANSWER_CHARS || a.question_id.len() > 16)
        {
            return Err(VerifyError::Invalid(format!(
                "answers are at most {MAX_ANSWER_CHARS} characters"
            )));
        }
        let mut v = self.open(who, id, &[QUESTIONS]).await?;
        let qs = questions_of(&v)?;
        for (i, a) in answers.iter().enumerate() {
            if !qs.iter().any(|q| q.id == a.question_id) {
                return Err(VerifyError::Invalid(format!(
                    "no question {:?}",
                    a.question_id
                )));
            }
            if answers[..i].iter().any(|b| b.question_id == a.question_id) {
                return Err(VerifyError::Invalid(format!(
                    "question {:?} answered twice",
                    a.question_id
                )));
            }
        }
        let correct = qs
            .iter()
            .filter(|q| {
                let given = answers.iter().find(|a| a.question_id == q.id);
                // Every question is checked (an unanswered one against nothing).
                q.check(given.map_or("", |a| a.answer.as_str())) && given.is_some()
            })
            .count() as i64;
        let passed = correct >= v.required;
        let entity = v.entity_id.clone().unwrap_or_default();
        let outcome = if passed {
            Outcome::Passed
        } else {
            let since = self.now() - self.inner.config.attempt_window;
            let tries = self
                .inner
                .stores
                .verifications
                .count_attempts(&entity, since)
                .await?;
            if tries >= i64::from(self.inner.config.max_attempts) {
                Outcome::Locked
            } else {
                Outcome::Failed
            }
        };
        v.correct = correct;
        let method = v.method.clone();
        let verdict = self
            .decide(who, &mut v, outcome, &method, Some(QUESTIONS))
            .await?;
        Ok(verdict)
    }
}

mod steps;
