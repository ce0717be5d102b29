//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): end the session, then
//! redirect to a `post_logout_redirect_uri` registered by the client named by the
//! `id_token_hint` (or `client_id`), with `state`. Ending the session sends the
//! back-channel logout tokens of the clients it signed in to ([`super::backchannel`]).

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

/// Where to send the browser after the session ends (`None`: show a page).
pub async fn target(p: &Provider, params: &Params) -> Result<Option<String>, OAuthError> {
    let hinted = match params.get("id_token_hint") {
        Some(t) => {
            // An expired ID token is still a valid hint; only our signature matters.
            let (_, claims) = p.keys.verify_own(t, p.now()).await.map_err(|_| {
                OAuthError::invalid_request("id_token_hint is not an ID token issued here")
            })?;
            if claims.get("iss").and_then(Value::as_str) != Some(p.issuer.as_str()) {
                return Err(OAuthError::invalid_request(
                    "id_token_hint was issued elsewhere",
                ));
            }
            claims.get("aud").and_then(|a| {
                a.as_str()
                    .map(str::to_owned)
                    .or_else(|| a.get(0).and_then(Value::as_str).map(str::to_owned))
            })
        }
        None => None,
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
        return Ok(None);
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
    Ok(Some(if pairs.is_empty() {
        uri.clone()
    } else {
        with_query(uri, &pairs)
    }))
}
