//! The browser and relying-party side of the step-up tests: seeding the entity whose
//! facts answer the questions, driving login, challenge and consent pages, and one
//! authorization through the `openidconnect` crate.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::verify::record::{ParseContext, from_json_line};

use crate::helpers::*;

/// The person the test proves to be, and the facts the questions come from.
pub(crate) const NAME: &str = "Maria Garcia";
pub(crate) const BIRTH_YEAR: &str = "1984";
pub(crate) const START_YEAR: &str = "2015";
pub(crate) const TITLE: &str = "Office Manager";
pub(crate) const EMPLOYER: &str = "Acme Widgets";
/// As the record wrote it (questions show streets so).
pub(crate) const OLD_STREET: &str = "45 Elm Street";

/// Seeds the person, her employer and a few others (distractors for the questions).
pub(crate) async fn seed(srv: &TestServer) {
    let person = |id: &str,
                  name: &str,
                  phone: &str,
                  street: &str,
                  birth: i32,
                  title: &str,
                  employer: &str| {
        json!({"external_id": id, "kind": "person", "name": name, "street": street,
            "city": "Oakland", "region": "CA", "postal": "94607", "phone": phone,
            "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            "source": "dmv", "verified_at": "2025-03-01",
            "attributes": {"birth_year": birth, "employer": employer, "title": title,
                "start_year": 2015, "previous_addresses": [{"street": format!("{} Elm Street", birth % 90), "city": "Oakland"}]}})
    };
    let business = |id: &str, name: &str, industry: &str| {
        json!({"external_id": id, "kind": "business", "name": name,
            "street": "500 Broadway", "city": "Oakland", "region": "CA", "postal": "94607",
            "source": "registry", "verified_at": "2025-01-01",
            "attributes": {"founded_year": 2001, "industry": industry, "employee_count": 40}})
    };
    let mut lines = vec![
        business("B1", EMPLOYER, "Manufacturing"),
        business("B2", "Bolt Supply", "Manufacturing"),
        business("B3", "Crane Tools", "Manufacturing"),
        business("B4", "Delta Parts", "Manufacturing"),
        person(
            "P2",
            "Ann Lee",
            "(510) 555-0199",
            "9 Pine Road",
            1971,
            "Buyer",
            "B2",
        ),
        person(
            "P3",
            "Raj Patel",
            "(510) 555-0177",
            "77 Lake Avenue",
            1990,
            "Engineer",
            "B3",
        ),
        person(
            "P4",
            "Zoe Kim",
            "(510) 555-0166",
            "3 Hill Court",
            1966,
            "Accountant",
            "B4",
        ),
    ];
    let mut maria = person(
        "P1",
        NAME,
        "(510) 555-0142",
        "12 North Oak Street",
        1984,
        TITLE,
        "B1",
    );
    maria["attributes"]["previous_addresses"] =
        json!([{"street": "45 Elm Street", "city": "Oakland"}]);
    lines.push(maria);
    let ctx = ParseContext::at(srv.provider().now());
    let batch: Vec<_> = lines
        .iter()
        .map(|l| from_json_line(&l.to_string(), &ctx).expect("record"))
        .collect();
    srv.provider()
        .stores
        .entities
        .upsert_entities(&batch)
        .await
        .expect("seed");
}

/// A server with the user `alice` and the seeded entities.
pub(crate) async fn seeded(backend: &Backend) -> TestServer {
    let srv = TestServer::start_on(backend).await;
    srv.user("alice").await;
    seed(&srv).await;
    srv
}

/// The right answer to a question, from the seeded facts.
pub(crate) fn right_answer(prompt: &str) -> &'static str {
    match prompt {
        p if p.contains("born") => BIRTH_YEAR,
        p if p.contains("start working") => START_YEAR,
        p if p.contains("job title") => TITLE,
        p if p.contains("employer") || p.contains("organizations") => EMPLOYER,
        p if p.contains("streets") => OLD_STREET,
        other => panic!("unexpected question {other:?}"),
    }
}

pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `"…"` after `marker` in `text`.
pub(crate) fn values_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| text[i + marker.len()..].split('"').next())
        .collect()
}

/// The form answering the questions on `page`: right answers, or wrong ones.
pub(crate) fn answer_form(page: &str, right: bool) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for block in page.split("<fieldset>").skip(1) {
        let block = block.split("</fieldset>").next().unwrap_or_default();
        let legend = block
            .split("<legend>")
            .nth(1)
            .and_then(|s| s.split("</legend>").next())
            .map(unescape)
            .expect("legend");
        let name = values_after(block, "name=\"")[0].to_owned();
        let want = right_answer(&legend);
        let choices: Vec<String> = values_after(block, "value=\"")
            .into_iter()
            .map(unescape)
            .collect();
        let value = match (right, choices.is_empty()) {
            (true, true) => want.to_owned(),
            (true, false) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(want))
                .unwrap_or_else(|| panic!("{want:?} not among {choices:?}"))
                .clone(),
            (false, true) => "certainly not this".to_owned(),
            (false, false) => choices
                .iter()
                .find(|c| !c.eq_ignore_ascii_case(want))
                .expect("a wrong choice")
                .clone(),
        };
        form.push((name, value));
    }
    assert!(!form.is_empty(), "no questions on the page");
    form
}

/// How the browser answers the pages.
#[derive(Clone, Copy)]
pub(crate) struct Behaviour {
    pub(crate) right_answers: bool,
    pub(crate) share_verified_claims: bool,
    /// Identify with name and email only, then give street and postal code (no city)
    /// on the "one more detail" step.
    pub(crate) in_steps: bool,
}

pub(crate) const RIGHT: Behaviour = Behaviour {
    right_answers: true,
    share_verified_claims: true,
    in_steps: false,
};

/// The identifying elements the browser types on the first step.
fn first_step(b: Behaviour) -> Vec<(&'static str, &'static str)> {
    let all = [
        ("name", NAME),
        ("street", "12 N. Oak St"),
        ("city", "Oakland"),
        ("postal", "94607"),
        ("phone", "510-555-0142"),
        ("email", "MARIA.GARCIA@example.com"),
    ];
    let keep = |k: &str| !b.in_steps || matches!(k, "name" | "email");
    all.into_iter().filter(|(k, _)| keep(k)).collect()
}

/// The "one more detail" step: it offers street with city and postal code; the browser
/// gives street and postal code. Returns the next page.
async fn more_info(srv: &TestServer, page: &str, base: &[(String, String)]) -> String {
    assert!(page.contains("value=\"more_info\""), "no more-info step");
    let fields = values_after(page, "<input type=\"text\" id=\"");
    assert_eq!(fields, ["street", "city", "postal", "phone"]);
    let mut f = base.to_vec();
    for (k, v) in [
        ("action", "more_info"),
        ("street", "12 N. Oak St"),
        ("postal", "94607"),
    ] {
        f.push((k.into(), v.into()));
    }
    let r = post_challenge(srv, &f).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// What the browser went through.
pub(crate) struct Run {
    pub(crate) callback: String,
    /// Challenge pages seen (0: the level was already met), and how many of them asked
    /// to identify first (a user not yet bound to an entity).
    pub(crate) challenges: usize,
    pub(crate) identified: usize,
    pub(crate) logins: usize,
    /// Challenge pages on which questions were answered.
    pub(crate) answered: usize,
    /// The last page saying the challenge ended without a pass (failed or locked), as
    /// served, before "Continue".
    pub(crate) ended_page: Option<String>,
    pub(crate) consent_page: Option<String>,
    /// The last challenge page with questions, as served.
    pub(crate) questions_page: Option<String>,
}

/// Drives login, the challenge page and consent until the browser leaves for the client.
pub(crate) async fn drive(srv: &TestServer, url: &str, b: Behaviour) -> Run {
    let mut run = Run {
        callback: String::new(),
        challenges: 0,
        identified: 0,
        logins: 0,
        answered: 0,
        ended_page: None,
        consent_page: None,
        questions_page: None,
    };
    let mut next = url.to_owned();
    for _ in 0..16 {
        let full = if next.starts_with('/') {
            srv.url(&next)
        } else {
            next.clone()
        };
        // Off to the client, or (a device request) its end on the verification page.
        if !full.starts_with(&srv.base) || full.contains("/device?result=") {
            run.callback = full;
            return run;
        }
        let r = srv.browser.get(&full).send().await.unwrap();
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "page {full}");
        let page = r.text().await.unwrap();
        let base = vec![
            ("tx".to_owned(), hidden(&page, "tx")),
            ("csrf".to_owned(), hidden(&page, "csrf")),
        ];
        let (action, form) = if full.contains("/login") {
            let mut f = base;
            f.push(("username".into(), "alice".into()));
            f.push(("password".into(), PASSWORD.into()));
            run.logins += 1;
            ("/login", f)
        } else if full.contains("/consent") {
            let mut f = base;
            f.push(("decision".into(), "approve".into()));
            if b.share_verified_claims {
                f.push(("perm:verified_claims".into(), "on".into()));
            }
            run.consent_page = Some(page.clone());
            ("/consent", f)
        } else {
            run.challenges += 1;
            run.identified += usize::from(page.contains("value=\"identify\""));
            let (to, asked, ended) = challenge(srv, page, base, b).await;
            run.answered += usize::from(asked.is_some());
            run.questions_page = asked.or(run.questions_page.take());
            run.ended_page = ended.or(run.ended_page.take());
            next = to;
            continue;
        };
        let r = srv
            .browser
            .post(srv.url(action))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_redirection(),
            "{action} answered {}",
            r.status()
        );
        next = location(&r);
    }
    panic!("too many pages")
}

async fn post_challenge(srv: &TestServer, form: &[(String, String)]) -> reqwest::Response {
    srv.browser
        .post(srv.url("/challenge"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Whether `page` is the page of a challenge that ended without a pass.
pub(crate) fn is_ended(page: &str) -> bool {
    page.contains("value=\"continue\"")
}

/// Continues from the failed or locked page; returns the next URL.
pub(crate) async fn continue_from(srv: &TestServer, page: &str) -> String {
    let f = vec![
        ("tx".to_owned(), hidden(page, "tx")),
        ("csrf".to_owned(), hidden(page, "csrf")),
        ("action".to_owned(), "continue".to_owned()),
    ];
    let r = post_challenge(srv, &f).await;
    assert!(r.status().is_redirection(), "continue: {}", r.status());
    location(&r)
}

/// Answers the challenge page (identifying first when asked); returns the next URL,
/// the page of the questions answered (if any), and the failed or locked page when one
/// was shown (the driver then continues from it).
pub(crate) async fn challenge(
    srv: &TestServer,
    mut page: String,
    base: Vec<(String, String)>,
    b: Behaviour,
) -> (String, Option<String>, Option<String>) {
    if is_ended(&page) {
        return (continue_from(srv, &page).await, None, Some(page));
    }
    if page.contains("value=\"identify\"") {
        let mut f = base.clone();
        f.push(("action".into(), "identify".into()));
        for (k, v) in first_step(b) {
            f.push((k.into(), v.into()));
        }
        let r = post_challenge(srv, &f).await;
        assert_eq!(r.status(), StatusCode::OK);
        page = r.text().await.unwrap();
        if b.in_steps {
            page = more_info(srv, &page, &base).await;
        }
        if is_ended(&page) {
            // Decided without questions (the entity is locked).
            return (continue_from(srv, &page).await, None, Some(page));
        }
    }
    let answers = answer_form(&page, b.right_answers);
    let asked = page;
    let mut f = base;
    f.push(("action".into(), "answer".into()));
    f.extend(answers);
    let r = post_challenge(srv, &f).await;
    if r.status() == StatusCode::OK {
        let page = r.text().await.unwrap();
        assert!(is_ended(&page), "answers: a page that is not the end");
        for v in [BIRTH_YEAR, START_YEAR, TITLE, EMPLOYER] {
            assert!(!page.contains(v), "an answer on the failed page");
        }
        return (continue_from(srv, &page).await, Some(asked), Some(page));
    }
    assert!(r.status().is_redirection(), "answers: {}", r.status());
    let loc = location(&r);
    for v in [BIRTH_YEAR, START_YEAR, TITLE, EMPLOYER] {
        assert!(!loc.contains(v), "an answer in a redirect");
    }
    (loc, Some(asked), None)
}

/// The payload of a JWT, as JSON (after the relying party validated it).
pub(crate) fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&surety::util::b64_decode(part).unwrap()).unwrap()
}

/// One authorization through the `openidconnect` relying party; `None` tokens when the
/// callback carries an error.
pub(crate) struct Login {
    pub(crate) run: Run,
    pub(crate) id_token: Option<Value>,
    pub(crate) access_token: Option<String>,
}

pub(crate) async fn login(
    srv: &TestServer,
    rp: &(String, String),
    extra: &[(&str, &str)],
    b: Behaviour,
) -> Login {
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(srv.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(rp.0.clone()),
        Some(ClientSecret::new(rp.1.clone())),
    )
    .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9/cb".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for (k, v) in extra {
        req = match *k {
            "scope" => req.add_scope(Scope::new((*v).to_owned())),
            _ => req.add_extra_param(*k, *v),
        };
    }
    let (url, state, nonce) = req.url();
    let run = drive(srv, url.as_str(), b).await;
    assert_eq!(
        query_param(&run.callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let Some(code) = query_param(&run.callback, "code") else {
        return Login {
            run,
            id_token: None,
            access_token: None,
        };
    };
    let resp = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = resp.id_token().expect("id_token");
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token validates");
    Login {
        run,
        id_token: Some(payload(&id_token.to_string())),
        access_token: Some(resp.access_token().secret().clone()),
    }
}
