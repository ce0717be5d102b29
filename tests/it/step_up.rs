//! Step-up inside OpenID Connect, with the `openidconnect` crate as the relying
//! party: a password login, then `acr_values=…verified` through the challenge page to an
//! ID token with the higher `acr`/`amr`/`auth_time`; essential `acr` not met (wrong
//! answers, or a level Surety lacks) → `unmet_authentication_requirements`;
//! `verified_claims` with and without consent; the RFC 9470 challenge of the resource
//! API followed by a step-up; a second relying party getting the verified level without
//! questions. The answers come from the facts of the entity the test seeds.

pub(crate) mod driver;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use driver::*;

const VERIFIED: &str = "urn:surety:acr:verified";
const PASSWORD_ACR: &str = "urn:surety:acr:password";

fn claims_param(acr_essential: Option<&str>, verified: Option<Value>) -> String {
    let mut id_token = json!({});
    if let Some(acr) = acr_essential {
        id_token["acr"] = json!({"essential": true, "values": [acr]});
    }
    if let Some(v) = verified {
        id_token["verified_claims"] = v;
    }
    json!({"id_token": id_token}).to_string()
}

#[tokio::test]
async fn a_password_session_steps_up_to_verified_through_the_challenge() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let rp = srv.web_client().await;
        let meta: Value = srv
            .api
            .get(srv.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            meta["acr_values_supported"],
            json!([
                PASSWORD_ACR,
                "urn:surety:acr:mfa",
                "urn:surety:acr:phishing-resistant",
                VERIFIED,
                "urn:surety:acr:verified:mfa",
                "urn:surety:acr:verified:phishing-resistant"
            ])
        );
        assert_eq!(meta["claims_parameter_supported"], true);
        assert_eq!(meta["verified_claims_supported"], true);
        assert_eq!(meta["trust_frameworks_supported"], json!(["surety_kba"]));

        let first = login(&srv, &rp, &[("scope", "profile")], RIGHT).await;
        let t = first.id_token.unwrap();
        assert_eq!(t["acr"], PASSWORD_ACR);
        assert_eq!(t["amr"], json!(["pwd"]));
        assert_eq!(first.run.challenges, 0);
        let login_time = t["auth_time"].as_i64().unwrap();

        let second = login(&srv, &rp, &[("acr_values", VERIFIED)], RIGHT).await;
        assert_eq!(second.run.challenges, 1, "the challenge page ran");
        assert_eq!(second.run.identified, 1, "not bound yet: identify first");
        let t = second.id_token.unwrap();
        assert_eq!(t["acr"], VERIFIED);
        assert_eq!(t["amr"], json!(["pwd", "kba"]));
        assert!(
            t["auth_time"].as_i64().unwrap() >= login_time,
            "auth_time: the challenge"
        );
        let at = payload(&second.access_token.unwrap());
        assert_eq!(at["acr"], VERIFIED);
        assert_eq!(at["auth_time"], t["auth_time"]);
        assert!(t.get("verified_claims").is_none(), "not requested");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn an_essential_acr_that_is_not_met_is_an_error_at_the_redirect_uri() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let rp = srv.web_client().await;
        let wrong = Behaviour {
            right_answers: false,
            ..RIGHT
        };
        let essential = claims_param(Some(VERIFIED), None);
        let l = login(&srv, &rp, &[("claims", &essential)], wrong).await;
        assert_eq!(l.run.challenges, 1);
        let asked = l.run.questions_page.as_deref().expect("questions");
        assert!(
            asked.contains("You have 3 attempts left, this one included"),
            "{asked}"
        );
        let page = l.run.ended_page.as_deref().expect("the failed page");
        assert!(page.contains("Your answers were not accepted"), "{page}");
        assert!(!page.contains("<fieldset>") && !page.contains("locked"));
        assert_eq!(
            query_param(&l.run.callback, "error").as_deref(),
            Some("unmet_authentication_requirements")
        );
        assert_eq!(
            query_param(&l.run.callback, "iss").as_deref(),
            Some(srv.base.as_str())
        );
        assert!(l.id_token.is_none());
        // Voluntary: the same failure continues at the password level.
        let l = login(&srv, &rp, &[("acr_values", VERIFIED)], wrong).await;
        assert_eq!(l.id_token.unwrap()["acr"], PASSWORD_ACR);
        let asked = l.run.questions_page.unwrap();
        assert!(asked.contains("You have 2 attempts left"), "{asked}");
        // A level Surety does not have: unmet at once, before any page.
        let other = claims_param(Some("urn:mace:incommon:iap:gold"), None);
        let l = login(&srv, &rp, &[("claims", &other)], RIGHT).await;
        assert_eq!(l.run.challenges, 0);
        let unmet = |l: &Login| query_param(&l.run.callback, "error");
        assert_eq!(
            unmet(&l).as_deref(),
            Some("unmet_authentication_requirements")
        );
        // prompt=none cannot show the challenge: an essential level is interaction_required.
        let none = [("claims", essential.as_str()), ("prompt", "none")];
        let l = login(&srv, &rp, &none, RIGHT).await;
        assert_eq!(unmet(&l).as_deref(), Some("interaction_required"));
        // The third failure locks the entity, and the page says so: a later attempt gets
        // no questions at all, even with the right answers at hand.
        let l = login(&srv, &rp, &[("claims", &essential)], wrong).await;
        assert_eq!((l.run.answered, unmet(&l).is_some()), (1, true));
        let asked = l.run.questions_page.as_deref().unwrap();
        assert!(asked.contains("This is your last attempt"), "{asked}");
        assert_locked_page(&srv, l.run.ended_page.as_deref());
        let l = login(&srv, &rp, &[("claims", &essential)], RIGHT).await;
        assert_eq!((l.run.challenges, l.run.answered), (1, 0));
        assert_locked_page(&srv, l.run.ended_page.as_deref());
        assert_eq!(
            unmet(&l).as_deref(),
            Some("unmet_authentication_requirements")
        );
        let description = query_param(&l.run.callback, "error_description").unwrap();
        assert!(description.contains("locked"), "{description}");
        assert_eq!(
            query_param(&l.run.callback, "iss").as_deref(),
            Some(srv.base.as_str())
        );
        // Voluntary: the locked page, then on at the password level.
        let l = login(&srv, &rp, &[("acr_values", VERIFIED)], RIGHT).await;
        assert_locked_page(&srv, l.run.ended_page.as_deref());
        assert_eq!(l.id_token.unwrap()["acr"], PASSWORD_ACR);
        srv.shutdown().await;
    }
}

/// The locked page: says so and when to try again (the end of the attempt window), shows
/// no questions and nothing of the record.
fn assert_locked_page(srv: &TestServer, page: Option<&str>) {
    let page = page.expect("the locked page");
    assert!(
        page.contains("Identity checks are locked for now"),
        "{page}"
    );
    // (Rounded up to the minute: the date may be the next one just before midnight.)
    let at = srv.provider().now() + 24 * 3600;
    let date = |t: i64| surety::verify::CivilDate::from_unix(t).to_string();
    assert!(
        page.contains("You can try again after <time>")
            && (page.contains(&date(at)) || page.contains(&date(at + 60))),
        "{page}"
    );
    assert!(!page.contains("<fieldset>"), "no questions");
    // Random values (the form's transaction and CSRF token) may hold any digits.
    let shown = without_hidden_inputs(page);
    for fact in [NAME, "Oak", "94607", "555", BIRTH_YEAR, TITLE, EMPLOYER] {
        assert!(!shown.contains(fact), "{fact} on the locked page");
    }
}

/// `page` without its `<input type="hidden" …>` elements.
fn without_hidden_inputs(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(i) = rest.find("<input type=\"hidden\"") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once('>').map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn a_street_on_the_more_info_step_comes_with_its_city_and_postal_code() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let rp = srv.web_client().await;
        let in_steps = Behaviour {
            in_steps: true,
            ..RIGHT
        };
        let l = login(&srv, &rp, &[("acr_values", VERIFIED)], in_steps).await;
        assert_eq!((l.run.identified, l.run.answered), (1, 1));
        assert_eq!(l.id_token.unwrap()["acr"], VERIFIED);
        srv.shutdown().await;
    }
}

fn verified_request() -> Value {
    json!({"verification": {"trust_framework": null, "time": null, "evidence": null},
        "claims": {"name": null, "address": null, "given_name": null}})
}

#[tokio::test]
async fn verified_claims_are_returned_only_as_requested_and_consented() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let rp = srv.web_client().await;
        let claims = claims_param(Some(VERIFIED), Some(verified_request()));
        let withheld = Behaviour {
            share_verified_claims: false,
            ..RIGHT
        };
        let l = login(&srv, &rp, &[("claims", &claims)], withheld).await;
        let page = l.run.consent_page.expect("a consent page");
        assert!(
            page.contains("perm:verified_claims"),
            "the consent page offers it"
        );
        assert!(
            !is_ticked(&page, "perm:verified_claims"),
            "released only after the user ticks it: {}",
            input_tag(&page, "perm:verified_claims")
        );
        let t = l.id_token.unwrap();
        assert_eq!(t["acr"], VERIFIED);
        assert!(
            t.get("verified_claims").is_none(),
            "not consented, not returned"
        );

        let l = login(&srv, &rp, &[("claims", &claims)], RIGHT).await;
        assert_eq!(l.run.challenges, 0, "the session is already verified");
        let vc = &l.id_token.unwrap()["verified_claims"];
        let time = vc["verification"]["time"].as_str().unwrap().to_owned();
        assert_eq!(
            *vc,
            json!({
                "verification": {
                    "trust_framework": "surety_kba",
                    "time": time,
                    "evidence": [{
                        "type": "electronic_record",
                        "check_details": [{"check_method": "kbv", "time": time}],
                        "record": {"type": "surety_entity_record", "source": {"name": "dmv"}}
                    }]
                },
                "claims": {
                    "name": NAME,
                    "address": {"street_address": "12 North Oak Street", "locality": "Oakland",
                        "region": "CA", "postal_code": "94607"}
                }
            })
        );
        // UserInfo: only when asked for there.
        let ui = json!({"userinfo": {"verified_claims": {"verification": {"trust_framework": null},
            "claims": {"phone_number": null}}}})
        .to_string();
        let l = login(&srv, &rp, &[("claims", &ui)], RIGHT).await;
        let info: Value = srv
            .api
            .get(srv.url("/userinfo"))
            .bearer_auth(l.access_token.unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            info["verified_claims"],
            json!({"verification": {"trust_framework": "surety_kba"},
                "claims": {"phone_number": "+15105550142"}})
        );
        assert!(l.id_token.unwrap().get("verified_claims").is_none());
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_second_relying_party_gets_the_verified_level_without_questions() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let first = srv.web_client().await;
        let second = srv.web_client().await;
        let l = login(&srv, &first, &[("acr_values", VERIFIED)], RIGHT).await;
        assert_eq!(l.run.challenges, 1);
        let l = login(
            &srv,
            &second,
            &[("acr_values", VERIFIED), ("max_age", "3600")],
            RIGHT,
        )
        .await;
        assert_eq!(
            l.run.challenges, 0,
            "no questions at the second relying party"
        );
        let t = l.id_token.unwrap();
        assert_eq!(t["acr"], VERIFIED);
        assert_eq!(t["amr"], json!(["pwd", "kba"]));
        // Universal credentials: a new login (prompt=login, a fresh password session) at
        // the second relying party holds the verified level from the binding, without
        // questions; `amr` says only the password was used in this authentication.
        let l = login(
            &srv,
            &second,
            &[("acr_values", VERIFIED), ("prompt", "login")],
            RIGHT,
        )
        .await;
        assert_eq!((l.run.logins, l.run.challenges), (1, 0));
        let t3 = l.id_token.unwrap();
        assert_eq!(t3["acr"], VERIFIED);
        assert_eq!(t3["amr"], json!(["pwd"]));
        // max_age=0: a fresh login, and the fresh (password) session answers again —
        // questions straight away, the user being bound to the entity.
        let l = login(
            &srv,
            &second,
            &[("acr_values", VERIFIED), ("max_age", "0")],
            RIGHT,
        )
        .await;
        assert_eq!(
            (l.run.logins, l.run.challenges, l.run.identified),
            (1, 1, 0)
        );
        let t2 = l.id_token.unwrap();
        assert_eq!(t2["acr"], VERIFIED);
        assert!(t2["auth_time"].as_i64() >= t["auth_time"].as_i64());
        srv.shutdown().await;
    }
}

/// The pieces of a `WWW-Authenticate` challenge: `acr_values` and `max_age`.
fn challenge_params(h: &str) -> (String, String) {
    let acr = h
        .split("acr_values=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let max_age = h.split("max_age=").nth(1).unwrap().trim().to_owned();
    (acr.to_owned(), max_age)
}

#[tokio::test]
async fn the_resource_api_asks_for_a_step_up_and_the_stepped_up_token_passes() {
    for backend in all_backends().await {
        let srv = seeded(&backend).await;
        let dev = crate::apps::developer(&srv, "Verified Calls Inc").await;
        let app = crate::apps::register_app(&srv, &dev).await;
        let scope = [("scope", "read")];
        let l = login(&srv, &app, &scope, RIGHT).await;
        let sid = query_param(&l.run.callback, "account_sid").expect("account_sid");
        let path = srv.url(&format!("/api/v1/Accounts/{sid}/Verified"));
        let r = srv
            .api
            .get(&path)
            .bearer_auth(l.access_token.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let h = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            h.starts_with("Bearer error=\"insufficient_user_authentication\""),
            "{h}"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_user_authentication");
        let (acr, max_age) = challenge_params(&h);
        assert_eq!((acr.as_str(), max_age.as_str()), (VERIFIED, "3600"));

        let l = login(
            &srv,
            &app,
            &[scope[0], ("acr_values", &acr), ("max_age", &max_age)],
            RIGHT,
        )
        .await;
        assert_eq!(l.run.challenges, 1);
        let r = srv
            .api
            .get(&path)
            .bearer_auth(l.access_token.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["acr"], VERIFIED);
        // Account credentials carry no user authentication.
        let r = srv
            .api
            .get(&path)
            .basic_auth(&dev.0, Some(&dev.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        srv.shutdown().await;
    }
}
