//! `GET/POST /login`: the username + password page of a pending authorization request.
//! CSRF: the form carries the transaction's token, and the transaction is bound to the
//! browser's binding cookie. Failures are rate limited and lock the username out.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::authorize::{BINDING_COOKIE, TxQuery};
use crate::accounts::session::{self, ACR_PASSWORD, SESSION_COOKIE, Session};
use crate::accounts::users::{self, LoginFailure, LoginLimits, Origin};
use crate::oauth::authorize::{self, AuthorizeError, Tx};
use crate::oauth::provider::{Provider, paths};
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::client_ip::client_ip;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form, set_cookie};
use crate::web::pages::{LoginPage, RenderHtml};

pub async fn page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxQuery>,
) -> Response {
    let p = &s.provider;
    match authorize::load_tx(p, &q.tx, cookies.get(BINDING_COOKIE).unwrap_or("")).await {
        Ok(tx) => render(p, &q.tx, &tx, None, StatusCode::OK).await,
        Err(e) => e.into_response(),
    }
}

pub(super) async fn render(
    p: &Provider,
    tx_id: &str,
    tx: &Tx,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let client_name = crate::oauth::authorize::client(p, &tx.req.client_id)
        .await
        .ok()
        .and_then(|c| c.metadata.client_name);
    // A passkey may sign in instead of the password (autofill or the button); without a
    // usable relying party (an issuer on an IP address) the page offers none.
    let passkey_options = crate::accounts::passkeys::start_sign_in(p, tx_id)
        .await
        .ok();
    let page = LoginPage {
        tx: tx_id,
        csrf: &tx.csrf,
        username: tx.req.login_hint.as_deref().unwrap_or(""),
        client_name: client_name.as_deref(),
        error,
        signup: tx.req.has_prompt("create"),
        passkey_options,
    };
    let mut r = (status, Html(page.render_html())).into_response();
    super::passkeys::allow_script(&mut r);
    r
}

/// The cookie of a browser that signed in before (see `users::remember_device`).
pub const DEVICE_COOKIE: &str = "surety_device";

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the login form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let tx_id = field("tx");
    let tx = match authorize::load_tx(p, tx_id, cookies.get(BINDING_COOKIE).unwrap_or("")).await {
        Ok(tx) => tx,
        Err(e) => return e.into_response(),
    };
    if !ct_eq(field("csrf").as_bytes(), tx.csrf.as_bytes()) {
        return AuthorizeError::Page("the form expired; start again").into_response();
    }
    let limits = LoginLimits {
        max_failures: p.settings.login_max_failures,
        window: p.settings.login_lockout,
    };
    let ip = client_ip(addr, &headers, &p.settings.trusted_proxies).to_string();
    let from = Origin {
        addr: &ip,
        device: cookies.get(DEVICE_COOKIE),
    };
    let result = users::login(
        p.stores.users.as_ref(),
        p.cache.as_ref(),
        field("username"),
        field("password").to_owned(),
        &from,
        &limits,
    )
    .await;
    let user = match result {
        Ok(Ok(u)) => u,
        Ok(Err(LoginFailure::Invalid)) => {
            return render(
                p,
                tx_id,
                &tx,
                Some("Invalid username or password."),
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
        Ok(Err(LoginFailure::Locked)) => {
            return render(
                p,
                tx_id,
                &tx,
                Some("Too many failed attempts. Try again later."),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let device =
        match users::remember_device(p.cache.as_ref(), p.entropy.as_ref(), field("username")).await
        {
            Ok(d) => d,
            Err(e) => return AuthorizeError::from(e).into_response(),
        };
    let mut resp = password_session(p, &cookies, user.sub, tx_id, tx).await;
    let cookie = set_cookie(
        DEVICE_COOKIE,
        &device,
        Some(users::DEVICE_TTL),
        p.secure_cookies(),
    );
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Opens a password session for `sub` (ending the browser's previous one), marks the
/// transaction logged in, and continues the authorization request.
pub(super) async fn password_session(
    p: &Provider,
    cookies: &Cookies,
    sub: String,
    tx_id: &str,
    tx: Tx,
) -> Response {
    let sess = Session {
        sub,
        auth_time: p.now(),
        acr: ACR_PASSWORD.to_owned(),
        amr: vec![crate::accounts::assurance::amr::PWD.to_owned()],
        sid: None,
    };
    open_session(p, cookies, &sess, tx_id, tx).await
}

/// Opens `sess` (ending the browser's previous session), marks the transaction logged
/// in, and continues the authorization request.
pub(super) async fn open_session(
    p: &Provider,
    cookies: &Cookies,
    sess: &Session,
    tx_id: &str,
    tx: Tx,
) -> Response {
    let old = cookies.get(SESSION_COOKIE);
    let cookie = match session::replace(p, old, sess, p.settings.session_ttl).await {
        Ok(c) => c,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    if let Err(e) = authorize::mark_logged_in(p, tx_id, tx).await {
        return e.into_response();
    }
    let mut resp = Redirect::to(&format!("{}?tx={tx_id}", paths::RESUME)).into_response();
    if let Ok(v) = set_cookie(
        SESSION_COOKIE,
        &cookie,
        Some(p.settings.session_ttl),
        p.secure_cookies(),
    )
    .parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
