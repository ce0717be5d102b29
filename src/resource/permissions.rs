//! The permission registry: every permission the platform defines, with the plain-words
//! description the consent screen shows, and which one each resource route needs.
//! Tokens carry permissions as OAuth scope tokens (RFC 6749 §3.3); an account's own
//! credentials (account SID + auth token) carry all of them.

use std::fmt;

use crate::oauth::scope::Scope;

/// A permission an app can ask for and a user can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// List logs and records (messages, calls, numbers, usage).
    Read,
    /// Place calls.
    CallsWrite,
    /// Send messages.
    MessagesSend,
    /// Buy and release phone numbers.
    NumbersManage,
    /// Use a parent's or sibling's number as caller ID.
    CallerIdsAll,
}

impl Permission {
    /// Every permission, in the order a consent screen lists them.
    pub const ALL: [Permission; 5] = [
        Permission::Read,
        Permission::CallsWrite,
        Permission::MessagesSend,
        Permission::NumbersManage,
        Permission::CallerIdsAll,
    ];

    /// The scope token that carries this permission.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::CallsWrite => "calls:write",
            Permission::MessagesSend => "messages:send",
            Permission::NumbersManage => "numbers:manage",
            Permission::CallerIdsAll => "callerids:all",
        }
    }

    /// What granting it allows, in plain words (shown on the consent screen).
    pub fn description(self) -> &'static str {
        match self {
            Permission::Read => "See your message and call logs, phone numbers and usage",
            Permission::CallsWrite => "Place phone calls from your numbers",
            Permission::MessagesSend => "Send text messages from your numbers",
            Permission::NumbersManage => "Buy and release phone numbers (this may cost money)",
            Permission::CallerIdsAll => {
                "Use the numbers of your main account and its other apps as caller ID"
            }
        }
    }

    /// The permission a scope token names, if it is one of the registry's.
    pub fn parse(s: &str) -> Option<Permission> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permissions a credential carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permissions {
    /// The account's own credentials: everything.
    All,
    /// The registry permissions named in a token's scope (other scope tokens ignored).
    Only(Vec<Permission>),
}

impl Permissions {
    /// The registry permissions in `scope`.
    pub fn from_scope(scope: &Scope) -> Self {
        let mut v: Vec<Permission> = scope.iter().filter_map(Permission::parse).collect();
        v.sort();
        Permissions::Only(v)
    }

    pub fn allows(&self, p: Permission) -> bool {
        match self {
            Permissions::All => true,
            Permissions::Only(v) => v.contains(&p),
        }
    }
}

/// A permission's name (in the OpenAPI documents only): one of [`Permission::ALL`].
pub struct PermissionName;

impl utoipa::PartialSchema for PermissionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Permission::ALL.map(Permission::as_str)))
            .into()
    }
}
impl utoipa::ToSchema for PermissionName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_and_is_described() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert!(!p.description().is_empty());
            assert!(
                Scope::parse(p.as_str()).is_some(),
                "{p} is a valid scope token"
            );
        }
        assert_eq!(Permission::parse("calls:read"), None);
        assert_eq!(Permission::parse("READ"), None);
    }

    #[test]
    fn scope_yields_only_registry_permissions() {
        let s = Scope::parse("openid read messages:send partner:api").unwrap();
        let p = Permissions::from_scope(&s);
        assert_eq!(
            p,
            Permissions::Only(vec![Permission::Read, Permission::MessagesSend])
        );
        assert!(p.allows(Permission::Read));
        assert!(!p.allows(Permission::CallsWrite));
        assert!(Permissions::All.allows(Permission::CallerIdsAll));
    }
}
