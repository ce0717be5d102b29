//! Administration shared by the admin API and the CLI: registering clients from RFC 7591
//! metadata and creating users; and clients registering themselves (RFC 7591, RFC 7592:
//! `registration`) or known by their metadata documents (`client_documents`), held to
//! the same rules. Every field is validated before anything is stored, and
//! a failure names the field, so nothing is ever half-created.

pub mod auth;
pub mod client_documents;
pub mod client_profile;
mod client_schema;
pub mod client_subject;
pub mod clients;
pub mod metadata;
pub mod outbox;
pub mod registration;
pub mod resource_servers;

/// A refused input, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
    /// The error code: RFC 7591 §3.2.2's for client metadata, else `invalid_request`.
    pub code: &'static str,
}

impl FieldError {
    /// A refused client metadata field (RFC 7591 §3.2.2: `invalid_redirect_uri` for the
    /// redirect URIs, `invalid_client_metadata` for the others).
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        let code = if field == "redirect_uris" {
            "invalid_redirect_uri"
        } else {
            "invalid_client_metadata"
        };
        Self {
            field,
            message: message.into(),
            code,
        }
    }

    /// A refused field of anything else (partners, accounts, users, resource servers,
    /// queries): `invalid_request`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            code: "invalid_request",
        }
    }
}
