//! The server's upkeep pass: expired rows are deleted by the running server, on every
//! backend, without anyone asking.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn the_server_deletes_expired_rows_on_its_own() {
    for backend in all_backends().await {
        let mut settings = settings_for(&backend);
        settings.purge_interval = 1;
        let srv = TestServer::start_with(settings).await;
        let p = &srv.running.provider;
        let now = p.now();
        let grants = &p.stores.grants;
        grants.revoke_jti("expired-jti", now - 10).await.unwrap();
        grants.revoke_jti("live-jti", now + 3600).await.unwrap();
        assert!(grants.is_jti_revoked("expired-jti").await.unwrap());
        // The pass runs on a timer (every `purge_interval` seconds), not on the clock.
        let gone = within(Duration::from_secs(5), || async {
            (!grants.is_jti_revoked("expired-jti").await.unwrap()).then_some(())
        })
        .await;
        assert!(gone.is_some(), "the expired row was not deleted within 5 s");
        assert!(grants.is_jti_revoked("live-jti").await.unwrap());
        srv.shutdown().await;
    }
}
