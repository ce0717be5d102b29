//! Surety's integration tests: one binary, a module per spec feature. Every test spawns
//! its own server (see `helpers`).

// All of this crate is test code, helpers included: clippy's allow-unwrap-in-tests and
// allow-expect-in-tests cover only `#[test]` functions and `#[cfg(test)]` modules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod agents;
mod alerts;
mod api_keys;
mod apps;
mod apps_consent;
mod apps_revoke;
mod authorize;
mod backchannel;
mod claims;
mod client_documents;
mod connections;
mod device;
mod device_rules;
mod discovery;
mod dpop;
mod eligibility;
mod email_verify;
mod entities;
mod errors;
mod factor_rules;
mod factors;
mod fapi;
mod form_post;
mod introspection;
mod jwt_bearer;
mod keys;
mod lockout;
mod logout;
mod multinode;
mod ops;
mod outbox;
mod pairwise;
mod pairwise_sector;
mod par;
mod partner_api;
mod partner_keys;
mod passkeys;
mod password_reset;
mod portal;
mod refresh;
mod registration;
mod registration_management;
mod replay;
mod request_object;
mod resilience;
mod resource_api;
mod resources;
mod rp_flow;
mod smtp_sink;
mod step_up;
mod token;
mod token_exchange;
mod token_exchange_users;
mod upkeep;
mod verify_api;
mod verify_match;
mod verify_questions;
mod verify_rp;
