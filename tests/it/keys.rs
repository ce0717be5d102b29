//! Key rotation: `surety keys rotate` publishes the next key before it signs, and keeps the
//! retired key published while tokens it signed may still be live.

use std::process::Command;

use serde_json::Value;
use surety::keys::jws;

use crate::helpers::*;

async fn es256_kids(srv: &TestServer) -> Vec<String> {
    let v: Value = srv
        .api
        .get(srv.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn signing_kid(srv: &TestServer, c: &(String, String)) -> String {
    let t: Value = token_request(srv, c, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    jws::peek(t["access_token"].as_str().unwrap())
        .unwrap()
        .0
        .kid
        .unwrap()
}

#[tokio::test]
async fn rotation_publishes_before_signing_and_keeps_the_old_key() {
    let settings = settings_for(&Backend::Embedded);
    let data_dir = settings.data_dir.clone();
    let clock = fixed_clock();
    let srv = TestServer::start_with_clock(settings, clock.clone()).await;
    let (id, secret) = srv
        .client(serde_json::json!({"grant_types": ["client_credentials"]}))
        .await;
    let c = (id, secret.unwrap());
    use std::os::unix::fs::PermissionsExt;
    for f in ["keys/kek", "surety.db"] {
        let mode = std::fs::metadata(data_dir.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f} must be private");
    }
    let before = es256_kids(&srv).await;
    assert_eq!(before.len(), 1);
    let old = signing_kid(&srv, &c).await;
    assert_eq!(old, before[0]);
    let out = Command::new(env!("CARGO_BIN_EXE_surety"))
        .args(["keys", "rotate", "--activate-in", "2"])
        .env("SURETY_DATA_DIR", &data_dir)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The node picks the new keys up on its next reload (periodic, or on an unknown kid).
    srv.provider().keys.reload().await.unwrap();
    let after = es256_kids(&srv).await;
    assert_eq!(after.len(), 2, "the next key is published before it signs");
    assert_eq!(
        signing_kid(&srv, &c).await,
        old,
        "the new key does not sign yet"
    );
    // The CLI dated the activation by the real clock: move the server's to that moment.
    let real = surety::clock::Clock::now(&surety::clock::SystemClock);
    clock.advance(real - surety::clock::Clock::now(&clock) + 2);
    let new = signing_kid(&srv, &c).await;
    assert_ne!(new, old, "the new key signs after activation");
    assert!(
        es256_kids(&srv).await.contains(&old),
        "the retired key stays published while its tokens live"
    );
    srv.shutdown().await;
}
