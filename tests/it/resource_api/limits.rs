//! Usage limits (exact under concurrency, kept across a restart, rolled up to parents,
//! partner defaults) and refusals for revoked tokens and inactive accounts.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::keys::jws;

use super::*;
use crate::helpers::*;

async fn set_limit(srv: &TestServer, sid: &str, limit: u64) {
    let store = srv.provider().stores.accounts.clone();
    let mut a = store.get_account(sid).await.unwrap();
    a.limits = serde_json::from_value(json!({"max_monthly_api_calls": limit})).unwrap();
    store.update_account(&a).await.unwrap();
}

/// `(count, limit)` of an account's usage this month.
async fn usage(srv: &TestServer, auth: &Auth, sid: &str) -> (Option<i64>, Option<i64>) {
    let a = get(srv, auth, &format!("{sid}/Usage")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    (a.body["count"].as_i64(), a.body["limit"].as_i64())
}

/// Sends `n` messages at once with `token`; returns how many got each status, and the
/// body and `Retry-After` of one 429.
async fn burst(
    srv: &TestServer,
    token: &str,
    sid: &str,
    from: &str,
    n: usize,
) -> (BTreeMap<u16, usize>, Option<(Value, i64)>) {
    let url = srv.url(&format!("/api/v1/Accounts/{sid}/Messages"));
    let sends: Vec<_> = (0..n)
        .map(|_| {
            let (c, url, t, body) = (srv.api.clone(), url.clone(), token.to_owned(), msg(from));
            tokio::spawn(async move { c.post(url).bearer_auth(t).json(&body).send().await })
        })
        .collect();
    let (mut by_status, mut refusal) = (BTreeMap::new(), None);
    for t in sends {
        let r = t.await.unwrap().unwrap();
        *by_status.entry(r.status().as_u16()).or_insert(0) += 1;
        if r.status() == StatusCode::TOO_MANY_REQUESTS && refusal.is_none() {
            let h = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            refusal = Some((r.json().await.unwrap(), h));
        }
    }
    (by_status, refusal)
}

#[tokio::test]
async fn usage_limits_are_exact_under_concurrency_and_survive_a_restart() {
    let settings = settings_for(&default_backend().await);
    let srv = TestServer::start_with(settings.clone()).await;
    let f = family(&srv).await;
    set_limit(&srv, &f.owner.sid, 10).await;
    let app = token(&srv, &f.partner, &f.s1.sid, ALL).await;
    let (by_status, refusal) = burst(&srv, &app, &f.s1.sid, &f.n1, 50).await;
    let want: BTreeMap<u16, usize> = [(201, 10), (429, 40)].into_iter().collect();
    assert_eq!(by_status, want, "exactly the limit succeeds");
    let (body, retry_after) = refusal.unwrap();
    assert_eq!(body["error"], "usage_limit_exceeded");
    assert_eq!(body["limit"], 10);
    assert!(retry_after > 0 && retry_after <= 31 * 86_400);
    let owner = Auth::Basic(f.owner.clone());
    let app = Auth::Bearer(app);
    // Counted on the subaccount and rolled up to its parent, whose limit it is.
    assert_eq!(usage(&srv, &app, &f.s1.sid).await, (Some(10), None));
    assert_eq!(
        usage(&srv, &owner, &f.owner.sid).await,
        (Some(10), Some(10))
    );
    let stored = get(
        &srv,
        &owner,
        &format!("{}/Messages?page_size=200", f.s1.sid),
    )
    .await;
    let stored = stored.body["messages"].as_array().unwrap().len();
    assert_eq!(stored, 10, "refused calls store nothing");

    // A second server on the same database sees the same count and enforces it.
    srv.shutdown().await;
    let srv = TestServer::start_with(settings).await;
    assert_eq!(
        usage(&srv, &owner, &f.owner.sid).await,
        (Some(10), Some(10))
    );
    let a = post(&srv, &owner, &format!("{}/Messages", f.s1.sid), msg(&f.n1)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_parents_limit_covers_every_subaccount_and_a_subaccounts_binds_it_alone() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let owner = Auth::Basic(f.owner.clone());
    let n2 = number();
    buy(&srv, &owner, &f.s2.sid, &n2).await;
    set_limit(&srv, &f.owner.sid, 3).await;
    set_limit(&srv, &f.s2.sid, 1).await;
    let (s1_msgs, s2_msgs) = (
        format!("{}/Messages", f.s1.sid),
        format!("{}/Messages", f.s2.sid),
    );
    let a = post(&srv, &owner, &s2_msgs, msg(&n2)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = post(&srv, &owner, &s2_msgs, msg(&n2)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "S2's own limit");
    let a = post(&srv, &owner, &s1_msgs, msg(&f.n1)).await;
    assert_eq!(a.status, StatusCode::CREATED, "S2's limit is not S1's");
    let a = post(&srv, &owner, &format!("{}/Calls", f.s1.sid), dial(&f.n1)).await;
    assert_eq!(a.status, StatusCode::CREATED, "calls count too");
    let a = post(&srv, &owner, &s1_msgs, msg(&f.n1)).await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the parent's limit"
    );
    assert_eq!(usage(&srv, &owner, &f.owner.sid).await, (Some(3), Some(3)));
    assert_eq!(usage(&srv, &owner, &f.s1.sid).await, (Some(2), None));
    assert_eq!(usage(&srv, &owner, &f.s2.sid).await, (Some(1), Some(1)));
    // Raising the limit lets calls through again.
    set_limit(&srv, &f.owner.sid, 4).await;
    let a = post(&srv, &owner, &s1_msgs, msg(&f.n1)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_partners_limit_is_the_default_for_its_accounts() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let partners = srv.provider().stores.partners.clone();
    let mut p = partners.get_partner(&f.partner.id).await.unwrap();
    p.limits = serde_json::from_value(json!({"max_monthly_api_calls": 2})).unwrap();
    partners.update_partner(&p).await.unwrap();
    let owner = Auth::Basic(f.owner.clone());
    let path = format!("{}/Messages", f.s1.sid);
    let mut got = vec![];
    for _ in 0..3 {
        got.push(post(&srv, &owner, &path, msg(&f.n1)).await.status);
    }
    use StatusCode as S;
    assert_eq!(got, [S::CREATED, S::CREATED, S::TOO_MANY_REQUESTS]);
    assert_eq!(usage(&srv, &owner, &f.s1.sid).await, (Some(2), Some(2)));
    srv.shutdown().await;
}

#[tokio::test]
async fn revoked_tokens_and_inactive_accounts_are_refused() {
    let srv = TestServer::start().await;
    let f = family(&srv).await;
    let t = token(&srv, &f.partner, &f.s1.sid, ALL).await;
    let path = format!("{}/Messages", f.s1.sid);
    let app = Auth::Bearer(t.clone());
    assert_eq!(get(&srv, &app, &path).await.status, StatusCode::OK);
    let (_, claims) = jws::peek(&t).unwrap();
    let grants = srv.provider().stores.grants.clone();
    let jti = claims["jti"].as_str().unwrap();
    grants.revoke_jti(jti, now() + 600).await.unwrap();
    let a = get(&srv, &app, &path).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_token");

    let accounts = srv.provider().stores.accounts.clone();
    let app = Auth::Bearer(token(&srv, &f.partner, &f.s1.sid, ALL).await);
    let mut s1 = accounts.get_account(&f.s1.sid).await.unwrap();
    s1.status = surety::store::AccountStatus::Suspended;
    accounts.update_account(&s1).await.unwrap();
    let a = get(&srv, &app, &path).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "account_suspended");
    // The parent still reads a suspended subaccount's records, but changes nothing there.
    let owner = Auth::Basic(f.owner.clone());
    assert_eq!(get(&srv, &owner, &path).await.status, StatusCode::OK);
    let a = post(&srv, &owner, &path, msg(&f.n1)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "account_suspended");

    // A suspended partner suspends its accounts' credentials.
    let partners = srv.provider().stores.partners.clone();
    let mut pt = partners.get_partner(&f.partner.id).await.unwrap();
    pt.status = surety::store::PartnerStatus::Suspended;
    partners.update_partner(&pt).await.unwrap();
    let own = format!("{}/Messages", f.owner.sid);
    let a = get(&srv, &owner, &own).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "account_suspended");
    pt.status = surety::store::PartnerStatus::Active;
    partners.update_partner(&pt).await.unwrap();
    assert_eq!(get(&srv, &owner, &own).await.status, StatusCode::OK);

    let mut p = accounts.get_account(&f.owner.sid).await.unwrap();
    p.status = surety::store::AccountStatus::Closed;
    accounts.update_account(&p).await.unwrap();
    let a = get(&srv, &owner, &path).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge, ["Basic realm=\"surety\""]);
    srv.shutdown().await;
}
