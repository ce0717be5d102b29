//! The steps a verification moves through once matched: asking for more, offering
//! candidates, issuing questions (with the lockout check), and deciding.

use std::collections::BTreeSet;

use super::*;
use crate::store::{EntitySample, SamplesQuery};
use crate::verify::engine::PublicQuestion;

/// Of a previous attempt's questions, only what "different questions on each attempt"
/// compares.
#[derive(Deserialize)]
struct StoredFact {
    fact: String,
}

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
        if probe.kind == "business"
            && let Some(r) = self.network_match(who, &m.records).await?
        {
            let r = r.clone();
            return self.conclude_network(who, v, &r, from).await;
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
                            id: format!("c{}", &self.inner.entropy.hex16()[..12]),
                            entity_id: r.id.clone(),
                            label: matching::mask(r),
                        })
                        .collect();
                    v.candidates = to_value(&cands);
                    v.state = CANDIDATES.to_owned();
                }
                self.save(v, from, None).await?;
                self.started(v, None).await
            }
            Tier::None => {
                self.decide(who, v, Outcome::Failed, "match", from).await?;
                self.started(v, None).await
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
        self.started(v, None).await
    }

    /// The id of `r`'s employing business, if its record names one.
    fn employer_id(r: &EntityRecord) -> Option<String> {
        if r.kind != "person" {
            return None;
        }
        let facts = PersonFacts::deserialize(&r.attributes).unwrap_or_default();
        facts.employer.map(|ext| entity_id(&ext))
    }

    /// What the distractors of `r`'s facts need: its employer (when its record names
    /// one) and the windows of other records near `r`'s, by kind.
    fn samples_needed(r: &EntityRecord, probe: &Probe) -> (Option<String>, Vec<&'static str>) {
        let employer = Self::employer_id(r);
        // Facts without the employer's, plus the business window an employer fact needs.
        let (people, businesses) = questions::pools_needed(&questions::facts_of(r, None, probe));
        let businesses = businesses || employer.is_some();
        let kinds = [("person", people), ("business", businesses)]
            .into_iter()
            .filter_map(|(k, needed)| needed.then_some(k))
            .collect();
        (employer, kinds)
    }

    /// The pool of other records from the windows read, each window topped up from the
    /// first ids when it ran past the last.
    async fn pool_of(
        &self,
        r: &EntityRecord,
        kinds: &[&str],
        windows: Vec<EntitySample>,
    ) -> Result<Pool, VerifyError> {
        let store = &self.inner.stores.verifications;
        let (people, businesses): (Vec<EntitySample>, Vec<EntitySample>) =
            windows.into_iter().partition(|s| s.kind == "person");
        let mut read = [people, businesses];
        let mut pool = Pool::default();
        for kind in kinds {
            let mut window = std::mem::take(&mut read[usize::from(*kind != "person")]);
            if (window.len() as i64) < POOL_WINDOW {
                let more = POOL_WINDOW - window.len() as i64;
                window.extend(store.entity_window(kind, "", more).await?);
            }
            let window = questions::others(window, &r.id);
            match *kind {
                "person" => pool.people = window,
                _ => pool.businesses = window,
            }
        }
        Ok(pool)
    }

    /// The questions of an attempt against `r`: every fact that makes a fair question,
    /// `n` of them picked at random, preferring a set other than those of the `recent`
    /// attempts (their questions JSON).
    fn draw(
        &self,
        r: &EntityRecord,
        probe: &Probe,
        employer: Option<&EntitySample>,
        pool: &Pool,
        recent: &[String],
    ) -> Vec<StoredQuestion> {
        let facts = questions::facts_of(r, employer, probe);
        let (_, seed) = questions::window_start(&r.id, "years");
        let year = CivilDate::from_unix(self.now()).year;
        let rng = self.inner.entropy.as_ref();
        let all: Vec<StoredQuestion> = facts
            .iter()
            .filter_map(|f| questions::question(rng, String::new(), f, pool, &seed, year))
            .collect();
        let recent: Vec<BTreeSet<String>> = recent
            .iter()
            .filter_map(|q| serde_json::from_str::<Vec<StoredFact>>(q).ok())
            .map(|qs| qs.into_iter().map(|q| q.fact).collect())
            .collect();
        let n = self.inner.config.questions_per_attempt as usize;
        let mut qs = questions::pick(rng, all, n, &recent, |q| q.fact.as_str());
        for (i, q) in qs.iter_mut().enumerate() {
            q.id = format!("q{}", i + 1);
        }
        qs
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
        let (employer, kinds) = Self::samples_needed(r, probe);
        let (start, _) = questions::window_start(&r.id, "pool");
        let wanted = SamplesQuery {
            id: employer.as_deref(),
            kinds: &kinds,
            from_id: &start,
            limit: POOL_WINDOW,
        };
        let recent = i64::from(cfg.max_attempts).clamp(3, MAX_RECENT_SETS);
        let (attempts, samples) = store
            .attempt_state_and_samples(&r.id, since, recent, &wanted)
            .await?;
        if attempts.count >= max {
            self.decide(who, v, Outcome::Locked, "lockout", from)
                .await?;
            return self.started(v, None).await;
        }
        let pool = self.pool_of(r, &kinds, samples.windows).await?;
        let qs = self.draw(
            r,
            probe,
            samples.entity.as_ref(),
            &pool,
            &attempts.recent_questions,
        );
        if qs.len() < MIN_QUESTIONS {
            // Too few facts to challenge: not a decision about the entity.
            v.entity_id = None;
            self.decide(who, v, Outcome::Failed, "insufficient_facts", from)
                .await?;
            return self.started(v, None).await;
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
        // Counted once the row is stored: of two starts racing past the check above,
        // both count, and the loser locks.
        let tries = match from {
            None => store.insert_and_count(v, since).await?,
            Some(_) => {
                self.save(v, from, None).await?;
                store.count_attempts(&r.id, since).await?
            }
        };
        if tries > max {
            v.attempt = false;
            self.decide(who, v, Outcome::Locked, "lockout", Some(QUESTIONS))
                .await?;
        }
        self.started(v, Some(tries)).await
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
            let rng = self.inner.entropy.as_ref();
            crate::verify::alerts::enqueue_failure_alert(
                stores, rng, now, who, account, entity, outcome,
            )
            .await;
        }
        Ok(verdict)
    }

    /// Question sets the entity of `v` may still answer within the window, this one
    /// included. `tries`: its attempts within the window (this one counted), when known.
    async fn attempts_remaining(
        &self,
        v: &VerificationRecord,
        tries: Option<i64>,
    ) -> Result<u32, VerifyError> {
        let tries = match tries {
            Some(t) => t,
            None => {
                let since = self.now() - self.inner.config.attempt_window;
                let entity = v.entity_id.as_deref().unwrap_or_default();
                let store = &self.inner.stores.verifications;
                store.count_attempts(entity, since).await?
            }
        };
        let max = i64::from(self.inner.config.max_attempts);
        Ok(u32::try_from((max + 1 - tries).clamp(0, max)).unwrap_or(0))
    }

    /// `v` as its client sees it; `tries` as [`Self::attempts_remaining`] takes it.
    pub(super) async fn started(
        &self,
        v: &VerificationRecord,
        tries: Option<i64>,
    ) -> Result<Started, VerifyError> {
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
                attempts_remaining: self.attempts_remaining(v, tries).await?,
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
