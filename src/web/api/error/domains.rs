//! Each domain's refusals as [`ApiError`]s, one mapping per domain error: what the
//! verification engine, promotions, agents, the resource API, partners, apps, clients,
//! users, resource servers and the outbox refuse, with the status and code each deserves.
//! Storage failures inside them go through `From<StoreError>`.

use axum::http::StatusCode;

use super::{ApiError, RulePosition};
use crate::accounts::sessions::SessionError;
use crate::accounts::users::NewUserError;
use crate::admin::FieldError;
use crate::admin::clients::ClientError;
use crate::admin::outbox::OutboxError;
use crate::admin::resource_servers::Refused;
use crate::connect::apps::AppError;
use crate::partners::accounts::AccountError;
use crate::partners::manage::PartnerError;
use crate::resource::ResourceError;
use crate::resource::permissions::Permission;
use crate::verify::agents::AgentError;
use crate::verify::eligibility::{self, PromotionError};
use crate::verify::engine::VerifyError;
use crate::web::guard::{GuardError, Scheme};

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::NotFound => Self::not_found("no such verification"),
            VerifyError::Expired => Self::new(
                StatusCode::GONE,
                "expired",
                "the verification expired; start a new one",
            ),
            VerifyError::Finished => Self::new(
                StatusCode::CONFLICT,
                "already_decided",
                "the verification was already decided",
            ),
            VerifyError::Locked => Self::new(
                StatusCode::LOCKED,
                "locked",
                "too many attempts; try again later",
            ),
            VerifyError::Invalid(m) => Self::invalid_request(m),
            VerifyError::Store(e) => e.into(),
        }
    }
}

impl From<PromotionError> for ApiError {
    fn from(e: PromotionError) -> Self {
        match e {
            PromotionError::Invalid { field, message } => {
                Self::invalid_request(message).field(field)
            }
            PromotionError::Rule(e) => {
                let at = RulePosition {
                    offset: e.offset,
                    line: e.line,
                    column: e.column,
                };
                let out = Self::new(StatusCode::BAD_REQUEST, "invalid_rule", e.to_string());
                out.field("rule").position(at)
            }
            PromotionError::Duplicate => {
                Self::conflict("you already have a promotion with this code")
            }
            PromotionError::TooMany => Self::new(
                StatusCode::CONFLICT,
                "too_many_promotions",
                format!(
                    "a client may register at most {} promotions",
                    eligibility::MAX_PROMOTIONS_PER_CLIENT
                ),
            ),
            PromotionError::NotFound => Self::not_found("no such promotion or verification"),
            PromotionError::TooManyAsked => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_promotions_asked",
                format!(
                    "a verification answers at most {} promotions",
                    eligibility::MAX_ASKED_PER_VERIFICATION
                ),
            ),
            PromotionError::ChallengeRequired(why) => {
                Self::new(StatusCode::CONFLICT, "challenge_required", why)
            }
            PromotionError::Store(e) => e.into(),
        }
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        let (status, code, description) = match e {
            AgentError::Verify(e) => return e.into(),
            AgentError::NotVerified => (
                StatusCode::FORBIDDEN,
                "not_verified",
                "the person's own verification has not passed (or is older than an hour)",
            ),
            AgentError::BusinessNotIdentified => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "business_not_identified",
                "the business could not be identified with certainty; give more elements",
            ),
            AgentError::RoleNotAllowed => (
                StatusCode::FORBIDDEN,
                "role_not_allowed",
                "the business's records do not name this person for that role",
            ),
            AgentError::NotAnAgent => (
                StatusCode::FORBIDDEN,
                "not_an_agent",
                "no passed agent stage for this verification",
            ),
            AgentError::NotAmbassador => (
                StatusCode::FORBIDDEN,
                "not_ambassador",
                "only an ambassador of the business may submit employees",
            ),
        };
        Self::new(status, code, description)
    }
}

fn missing_permission(p: Permission) -> GuardError {
    match p {
        Permission::CallerIdsAll => GuardError::InsufficientScope {
            scope: p.as_str().into(),
            description: "using a number of the parent or a sibling account as caller ID needs the callerids:all permission".into(),
        },
        p => GuardError::insufficient_scope(p.as_str()),
    }
}

/// The resource API's refusals; the scheme the caller authenticated with picks the 401
/// challenge when its own account is closed (the credential no longer authenticates),
/// and a missing permission is the guard's RFC 6750 `insufficient_scope`.
impl From<(ResourceError, Scheme)> for ApiError {
    fn from((e, scheme): (ResourceError, Scheme)) -> Self {
        use ResourceError as E;
        let (status, code, description) = match e {
            E::CallerClosed => {
                return match scheme {
                    Scheme::Basic => GuardError::InvalidCredentials,
                    Scheme::Bearer => {
                        GuardError::InvalidToken("the token's account is closed".into())
                    }
                    Scheme::Dpop => {
                        GuardError::InvalidToken("the token's account is closed".into()).dpop()
                    }
                }
                .into();
            }
            E::MissingPermission(p) => return missing_permission(p).into(),
            E::LimitReached { limit, retry_after } => {
                return Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "usage_limit_exceeded",
                    "the monthly limit of metered API calls is reached for this account or an account above it",
                )
                .limit(limit)
                .retry_after(retry_after.max(0) as u64);
            }
            E::Store(e) => return e.into(),
            E::Invalid { field, message } => return Self::invalid_request(message).field(field),
            E::NotFound => return Self::not_found("the requested resource was not found"),
            E::Suspended => (
                StatusCode::FORBIDDEN,
                "account_suspended",
                "the account is suspended",
            ),
            E::Closed => (
                StatusCode::FORBIDDEN,
                "account_closed",
                "the account is closed",
            ),
            E::CallerIdRefused => (
                StatusCode::FORBIDDEN,
                "caller_id_not_allowed",
                "the from number is not a number this account may use as caller ID",
            ),
            E::NumberTaken => (
                StatusCode::CONFLICT,
                "number_unavailable",
                "this phone number is not available",
            ),
        };
        Self::new(status, code, description)
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NoPartner => Self::not_found("no such partner"),
            AccountError::NotFound => Self::not_found("no such account"),
            AccountError::Closed => Self::conflict("the account is closed; closing is final"),
            AccountError::Field(f) => f.into(),
            AccountError::Store(e) => e.into(),
        }
    }
}

impl From<PartnerError> for ApiError {
    fn from(e: PartnerError) -> Self {
        match e {
            PartnerError::NotFound => Self::not_found("no such resource"),
            PartnerError::Field(f) => f.into(),
            PartnerError::KidTaken => Self::conflict("a key with this kid exists").field("kid"),
            PartnerError::Store(e) => e.into(),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => Self::not_found("no such app"),
            AppError::Field(f) => f.into(),
            AppError::Seal(m) => {
                tracing::error!(error = %m, "sealing an app's webhook secret failed");
                Self::internal()
            }
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Field(f) => f.into(),
            ClientError::Store(e) => e.into(),
        }
    }
}

impl From<NewUserError> for ApiError {
    fn from(e: NewUserError) -> Self {
        match e {
            NewUserError::Invalid(field, m) => FieldError::invalid(field, m).into(),
            NewUserError::Taken => Self::conflict("username already taken").field("username"),
            NewUserError::Store(e) => e.into(),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(e: Refused) -> Self {
        match e {
            Refused::Field(f) => f.into(),
            Refused::Taken => {
                Self::conflict("this resource server is registered already").field("uri")
            }
            Refused::Store(e) => e.into(),
        }
    }
}

impl From<OutboxError> for ApiError {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::NotFound => Self::not_found("no such event"),
            OutboxError::Field(f) => f.into(),
            OutboxError::NotFailed => {
                Self::conflict("only a failed event can be retried").field("status")
            }
            OutboxError::Store(e) => e.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotFound => Self::not_found("no such session"),
            SessionError::Failed(e) => {
                tracing::warn!(error = ?e, "ending sessions failed");
                if e.code == crate::oauth::error::ErrorCode::TemporarilyUnavailable {
                    Self::unavailable()
                } else {
                    Self::internal()
                }
            }
        }
    }
}
