//! Consent memory for developer apps: an optional permission the user unticked is
//! remembered with the authorization, so the same request signs in without the consent
//! page (the permission stays absent); `prompt=consent` or a request for a permission
//! never asked before shows the page again, the declined line offered unticked.

use serde_json::Value;

use crate::apps::{consent_with, developer, redeem, register_app};
use crate::helpers::*;

/// Everything in the app's profile (`calls:write` and `callerids:all` are optional).
const FULL: &str = "openid read messages:send calls:write callerids:all";

/// Follows `url` while it stays on Surety without showing a page; the callback URL, or
/// `None` when a page (the consent page) was shown.
async fn without_a_page(srv: &TestServer, url: &str) -> Option<String> {
    let mut next = url.to_owned();
    loop {
        let full = if next.starts_with('/') {
            srv.url(&next)
        } else {
            next.clone()
        };
        if !full.starts_with(&srv.base) {
            return Some(full);
        }
        let r = srv.browser.get(&full).send().await.unwrap();
        if !r.status().is_redirection() {
            return None;
        }
        next = location(&r);
    }
}

#[tokio::test]
async fn a_declined_optional_permission_is_not_asked_again() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let dev = developer(&srv, "Dialer Inc").await;
        let app = register_app(&srv, &dev).await;
        // First sign-in: calls:write unticked.
        let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", FULL)]);
        let (page, cb) = consent_with(&srv, &url, &["callerids:all"]).await;
        assert!(is_ticked(&page, "perm:calls:write"), "offered ticked");
        let t = redeem(&srv, &app, &cb, &verifier).await;
        assert_eq!(t["scope"], "callerids:all messages:send openid read");

        // The same request again: no consent page, the code still without calls:write.
        let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", FULL)]);
        let cb = without_a_page(&srv, &url)
            .await
            .expect("no consent page for the same request");
        let t: Value = redeem(&srv, &app, &cb, &verifier).await;
        assert_eq!(t["scope"], "callerids:all messages:send openid read");

        // prompt=consent: the page again, the declined line unticked; ticking grants it.
        let (url, verifier) =
            authorize_url(&srv, &app.0, &[("scope", FULL), ("prompt", "consent")]);
        let (page, cb) = consent_with(&srv, &url, &["calls:write"]).await;
        assert!(page.contains("perm:calls:write"), "{page}");
        assert!(!is_ticked(&page, "perm:calls:write"), "as last answered");
        let t = redeem(&srv, &app, &cb, &verifier).await;
        assert_eq!(
            t["scope"],
            "callerids:all calls:write messages:send openid read"
        );
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_permission_never_asked_before_shows_the_page_again() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let dev = developer(&srv, "Dialer Inc").await;
        let app = register_app(&srv, &dev).await;
        let first = "openid read messages:send calls:write";
        let (url, _) = authorize_url(&srv, &app.0, &[("scope", first)]);
        consent_with(&srv, &url, &[]).await;
        // Asking for less, or for the declined one again: covered.
        let (url, _) = authorize_url(&srv, &app.0, &[("scope", "openid read")]);
        assert!(without_a_page(&srv, &url).await.is_some());
        // callerids:all was never asked: the page, with only what is not held.
        let (url, verifier) = authorize_url(&srv, &app.0, &[("scope", FULL)]);
        let (page, cb) = consent_with(&srv, &url, &["callerids:all"]).await;
        assert!(page.contains("now also asks"), "{page}");
        assert!(
            is_ticked(&page, "perm:callerids:all"),
            "a new one is offered ticked"
        );
        assert!(
            !is_ticked(&page, "perm:calls:write"),
            "the declined one unticked"
        );
        assert!(!page.contains("messages:send"), "held: not asked again");
        let t = redeem(&srv, &app, &cb, &verifier).await;
        assert_eq!(t["scope"], "callerids:all messages:send openid read");
        // And that answer is remembered too.
        let (url, _) = authorize_url(&srv, &app.0, &[("scope", FULL)]);
        assert!(without_a_page(&srv, &url).await.is_some());
        srv.shutdown().await;
    }
}
