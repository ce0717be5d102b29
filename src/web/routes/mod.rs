//! One file per endpoint (house rule 4): extract, call the engine, map the result.

pub mod account_apps;
pub mod account_email;
pub mod account_password;
pub mod account_sessions;
pub mod authorize;
pub mod challenge;
pub mod consent;
pub mod device;
pub mod device_authorization;
pub mod discovery;
pub mod email_verify;
pub mod introspect;
pub mod login;
pub mod logout;
pub mod ops;
pub mod par;
pub mod partner_login;
pub mod passport;
pub mod password_reset;
pub mod portal;
pub mod register;
pub mod signup;
pub mod token;
pub mod userinfo;
