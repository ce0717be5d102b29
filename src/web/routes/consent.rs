//! `GET/POST /consent`: shows the scopes asked and records the user's answer.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};

use super::authorize::{BINDING_COOKIE, TxQuery, respond};
use crate::accounts::session::{self, SESSION_COOKIE};
use crate::oauth::authorize::{self, AuthorizeError};
use crate::web::AppState;
use crate::web::error::ProtocolError;
use crate::web::extract::{Cookies, Form};
use crate::web::pages::{ConsentPage, RenderHtml, describe_scope};

pub async fn page(
    State(s): State<AppState>,
    cookies: Cookies,
    Query(q): Query<TxQuery>,
) -> Response {
    let p = &s.provider;
    let tx = match authorize::load_tx(p, &q.tx, cookies.get(BINDING_COOKIE).unwrap_or("")).await {
        Ok(tx) => tx,
        Err(e) => return e.into_response(),
    };
    let sess = match session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return AuthorizeError::Page("your session ended; start again from the application")
                .into_response();
        }
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let (client, user) = match (
        authorize::client(p, &tx.req.client_id).await,
        p.stores.users.get_user(&sess.sub).await,
    ) {
        (Ok(c), Ok(u)) => (c, u),
        _ => {
            return AuthorizeError::Page("this request can no longer be completed").into_response();
        }
    };
    let screen = match authorize::consent::screen(p, &tx.req, &sess.sub, describe_scope).await {
        Ok(sc) => sc,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let developer = match &screen.app {
        Some(app) => Some(
            p.stores
                .accounts
                .get_account(&app.developer_sid)
                .await
                .map_or_else(|_| app.developer_sid.to_string(), |a| a.friendly_name),
        ),
        None => None,
    };
    let app_name = screen.app.as_ref().map(|a| a.display_name.clone());
    let page = ConsentPage {
        tx: &q.tx,
        csrf: &tx.csrf,
        client_name: app_name
            .as_deref()
            .or(client.metadata.client_name.as_deref())
            .unwrap_or(&client.client_id),
        username: &user.username,
        developer,
        logo_url: screen.app.as_ref().and_then(|a| a.logo_url.clone()),
        upgrade: screen.upgrade,
        origin: crate::admin::client_documents::origin(&client.client_id),
        items: screen.items,
    };
    Html(page.render_html()).into_response()
}

pub async fn submit(
    State(s): State<AppState>,
    cookies: Cookies,
    form: Result<Form, ProtocolError>,
) -> Response {
    let p = &s.provider;
    let Ok(Form(f)) = form else {
        return AuthorizeError::Page("the consent form is malformed").into_response();
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let sess = match session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await {
        Ok(s) => s,
        Err(e) => return AuthorizeError::from(e).into_response(),
    };
    let approve = match field("decision") {
        "approve" => true,
        "deny" => false,
        _ => return AuthorizeError::Page("choose Allow or Deny").into_response(),
    };
    let ticked: Vec<String> = f
        .iter()
        .filter(|(_, v)| v.as_str() == "on")
        .filter_map(|(k, _)| k.strip_prefix("perm:").map(str::to_owned))
        .collect();
    respond(
        authorize::consent::answer(
            p,
            field("tx"),
            cookies.get(BINDING_COOKIE).unwrap_or(""),
            field("csrf"),
            approve,
            &ticked,
            sess,
        )
        .await,
    )
}
