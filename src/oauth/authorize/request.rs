//! Validating an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
//! RFC 7636, RFC 9126, RFC 9101) as a pipeline of small named checks. The client, its
//! request object (`request_object`) and the redirect URI are checked first: until the
//! redirect URI holds, errors are shown on a page and never redirected. Then the client's
//! rules (`oauth::fapi`: PAR, signed request objects, the FAPI 2.0 profile).

use serde::{Deserialize, Serialize};

use super::AuthorizeError;
use super::acr::{AcrRequest, Levels};
use super::claims::ClaimsRequest;
use super::response::{ClientResponse, ResponseMode};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::fapi;
use crate::oauth::grants::{Params, allowed_scope};
use crate::oauth::pkce::CodeChallenge;
use crate::oauth::provider::Provider;
use crate::oauth::resource::Resources;
use crate::oauth::scope::{Scope, ScopeRegistry};
use crate::store::ClientRecord;

/// Longest `state` / `nonce` accepted.
const MAX_OPAQUE_LEN: usize = 512;

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub acr_values: Option<String>,
    pub login_hint: Option<String>,
    /// The `acr` asked for: the `claims` parameter's `id_token.acr` when it names values,
    /// else `acr_values` (voluntary).
    #[serde(default)]
    pub acr: AcrRequest,
    /// The parsed `claims` parameter.
    #[serde(default)]
    pub claims: Option<ClaimsRequest>,
    /// The registered resources (RFC 8707) the request names.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The DPoP key the code will be bound to (RFC 9449 §10).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// How the response reaches the client (`query` or `form_post`).
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// The device authorization (RFC 8628) this request answers, by its device code's
    /// hash: it ends on the verification page (`oauth::device::verification`), never at
    /// a redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl AuthRequest {
    pub fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }

    /// What the user consents to: the requested scope plus the scopes that release the
    /// standard claims the `claims` parameter asks for (the token's scope stays `scope`).
    pub fn consent_scope(&self) -> Scope {
        let requested = self.scope.clone();
        match &self.claims {
            Some(c) => {
                requested.union(&Scope::parse(&c.implied_scopes().join(" ")).unwrap_or_default())
            }
            None => requested,
        }
    }
}

/// Where an authorization request came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Pushed to the PAR endpoint (RFC 9126).
    pub pushed: bool,
    /// Its parameters came from a verified request object (RFC 9101).
    pub signed: bool,
}

/// A request that passed every check.
#[derive(Debug)]
pub struct Validated {
    pub client: ClientRecord,
    pub req: AuthRequest,
    /// The parameters in effect: a request object's in place of the query's (what PAR
    /// keeps).
    pub params: Params,
    pub origin: Origin,
}

/// Runs every check; `client`, its request object and `redirect_uri` first.
pub async fn validate(
    p: &Provider,
    params: &Params,
    origin: Origin,
) -> Result<Validated, AuthorizeError> {
    let client = check_client(p, params).await?;
    let (params, origin) = match super::request_object::resolve(p, &client, params).await {
        Ok(Some(inner)) => (
            inner,
            Origin {
                signed: true,
                ..origin
            },
        ),
        Ok(None) => (params.clone(), origin),
        Err(e) => return Err(object_refused(p, &client, params, e)),
    };
    let req = validate_resolved(p, &client, &params, origin).await?;
    Ok(Validated {
        client,
        req,
        params,
        origin,
    })
}

/// A refused request object: told at the outer redirect URI when that one is the
/// client's (RFC 9101 §6.2), else on a page.
fn object_refused(
    p: &Provider,
    client: &ClientRecord,
    outer: &Params,
    e: OAuthError,
) -> AuthorizeError {
    if e.code == ErrorCode::TemporarilyUnavailable {
        return AuthorizeError::Unavailable(e.to_string());
    }
    match check_redirect_uri(client, outer) {
        Ok(uri) => AuthorizeError::Redirect {
            response: ClientResponse::error(
                p,
                &uri,
                ResponseMode::parse(outer.get("response_mode").map(String::as_str))
                    .unwrap_or_default(),
                outer.get("state").map(String::as_str),
                &e,
            ),
            error: e,
        },
        Err(page) => page,
    }
}

async fn validate_resolved(
    p: &Provider,
    client: &ClientRecord,
    params: &Params,
    origin: Origin,
) -> Result<AuthRequest, AuthorizeError> {
    let redirect_uri = check_redirect_uri(client, params)?;
    let get = |k: &str| params.get(k).map(String::as_str);
    let mode = ResponseMode::parse(get("response_mode"));
    let fail = |code: ErrorCode, d: &str| {
        let error = OAuthError::new(code, d);
        let response = ClientResponse::error(
            p,
            &redirect_uri,
            mode.unwrap_or_default(),
            get("state"),
            &error,
        );
        AuthorizeError::Redirect { response, error }
    };
    check_response_type(get("response_type"))
        .map_err(|d| fail(ErrorCode::UnsupportedResponseType, d))?;
    let response_mode = mode.map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    check_client_rules(&p.settings, client, params, origin)
        .map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    if params.contains_key("request_uri") {
        // Only PAR references are accepted, and those were resolved before validation.
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is supported only for pushed authorization requests",
        ));
    }
    let resources = crate::oauth::resource::requested(p, params)
        .await
        .map_err(|e| fail(e.code, e.description.as_deref().unwrap_or("")))?;
    let scope =
        check_scope(&p.scopes, client, get("scope"), &resources).map_err(|(c, d)| fail(c, d))?;
    let code_challenge = check_pkce(
        pkce_required(&p.settings, client),
        get("code_challenge"),
        get("code_challenge_method"),
    )
    .map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let prompt = check_prompt(get("prompt")).map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let max_age = check_max_age(get("max_age")).map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let dpop_jkt = crate::oauth::dpop::binding::parse_dpop_jkt(get("dpop_jkt"))
        .map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let mut claims = check_claims(get("claims")).map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    if let (Some(c), Some(allowed)) = (claims.as_mut(), allowed_scope(client)) {
        // Claims the client may not hold the scope of are not released (voluntary).
        c.retain_standard(|s| allowed.contains(s));
    }
    let levels = p.ext.authn.levels();
    let acr = check_acr(levels, get("acr_values"), claims.as_ref()).map_err(|(c, d)| fail(c, d))?;
    let acr = super::acr_policy::apply(p, client, acr)
        .await
        .map_err(|e| fail(e.code, e.description.as_deref().unwrap_or("")))?;
    for k in ["state", "nonce", "acr_values", "login_hint"] {
        if get(k).is_some_and(|v| v.len() > MAX_OPAQUE_LEN) {
            return Err(fail(ErrorCode::InvalidRequest, "a parameter is too long"));
        }
    }
    let req = AuthRequest {
        client_id: client.client_id.to_string(),
        redirect_uri: redirect_uri.clone(),
        scope,
        state: params.get("state").cloned(),
        nonce: params.get("nonce").cloned(),
        code_challenge: code_challenge.map(|c| c.as_str().to_owned()),
        prompt,
        max_age,
        acr_values: params.get("acr_values").cloned(),
        login_hint: params.get("login_hint").cloned(),
        acr,
        claims,
        resources: resources.uris,
        dpop_jkt,
        response_mode,
        device: None,
    };
    Ok(req)
}

/// The client's own rules: pushed requests (RFC 9126 §6), signed request objects
/// (RFC 9101 §10.5), and under FAPI 2.0 a pushed request names its `redirect_uri`
/// (§5.3.2.2 item 4).
fn check_client_rules(
    s: &crate::config::Settings,
    client: &ClientRecord,
    params: &Params,
    origin: Origin,
) -> Result<(), &'static str> {
    let m = &client.metadata;
    if !origin.pushed && fapi::par_required(s, m) {
        return Err("this client must push its authorization requests (PAR)");
    }
    if !origin.signed && m.require_signed_request_object {
        return Err("this client must send a signed request object");
    }
    if fapi::applies(s, m) && !params.contains_key("redirect_uri") {
        return Err("redirect_uri is required under the client's security profile");
    }
    Ok(())
}

/// PKCE is required of public clients and of FAPI 2.0 clients (§5.3.2.2 item 5).
fn pkce_required(s: &crate::config::Settings, client: &ClientRecord) -> bool {
    client.metadata.token_endpoint_auth_method == "none" || fapi::applies(s, &client.metadata)
}

async fn check_client(p: &Provider, params: &Params) -> Result<ClientRecord, AuthorizeError> {
    let id = params
        .get("client_id")
        .ok_or(AuthorizeError::Page("client_id is missing"))?;
    if id.len() > 256 {
        return Err(AuthorizeError::Page("unknown client"));
    }
    let c = super::client(p, id).await?;
    if !c.metadata.response_types.iter().any(|r| r == "code") {
        return Err(AuthorizeError::Page(
            "this client may not use the authorization endpoint",
        ));
    }
    Ok(c)
}

/// Exact string match against the registered URIs (RFC 9700 §4.1.3). May be omitted only
/// when the client registered exactly one.
fn check_redirect_uri(client: &ClientRecord, params: &Params) -> Result<String, AuthorizeError> {
    let registered = &client.metadata.redirect_uris;
    match params.get("redirect_uri") {
        Some(u) if registered.iter().any(|r| r == u) => Ok(u.clone()),
        Some(_) => Err(AuthorizeError::Page(
            "redirect_uri is not registered for this client",
        )),
        None if registered.len() == 1 => Ok(registered[0].clone()),
        None => Err(AuthorizeError::Page("redirect_uri is missing")),
    }
}

fn check_response_type(rt: Option<&str>) -> Result<(), &'static str> {
    match rt {
        Some("code") => Ok(()),
        None => Err("response_type is missing"),
        Some(_) => Err("only response_type=code is supported"),
    }
}

/// The scope: well-formed, never internal, within the client's registered scope, or
/// (without one) made only of scopes that exist.
pub(crate) fn check_scope(
    registry: &ScopeRegistry,
    client: &ClientRecord,
    s: Option<&str>,
    resources: &Resources,
) -> Result<Scope, (ErrorCode, &'static str)> {
    let scope =
        Scope::parse(s.unwrap_or("")).ok_or((ErrorCode::InvalidScope, "malformed scope"))?;
    if scope.is_empty() {
        return Err((ErrorCode::InvalidScope, "scope is required"));
    }
    if scope.iter().any(|s| registry.is_internal(s)) {
        return Err((
            ErrorCode::InvalidScope,
            "the requested scope cannot be granted by a user",
        ));
    }
    match allowed_scope(client) {
        // What an admin registered for the client exists by definition.
        Some(allowed) if !scope.is_subset(&allowed) => Err((
            ErrorCode::InvalidScope,
            "the requested scope exceeds what the client may ask for",
        )),
        Some(_) => Ok(scope),
        None if registry
            .first_undelegable(&scope.difference(&resources.accepted))
            .is_some() =>
        {
            Err((ErrorCode::InvalidScope, "the requested scope is unknown"))
        }
        None => Ok(scope),
    }
    .and_then(|scope| {
        resources.check_scope(&scope).map(|()| scope).map_err(|_| {
            (
                ErrorCode::InvalidScope,
                "the requested scope is not one the named resource accepts",
            )
        })
    })
}

/// PKCE: S256 only; required for public clients (RFC 9700 §2.1.1) and FAPI 2.0 ones.
fn check_pkce(
    required: bool,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<CodeChallenge>, &'static str> {
    match challenge {
        Some(c) => CodeChallenge::parse(c, method).map(Some),
        None if method.is_some() => Err("code_challenge_method without code_challenge"),
        None if required => Err("PKCE (code_challenge with S256) is required for this client"),
        None => Ok(None),
    }
}

fn check_prompt(prompt: Option<&str>) -> Result<Vec<String>, &'static str> {
    let values: Vec<String> = prompt
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if values.iter().any(|v| {
        !matches!(
            v.as_str(),
            "none" | "login" | "consent" | "select_account" | "create"
        )
    }) {
        return Err("unsupported prompt value");
    }
    if values.iter().any(|v| v == "none") && values.len() > 1 {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(values)
}

fn check_max_age(max_age: Option<&str>) -> Result<Option<i64>, &'static str> {
    match max_age {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .map(Some)
            .ok_or("max_age must be a non-negative integer"),
    }
}

fn check_claims(claims: Option<&str>) -> Result<Option<ClaimsRequest>, &'static str> {
    claims.map(ClaimsRequest::parse).transpose()
}

/// The `acr` request; an essential one naming only levels Surety lacks is unmet at once.
pub(crate) fn check_acr(
    levels: &Levels,
    acr_values: Option<&str>,
    claims: Option<&ClaimsRequest>,
) -> Result<AcrRequest, (ErrorCode, &'static str)> {
    let from_claims = claims
        .and_then(|c| c.id_token.acr.clone())
        .filter(|a| !a.values.is_empty());
    let acr = match from_claims {
        Some(a) => a,
        None => AcrRequest::from_acr_values(acr_values.unwrap_or(""))
            .map_err(|d| (ErrorCode::InvalidRequest, d))?,
    };
    acr.check_supported(levels).map_err(|_| {
        (
            ErrorCode::UnmetAuthenticationRequirements,
            "none of the requested authentication context classes is supported",
        )
    })?;
    Ok(acr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_from_claims_wins_over_acr_values() {
        let verified = "urn:surety:acr:verified";
        let mut levels = Levels::default();
        levels.define("urn:surety:acr:password", super::super::acr::Level::BASE);
        levels.define(verified, super::super::acr::Level::property(2));
        let c = ClaimsRequest::parse(
            r#"{"id_token":{"acr":{"essential":true,"values":["urn:surety:acr:verified"]}}}"#,
        )
        .unwrap();
        let a = check_acr(&levels, Some("urn:surety:acr:password"), Some(&c)).unwrap();
        assert!(a.essential);
        assert_eq!(a.values, vec![verified]);
        let a = check_acr(&levels, Some(verified), None).unwrap();
        assert!(!a.essential);
        let unsupported =
            ClaimsRequest::parse(r#"{"id_token":{"acr":{"essential":true,"value":"urn:x"}}}"#)
                .unwrap();
        assert_eq!(
            check_acr(&levels, None, Some(&unsupported)).unwrap_err().0,
            ErrorCode::UnmetAuthenticationRequirements
        );
        assert!(check_acr(&levels, Some("urn:x"), None).is_ok(), "voluntary");
    }

    #[test]
    fn prompt_rules() {
        assert_eq!(
            check_prompt(Some("login consent")).unwrap(),
            vec!["login", "consent"]
        );
        assert!(check_prompt(Some("none login")).is_err());
        assert!(check_prompt(Some("bogus")).is_err());
        assert!(check_prompt(None).unwrap().is_empty());
    }

    #[test]
    fn max_age_rules() {
        assert_eq!(check_max_age(Some("0")).unwrap(), Some(0));
        assert!(check_max_age(Some("-1")).is_err());
        assert!(check_max_age(Some("x")).is_err());
    }

    #[test]
    fn response_type_rules() {
        assert!(check_response_type(Some("code")).is_ok());
        assert!(check_response_type(Some("token")).is_err());
        assert!(check_response_type(Some("code id_token")).is_err());
    }
}
