//! `GET /account/passport`: a signed-in person's verified-identity passport.
//! For a user bound to a verified entity (`entity_bindings`, made by a passed step-up
//! challenge): the promotions of every relying party that need no further challenge and
//! that the entity qualifies for (`verify::eligibility::passport`), and the entity's
//! verification history (which relying party checked, the outcome, the date). A user
//! not verified yet gets an explanation. Read-only: no form, no CSRF token needed.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::accounts::session::{self, SESSION_COOKIE};
use crate::oauth::error::OAuthError;
use crate::store::StoreError;
use crate::verify::CivilDate;
use crate::verify::eligibility::{self, PassportLine};
use crate::verify::engine::{Outcome, VerifyError};
use crate::web::AppState;
use crate::web::error::{ProtocolError, error_page};
use crate::web::extract::Cookies;
use crate::web::pages::RenderHtml;

pub const PATH: &str = "/account/passport";

/// One check of the person's identity.
pub struct CheckLine {
    pub relying_party: String,
    pub outcome: &'static str,
    pub date: String,
}

/// What a verified person sees.
pub struct Verified {
    pub name: String,
    pub date: String,
    pub promotions: Vec<PassportLine>,
    pub history: Vec<CheckLine>,
}

#[derive(Template)]
#[template(path = "passport.html")]
pub struct PassportPage {
    pub verified: Option<Verified>,
}

pub async fn page(State(s): State<AppState>, cookies: Cookies) -> Response {
    match render(&s, &cookies).await {
        Ok(r) => r,
        Err(e) => ProtocolError(e).into_response(),
    }
}

fn store_error(e: StoreError) -> OAuthError {
    e.into()
}

async fn render(s: &AppState, cookies: &Cookies) -> Result<Response, OAuthError> {
    let p = &s.provider;
    let Some(sess) = session::load_oidc(p.cache.as_ref(), cookies.get(SESSION_COOKIE)).await?
    else {
        return Ok(error_page(
            StatusCode::UNAUTHORIZED,
            "Sign in through an application first, then come back to this page.",
        ));
    };
    let binding = match p.stores.entity_bindings.entity_binding(&sess.sub).await {
        Ok(b) => Some(b),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(store_error(e)),
    };
    let verified = match binding {
        None => None,
        Some(b) => verified(s, &b.entity_id, b.verified_at).await?,
    };
    Ok(Html(PassportPage { verified }.render_html()).into_response())
}

/// The passport of a bound entity (`None` if the entity is gone).
async fn verified(
    s: &AppState,
    entity_id: &str,
    verified_at: i64,
) -> Result<Option<Verified>, OAuthError> {
    let p = &s.provider;
    let entity = match p.stores.entities.get_entity(entity_id).await {
        Ok(e) => e,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(store_error(e)),
    };
    let promotions = eligibility::passport(&p.stores, entity_id, p.now())
        .await
        .map_err(store_error)?;
    let history = match s.verifier.history(entity_id).await {
        Ok(h) => h,
        Err(VerifyError::NotFound) => Vec::new(),
        Err(VerifyError::Store(e)) => return Err(store_error(e)),
        Err(e) => return Err(OAuthError::server_error(e)),
    };
    let history = history
        .into_iter()
        .map(|h| CheckLine {
            relying_party: h.client_name,
            outcome: match h.outcome {
                Outcome::Passed => "passed",
                Outcome::Failed => "failed",
                Outcome::Locked => "locked",
            },
            date: CivilDate::from_unix(h.decided_at).to_string(),
        })
        .collect();
    Ok(Some(Verified {
        name: entity.name,
        date: CivilDate::from_unix(verified_at).to_string(),
        promotions,
        history,
    }))
}
