//! People and their browser sessions: argon2id passwords (OWASP parameters, hashed off
//! the async runtime), login with rate limits and lockout, and sessions kept in the
//! ephemeral cache (so every node sees them) with their `auth_time`, `acr` and `amr`.

pub mod password;
pub mod session;
pub mod users;
