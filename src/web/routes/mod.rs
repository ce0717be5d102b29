//! One file per endpoint (house rule 4): extract, call the engine, map the result.

pub mod account_apps;
pub mod account_security;
pub mod account_sessions;
pub mod authenticate;
pub mod authorize;
pub mod challenge;
pub mod consent;
pub mod device;
pub mod device_authorization;
pub mod discovery;
pub mod introspect;
pub mod login;
pub mod logout;
pub mod ops;
pub mod par;
pub mod partner_login;
pub mod passkeys;
pub mod passport;
pub mod portal;
pub mod signup;
pub mod token;
pub mod userinfo;
