//! The reference resource API's domain: a small
//! communications API — messages, calls, phone numbers — stored in the database and
//! protected by Surety's credentials. No HTTP here (house rule 5): the web layer
//! authenticates, turns the credential into a [`Caller`] and maps [`ResourceError`].
//!
//! What it enforces, on every operation:
//! - **permissions** from the registry ([`permissions`]): each operation needs one;
//! - **tenancy**: a credential for account X acts on X or any descendant subaccount of
//!   X (found by walking up from the target, at most [`service::MAX_DEPTH`] parents);
//!   anything else is [`ResourceError::NotFound`], so existence is never revealed;
//! - **caller ID**: `from` must be a number the target owns, or, with `callerids:all`,
//!   one its parent or a sibling owns;
//! - **usage limits** ([`metering`]): metered calls count per account and month and
//!   roll up to every ancestor; past a limit anywhere up the line the call is refused.
//!
//! Scoped API keys and the Basic credentials (account auth token, key secret) are
//! [`keys`].

pub mod keys;
pub mod metering;
pub mod permissions;
pub mod service;
pub mod values;

use crate::store::StoreError;
use permissions::{Permission, Permissions};

/// Who is acting: the account a credential is for, and what it may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub account_sid: String,
    pub permissions: Permissions,
}

/// Why an operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// No such account or record, or one the caller may not see.
    #[error("not found")]
    NotFound,
    /// The credential's own account is closed: the credential no longer authenticates.
    #[error("the credential's account is closed")]
    CallerClosed,
    /// The caller's account (or its partner), or for a change the target or an account
    /// between them, is suspended.
    #[error("account suspended")]
    Suspended,
    /// A change to a closed account.
    #[error("account closed")]
    Closed,
    /// The credential lacks this permission.
    #[error("missing permission {0}")]
    MissingPermission(Permission),
    /// `from` is not a number the account may use as caller ID.
    #[error("caller ID refused")]
    CallerIdRefused,
    /// A monthly usage limit (the target's or an ancestor's) is reached; it resets in
    /// `retry_after` seconds.
    #[error("usage limit of {limit} reached")]
    LimitReached { limit: i64, retry_after: i64 },
    /// A request field is malformed.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: std::borrow::Cow<'static, str>,
    },
    /// The phone number is already owned.
    #[error("number not available")]
    NumberTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ResourceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ResourceError::NotFound,
            e => ResourceError::Store(e),
        }
    }
}
