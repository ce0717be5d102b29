//! Parent–child verification: a person verified first as
//! themself (a passed verification), then as an agent of a business, in a second stage
//! that passes by
//!
//! - **office network**: the request's source address is in one of the business's office
//!   networks (the record's `office_networks` or networks learned since), or
//! - **questions** from the business's record (the engine's `start_for_entity`), after
//!   which the source network is learned for the business (so colleagues working from
//!   there pass by network later), or
//! - **ambassador**: an ambassador of the business pre-approved the person.
//!
//! On a pass the link business → person is stored with its role (`store::AgentLinkStore`,
//! also an `entity_links` row). The role `ambassador` can only be taken by a person whom
//! the business's records name as its ambassador. A verified ambassador submits a list of
//! employees; each identified person gets a pre-approved link (role `employee`), so their
//! own agent stage needs only their personal verification.
//!
//! The state between the agent stage's calls (which business, which role, the business
//! verification under way) is kept in the ephemeral store per relying party and person
//! verification. Responses carry no entity id and no fact of any record.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::LinkRole;
use super::engine::{
    AnswerInput, IdentityInput, Outcome, Requester, Step, Tier, Verdict, Verifier, VerifyError,
};
use super::matching::{self, Probe};
use crate::cache::Ephemeral;
use crate::clock::{SharedClock, Timestamp};
use crate::store::{AgentLink, EntityRecord, StoreError, Stores, agent_status};

/// Most employees in one submission.
pub const MAX_EMPLOYEES: usize = 500;
/// How old the person's own verification may be when the agent stage starts (seconds).
pub const PERSON_STAGE_MAX_AGE: i64 = 3600;
/// How long a passed agent stage lets an ambassador submit employees (seconds).
pub const AGENT_SESSION_TTL: u64 = 3600;
/// How long a business stage with questions stays open here (beyond the engine's own).
const PENDING_TTL: u64 = 3600;
/// Records looked up per identity.
const LOOKUP_LIMIT: i64 = 20;

pub const ROLE_AMBASSADOR: &str = "ambassador";
pub const ROLE_EMPLOYEE: &str = "employee";

/// Why an agent call was refused.
#[derive(Debug)]
pub enum AgentError {
    /// The person's own verification did not pass (or is too old): 403.
    NotVerified,
    /// The business could not be identified with certainty from what was given: 422.
    BusinessNotIdentified,
    /// The role may not be taken (ambassador not named by the business's records): 403.
    RoleNotAllowed,
    /// No passed agent stage for this verification: 403.
    NotAnAgent,
    /// The agent is not an ambassador of the business: 403.
    NotAmbassador,
    Verify(VerifyError),
}

impl From<VerifyError> for AgentError {
    fn from(e: VerifyError) -> Self {
        AgentError::Verify(e)
    }
}

impl From<StoreError> for AgentError {
    fn from(e: StoreError) -> Self {
        AgentError::Verify(e.into())
    }
}

/// The agent stage as the relying party sees it: the business verification's step
/// (questions, or done with a verdict whose `method` is `network`, `kba` or `ambassador`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentStage {
    /// The person's verification the agent stage belongs to.
    pub verification_id: String,
    pub role: String,
    /// The business verification asking the questions (absent for an ambassador pass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_verification_id: Option<String>,
    #[serde(flatten)]
    pub step: Step,
}

/// What became of one submitted employee (by position in the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmployeeStatus {
    /// Identified with certainty and pre-approved.
    PreApproved,
    /// Several records or too few agreeing elements: add elements and submit again.
    Ambiguous,
    NotFound,
    /// The entry was malformed (or named the ambassador).
    Invalid,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmployeeResult {
    pub index: usize,
    pub status: EmployeeStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmployeesReport {
    pub submitted: usize,
    pub pre_approved: usize,
    pub results: Vec<EmployeeResult>,
}

/// The agent stage between calls (ephemeral store).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AgentState {
    person_id: String,
    business_id: String,
    role: String,
    /// The business verification asking questions; `None` once passed.
    business_verification_id: Option<String>,
}

/// The agent stage and ambassador lists, over the engine.
pub struct Agents {
    verifier: Verifier,
    stores: Stores,
    cache: Arc<dyn Ephemeral>,
    clock: SharedClock,
}

fn state_key(who: &Requester, person_vid: &str) -> String {
    format!("agent:{}:{person_vid}", who.client_id)
}

impl Agents {
    pub fn new(
        verifier: Verifier,
        stores: Stores,
        cache: Arc<dyn Ephemeral>,
        clock: SharedClock,
    ) -> Self {
        Self {
            verifier,
            stores,
            cache,
            clock,
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The person behind `who`'s passed verification `person_vid`.
    async fn verified_person(
        &self,
        who: &Requester,
        person_vid: &str,
    ) -> Result<EntityRecord, AgentError> {
        let started = self.verifier.status(who, person_vid).await?;
        let Step::Done { verdict } = started.step else {
            return Err(AgentError::NotVerified);
        };
        let fresh = verdict.decided_at >= self.now() - PERSON_STAGE_MAX_AGE;
        match (verdict.outcome, verdict.entity_id) {
            (Outcome::Passed, Some(id)) if fresh => {
                let person = self.stores.entities.get_entity(&id).await?;
                if person.kind == "person" {
                    Ok(person)
                } else {
                    Err(AgentError::NotVerified)
                }
            }
            _ => Err(AgentError::NotVerified),
        }
    }

    /// The one record of `kind` that `input` identifies definitely (the input's kind is
    /// set to `kind`).
    async fn identify(&self, input: &IdentityInput, kind: &str) -> Result<Identified, AgentError> {
        let input = IdentityInput {
            kind: Some(kind.to_owned()),
            ..input.clone()
        };
        let probe = match Probe::from_input(&input) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => return Ok(Identified::Invalid("no identifying element".into())),
            Err(m) => return Ok(Identified::Invalid(m)),
        };
        let found = self
            .stores
            .entities
            .candidates(&probe.element_probe(), LOOKUP_LIMIT)
            .await?;
        let m = matching::classify(&probe, found, None);
        Ok(match (m.tier, m.records.into_iter().next()) {
            (Tier::Definite, Some(r)) => Identified::One(Box::new(r)),
            (Tier::Probable, _) => Identified::Ambiguous,
            _ => Identified::None,
        })
    }

    async fn business_of(&self, input: &IdentityInput) -> Result<EntityRecord, AgentError> {
        match self.identify(input, "business").await? {
            Identified::One(r) => Ok(*r),
            Identified::Invalid(m) => Err(VerifyError::Invalid(format!("business: {m}")).into()),
            Identified::Ambiguous | Identified::None => Err(AgentError::BusinessNotIdentified),
        }
    }

    /// Starts the agent stage of `person_vid`: `person` acting for `business` as `role`.
    pub async fn start(
        &self,
        who: &Requester,
        person_vid: &str,
        business: &IdentityInput,
        role: &str,
    ) -> Result<AgentStage, AgentError> {
        let role = LinkRole::parse(role).map_err(VerifyError::Invalid)?;
        let person = self.verified_person(who, person_vid).await?;
        let business = self.business_of(business).await?;
        if role.as_str() == ROLE_AMBASSADOR && !self.named_ambassador(&business, &person).await? {
            return Err(AgentError::RoleNotAllowed);
        }
        let mut state = AgentState {
            person_id: person.id.clone(),
            business_id: business.id.clone(),
            role: role.as_str().to_owned(),
            business_verification_id: None,
        };
        if self.pre_approved(&state).await? {
            let verdict = self.passed(who, person_vid, &state, "ambassador").await?;
            return Ok(stage(person_vid, &state, Step::Done { verdict }));
        }
        let started = self.verifier.start_for_entity(who, &business.id).await?;
        match started.step {
            Step::Done { verdict } => {
                if verdict.outcome == Outcome::Passed {
                    self.passed(who, person_vid, &state, &verdict.method)
                        .await?;
                }
                state.business_verification_id = Some(started.verification_id);
                Ok(stage(person_vid, &state, Step::Done { verdict }))
            }
            step => {
                state.business_verification_id = Some(started.verification_id);
                self.put_state(who, person_vid, &state, PENDING_TTL).await?;
                Ok(stage(person_vid, &state, step))
            }
        }
    }

    /// Answers to the business questions of `person_vid`'s agent stage.
    pub async fn answer(
        &self,
        who: &Requester,
        person_vid: &str,
        answers: Vec<AnswerInput>,
    ) -> Result<AgentStage, AgentError> {
        let state = self.get_state(who, person_vid).await?;
        let Some(bvid) = state.business_verification_id.clone() else {
            return Err(VerifyError::Finished.into());
        };
        let verdict = self.verifier.answer(who, &bvid, answers).await?;
        if verdict.outcome == Outcome::Passed {
            self.passed(who, person_vid, &state, &verdict.method)
                .await?;
            if let Some(ip) = who.source_ip {
                self.learn(&state, ip).await;
            }
        } else {
            let _ = self.cache.delete(&state_key(who, person_vid)).await;
        }
        Ok(stage(person_vid, &state, Step::Done { verdict }))
    }

    /// An ambassador's list of employees: each person identified with certainty gets a
    /// pre-approved link to the ambassador's business.
    pub async fn submit_employees(
        &self,
        who: &Requester,
        person_vid: &str,
        employees: &[IdentityInput],
    ) -> Result<EmployeesReport, AgentError> {
        if employees.len() > MAX_EMPLOYEES {
            return Err(VerifyError::Invalid(format!("at most {MAX_EMPLOYEES} employees")).into());
        }
        let (ambassador, business_id) = self.ambassador(who, person_vid).await?;
        let mut results = Vec::with_capacity(employees.len());
        let mut links = Vec::new();
        for (index, input) in employees.iter().enumerate() {
            let status = match self.identify(input, "person").await? {
                Identified::One(r) if r.id != ambassador => {
                    links.push(AgentLink {
                        status: agent_status::PRE_APPROVED.to_owned(),
                        method: "list".to_owned(),
                        approved_by: Some(ambassador.clone()),
                        ..self.new_link(who, &business_id, &r.id, ROLE_EMPLOYEE)
                    });
                    EmployeeStatus::PreApproved
                }
                Identified::Ambiguous => EmployeeStatus::Ambiguous,
                Identified::None => EmployeeStatus::NotFound,
                Identified::One(_) | Identified::Invalid(_) => EmployeeStatus::Invalid,
            };
            results.push(EmployeeResult { index, status });
        }
        self.stores.agents.pre_approve_agents(&links).await?;
        tracing::info!(
            client = %who.client_id,
            business = %business_id,
            submitted = employees.len(),
            pre_approved = links.len(),
            "ambassador list recorded"
        );
        Ok(EmployeesReport {
            submitted: employees.len(),
            pre_approved: links.len(),
            results,
        })
    }

    /// The ambassador behind `person_vid` (a passed agent stage as `ambassador`, still
    /// verified) and their business: their entity ids.
    async fn ambassador(
        &self,
        who: &Requester,
        person_vid: &str,
    ) -> Result<(String, String), AgentError> {
        let person = self.verified_person(who, person_vid).await?;
        let state = match self.get_state(who, person_vid).await {
            Ok(s) if s.business_verification_id.is_none() && s.person_id == person.id => s,
            Ok(_) | Err(AgentError::Verify(VerifyError::NotFound)) => {
                return Err(AgentError::NotAnAgent);
            }
            Err(e) => return Err(e),
        };
        let agents = &self.stores.agents;
        let link = match agents.agent_link(&state.business_id, &person.id).await {
            Ok(l) => l,
            Err(StoreError::NotFound) => return Err(AgentError::NotAnAgent),
            Err(e) => return Err(e.into()),
        };
        if link.status != agent_status::VERIFIED || link.role != ROLE_AMBASSADOR {
            return Err(AgentError::NotAmbassador);
        }
        Ok((person.id, state.business_id))
    }

    /// A verified link made now through `who` (callers adjust status and method).
    fn new_link(
        &self,
        who: &Requester,
        business_id: &str,
        person_id: &str,
        role: &str,
    ) -> AgentLink {
        let now = self.now();
        AgentLink {
            parent_id: business_id.to_owned(),
            child_id: person_id.to_owned(),
            role: role.to_owned(),
            status: agent_status::VERIFIED.to_owned(),
            method: String::new(),
            approved_by: None,
            client_id: who.client_id.clone(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the business's records name `person` as its ambassador.
    async fn named_ambassador(
        &self,
        business: &EntityRecord,
        person: &EntityRecord,
    ) -> Result<bool, AgentError> {
        let parents = self.stores.entities.parents_of(&person.id).await?;
        Ok(parents
            .iter()
            .any(|l| l.parent_id == business.id && l.role == ROLE_AMBASSADOR))
    }

    /// Whether an ambassador pre-approved the person for this business and role (a link
    /// verified that way keeps counting).
    async fn pre_approved(&self, s: &AgentState) -> Result<bool, AgentError> {
        match self
            .stores
            .agents
            .agent_link(&s.business_id, &s.person_id)
            .await
        {
            Ok(l) => Ok(l.role == s.role
                && l.approved_by.is_some()
                && (l.status == agent_status::PRE_APPROVED || l.method == "ambassador")),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the passed stage: the link, and the agent session for the person's
    /// verification.
    async fn passed(
        &self,
        who: &Requester,
        person_vid: &str,
        s: &AgentState,
        method: &str,
    ) -> Result<Verdict, AgentError> {
        let now = self.now();
        let approved_by = match self
            .stores
            .agents
            .agent_link(&s.business_id, &s.person_id)
            .await
        {
            Ok(l) if method == "ambassador" => l.approved_by,
            _ => None,
        };
        let link = AgentLink {
            method: method.to_owned(),
            approved_by,
            ..self.new_link(who, &s.business_id, &s.person_id, &s.role)
        };
        self.stores.agents.put_verified_agent(&link).await?;
        let done = AgentState {
            business_verification_id: None,
            ..s.clone()
        };
        self.put_state(who, person_vid, &done, AGENT_SESSION_TTL)
            .await?;
        tracing::info!(client = %who.client_id, role = %s.role, method, "agent stage passed");
        Ok(Verdict {
            outcome: Outcome::Passed,
            method: method.to_owned(),
            correct: 0,
            asked: 0,
            required: 0,
            entity_id: None,
            decided_at: now,
        })
    }

    /// Learns the source network of an agent who passed the business's questions (a /24
    /// or /64 around a routable address).
    async fn learn(&self, s: &AgentState, ip: IpAddr) {
        let Some(cidr) = network_of(ip) else {
            return;
        };
        let from = format!("agent:{}", s.person_id);
        if let Err(e) = self
            .verifier
            .learn_network(&s.business_id, &cidr, &from)
            .await
        {
            tracing::warn!(error = %e, "could not learn an office network");
        }
    }

    async fn put_state(
        &self,
        who: &Requester,
        person_vid: &str,
        s: &AgentState,
        ttl: u64,
    ) -> Result<(), AgentError> {
        let bytes = serde_json::to_vec(s).map_err(|_| VerifyError::Invalid("state".into()))?;
        self.cache
            .put(&state_key(who, person_vid), &bytes, ttl)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn get_state(&self, who: &Requester, person_vid: &str) -> Result<AgentState, AgentError> {
        let got = self
            .cache
            .get(&state_key(who, person_vid))
            .await
            .map_err(|e| unavailable(&e))?;
        let bytes = got.ok_or(VerifyError::NotFound)?;
        serde_json::from_slice(&bytes).map_err(|_| VerifyError::NotFound.into())
    }
}

enum Identified {
    One(Box<EntityRecord>),
    Ambiguous,
    None,
    Invalid(String),
}

fn stage(person_vid: &str, s: &AgentState, step: Step) -> AgentStage {
    AgentStage {
        verification_id: person_vid.to_owned(),
        role: s.role.clone(),
        business_verification_id: s.business_verification_id.clone(),
        step,
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> AgentError {
    AgentError::Verify(VerifyError::Store(StoreError::Backend(format!(
        "ephemeral store: {e}"
    ))))
}

/// The network learned around `ip`: `a.b.c.0/24` or the `/64` of an IPv6 address;
/// `None` for loopback, unspecified, link-local, multicast and documentation-less
/// special addresses that say nothing about an office.
pub fn network_of(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(a) => {
            let special = a.is_loopback()
                || a.is_unspecified()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast();
            let o = a.octets();
            (!special).then(|| format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let special = a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80;
            (!special).then(|| format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_networks_are_the_surrounding_block() {
        let n = |s: &str| network_of(s.parse().unwrap());
        assert_eq!(n("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(n("10.1.2.3").as_deref(), Some("10.1.2.0/24"));
        assert_eq!(n("2001:db8:1:2:3::9").as_deref(), Some("2001:db8:1:2::/64"));
        for special in [
            "127.0.0.1",
            "0.0.0.0",
            "169.254.1.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
        ] {
            assert_eq!(n(special), None, "{special}");
        }
    }
}
