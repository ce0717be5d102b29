//! JSON APIs described by OpenAPI documents (house rule 13).

pub mod admin;
pub mod admin_outbox;
pub mod admin_partners;
pub mod developer;
pub mod partner;
pub mod resource;
