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
    /// The request allows signing up (`prompt=create`).
    pub signup: bool,
    /// WebAuthn request options for a sign-in with a passkey (JSON).
    pub passkey_options: Option<String>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    /// For a developer's app: who made it, its logo, and whether this is an upgrade.
    pub developer: Option<String>,
    pub logo_url: Option<String>,
    pub upgrade: bool,
    /// For a client known by its metadata document: the host serving it (the one thing
    /// about the client that is not self-asserted).
    pub origin: Option<String>,
    /// What is asked, in plain words; optional lines get a checkbox.
    pub items: Vec<crate::oauth::authorize::consent::Item>,
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

/// A partner's look on the account portal: every value already validated
/// (`web::routes::portal::Branding`).
pub struct PortalBrand {
    pub display_name: String,
    pub logo_url: Option<String>,
    pub support_url: Option<String>,
    pub primary: String,
    pub primary_text: String,
    pub background: String,
    pub text: String,
    pub hidden: Vec<&'static str>,
    /// Where `embed.js` posts its messages: the first allowed frame origin.
    pub parent_origin: Option<String>,
    /// Every allowed frame origin, space separated.
    pub frame_origins: String,
}

impl PortalBrand {
    pub fn shows(&self, section: &str) -> bool {
        !self.hidden.contains(&section)
    }
}

/// An app authorized on an account.
pub struct PortalApp {
    pub name: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "portal.html")]
pub struct PortalPage<'a> {
    pub brand: PortalBrand,
    pub account_sid: &'a str,
    pub friendly_name: &'a str,
    pub status: &'a str,
    pub csrf: &'a str,
    /// A just-rotated auth token, shown this once.
    pub new_token: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Successful partner sign-ins among the newest audit events.
    pub sign_ins: Option<usize>,
    /// `None`: the authorizations could not be read (not "no apps").
    pub apps: Option<Vec<PortalApp>>,
}

#[derive(Template)]
#[template(path = "portal_ended.html")]
pub struct PortalEndedPage {
    pub brand: PortalBrand,
}

/// One authorized app on the account page.
pub struct AppLine {
    pub client_id: String,
    pub name: String,
    pub subaccount_sid: String,
    /// (permission, plain-words description)
    pub permissions: Vec<(String, &'static str)>,
}

/// One live session on the account's sessions page.
pub struct SessionLine {
    pub sid: String,
    /// When it started (`YYYY-MM-DD HH:MM UTC`).
    pub started: String,
    /// The clients it signed in to (their names).
    pub clients: Vec<String>,
    /// The browser showing the page holds this session.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
pub struct AccountSessionsPage<'a> {
    pub csrf: &'a str,
    pub sessions: Vec<SessionLine>,
}

#[derive(Template)]
#[template(path = "account_apps.html")]
pub struct AccountAppsPage<'a> {
    pub csrf: &'a str,
    pub apps: Vec<AppLine>,
    pub notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage<'a> {
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account_email.html")]
pub struct AccountEmailPage<'a> {
    pub csrf: &'a str,
    pub email: Option<&'a str>,
    /// When the address was confirmed (`YYYY-MM-DD HH:MM UTC`), if it was.
    pub verified: Option<String>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account_password.html")]
pub struct AccountPasswordPage<'a> {
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
pub struct PasswordForgotPage<'a> {
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
pub struct PasswordResetPage<'a> {
    /// The link's token, carried to the form's POST.
    pub token: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email_verify.html")]
pub struct EmailVerifyPage<'a> {
    pub token: &'a str,
    pub email: &'a str,
}
