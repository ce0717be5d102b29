//! JSON APIs described by OpenAPI documents (house rule 13).

pub mod admin;
pub mod admin_outbox;
pub mod admin_partners;
pub mod admin_resources;
pub mod contract;
pub mod developer;
pub mod partner;
pub mod resource;
pub mod verify;
pub mod verify_agents;
pub mod verify_auth;
pub mod verify_promotions;
