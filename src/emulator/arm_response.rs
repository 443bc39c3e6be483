//! What a route answers: a status, ARM headers and an optional JSON body, with the CloudError
//! envelope ARM uses for every failure.

use crate::schema::SchemaViolation;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// One answer of an emulated ARM route, before it becomes an HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct ArmResponse {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl ArmResponse {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        ArmResponse {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        ArmResponse {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `{"error": {"code", "message"}}` with the given status.
    pub(crate) fn cloud_error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ArmResponse::json(
            status,
            json!({ "error": { "code": code, "message": message } }),
        )
    }

    /// A CloudError whose `details` list one entry per problem, each with its `target`.
    pub(crate) fn cloud_error_with_details(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        details: Vec<(String, String)>,
    ) -> Self {
        let details: Vec<Value> = details
            .into_iter()
            .map(|(target, detail_message)| {
                json!({ "code": code, "target": target, "message": detail_message })
            })
            .collect();
        let message = message.into();
        ArmResponse::json(
            status,
            json!({ "error": { "code": code, "message": message, "details": details } }),
        )
    }

    /// 400 `InvalidRequestContent` naming the first violation, every one in `details`, or
    /// `None` when there is none.
    pub(crate) fn schema_refusal(violations: Vec<SchemaViolation>) -> Option<Self> {
        let first = violations.first()?;
        let message = format!(
            "The request content was invalid and cannot be deserialized: `{}`: {}.",
            first.path, first.message
        );
        let details = violations
            .into_iter()
            .map(|violation| (violation.path, violation.message))
            .collect();
        Some(ArmResponse::cloud_error_with_details(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            message,
            details,
        ))
    }

    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Self {
        ArmResponse::cloud_error(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ArmResponse::cloud_error(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn conflict(code: &str, message: impl Into<String>) -> Self {
        ArmResponse::cloud_error(StatusCode::CONFLICT, code, message)
    }
}

/// The JSON body of a request (an empty body reads as `{}`), or ARM's 400 for one that is
/// not a JSON object.
pub(crate) fn parse_json_body(body: &[u8]) -> Result<Value, ArmResponse> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ArmResponse::bad_request(
            "InvalidRequestContent",
            "The request content was invalid and cannot be deserialized: the body must be a \
             JSON object.",
        )),
        Err(error) => Err(ArmResponse::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and cannot be deserialized: {error}."),
        )),
    }
}

/// The location a request body names, or ARM's 400 `LocationRequired` when it names none.
pub(crate) fn required_location(request: &Value) -> Result<&str, ArmResponse> {
    request
        .get("location")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ArmResponse::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            )
        })
}

/// The JSON body of a request for a located resource and the location it names: the 400 of
/// [`parse_json_body`] or [`required_location`] when it is not one.
pub(crate) fn parse_located_body(body: &[u8]) -> Result<(Value, String), ArmResponse> {
    let request = parse_json_body(body)?;
    let location = required_location(&request)?.to_owned();
    Ok((request, location))
}
