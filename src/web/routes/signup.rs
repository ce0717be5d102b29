//! `GET/POST /signup`: creating a user (and their own account) during an authorization
//! request that allows it (`prompt=create`, OpenID Connect "Initiating User
//! Registration"). Same CSRF and browser binding as the login page; sign-ups are rate
//! limited per client address. A new user's address gets a confirmation link.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::authorize::{BINDING_COOKIE, TxQuery};
use crate::accounts::users::{self, NewUserError};
use crate::oauth::authorize::{self, AuthorizeError, Tx};
use crate::oauth::provider::Provider;
use crate::util::ct_eq;
use crate::web::AppState;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{RenderHtml, SignupPage};

/// Sign-ups per client address per hour.
const MAX_SIGNUPS_PER_HOUR: u64 = 10;

async fn allowed_tx(p: &Provider, tx_id: &str, cookies: &Cookies) -> Result<Tx, AuthorizeError> {
    let tx = authorize::load_tx(p, tx_id, cookies.get(BINDING_COOKIE).unwrap_or("")).await?;
    if !tx.req.has_prompt("create") {
        return Err(AuthorizeError::Page(
            "this application did not ask for sign-up; sign in instead",
        ));
    }
    Ok(tx)
}

async fn render(
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
    let page = SignupPage {
        tx: tx_id,
        csrf: &tx.csrf,
        client_name: client_name.as_deref(),
        error,
    };
    (status, Html(page.render_html())).into_response()
}

pub async fn page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxQuery>,
) -> Response {
    match allowed_tx(&s.provider, &q.tx, &cookies).await {
        Ok(tx) => render(&s.provider, &q.tx, &tx, None, StatusCode::OK).await,
        Err(e) => e.into_response(),
    }
}

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the sign-up form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let tx_id = field("tx");
    let tx = match allowed_tx(p, tx_id, &cookies).await {
        Ok(tx) => tx,
        Err(e) => return e.into_response(),
    };
    if !ct_eq(field("csrf").as_bytes(), tx.csrf.as_bytes()) {
        return AuthorizeError::Page("the form expired; start again").into_response();
    }
    match p.cache.incr(&format!("signup:a:{}", addr.ip()), 3600).await {
        Ok(n) if n > MAX_SIGNUPS_PER_HOUR => {
            return render(
                p,
                tx_id,
                &tx,
                Some("Too many sign-ups from your network. Try again later."),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        Ok(_) => {}
        Err(e) => {
            return AuthorizeError::from(crate::oauth::error::OAuthError::from(e)).into_response();
        }
    }
    let email = Some(field("email").trim().to_owned()).filter(|e| !e.is_empty());
    let user = match users::create(
        p.stores.users.as_ref(),
        p.entropy.as_ref(),
        field("username"),
        field("password").to_owned(),
        email,
        None,
        p.now(),
    )
    .await
    {
        Ok(u) => u,
        Err(NewUserError::Invalid(f, m)) => {
            return render(
                p,
                tx_id,
                &tx,
                Some(&format!("{f}: {m}")),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Err(NewUserError::Taken) => {
            return render(
                p,
                tx_id,
                &tx,
                Some("That username is taken."),
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(NewUserError::Store(e)) => {
            return AuthorizeError::from(crate::oauth::error::OAuthError::from(e)).into_response();
        }
    };
    if let Err(e) = crate::connect::owner_account(p, &user.sub, p.now()).await {
        return AuthorizeError::from(e).into_response();
    }
    if let Err(e) = crate::accounts::email::send_verification(p, &user).await {
        tracing::warn!(error = %e, "confirmation link not sent at sign-up");
    }
    super::login::password_session(p, &cookies, user.sub, tx_id, tx).await
}
