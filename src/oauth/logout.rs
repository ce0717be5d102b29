//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): end the session, then
//! redirect to a `post_logout_redirect_uri` registered by the client named by the
//! `id_token_hint` (or `client_id`), with `state`. Ending the session sends the
//! back-channel logout tokens of the clients it signed in to ([`super::backchannel`]).
//! A hint naming another user than the signed-in one makes the request suspect (§2):
//! the session is not ended. The hint's `sub` is compared as its client sees the user
//! (OpenID Connect Core §8: pairwise for a pairwise client).

use serde_json::Value;

use super::authorize::with_query;
use super::error::OAuthError;
use super::grants::Params;
use super::provider::Provider;
use super::session::Session;

/// Ends the browser's session `s` (Back-Channel Logout 1.0 §2.7 for an RP-initiated
/// logout: `offline_access` grants are kept).
pub async fn end(p: &Provider, s: &Session) -> Result<(), OAuthError> {
    if let Some(sid) = &s.sid {
        super::backchannel::end_session(p, sid, super::backchannel::Ending::Session).await?;
    }
    Ok(())
}

/// A checked logout request.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Where to send the browser after the session ends (`None`: show a page).
    pub redirect: Option<String>,
    /// The `id_token_hint`'s client and `sub`.
    hinted: Option<(String, String)>,
}

impl Target {
    /// Whether the hint, if any, names the user of session `s` (as its client sees them).
    pub async fn names(&self, p: &Provider, s: &Session) -> Result<bool, OAuthError> {
        let Some((client_id, sub)) = &self.hinted else {
            return Ok(true);
        };
        Ok(match super::client_auth::find_client(p, client_id).await? {
            Some(c) => p.is_subject_of(&c, &s.sub, sub),
            None => crate::util::ct_eq(s.sub.as_bytes(), sub.as_bytes()),
        })
    }
}

/// A valid `id_token_hint`'s audience (the client) and `sub`.
async fn hint(p: &Provider, token: &str) -> Result<(Option<String>, Option<String>), OAuthError> {
    // An expired ID token is still a valid hint; only our signature matters.
    let (_, claims) =
        p.keys.verify_own(token, p.now()).await.map_err(|_| {
            OAuthError::invalid_request("id_token_hint is not an ID token issued here")
        })?;
    if claims.get("iss").and_then(Value::as_str) != Some(p.issuer.as_str()) {
        return Err(OAuthError::invalid_request(
            "id_token_hint was issued elsewhere",
        ));
    }
    let aud = claims.get("aud").and_then(|a| {
        a.as_str()
            .map(str::to_owned)
            .or_else(|| a.get(0).and_then(Value::as_str).map(str::to_owned))
    });
    let sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    Ok((aud, sub))
}

/// Checks a logout request: its `id_token_hint`, and where to send the browser after.
pub async fn target(p: &Provider, params: &Params) -> Result<Target, OAuthError> {
    let (hinted, sub) = match params.get("id_token_hint") {
        Some(t) => hint(p, t).await?,
        None => (None, None),
    };
    let mut out = Target {
        redirect: None,
        hinted: hinted.clone().zip(sub),
    };
    let client_id = match (hinted, params.get("client_id")) {
        (Some(h), Some(c)) if &h != c => {
            return Err(OAuthError::invalid_request(
                "client_id does not match id_token_hint",
            ));
        }
        (Some(h), _) => Some(h),
        (None, c) => c.cloned(),
    };
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(out);
    };
    let Some(client_id) = client_id else {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri needs id_token_hint or client_id",
        ));
    };
    let Some(client) = super::client_auth::find_client(p, &client_id).await? else {
        return Err(OAuthError::invalid_request("unknown client"));
    };
    if !client
        .metadata
        .post_logout_redirect_uris
        .iter()
        .any(|u| u == uri)
    {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri is not registered",
        ));
    }
    let pairs: Vec<(&str, &str)> = params
        .get("state")
        .map(|s| vec![("state", s.as_str())])
        .unwrap_or_default();
    out.redirect = Some(if pairs.is_empty() {
        uri.clone()
    } else {
        with_query(uri, &pairs)
    });
    Ok(out)
}
