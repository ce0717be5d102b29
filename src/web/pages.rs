//! Server-rendered pages (askama, compiled templates under `templates/`, HTML-escaped).

use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub tx: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub client_name: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    /// (scope, plain-words description)
    pub scopes: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// Renders any page; a template failure is logged and yields a bare message.
pub trait RenderHtml: Template {
    fn render_html(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "template rendering failed");
            "<!doctype html><p>Internal error</p>".to_owned()
        })
    }
}

impl<T: Template> RenderHtml for T {}

/// Plain words for the standard scopes on the consent page.
pub fn describe_scope(s: &str) -> &'static str {
    match s {
        "openid" => "sign you in with your account",
        "profile" => "see your name and username",
        "email" => "see your email address",
        "offline_access" => "keep access while you are away",
        _ => "",
    }
}
