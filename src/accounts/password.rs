//! argon2id password hashing with the OWASP-recommended parameters (m = 19 MiB, t = 2,
//! p = 1). Both operations run on the blocking pool, never on the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

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
        let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hash)
    })
    .await
    .map_err(|_| PasswordError::Hash)?
}

/// A PHC string for no password at all: verifying against it costs the same as a real
/// check and always fails (used for unknown usernames, against timing probes).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0mXWSR9xkjjUHg/lhuSuDi5ZF7DfmCfqhQU0RLRIj9E";

/// Whether `password` matches the stored PHC string.
pub async fn verify(password: String, phc: String) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
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

    #[tokio::test]
    async fn short_passwords_and_dummy() {
        assert!(hash("short".into()).await.is_err());
        assert!(!verify("anything".into(), DUMMY_HASH.into()).await);
    }
}
