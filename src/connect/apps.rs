//! Registering a developer's app: an OAuth client (RFC 7591 metadata, validated as for
//! any client) plus its display details, permission profile, usage limits and
//! deauthorize callback. The client's registered `scope` is its profile plus the OpenID
//! scopes, so the authorization and token endpoints refuse anything beyond the profile
//! with `invalid_scope`.
//!
//! The developer API and `surety apps` share one path ([`register`], [`list`], [`get`],
//! [`remove`]); an app and its client are stored and deleted together, in one
//! transaction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppPermission;
use crate::admin::FieldError;
use crate::admin::clients::{self, ClientInput};
use crate::clock::{Entropy, Timestamp};
use crate::keys::KeyRing;
use crate::resource::permissions;
use crate::store::{
    AccountSid, AppRecord, ClientId, ClientRecord, StoreError, Stores, UsageLimits,
};

/// The OpenID scopes every app may also ask for.
pub const OIDC_SCOPES: &str = "openid profile email offline_access";

/// A new app as a developer submits it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInput {
    pub display_name: String,
    pub homepage: Option<String>,
    pub logo_url: Option<String>,
    /// The authorize callback(s).
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    pub permissions: Vec<AppPermission>,
    #[schema(value_type = Option<UsageLimits>)]
    pub usage_limits: Option<Value>,
    pub deauthorize_uri: Option<String>,
}

/// An app as returned (the client secret only at creation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppOutput {
    pub client_id: ClientId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Signs the deauthorize callback (`Surety-Signature`, see docs/webhooks.md); shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    pub developer_sid: AccountSid,
    pub display_name: String,
    pub homepage: Option<String>,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub permissions: Vec<AppPermission>,
    pub usage_limits: UsageLimits,
    pub deauthorize_uri: Option<String>,
    pub created_at: Timestamp,
}

impl AppOutput {
    pub fn of(
        app: &AppRecord,
        client: &ClientRecord,
        secret: Option<String>,
        webhook_secret: Option<String>,
    ) -> Self {
        Self {
            client_id: app.client_id.clone(),
            client_secret: secret,
            webhook_secret,
            developer_sid: app.developer_sid.clone(),
            display_name: app.display_name.clone(),
            homepage: app.homepage.clone(),
            logo_url: app.logo_url.clone(),
            redirect_uris: client.metadata.redirect_uris.clone(),
            permissions: app.permissions.clone(),
            usage_limits: app.usage_limits.clone(),
            deauthorize_uri: app.deauthorize_uri.clone(),
            created_at: app.created_at,
        }
    }
}

fn web_url(field: &'static str, u: &Option<String>) -> Result<(), FieldError> {
    match u {
        Some(u) if crate::partners::branding::web_url(u).is_none() => Err(FieldError::new(
            field,
            "an https URL (http only on loopback)",
        )),
        _ => Ok(()),
    }
}

fn check_permissions(perms: &[AppPermission]) -> Result<String, FieldError> {
    if perms.is_empty() {
        return Err(FieldError::new(
            "permissions",
            "ask for at least one permission",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for p in perms {
        if permissions::Permission::parse(&p.name).is_none() {
            return Err(FieldError::new(
                "permissions",
                format!("unknown permission {}", p.name),
            ));
        }
        if names.contains(&p.name.as_str()) {
            return Err(FieldError::new(
                "permissions",
                format!("{} is listed twice", p.name),
            ));
        }
        names.push(&p.name);
    }
    if perms.iter().all(|p| p.optional) {
        return Err(FieldError::new(
            "permissions",
            "at least one permission must be required",
        ));
    }
    Ok(names.join(" "))
}

fn check_limits(v: &Option<Value>) -> Result<UsageLimits, FieldError> {
    let Some(v) = v else {
        return Ok(UsageLimits::default());
    };
    let invalid = || FieldError::new("usage_limits", "only max_monthly_api_calls, at least 1");
    let l = UsageLimits::deserialize(v).map_err(|_| invalid())?;
    if l.max_monthly_api_calls
        .is_some_and(|n| n == 0 || n > i64::MAX as u64)
    {
        return Err(invalid());
    }
    Ok(l)
}

/// A new webhook signing secret for an app (shown once; the caller seals it).
pub fn new_webhook_secret(rng: &dyn Entropy) -> String {
    rng.token(32)
}

/// Validates an app for `developer_sid`; returns the client (with its secret, both drawn
/// from `rng`) and the app.
pub fn build(
    rng: &dyn Entropy,
    input: AppInput,
    developer_sid: &AccountSid,
    known_grants: &[&str],
    now: Timestamp,
) -> Result<(ClientRecord, Option<String>, AppRecord), FieldError> {
    let name = input.display_name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(FieldError::new("display_name", "1 to 128 characters"));
    }
    web_url("homepage", &input.homepage)?;
    web_url("logo_url", &input.logo_url)?;
    web_url("deauthorize_uri", &input.deauthorize_uri)?;
    let perms = check_permissions(&input.permissions)?;
    let usage_limits = check_limits(&input.usage_limits)?;
    let metadata = clients::validate(
        ClientInput {
            client_name: Some(name.to_owned()),
            redirect_uris: input.redirect_uris,
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            token_endpoint_auth_method: input.token_endpoint_auth_method,
            scope: Some(format!("{OIDC_SCOPES} {perms}")),
            jwks: input.jwks,
            ..ClientInput::default()
        },
        known_grants,
    )?;
    let (client, secret) = clients::new_client(rng, metadata, now);
    let app = AppRecord {
        client_id: client.client_id.clone(),
        developer_sid: developer_sid.clone(),
        display_name: name.to_owned(),
        homepage: input.homepage,
        logo_url: input.logo_url,
        permissions: input.permissions,
        usage_limits,
        deauthorize_uri: input.deauthorize_uri,
        webhook_secret_sealed: None,
        created_at: now,
    };
    Ok((client, secret, app))
}

/// Why an app request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such app, or not this developer's.
    #[error("no such app")]
    NotFound,
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The webhook secret could not be sealed (the key-encryption key failed).
    #[error("sealing the webhook secret failed: {0}")]
    Seal(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            e => AppError::Store(e),
        }
    }
}

/// Validates and registers an app of `developer_sid`: the client and the app in one
/// transaction, with a new webhook signing secret (stored sealed). The output carries
/// the client secret (if any) and the webhook secret, shown this once.
pub async fn register(
    stores: &Stores,
    rng: &dyn Entropy,
    keys: &KeyRing,
    developer_sid: &AccountSid,
    input: AppInput,
    known_grants: &[&str],
    now: Timestamp,
) -> Result<AppOutput, AppError> {
    let (client, secret, mut app) = build(rng, input, developer_sid, known_grants, now)?;
    let webhook_secret = new_webhook_secret(rng);
    let sealed = keys.seal_secret(app.client_id.as_bytes(), webhook_secret.as_bytes());
    app.webhook_secret_sealed = Some(sealed.map_err(|e| AppError::Seal(e.to_string()))?);
    stores.apps.create_app(&client, &app).await?;
    Ok(AppOutput::of(&app, &client, secret, Some(webhook_secret)))
}

/// A developer's apps, oldest first.
pub async fn list(stores: &Stores, developer_sid: &str) -> Result<Vec<AppOutput>, AppError> {
    let mut out = Vec::new();
    for app in stores.apps.list_apps(developer_sid).await? {
        let client = stores.clients.get_client(&app.client_id).await?;
        out.push(AppOutput::of(&app, &client, None, None));
    }
    Ok(out)
}

/// The app `client_id`, if `developer_sid` owns it (`None`: an operator, any app).
async fn owned(
    stores: &Stores,
    developer_sid: Option<&str>,
    client_id: &str,
) -> Result<AppRecord, AppError> {
    let app = stores.apps.get_app(client_id).await?;
    match developer_sid {
        Some(d) if d != app.developer_sid => Err(AppError::NotFound),
        _ => Ok(app),
    }
}

/// One app, if `developer_sid` owns it (`None`: an operator, any app).
pub async fn get(
    stores: &Stores,
    developer_sid: Option<&str>,
    client_id: &str,
) -> Result<AppOutput, AppError> {
    let app = owned(stores, developer_sid, client_id).await?;
    let client = stores.clients.get_client(client_id).await?;
    Ok(AppOutput::of(&app, &client, None, None))
}

/// Deletes an app and its client in one transaction, if `developer_sid` owns it
/// (`None`: an operator, any app); the client stops authenticating at once.
pub async fn remove(
    stores: &Stores,
    developer_sid: Option<&str>,
    client_id: &str,
) -> Result<(), AppError> {
    owned(stores, developer_sid, client_id).await?;
    let deleted = stores.apps.delete_app_and_client(client_id).await;
    stores.clients.forget_cached(client_id);
    Ok(deleted?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemEntropy;

    fn input() -> AppInput {
        AppInput {
            display_name: "Dialer".into(),
            redirect_uris: vec!["https://dialer.example/cb".into()],
            permissions: vec![
                AppPermission {
                    name: "read".into(),
                    optional: false,
                },
                AppPermission {
                    name: "calls:write".into(),
                    optional: true,
                },
            ],
            ..AppInput::default()
        }
    }

    fn dev() -> AccountSid {
        AccountSid::parse("AC00000000000000000000000000000de0").unwrap()
    }

    #[test]
    fn an_app_is_a_client_limited_to_its_profile() {
        let (c, secret, app) = build(
            &SystemEntropy,
            input(),
            &AccountSid::parse("AC00000000000000000000000000000de0").unwrap(),
            &["authorization_code", "refresh_token"],
            1,
        )
        .unwrap();
        assert!(secret.is_some());
        assert_eq!(
            c.metadata.scope.as_deref(),
            Some("openid profile email offline_access read calls:write")
        );
        assert_eq!(app.client_id, c.client_id);
    }

    #[test]
    fn bad_profiles_are_refused() {
        let g = &["authorization_code", "refresh_token"];
        let unknown = AppInput {
            permissions: vec![AppPermission {
                name: "root".into(),
                optional: false,
            }],
            ..input()
        };
        assert_eq!(
            build(&SystemEntropy, unknown, &dev(), g, 0)
                .unwrap_err()
                .field,
            "permissions"
        );
        let all_optional = AppInput {
            permissions: vec![AppPermission {
                name: "read".into(),
                optional: true,
            }],
            ..input()
        };
        assert_eq!(
            build(&SystemEntropy, all_optional, &dev(), g, 0)
                .unwrap_err()
                .field,
            "permissions"
        );
        let limits = AppInput {
            usage_limits: Some(serde_json::json!({"max_monthly_api_calls": -1})),
            ..input()
        };
        assert_eq!(
            build(&SystemEntropy, limits, &dev(), g, 0)
                .unwrap_err()
                .field,
            "usage_limits"
        );
        let cb = AppInput {
            deauthorize_uri: Some("http://evil.example/x".into()),
            ..input()
        };
        assert_eq!(
            build(&SystemEntropy, cb, &dev(), g, 0).unwrap_err().field,
            "deauthorize_uri"
        );
    }
}
