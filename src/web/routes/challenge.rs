//! `GET/POST /challenge`: the verified-entity challenge of an authorization request that
//! asks for a higher `acr` than the session has (the page of the `verify::step`
//! authentication step; `oauth::authorize::step_up`). Bound to the transaction and the
//! browser like the login page (the form carries the transaction's CSRF token). A user already bound to an entity gets questions straight
//! away; anyone else first types basic identifying information, then picks a masked
//! candidate or adds a detail when asked. The verification's id stays in the
//! transaction (never in the form); answers go to the engine and nowhere else — no page,
//! log line or redirect carries one.
//!
//! A challenge that ends without a pass says so on a page of its own before the
//! authorization goes on ("Continue", a POST with the CSRF token): a failed one that the
//! answers were not accepted, a locked one that checks are locked for now and when they
//! can be tried again. Going straight on to the client would leave the person at an
//! error page of the relying party, or at a lower level, with no idea why; the page costs
//! one click and tells nothing about the record or which answers were wrong.

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::authorize::{BINDING_COOKIE, TxQuery};
use crate::accounts::session::{self, SESSION_COOKIE, Session};
use crate::oauth::authorize::{self, AuthorizeError, Tx, step_up};
use crate::oauth::error::OAuthError;
use crate::oauth::grants::Params;
use crate::oauth::provider::{Provider, paths};
use crate::store::StoreError;
use crate::util::ct_eq;
use crate::verify::CivilDate;
use crate::verify::engine::{
    AnswerInput, IdentityInput, MaskedCandidate, Outcome, Requester, Started, Step, Verdict,
    VerifyError,
};
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::RenderHtml;

/// Longest value accepted in any field of the page.
const MAX_FIELD: usize = 200;
/// Most answers accepted in one submission.
const MAX_ANSWERS: usize = 16;

/// The identifying elements the page can ask for, with their labels.
const ELEMENTS: &[(&str, &str)] = &[
    ("name", "Full name"),
    ("street", "Street address"),
    ("city", "City"),
    ("region", "State or region"),
    ("postal", "Postal code"),
    ("phone", "Phone number"),
    ("email", "Email address"),
];

/// A question as the page shows it.
pub struct QuestionView {
    pub id: String,
    pub prompt: String,
    pub open: bool,
    pub choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "challenge.html")]
struct ChallengePage<'a> {
    tx: &'a str,
    csrf: &'a str,
    client_name: &'a str,
    essential: bool,
    error: Option<&'a str>,
    /// `identify`, `more_info`, `candidates`, `questions`, or `failed` / `locked` (the
    /// challenge ended; the page offers only "Continue").
    mode: &'static str,
    fields: Vec<(&'static str, &'static str)>,
    candidates: Vec<MaskedCandidate>,
    questions: Vec<QuestionView>,
    /// `questions`: question sets left before checks are locked, these included.
    attempts_remaining: u32,
    /// `locked`: when checks can be tried again (UTC).
    retry_after: Option<String>,
    /// A street is asked for: say it needs its city or postal code.
    street_hint: bool,
}

/// Everything a request to the page needs.
struct Ctx {
    tx_id: String,
    tx: Tx,
    session: Session,
    who: Requester,
    client_name: String,
}

async fn context(
    s: &AppState,
    cookies: &Cookies,
    tx_id: &str,
    ip: IpAddr,
) -> Result<Ctx, AuthorizeError> {
    let p = &s.provider;
    let tx = authorize::load_tx(p, tx_id, cookies.get(BINDING_COOKIE).unwrap_or("")).await?;
    let session = session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE))
        .await?
        .ok_or(AuthorizeError::Page(
            "your session ended; start again from the application",
        ))?;
    if tx.subject.as_deref() != Some(session.sub.as_str()) {
        return Err(AuthorizeError::Page(
            "you signed in as someone else; start again from the application",
        ));
    }
    let client = authorize::client(p, &tx.req.client_id).await?;
    let client_name = client
        .metadata
        .client_name
        .unwrap_or_else(|| client.client_id.to_string());
    let who = Requester {
        client_id: client.client_id.into(),
        client_name: client_name.clone(),
        account: Some(session.sub.clone()),
        source_ip: Some(ip),
    };
    Ok(Ctx {
        tx_id: tx_id.to_owned(),
        tx,
        session,
        who,
        client_name,
    })
}

fn peer_ip(p: &Provider, addr: SocketAddr, headers: &HeaderMap) -> IpAddr {
    client_ip(addr, headers, &p.settings.trusted_proxies)
}

pub async fn page(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    Query(q): Query<TxQuery>,
) -> Response {
    let ip = peer_ip(&s.provider, addr, &headers);
    let ctx = match context(&s, &cookies, &q.tx, ip).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let started = match &ctx.tx.verification {
        Some(id) => s.verifier.status(&ctx.who, id).await,
        None => match bound_entity(&s.provider, &ctx.session.sub).await {
            Ok(Some(entity)) => s.verifier.start_for_entity(&ctx.who, &entity).await,
            Ok(None) => return render(&ctx, View::identify(), None, StatusCode::OK),
            Err(e) => return e.into_response(),
        },
    };
    next(&s, &cookies, ctx, started).await
}

/// The entity the user is bound to (at any age: a stale binding re-verifies it).
async fn bound_entity(p: &Provider, sub: &str) -> Result<Option<String>, AuthorizeError> {
    match p.stores.entity_bindings.entity_binding(sub).await {
        Ok(b) => Ok(Some(b.entity_id)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(OAuthError::from(e).into()),
    }
}

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if f.values().any(|v| v.len() > MAX_FIELD) {
        return AuthorizeError::Page("a field is too long").into_response();
    }
    let ip = peer_ip(&s.provider, addr, &headers);
    let ctx = match context(&s, &cookies, field("tx"), ip).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !ct_eq(field("csrf").as_bytes(), ctx.tx.csrf.as_bytes()) {
        return AuthorizeError::Page("the form expired; start again").into_response();
    }
    let v = &s.verifier;
    let current = ctx.tx.verification.clone().unwrap_or_default();
    match field("action") {
        "skip" => give_up(&s.provider, ctx).await,
        "continue" => finish(&s.provider, ctx).await,
        "identify" => {
            let r = v.start(&ctx.who, identity(&f)).await;
            next(&s, &cookies, ctx, r).await
        }
        "more_info" => {
            let r = v.more_info(&ctx.who, &current, identity(&f)).await;
            next(&s, &cookies, ctx, r).await
        }
        "choose" => {
            let r = v.choose(&ctx.who, &current, field("candidate")).await;
            next(&s, &cookies, ctx, r).await
        }
        "answer" => {
            let Some(answers) = answers(&f) else {
                return AuthorizeError::Page("too many answers").into_response();
            };
            match v.answer(&ctx.who, &current, answers).await {
                Ok(verdict) => decided(&s, &cookies, ctx, verdict).await,
                Err(e) => engine_error(&s, ctx, e).await,
            }
        }
        _ => AuthorizeError::Page("choose an action").into_response(),
    }
}

fn identity(f: &Params) -> IdentityInput {
    let get = |k: &str| {
        f.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    IdentityInput {
        kind: Some("person".to_owned()),
        name: get("name"),
        street: get("street"),
        city: get("city"),
        region: get("region"),
        postal: get("postal"),
        phone: get("phone"),
        email: get("email"),
    }
}

/// The `q:<question id>` fields.
fn answers(f: &Params) -> Option<Vec<AnswerInput>> {
    let out: Vec<AnswerInput> = f
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("q:").map(|id| AnswerInput {
                question_id: id.to_owned(),
                answer: v.clone(),
            })
        })
        .collect();
    (out.len() <= MAX_ANSWERS).then_some(out)
}

/// What the page shows for a step.
struct View {
    mode: &'static str,
    fields: Vec<(&'static str, &'static str)>,
    candidates: Vec<MaskedCandidate>,
    questions: Vec<QuestionView>,
    /// `questions`: question sets left before the lock, these included.
    attempts_remaining: u32,
    retry_after: Option<String>,
}

impl View {
    fn identify() -> Self {
        Self::fields("identify", ELEMENTS.to_vec())
    }

    fn fields(mode: &'static str, fields: Vec<(&'static str, &'static str)>) -> Self {
        View {
            mode,
            fields,
            candidates: Vec::new(),
            questions: Vec::new(),
            attempts_remaining: 0,
            retry_after: None,
        }
    }

    /// The challenge locked: checks can be tried again after `retry_at`.
    fn locked(retry_at: i64) -> Self {
        View {
            retry_after: Some(utc_minute(retry_at)),
            ..Self::fields("locked", Vec::new())
        }
    }
}

/// `YYYY-MM-DD hh:mm UTC`, rounded up to the minute.
pub(crate) fn utc_minute(t: i64) -> String {
    let t = t + (60 - t.rem_euclid(60)) % 60;
    let s = t.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        CivilDate::from_unix(t),
        s / 3600,
        s % 3600 / 60
    )
}

fn render(ctx: &Ctx, view: View, error: Option<&str>, status: StatusCode) -> Response {
    let street_hint = view.mode == "more_info" && view.fields.iter().any(|(k, _)| *k == "street");
    let page = ChallengePage {
        tx: &ctx.tx_id,
        csrf: &ctx.tx.csrf,
        client_name: &ctx.client_name,
        essential: ctx.tx.req.acr.essential,
        error,
        mode: view.mode,
        fields: view.fields,
        candidates: view.candidates,
        questions: view.questions,
        attempts_remaining: view.attempts_remaining,
        street_hint,
        retry_after: view.retry_after,
    };
    (status, Html(page.render_html())).into_response()
}

/// What the page shows for a step, or the verdict when the step is `Done`.
fn view_of(step: Step) -> Result<View, Verdict> {
    Ok(match step {
        Step::Done { verdict } => return Err(verdict),
        Step::Questions {
            questions,
            attempts_remaining,
        } => View {
            questions: questions
                .into_iter()
                .map(|q| QuestionView {
                    open: q.choices.is_empty(),
                    id: q.id,
                    prompt: q.prompt,
                    choices: q.choices,
                })
                .collect(),
            attempts_remaining,
            ..View::fields("questions", Vec::new())
        },
        Step::Candidates { candidates } => View {
            candidates,
            ..View::fields("candidates", Vec::new())
        },
        Step::MoreInfo { any_of } => View::fields("more_info", more_info_fields(&any_of)),
    })
}

/// The fields of the "one more detail" step: the elements the engine asks for, and with
/// a street its city and postal code (a street only counts when one of them agrees, and
/// the first step may not have had them).
fn more_info_fields(any_of: &[String]) -> Vec<(&'static str, &'static str)> {
    let asked = |k: &str| any_of.iter().any(|a| a == k);
    ELEMENTS
        .iter()
        .filter(|(k, _)| asked(k) || (asked("street") && matches!(*k, "city" | "postal")))
        .copied()
        .collect()
}

/// Shows the engine's next step, or finishes on a verdict.
async fn next(
    s: &AppState,
    cookies: &Cookies,
    ctx: Ctx,
    started: Result<Started, VerifyError>,
) -> Response {
    let p = &s.provider;
    let started = match started {
        Ok(st) => st,
        Err(e) => return engine_error(s, ctx, e).await,
    };
    let ctx = if ctx.tx.verification.as_deref() != Some(started.verification_id.as_str()) {
        let tx = ctx.tx.clone();
        match step_up::remember_verification(p, &ctx.tx_id, tx, &started.verification_id).await {
            Ok(tx) => Ctx { tx, ..ctx },
            Err(e) => return e.into_response(),
        }
    } else {
        ctx
    };
    match view_of(started.step) {
        Ok(view) => render(&ctx, view, None, StatusCode::OK),
        Err(verdict) => decided(s, cookies, ctx, verdict).await,
    }
}

/// An engine refusal: the person may correct their input (the current step is shown
/// again with the engine's reason); an expired or unknown verification starts over; a
/// lock ends the challenge with the locked page; a finished verification ends it.
async fn engine_error(s: &AppState, ctx: Ctx, e: VerifyError) -> Response {
    let p = &s.provider;
    match e {
        VerifyError::Invalid(m) => {
            let current = match &ctx.tx.verification {
                Some(id) => s.verifier.status(&ctx.who, id).await.ok(),
                None => None,
            };
            let view = match current.map(|st| view_of(st.step)) {
                Some(Ok(v)) => v,
                _ => View::identify(),
            };
            render(&ctx, view, Some(&m), StatusCode::BAD_REQUEST)
        }
        // The bound entity is gone: identify afresh.
        VerifyError::NotFound if ctx.tx.verification.is_none() => {
            render(&ctx, View::identify(), None, StatusCode::OK)
        }
        VerifyError::Expired | VerifyError::NotFound => {
            let mut tx = ctx.tx;
            tx.verification = None;
            if let Err(e) = authorize::save_tx(p, &ctx.tx_id, &tx).await {
                return e.into_response();
            }
            Redirect::to(&format!("{}?tx={}", paths::CHALLENGE, ctx.tx_id)).into_response()
        }
        VerifyError::Locked => locked(s, ctx, p.now()).await,
        VerifyError::Finished => give_up(p, ctx).await,
        VerifyError::Store(e) => AuthorizeError::from(OAuthError::from(e)).into_response(),
    }
}

/// The challenge ends without a pass: the authorization continues at the lower level,
/// or ends in `unmet_authentication_requirements` when the `acr` was essential.
async fn give_up(p: &Provider, ctx: Ctx) -> Response {
    tracing::info!(client_id = %ctx.who.client_id, "step-up challenge not passed");
    if let Err(e) = step_up::failed(p, &ctx.tx_id, ctx.tx).await {
        return e.into_response();
    }
    Redirect::to(&format!("{}?tx={}", paths::RESUME, ctx.tx_id)).into_response()
}

/// The user continues from the failed or locked page: a lock the session's level cannot
/// make up for ends at the client with a "locked" description; anything else goes on as
/// [`give_up`] does.
async fn finish(p: &Provider, ctx: Ctx) -> Response {
    match step_up::end_locked(p, &ctx.tx_id, &ctx.tx, &ctx.session).await {
        Ok(Some(out)) => crate::web::routes::authorize::respond(Ok(out)),
        Ok(_) => give_up(p, ctx).await,
        Err(e) => e.into_response(),
    }
}

/// The locked page. The verification stays in the transaction (reloading shows the page
/// again). `decided_at + attempt_window` is when every attempt that counted towards the
/// lock has left the window: checks are open again then at the latest (possibly earlier,
/// when the oldest of them leaves it first).
async fn locked(s: &AppState, ctx: Ctx, decided_at: i64) -> Response {
    tracing::info!(client_id = %ctx.who.client_id, "step-up challenge locked");
    if let Err(e) = step_up::note_locked(&s.provider, &ctx.tx_id).await {
        return e.into_response();
    }
    let retry_at = decided_at + s.verifier.config().attempt_window;
    render(&ctx, View::locked(retry_at), None, StatusCode::OK)
}

async fn decided(s: &AppState, cookies: &Cookies, ctx: Ctx, verdict: Verdict) -> Response {
    let p = &s.provider;
    let entity = match (verdict.outcome, &verdict.entity_id) {
        (Outcome::Passed, Some(id)) => id.clone(),
        (Outcome::Locked, _) => return locked(s, ctx, verdict.decided_at).await,
        _ => {
            tracing::info!(client_id = %ctx.who.client_id, "step-up challenge failed");
            let view = View::fields("failed", Vec::new());
            return render(&ctx, view, None, StatusCode::OK);
        }
    };
    let raised = match crate::verify::step::passed(p, &ctx.session, &entity, &verdict.method).await
    {
        Ok(s) => s,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    tracing::info!(client_id = %ctx.who.client_id, method = %verdict.method, "step-up challenge passed");
    let old = cookies.get(SESSION_COOKIE);
    let cookie = match session::replace(p, old, &raised, p.settings.session_ttl).await {
        Ok(c) => c,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let mut tx = ctx.tx;
    tx.verification = None;
    if let Err(e) = authorize::save_tx(p, &ctx.tx_id, &tx).await {
        return e.into_response();
    }
    let mut resp = Redirect::to(&format!("{}?tx={}", paths::RESUME, ctx.tx_id)).into_response();
    let c = set_cookie(
        SESSION_COOKIE,
        &cookie,
        Some(p.settings.session_ttl),
        p.secure_cookies(),
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_street_asked_for_comes_with_city_and_postal_code() {
        let names = |any_of: &[&str]| {
            let any_of: Vec<String> = any_of.iter().map(|s| (*s).to_owned()).collect();
            more_info_fields(&any_of)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&["street", "phone"]),
            ["street", "city", "postal", "phone"]
        );
        assert_eq!(names(&["phone", "email"]), ["phone", "email"]);
        assert_eq!(names(&["street"]), ["street", "city", "postal"]);
    }

    #[test]
    fn the_retry_time_is_rounded_up_to_the_minute() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(86_399), "1970-01-02 00:00 UTC");
        assert_eq!(utc_minute(3_600 + 61), "1970-01-01 01:02 UTC");
    }
}
