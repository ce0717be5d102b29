//! The steps a verification moves through once matched: asking for more, offering
//! candidates, issuing questions (with the lockout check), and deciding.

use std::collections::BTreeSet;

use super::*;
use crate::verify::engine::PublicQuestion;
use crate::verify::questions::Fact;

impl Verifier {
    /// Moves `v` on from a match: network check for businesses, then by tier.
    pub(super) async fn proceed(
        &self,
        who: &Requester,
        v: &mut VerificationRecord,
        probe: Probe,
        m: MatchResult,
        from: Option<&str>,
    ) -> Result<Started, VerifyError> {
        v.tier = tier_str(m.tier).to_owned();
        v.input = to_value(&probe);
        if probe.kind == "business" {
            if let Some(r) = self.network_match(who, &m.records).await? {
                let r = r.clone();
                return self.conclude_network(who, v, &r, from).await;
            }
        }
        match m.tier {
            Tier::Definite => {
                let method = if m.by_region { "region+kba" } else { "kba" };
                self.challenge(who, v, &m.records[0], &probe, method, from)
                    .await
            }
            Tier::Probable => {
                if m.records.len() == 1 && from.is_none() && !probe.missing().is_empty() {
                    v.state = MORE_INFO.to_owned();
                } else {
                    let cands: Vec<StoredCandidate> = m
                        .records
                        .iter()
                        .map(|r| StoredCandidate {
                            id: format!("c{}", &crate::clock::random_hex16()[..12]),
                            entity_id: r.id.clone(),
                            label: matching::mask(r),
                        })
                        .collect();
                    v.candidates = to_value(&cands);
                    v.state = CANDIDATES.to_owned();
                }
                self.save(v, from, None).await?;
                self.started(v)
            }
            Tier::None => {
                self.decide(who, v, Outcome::Failed, "match", from).await?;
                self.started(v)
            }
        }
    }

    /// Passes `v` for business `r` by office network.
    pub(super) async fn conclude_network(
        &self,
        who: &Requester,
        v: &mut VerificationRecord,
        r: &EntityRecord,
        from: Option<&str>,
    ) -> Result<Started, VerifyError> {
        v.entity_id = Some(r.id.clone());
        self.decide(who, v, Outcome::Passed, "network", from)
            .await?;
        self.started(v)
    }

    async fn employer_of(&self, r: &EntityRecord) -> Result<Option<EntityRecord>, VerifyError> {
        let facts: PersonFacts = serde_json::from_value(r.attributes.clone()).unwrap_or_default();
        let Some(ext) = facts.employer else {
            return Ok(None);
        };
        match self
            .inner
            .stores
            .entities
            .get_entity(&entity_id(&ext))
            .await
        {
            Ok(e) => Ok(Some(e)),
            Err(crate::store::StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn window(
        &self,
        kind: &str,
        start: &str,
        skip: &str,
    ) -> Result<Vec<crate::store::EntitySample>, VerifyError> {
        let store = &self.inner.stores.verifications;
        let mut got = store.entity_window(kind, start, POOL_WINDOW).await?;
        if (got.len() as i64) < POOL_WINDOW {
            let more = store
                .entity_window(kind, "", POOL_WINDOW - got.len() as i64)
                .await?;
            got.extend(more);
        }
        Ok(questions::others(got, skip))
    }

    /// Other records near `r`'s window, for the distractors `facts` need.
    async fn pool(&self, r: &EntityRecord, facts: &[Fact]) -> Result<Pool, VerifyError> {
        let (start, _) = questions::window_start(&r.id, "pool");
        let (people, businesses) = questions::pools_needed(facts);
        let mut pool = Pool::default();
        if people {
            pool.people = self.window("person", &start, &r.id).await?;
        }
        if businesses {
            pool.businesses = self.window("business", &start, &r.id).await?;
        }
        Ok(pool)
    }

    /// The questions of an attempt against `r`: every fact that makes a fair question,
    /// `n` of them picked at random, preferring a set other than the previous attempt's.
    async fn draw(
        &self,
        r: &EntityRecord,
        probe: &Probe,
    ) -> Result<Vec<StoredQuestion>, VerifyError> {
        let employer = if r.kind == "person" {
            self.employer_of(r).await?
        } else {
            None
        };
        let facts = questions::facts_of(r, employer.as_ref(), probe);
        let pool = self.pool(r, &facts).await?;
        let (_, seed) = questions::window_start(&r.id, "years");
        let year = CivilDate::from_unix(self.now()).year;
        let all: Vec<StoredQuestion> = facts
            .iter()
            .filter_map(|f| questions::question(String::new(), f, &pool, &seed, year))
            .collect();
        let limit = i64::from(self.inner.config.max_attempts).max(3);
        let recent: Vec<BTreeSet<String>> = self
            .inner
            .stores
            .verifications
            .recent_questions(&r.id, limit)
            .await?
            .into_iter()
            .filter_map(|q| serde_json::from_value::<Vec<StoredQuestion>>(q).ok())
            .map(|qs| qs.into_iter().map(|q| q.fact).collect())
            .collect();
        let n = self.inner.config.questions_per_attempt as usize;
        let mut qs = questions::pick(all, n, &recent, |q| q.fact.as_str());
        for (i, q) in qs.iter_mut().enumerate() {
            q.id = format!("q{}", i + 1);
        }
        Ok(qs)
    }

    /// Issues questions about `r` unless the entity is locked.
    pub(super) async fn challenge(
        &self,
        who: &Requester,
        v: &mut VerificationRecord,
        r: &EntityRecord,
        probe: &Probe,
        method: &str,
        from: Option<&str>,
    ) -> Result<Started, VerifyError> {
        let cfg = &self.inner.config;
        let store = &self.inner.stores.verifications;
        let now = self.now();
        let since = now - cfg.attempt_window;
        let max = i64::from(cfg.max_attempts);
        v.entity_id = Some(r.id.clone());
        v.method = method.to_owned();
        if store.count_attempts(&r.id, since).await? >= max {
            self.decide(who, v, Outcome::Locked, "lockout", from)
                .await?;
            return self.started(v);
        }
        let qs = self.draw(r, probe).await?;
        if qs.len() < MIN_QUESTIONS {
            // Too few facts to challenge: not a decision about the entity.
            v.entity_id = None;
            self.decide(who, v, Outcome::Failed, "insufficient_facts", from)
                .await?;
            return self.started(v);
        }
        v.asked = qs.len() as i64;
        v.required = i64::from(required_of(
            cfg.pass_threshold,
            cfg.questions_per_attempt,
            qs.len(),
        ));
        v.questions = to_value(&qs);
        v.attempt = true;
        v.state = QUESTIONS.to_owned();
        v.expires_at = now + cfg.ttl;
        self.save(v, from, None).await?;
        // Two starts racing past the check above: both count, and the loser locks.
        if store.count_attempts(&r.id, since).await? > max {
            v.attempt = false;
            self.decide(who, v, Outcome::Locked, "lockout", Some(QUESTIONS))
                .await?;
        }
        self.started(v)
    }

    /// Decides `v` (in state `from`, or new) and records the decision in the entity's
    /// history in the same transaction.
    pub(super) async fn decide(
        &self,
        who: &Requester,
        v: &mut VerificationRecord,
        outcome: Outcome,
        method: &str,
        from: Option<&str>,
    ) -> Result<Verdict, VerifyError> {
        let now = self.now();
        v.state = DONE.to_owned();
        v.outcome = Some(outcome_str(outcome).to_owned());
        v.method = method.to_owned();
        v.decided_at = Some(now);
        let history = v.entity_id.as_ref().map(|e| VerificationHistoryRecord {
            verification_id: v.id.clone(),
            entity_id: e.clone(),
            client_id: v.client_id.clone(),
            client_name: v.client_name.clone(),
            account: v.account.clone(),
            outcome: outcome_str(outcome).to_owned(),
            method: method.to_owned(),
            decided_at: now,
        });
        self.save(v, from, history.as_ref()).await?;
        tracing::info!(
            verification = %v.id,
            client = %v.client_id,
            outcome = outcome_str(outcome),
            method,
            "verification decided"
        );
        let verdict = verdict_of(v);
        let failed = outcome != Outcome::Passed;
        if let Some(entity) = v.entity_id.as_deref().filter(|_| failed) {
            // A failed or locked verification of an entity e-mails the entity.
            let stores = &self.inner.stores;
            let account = v.account.as_deref();
            crate::verify::alerts::enqueue_failure_alert(
                stores, now, who, account, entity, outcome,
            )
            .await;
        }
        Ok(verdict)
    }

    /// `v` as its client sees it.
    pub(super) fn started(&self, v: &VerificationRecord) -> Result<Started, VerifyError> {
        let step = match v.state.as_str() {
            MORE_INFO => Step::MoreInfo {
                any_of: probe_of(v)?.missing(),
            },
            CANDIDATES => Step::Candidates {
                candidates: candidates_of(v)?
                    .into_iter()
                    .map(|c| MaskedCandidate {
                        id: c.id,
                        label: c.label,
                    })
                    .collect(),
            },
            QUESTIONS => Step::Questions {
                questions: questions_of(v)?
                    .iter()
                    .map(StoredQuestion::public)
                    .collect::<Vec<PublicQuestion>>(),
            },
            _ => Step::Done {
                verdict: verdict_of(v),
            },
        };
        Ok(Started {
            verification_id: v.id.clone(),
            tier: tier_of(&v.tier),
            step,
            expires_at: v.expires_at,
        })
    }
}

fn verdict_of(v: &VerificationRecord) -> Verdict {
    Verdict {
        outcome: outcome_of(v.outcome.as_deref().unwrap_or("failed")),
        method: v.method.clone(),
        correct: v.correct as u32,
        asked: v.asked as u32,
        required: v.required as u32,
        entity_id: v.entity_id.clone(),
        decided_at: v.decided_at.unwrap_or(v.created_at),
    }
}
