//! The one JSON request-body extractor of every JSON API, and its one rejection mapping.
//!
//! A body that is too large is 413, one that is not `application/json` 415, anything
//! else that does not parse into the handler's type 400; all three answer the JSON
//! APIs' error ([`crate::web::api::error::ApiError`]: `error: invalid_request`,
//! `error_description`, `field: "body"`, `Cache-Control: no-store`), never axum's plain
//! text.
//!
//! Numbers follow JSON Schema (2020-12 §6.1.1 of the validation vocabulary): `"integer"`
//! is any number with a zero fractional part, so `6882.0` is accepted where the OpenAPI
//! documents say `integer`. Such numbers are turned into integers before the body is
//! read into its type; any other float stays a float.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// A JSON body read into `T`.
pub struct JsonBody<T>(pub T);

/// Why a body was refused.
#[derive(Debug)]
pub enum BodyRejection {
    TooLarge,
    NotJson,
    Malformed(String),
}

impl BodyRejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn description(&self) -> String {
        match self {
            Self::TooLarge => "the request body is too large".into(),
            Self::NotJson => "send the body as application/json".into(),
            Self::Malformed(m) => m.clone(),
        }
    }
}

/// Answered as every JSON API error is ([`crate::web::api::error::ApiError`]).
impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        crate::web::api::error::ApiError::from(self).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, s: &S) -> Result<Self, BodyRejection> {
        let Json(mut v) = Json::<Value>::from_request(req, s)
            .await
            .map_err(rejection)?;
        integral_floats_to_integers(&mut v);
        T::deserialize(v)
            .map(JsonBody)
            .map_err(|e| BodyRejection::Malformed(format!("the body does not fit: {e}")))
    }
}

fn rejection(e: JsonRejection) -> BodyRejection {
    match e {
        JsonRejection::MissingJsonContentType(_) => BodyRejection::NotJson,
        e if e.status() == StatusCode::PAYLOAD_TOO_LARGE => BodyRejection::TooLarge,
        JsonRejection::JsonSyntaxError(_) => {
            BodyRejection::Malformed("the body is not valid JSON".into())
        }
        e => BodyRejection::Malformed(e.body_text()),
    }
}

/// Rewrites every float with a zero fractional part that fits an `i64`/`u64` as that
/// integer, in place.
fn integral_floats_to_integers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
            {
                if f >= 0.0 && f < u64::MAX as f64 {
                    *n = Number::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *n = Number::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(o) => o.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut v = json!({"a": 6882.0, "b": [-3.0, 1.5], "c": {"d": 1e300}, "e": 7});
        integral_floats_to_integers(&mut v);
        assert_eq!(v["a"], json!(6882));
        assert!(v["a"].is_u64());
        assert_eq!(v["b"][0], json!(-3));
        assert!(v["b"][1].is_f64());
        assert!(v["c"]["d"].is_f64(), "out of range stays a float");
        assert_eq!(v["e"], json!(7));
    }
}
