//! JSON APIs described by OpenAPI documents (house rule 13). Handlers extract (the body
//! with [`crate::web::json::JsonBody`], the query with [`query::Query`]), call the
//! domain, and map its answer; every refusal is one [`error::ApiError`].

pub mod admin;
pub mod admin_outbox;
pub mod admin_partners;
pub mod admin_registration;
pub mod admin_resources;
pub mod admin_sessions;
pub mod contract;
pub mod developer;
pub mod error;
pub mod partner;
pub mod query;
pub mod resource;
pub mod verify;
pub mod verify_agents;
pub mod verify_auth;
pub mod verify_promotions;
