//! JSON APIs described by OpenAPI documents (house rule 13).

pub mod admin;
pub mod admin_partners;
pub mod partner;
