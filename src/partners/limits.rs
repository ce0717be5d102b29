//! A partner's (and one account's) limits: what an admin or partner may submit, how
//! they narrow a token's scope, and their OpenAPI schema. The type is the store's
//! ([`crate::store::PartnerLimits`], held typed by partner and account records); its
//! schema lives here because `allowed_scopes` names the resource registry's permissions,
//! which the store does not know.

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};

use crate::admin::FieldError;
use crate::oauth::scope::Scope;
use crate::resource::permissions::{Permission, PermissionName};
pub use crate::store::PartnerLimits;

/// Reads submitted limits (`None`: none), checked.
pub fn parse(v: Option<&Value>) -> Result<PartnerLimits, FieldError> {
    let Some(v) = v else {
        return Ok(PartnerLimits::default());
    };
    let l =
        PartnerLimits::deserialize(v).map_err(|e| FieldError::invalid("limits", e.to_string()))?;
    check(&l)?;
    Ok(l)
}

/// Checks what an admin or partner submitted: `allowed_scopes` names permissions of the
/// registry only (never an internal scope such as `partner:api` or `verify`).
pub fn check(l: &PartnerLimits) -> Result<(), FieldError> {
    if l.max_assertion_lifetime
        .is_some_and(|l| !(1..=3600).contains(&l))
    {
        return Err(FieldError::invalid(
            "limits",
            "max_assertion_lifetime between 1 and 3600",
        ));
    }
    for (field, acr) in [("minimum_acr", &l.minimum_acr), ("max_acr", &l.max_acr)] {
        if let Some(a) = acr {
            crate::accounts::assurance::parse_policy(a)
                .map_err(|m| FieldError::invalid("limits", format!("{field}: {m}")))?;
        }
    }
    if l.max_monthly_api_calls.is_some_and(|n| n > i64::MAX as u64) {
        return Err(FieldError::invalid(
            "limits",
            "max_monthly_api_calls at most 9223372036854775807",
        ));
    }
    if l.allowed_scopes
        .iter()
        .flatten()
        .any(|s| Permission::parse(s).is_none())
    {
        return Err(FieldError::invalid(
            "limits",
            "allowed_scopes may name only permissions of the registry",
        ));
    }
    Ok(())
}

/// The most a token acting on an account may carry: `all` (the delegable resource
/// scopes), narrowed by the partner's and then the account's `allowed_scopes`, less
/// what either denies.
pub fn scope_ceiling(all: &Scope, partner: &PartnerLimits, account: &PartnerLimits) -> Scope {
    let list = |v: &[String]| Scope::parse(&v.join(" ")).unwrap_or_default();
    let mut ceiling = all.clone();
    for l in [partner, account] {
        if let Some(allowed) = &l.allowed_scopes {
            ceiling = ceiling.intersection(&list(allowed));
        }
    }
    ceiling
        .difference(&list(&partner.denied_scopes))
        .difference(&list(&account.denied_scopes))
}

fn nullable(t: Type) -> SchemaType {
    SchemaType::from_iter([t, Type::Null])
}

fn integer(min: i64, max: Option<i64>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(max)
}

fn acr_value() -> ObjectBuilder {
    let names = crate::accounts::assurance::LADDER.map(|(acr, _)| acr);
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .enum_values(Some(names.into_iter().map(Some).chain([None])))
}

impl utoipa::PartialSchema for PartnerLimits {
    fn schema() -> RefOr<Schema> {
        let names = ArrayBuilder::new()
            .schema_type(nullable(Type::Array))
            .items(PermissionName::schema());
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("What a partner's accounts (or one account) may never do."))
            .property(
                "denied_scopes",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("Scopes no token for these accounts may carry.")),
            )
            .property("allowed_scopes", names.description(Some(
                "The most a token for these accounts may carry (permissions of the registry); unset: every permission. On an account it narrows the partner's.",
            )))
            .property(
                "max_assertion_lifetime",
                integer(1, Some(3600))
                    .description(Some("Longest assertion lifetime accepted, seconds (default 300).")),
            )
            .property(
                "max_monthly_api_calls",
                integer(0, Some(i64::MAX)).description(Some(
                    "Metered resource-API calls per calendar month (UTC); on a partner, the default for its accounts.",
                )),
            )
            .property("minimum_acr", acr_value().description(Some(
                "Partner only: the least level (acr) of every sign-in at the apps of the partner's developer accounts and of every delegated session (assertion) it opens.",
            )))
            .property("max_acr", acr_value().description(Some(
                "Partner only: the highest level the partner may vouch for in an assertion's acr claim (unset: urn:surety:acr:password).",
            )))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl utoipa::ToSchema for PartnerLimits {}
