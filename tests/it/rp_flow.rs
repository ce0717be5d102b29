//! The authorization-code flow end to end, driven by the `openidconnect` crate as the
//! relying party: discovery, PKCE, ID-token validation against the served JWKS, UserInfo.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::*;

#[tokio::test]
async fn openidconnect_rp_completes_the_code_flow_on_every_backend() {
    for backend in all_backends().await {
        let srv = TestServer::start_on(&backend).await;
        srv.user("alice").await;
        let (id, secret) = srv.web_client().await;
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let meta =
            CoreProviderMetadata::discover_async(IssuerUrl::new(srv.base.clone()).unwrap(), &http)
                .await
                .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(id),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9/cb".into()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let cb = authorize(&srv, &srv.browser, url.as_str(), "alice").await;
        assert_eq!(
            query_param(&cb, "state").as_deref(),
            Some(state.secret().as_str())
        );
        assert_eq!(
            query_param(&cb, "iss").as_deref(),
            Some(srv.base.as_str()),
            "RFC 9207 iss"
        );
        let code = query_param(&cb, "code").expect("code");
        let resp = client
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("code exchange");
        let id_token = resp.id_token().expect("id_token");
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &nonce)
            .expect("ID token validates against the JWKS");
        assert_eq!(
            claims.preferred_username().map(|u| u.as_str()),
            Some("alice")
        );
        assert!(claims.auth_time().is_some());
        assert_eq!(
            claims.auth_context_ref().map(|a| a.as_str()),
            Some("urn:surety:acr:password")
        );
        let at_hash = claims.access_token_hash().expect("at_hash");
        let expected = AccessTokenHash::from_token(
            resp.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(at_hash, &expected);
        assert!(resp.refresh_token().is_some());
        let info: CoreUserInfoClaims = client
            .user_info(resp.access_token().clone(), None)
            .expect("userinfo endpoint")
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
        srv.shutdown().await;
    }
}
