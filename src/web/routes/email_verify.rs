//! `GET/POST /email/verify?t=…`: the page a confirmation link opens. The GET shows the
//! address and a button; only the POST uses the link (so a mail scanner opening it does
//! not spend it), marking the address confirmed (`email_verified`) if it is still the
//! account's. No CSRF token: the link's token is the form's secret.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::password_reset::{LinkQuery, dead_link};
use crate::accounts::{email, links};
use crate::store::LinkPurpose;
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page, no_store};
use crate::web::extract::Form;
use crate::web::pages::{EmailVerifyPage, MessagePage, RenderHtml};

const ASK_AGAIN: &str = "Ask for a new one on your account's e-mail page.";

pub async fn page(State(s): State<AppState>, Query(q): Query<LinkQuery>) -> Response {
    match links::peek(&s.provider, LinkPurpose::VerifyEmail, &q.t).await {
        Ok(Some(link)) => {
            let page = EmailVerifyPage {
                token: &q.t,
                email: &link.email,
            };
            no_store(Html(page.render_html()).into_response())
        }
        Ok(None) => dead_link(ASK_AGAIN),
        Err(e) => ProtocolError(e).into_response(),
    }
}

pub async fn confirm(State(s): State<AppState>, form: Result<Form, ProtocolError>) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "the form is malformed");
    };
    let token = f.get("t").map(String::as_str).unwrap_or("");
    match email::verify(&s.provider, token).await {
        Ok(Some(address)) => {
            let message = format!("{address} is confirmed as your address.");
            let page = MessagePage {
                title: "Address confirmed",
                message: &message,
            };
            no_store(Html(page.render_html()).into_response())
        }
        Ok(None) => dead_link(ASK_AGAIN),
        Err(e) => ProtocolError(e).into_response(),
    }
}
