//! `surety serve --demo`: seeds a confidential client, a public client and a user, and
//! prints their credentials with a ready-to-click authorization URL. Idempotent: on each
//! start the demo secrets and password are re-issued.

use crate::accounts::password;
use crate::admin::clients::{self, ClientInput};
use crate::clock::Timestamp;
use crate::oauth::provider::Provider;
use crate::store::{ClientId, ClientRecord, StoreError, UserRecord};
use crate::util::{b64, secret_hash, sha256};
use anyhow::Context;

pub const DEMO_CONFIDENTIAL: &str = "demo-web";
pub const DEMO_PUBLIC: &str = "demo-spa";
pub const DEMO_USER: &str = "demo";

/// What the demo seeding created.
pub struct Demo {
    pub client_secret: String,
    pub password: String,
    pub authorize_url: String,
}

pub async fn seed(p: &Provider) -> anyhow::Result<Demo> {
    let now = p.now();
    let redirect = "http://127.0.0.1:9999/callback".to_owned();
    let secret = p.entropy.token(24);
    let conf = ClientInput {
        client_name: Some("Demo web app".into()),
        redirect_uris: vec![redirect.clone()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9999/".into()],
        grant_types: Some(vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ]),
        scope: Some("openid profile email offline_access api:read".into()),
        ..Default::default()
    };
    upsert_client(p, DEMO_CONFIDENTIAL, conf, Some(&secret), now).await?;
    let public = ClientInput {
        client_name: Some("Demo single-page app".into()),
        redirect_uris: vec![redirect.clone()],
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        token_endpoint_auth_method: Some("none".into()),
        ..Default::default()
    };
    upsert_client(p, DEMO_PUBLIC, public, None, now).await?;
    let pw = p.entropy.token(12);
    upsert_user(p, &pw, now).await?;
    let verifier = "demo-verifier-demo-verifier-demo-verifier-0123";
    let challenge = b64(&sha256(verifier.as_bytes()));
    let authorize_url = crate::oauth::authorize::with_query(
        &p.url(crate::oauth::provider::paths::AUTHORIZE),
        &[
            ("response_type", "code"),
            ("client_id", DEMO_CONFIDENTIAL),
            ("redirect_uri", &redirect),
            ("scope", "openid profile email"),
            ("state", "demo-state"),
            ("nonce", "demo-nonce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    Ok(Demo {
        client_secret: secret,
        password: pw,
        authorize_url,
    })
}

async fn upsert_client(
    p: &Provider,
    id: &str,
    input: ClientInput,
    secret: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let known: Vec<&str> = p.grants.grant_types().collect();
    let metadata = clients::validate(input, &known).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rec = ClientRecord {
        client_id: ClientId::parse(id).context("demo client id")?,
        secret_hash: secret.map(secret_hash),
        metadata,
        created_at: now,
    };
    match p.stores.clients.get_client(id).await {
        Ok(_) => p.stores.clients.update_client(&rec).await?,
        Err(StoreError::NotFound) => p.stores.clients.insert_client(&rec).await?,
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

async fn upsert_user(p: &Provider, pw: &str, now: Timestamp) -> anyhow::Result<()> {
    if let Ok(u) = p.stores.users.find_user_by_username(DEMO_USER).await {
        p.stores.users.delete_user(&u.sub).await?;
    }
    let hash = password::hash(pw.to_owned()).await?;
    p.stores
        .users
        .insert_user(&UserRecord {
            sub: "demo-user".into(),
            username: DEMO_USER.into(),
            password_hash: hash,
            email: Some("demo@example.com".into()),
            email_verified_at: None,
            name: Some("Demo User".into()),
            created_at: now,
        })
        .await?;
    Ok(())
}

/// The banner printed at start-up.
pub fn banner(p: &Provider, d: &Demo) -> String {
    format!(
        "\nSurety demo data\n  issuer:               {issuer}\n  discovery:            {issuer}/.well-known/openid-configuration\n  confidential client:  client_id={DEMO_CONFIDENTIAL} client_secret={secret}\n  public client:        client_id={DEMO_PUBLIC} (PKCE, no secret)\n  user:                 username={DEMO_USER} password={pw}\n  PKCE code_verifier:   demo-verifier-demo-verifier-demo-verifier-0123\n  try it:               {url}\n  (the redirect to 127.0.0.1:9999 carries the code; exchange it at {issuer}/token)\n",
        issuer = p.issuer,
        secret = d.client_secret,
        pw = d.password,
        url = d.authorize_url,
    )
}
