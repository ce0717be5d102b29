//! People and their browser sessions: argon2id passwords (OWASP parameters, hashed off
//! the async runtime), login with rate limits and lockout, and sessions kept in the
//! ephemeral cache (so every node sees them) with their `auth_time`, `acr` and `amr`;
//! the password login as the engine's first authentication step; e-mail verification,
//! password reset and change through signed single-use links sent by the outbox; the
//! second factors (TOTP, recovery codes, passkeys) and the assurance ladder they climb.

pub mod assurance;
pub mod email;
pub mod factors;
pub mod links;
pub mod login_step;
pub mod passkeys;
pub mod password;
pub mod recovery;
pub mod reset;
pub mod session;
pub mod sessions;
pub mod totp;
pub mod users;
