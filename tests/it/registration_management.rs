//! Managing a registration (RFC 7592): the client reads, replaces (its registration
//! access token rotated, the old one refused) and deletes it (its tokens revoked); and a
//! client registered by a third-party library (`openidconnect`, with an initial access
//! token) runs the code flow.

use reqwest::StatusCode;
use serde_json::{Value, json};
use surety::config::RegistrationMode;

use crate::helpers::*;
use crate::registration::{CB, mint, refusal, registered, with_registration};

#[tokio::test]
async fn clients_read_replace_and_delete_their_registration() {
    for backend in all_backends().await {
        let srv = TestServer::start_with(with_registration(&backend, RegistrationMode::Open)).await;
        srv.user("alice").await;
        let c = registered(&srv, None, json!({"client_name": "Mine", "redirect_uris": [CB],
                                               "grant_types": ["authorization_code", "refresh_token"]})).await;
        let id = c["client_id"].as_str().unwrap().to_owned();
        let secret = c["client_secret"].as_str().unwrap().to_owned();
        let uri = c["registration_client_uri"].as_str().unwrap().to_owned();
        let rat = c["registration_access_token"].as_str().unwrap().to_owned();
        let get = |t: &str| srv.api.get(&uri).bearer_auth(t).send();

        let r = get(&rat).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let read: Value = r.json().await.unwrap();
        assert_eq!(read["client_name"], "Mine");
        assert!(
            read.get("registration_access_token").is_none() && read.get("client_secret").is_none()
        );
        for (t, u) in [
            ("wrong", uri.clone()),
            (rat.as_str(), srv.url("/register/someone-else")),
        ] {
            let r = srv.api.get(&u).bearer_auth(t).send().await.unwrap();
            assert_eq!(
                refusal(r).await,
                (StatusCode::UNAUTHORIZED, "invalid_token".into())
            );
        }
        // An admin-registered client has no registration to manage.
        let (admin_client, _) = srv.web_client().await;
        let r = srv
            .api
            .get(srv.url(&format!("/register/{admin_client}")))
            .bearer_auth(&rat)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Replace: the whole metadata; a new token, the old one spent.
        let mut replacement = json!({"client_id": id, "client_secret": secret, "client_name": "Renamed",
                                     "redirect_uris": [CB], "grant_types": ["authorization_code", "refresh_token"],
                                     "registration_access_token": rat, "registration_client_uri": uri});
        let r = srv
            .api
            .put(&uri)
            .bearer_auth(&rat)
            .json(&replacement)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let updated: Value = r.json().await.unwrap();
        assert_eq!(updated["client_name"], "Renamed");
        let rat2 = updated["registration_access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(rat2, rat);
        assert_eq!(
            get(&rat).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "the old token is refused"
        );
        assert_eq!(get(&rat2).await.unwrap().status(), StatusCode::OK);
        replacement["client_id"] = json!("another");
        let r = srv
            .api
            .put(&uri)
            .bearer_auth(&rat2)
            .json(&replacement)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refusal(r).await,
            (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
        );
        replacement["client_id"] = json!(id);
        replacement["client_secret"] = json!("chosen-by-the-client");
        let r = srv
            .api
            .put(&uri)
            .bearer_auth(&rat2)
            .json(&replacement)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refusal(r).await,
            (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
        );

        // The client's tokens die with it.
        let tokens = tokens(&srv, &(id.clone(), secret.clone()), "alice").await;
        let at = tokens["access_token"].as_str().unwrap();
        let userinfo = || srv.api.get(srv.url("/userinfo")).bearer_auth(at).send();
        assert_eq!(userinfo().await.unwrap().status(), StatusCode::OK);
        let r = srv
            .api
            .delete(&uri)
            .bearer_auth(&rat2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(get(&rat2).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(userinfo().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let r = token_request(
            &srv,
            &(id, secret),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the client is gone");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_client_registered_by_openidconnect_runs_the_code_flow() {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreClientRegistrationRequest, CoreGrantType,
        CoreProviderMetadata,
    };
    use openidconnect::{
        AccessToken, AuthorizationCode, ClientName, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
        RedirectUrl, RegistrationUrl, Scope, TokenResponse,
    };
    for backend in all_backends().await {
        let srv =
            TestServer::start_with(with_registration(&backend, RegistrationMode::Token)).await;
        srv.user("alice").await;
        let iat = mint(&srv, json!({"redirect_uris": ["http://127.0.0.1:*/cb"]})).await;
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let meta =
            CoreProviderMetadata::discover_async(IssuerUrl::new(srv.base.clone()).unwrap(), &http)
                .await
                .expect("discovery");
        let endpoint: RegistrationUrl = meta
            .registration_endpoint()
            .expect("registration_endpoint")
            .clone();
        let redirect = RedirectUrl::new(CB.into()).unwrap();
        let reg = CoreClientRegistrationRequest::new(vec![redirect.clone()], Default::default())
            .set_grant_types(Some(vec![
                CoreGrantType::AuthorizationCode,
                CoreGrantType::RefreshToken,
            ]))
            .set_client_name(Some(ClientName::new("openidconnect RP".into()).into()))
            .set_initial_access_token(Some(AccessToken::new(
                iat["token"].as_str().unwrap().into(),
            )))
            .register_async(&endpoint, &http)
            .await
            .expect("registration");
        assert!(
            reg.registration_access_token().is_some() && reg.registration_client_uri().is_some()
        );
        let client = CoreClient::from_provider_metadata(
            meta,
            reg.client_id().clone(),
            reg.client_secret().cloned(),
        )
        .set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let cb = authorize(&srv, &srv.browser, url.as_str(), "alice").await;
        let code = query_param(&cb, "code").expect("code");
        let resp = client
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("code exchange");
        let claims = resp
            .id_token()
            .expect("id_token")
            .claims(&client.id_token_verifier(), &nonce)
            .expect("ID token validates");
        assert_eq!(claims.audiences()[0].as_str(), reg.client_id().as_str());
        srv.shutdown().await;
    }
}
