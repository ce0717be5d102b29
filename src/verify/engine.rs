//! The verification engine (ENGINE_API.md): matches basic identifying information
//! against the entity records, asks challenge questions drawn from the matched record's
//! other verified facts, and decides. Relying parties (the `/verify/v1` API), the
//! OpenID Connect step-up and the eligibility checks all go through [`Verifier`].

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::regions::RegionTable;
use crate::clock::{SharedClock, SharedEntropy, Timestamp};
use crate::store::{StoreError, Stores};

/// The engine's settings (from `Settings`, see `config.rs`).
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Questions asked per attempt (default 4).
    pub questions_per_attempt: u32,
    /// Correct answers needed to pass (default 3).
    pub pass_threshold: u32,
    /// Attempts allowed per entity within `attempt_window` (default 3).
    pub max_attempts: u32,
    /// Seconds (default 24 h).
    pub attempt_window: i64,
    /// Seconds a verification stays open (default 10 min).
    pub ttl: i64,
    /// Source network → region (loaded once at start).
    pub regions: Arc<RegionTable>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            questions_per_attempt: 4,
            pass_threshold: 3,
            max_attempts: 3,
            attempt_window: 24 * 3600,
            ttl: 600,
            regions: Arc::new(RegionTable::default()),
        }
    }
}

/// Held in the web app state (and built in app.rs from the stores and configuration).
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
    config: VerifyConfig,
    clock: SharedClock,
    /// Verification, candidate and question ids, question order and answer salts.
    entropy: SharedEntropy,
}

/// Basic identifying info as a relying party or a person types it (raw; the engine
/// normalizes).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct IdentityInput {
    /// `person` (default) or `business`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Who asks: the relying party (OAuth client id) and, optionally, the account / user on
/// whose behalf (recorded in the entity's history and named in alerts), and the source
/// address.
#[derive(Debug, Clone)]
pub struct Requester {
    pub client_id: String,
    pub client_name: String,
    pub account: Option<String>,
    pub source_ip: Option<IpAddr>,
}

/// How well the input matched the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Definite,
    Probable,
    None,
}

/// Open-ended or multiple choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Open,
    Choice,
}

/// A question as shown to the person (never its answer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicQuestion {
    pub id: String,
    pub kind: QuestionKind,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// One of several records the input may mean, masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MaskedCandidate {
    /// Opaque, valid for this verification only.
    pub id: String,
    /// e.g. `J. Sm••• , ••• Main St, Los Angeles`.
    pub label: String,
}

/// What happens next.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Questions {
        questions: Vec<PublicQuestion>,
        /// Question sets the entity may still answer within the attempt window, this
        /// one included: 1 means that not passing this one locks the entity.
        attempts_remaining: u32,
    },
    Candidates {
        candidates: Vec<MaskedCandidate>,
    },
    MoreInfo {
        /// Element names, e.g. `phone`, `email`, `street`.
        any_of: Vec<String>,
    },
    Done {
        verdict: Verdict,
    },
}

/// A verification as its client sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Started {
    pub verification_id: String,
    pub tier: Tier,
    #[serde(flatten)]
    pub step: Step,
    pub expires_at: i64,
}

/// One answer to one question.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AnswerInput {
    pub question_id: String,
    pub answer: String,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    Locked,
}

/// The decision with how it was reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verdict {
    pub outcome: Outcome,
    /// `kba`, `network`, `region+kba` …
    pub method: String,
    pub correct: u32,
    pub asked: u32,
    pub required: u32,
    /// Internal: the entity that was verified (never serialized to relying parties).
    #[serde(skip)]
    pub entity_id: Option<String>,
    pub decided_at: i64,
}

/// One decided verification in an entity's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub verification_id: String,
    pub entity_id: String,
    pub client_id: String,
    pub client_name: String,
    pub account: Option<String>,
    pub outcome: Outcome,
    pub method: String,
    pub decided_at: Timestamp,
}

/// What an engine call can fail with.
#[derive(Debug)]
pub enum VerifyError {
    /// No such verification for this client (or no such entity).
    NotFound,
    Expired,
    /// Already decided (answers are single use).
    Finished,
    /// Too many attempts against the entity.
    Locked,
    /// The input was refused; the text says why (never a fact of the record).
    Invalid(String),
    Store(StoreError),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::NotFound => f.write_str("not found"),
            VerifyError::Expired => f.write_str("expired"),
            VerifyError::Finished => f.write_str("already decided"),
            VerifyError::Locked => f.write_str("locked"),
            VerifyError::Invalid(m) => write!(f, "invalid request: {m}"),
            VerifyError::Store(e) => write!(f, "store: {e}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<StoreError> for VerifyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => VerifyError::NotFound,
            other => VerifyError::Store(other),
        }
    }
}

mod flow;

impl Verifier {
    pub fn new(
        stores: Stores,
        config: VerifyConfig,
        clock: SharedClock,
        entropy: SharedEntropy,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                stores,
                config,
                clock,
                entropy,
            }),
        }
    }

    /// The engine as configured by `s` (loads the region table).
    pub fn from_settings(
        stores: Stores,
        s: &crate::config::Settings,
        clock: SharedClock,
        entropy: SharedEntropy,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (1..=20).contains(&s.verify_questions),
            "SURETY_VERIFY_QUESTIONS must be 1 to 20"
        );
        anyhow::ensure!(
            (1..=s.verify_questions).contains(&s.verify_pass_threshold),
            "SURETY_VERIFY_PASS_THRESHOLD must be 1 to SURETY_VERIFY_QUESTIONS"
        );
        anyhow::ensure!(
            s.verify_max_attempts >= 1 && s.verify_attempt_window > 0 && s.verify_ttl > 0,
            "SURETY_VERIFY_MAX_ATTEMPTS, _ATTEMPT_WINDOW and _TTL must be positive"
        );
        let regions = RegionTable::load(s.verify_region_table.as_deref())?;
        let config = VerifyConfig {
            questions_per_attempt: s.verify_questions,
            pass_threshold: s.verify_pass_threshold,
            max_attempts: s.verify_max_attempts,
            attempt_window: s.verify_attempt_window,
            ttl: s.verify_ttl,
            regions: Arc::new(regions),
        };
        Ok(Self::new(stores, config, clock, entropy))
    }

    pub fn config(&self) -> &VerifyConfig {
        &self.inner.config
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod scale_tests;
