//! argon2id password hashing with the OWASP-recommended parameters (m = 19 MiB, t = 2,
//! p = 1). Both operations run on the blocking pool, never on the async runtime.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// Longest password accepted (bytes): argon2 is slow by design, so bound the input.
pub const MAX_PASSWORD_LEN: usize = 1024;

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be between 8 and 1024 bytes")]
    Length,
    #[error("password hashing failed")]
    Hash,
}

/// Hashes a new password into a PHC string.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    if password.len() < 8 || password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::Length);
    }
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        crate::clock::fill_random(&mut salt);
        hash_with_salt(&password, &salt)
    })
    .await
    .map_err(|_| PasswordError::Hash)?
}

/// The PHC string for `password` under `salt` (raw bytes; base64-encoded in the string).
fn hash_with_salt(password: &str, salt: &[u8]) -> Result<String, PasswordError> {
    argon2()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// A PHC string for no password at all: verifying against it costs the same as a real
/// check and always fails (used for unknown usernames, against timing probes).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0mXWSR9xkjjUHg/lhuSuDi5ZF7DfmCfqhQU0RLRIj9E";

/// Whether `password` matches the stored PHC string.
pub async fn verify(password: String, phc: String) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    // The algorithm, version and cost parameters are taken from the PHC string, so
    // hashes made with other parameters still verify.
    tokio::task::spawn_blocking(move || {
        argon2()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".into(), h.clone()).await);
        assert!(!verify("wrong horse".into(), h).await);
    }

    /// Hashes stored before the move to argon2 0.6, made by argon2 0.5.3: this module's
    /// parameters with a fixed salt, and argon2-cffi's defaults (m = 64 MiB, t = 3, p = 4).
    const STORED_BY_0_5: &str = "$argon2id$v=19$m=19456,t=2,p=1$BwECAwQFBgcICQoLDA0ODw$ZrEMsW3IBm1n1HYd6V0oPfXEORz0iJxxQtzN1m7rG6c";
    const STORED_OTHER_PARAMS: &str = "$argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$kLzpSTDNCAUSvGXJn5rFoyJi1eJeCE/floSIew1DAiM";

    #[tokio::test]
    async fn hashes_stored_earlier_still_verify() {
        let pw = "correct horse battery staple";
        assert!(verify(pw.into(), STORED_BY_0_5.into()).await);
        assert!(!verify("correct horse battery stapler".into(), STORED_BY_0_5.into()).await);
        assert!(verify("Tr0ub4dor&3".into(), STORED_OTHER_PARAMS.into()).await);
        assert!(!verify(pw.into(), STORED_OTHER_PARAMS.into()).await);
        // Same salt, same parameters: the same PHC string as before, byte for byte.
        let salt = [7u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        assert_eq!(hash_with_salt(pw, &salt).unwrap(), STORED_BY_0_5);
    }

    #[tokio::test]
    async fn short_passwords_and_dummy() {
        assert!(hash("short".into()).await.is_err());
        assert!(!verify("anything".into(), DUMMY_HASH.into()).await);
    }
}
