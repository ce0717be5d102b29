//! The authorization response at the client's redirect URI, in its response mode: a 303
//! redirect (`query`), or (OAuth 2.0 Form Post Response Mode §2) a page whose form the
//! browser posts to the redirect URI at once. That page allows nothing but its one
//! script (by hash), posting to the redirect URI's origin, and is never cached; without
//! JavaScript it shows a button.

use std::sync::LazyLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::oauth::authorize::{ClientResponse, ResponseMode};
use crate::web::error::no_store;
use crate::web::pages::RenderHtml;

/// The page's one script.
const SUBMIT: &str = "document.forms[0].submit()";

/// Its CSP hash source (`'sha256-…'`).
static SUBMIT_HASH: LazyLock<String> = LazyLock::new(|| {
    use aws_lc_rs::digest;
    use base64::Engine;
    let d = digest::digest(&digest::SHA256, SUBMIT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
});

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
    script: &'static str,
}

/// The response to the client, in its mode.
pub fn to_client(r: &ClientResponse) -> Response {
    match r.mode {
        ResponseMode::Query => Redirect::to(&r.query_url()).into_response(),
        ResponseMode::FormPost => form_post(r),
    }
}

fn form_post(r: &ClientResponse) -> Response {
    let page = FormPostPage {
        action: &r.redirect_uri,
        fields: &r.params,
        script: SUBMIT,
    };
    let target = r.form_action_source().unwrap_or_else(|| "'none'".into());
    let csp = format!(
        "default-src 'none'; script-src {}; form-action {target}; frame-ancestors 'none'; base-uri 'none'",
        SUBMIT_HASH.as_str()
    );
    let mut resp = (StatusCode::OK, Html(page.render_html())).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    no_store(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_hash_is_the_scripts() {
        assert_eq!(
            SUBMIT_HASH.as_str(),
            "'sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE='"
        );
    }

    #[test]
    fn fields_are_escaped() {
        let r = ClientResponse {
            redirect_uri: "https://app.example/cb".into(),
            mode: ResponseMode::FormPost,
            params: vec![("state".into(), "\"><script>x</script>".into())],
        };
        let page = FormPostPage {
            action: &r.redirect_uri,
            fields: &r.params,
            script: SUBMIT,
        }
        .render_html();
        assert!(!page.contains("<script>x"));
        assert!(page.contains("<script>document.forms[0].submit()</script>"));
    }
}
