//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode §2): the response is a
//! page that posts the parameters to the redirect URI, under a strict CSP, never cached.

use reqwest::StatusCode;

use crate::helpers::*;

/// The page's form action and its hidden fields.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let fields = page
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|s| {
            let name = s.split('"').next().unwrap().to_owned();
            let value = s
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (name, value.replace("&#x2f;", "/").replace("&#x3a;", ":"))
        })
        .collect();
    (action, fields)
}

fn field<'a>(fields: &'a [(String, String)], k: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn form_post_page(r: reqwest::Response) -> (String, Vec<(String, String)>) {
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action http://127.0.0.1:9;"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("<form method=\"post\""));
    form_of(&page)
}

#[tokio::test]
async fn the_code_is_posted_to_the_redirect_uri() {
    let srv = TestServer::start().await;
    srv.user("alice").await;
    let c = srv.web_client().await;
    // Sign in and consent once; the next request answers at once.
    let (url, _) = authorize_url(&srv, &c.0, &[]);
    authorize(&srv, &srv.browser, &url, "alice").await;
    let (url, verifier) = authorize_url(&srv, &c.0, &[("response_mode", "form_post")]);
    let r = srv.browser.get(&url).send().await.unwrap();
    let (action, fields) = form_post_page(r).await;
    assert!(
        action.contains("127.0.0.1:9") && action.ends_with("cb"),
        "{action}"
    );
    assert_eq!(field(&fields, "state"), Some("st4te"));
    assert!(field(&fields, "iss").is_some_and(|i| i.contains("127.0.0.1")));
    let code = field(&fields, "code").unwrap();
    let r = token_request(
        &srv,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    srv.shutdown().await;
}

#[tokio::test]
async fn errors_are_posted_too() {
    let srv = TestServer::start().await;
    let c = srv.web_client().await;
    // Found by a check of the request, and by the flow (no session for prompt=none).
    for (extra, code) in [
        (vec![("scope", "openid bad\"scope")], "invalid_scope"),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let mut extra = extra;
        extra.push(("response_mode", "form_post"));
        let (url, _) = authorize_url(&srv, &c.0, &extra);
        let r = browser().get(&url).send().await.unwrap();
        let (_, fields) = form_post_page(r).await;
        assert_eq!(field(&fields, "error"), Some(code));
        assert_eq!(field(&fields, "state"), Some("st4te"));
        assert!(field(&fields, "code").is_none());
    }
    // An unknown mode is told in the query.
    let (url, _) = authorize_url(&srv, &c.0, &[("response_mode", "query.jwt")]);
    let r = srv.browser.get(&url).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    srv.shutdown().await;
}
