//! ARM failures: the CloudError envelope and how a failure becomes a [`ProviderError`].
//!
//! Messages quote ARM's code and message and the `x-ms-request-id`, never a request body, so
//! secrets sent in a PUT cannot leak into output.

use serde_json::Value as Json;

use crate::addr::Address;
use crate::provider::ProviderError;

/// `{"error": {"code", "message", "details": [...]}}`, or the same without the envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudError {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) details: Vec<String>,
}

impl CloudError {
    /// Parses an error body; `None` when it is not a CloudError.
    pub(crate) fn parse(body: &Json) -> Option<CloudError> {
        let error = body.get("error").unwrap_or(body);
        let code = error.get("code")?.as_str()?.to_string();
        let message = error
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let details = error
            .get("details")
            .and_then(Json::as_array)
            .map(|details| {
                details
                    .iter()
                    .filter_map(|detail| {
                        let code = detail.get("code")?.as_str()?;
                        let message = detail.get("message").and_then(Json::as_str);
                        Some(format!("{code}: {}", message.unwrap_or_default()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(CloudError {
            code,
            message,
            details,
        })
    }
}

/// What went wrong talking to ARM.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status.
    #[error("{}", http_summary(.method, .path, *.status, .cloud_error, .request_id))]
    Http {
        method: String,
        path: String,
        status: u16,
        cloud_error: Option<Box<CloudError>>,
        request_id: Option<String>,
    },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("{method} {path} ended {status}{}{}", cloud_suffix(.cloud_error), request_suffix(.request_id))]
    Operation {
        method: String,
        path: String,
        status: String,
        cloud_error: Option<Box<CloudError>>,
        /// Of the poll that saw the terminal state.
        request_id: Option<String>,
    },
    /// No answer: connection refused, reset, timed out.
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("{0}")]
    Auth(#[from] super::auth::AuthError),
    /// An answer fk cannot use (not JSON, missing fields) or a wait that ran out of time.
    #[error("{0}")]
    Protocol(String),
}

fn http_summary(
    method: &str,
    path: &str,
    status: u16,
    cloud_error: &Option<Box<CloudError>>,
    request_id: &Option<String>,
) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    let mut text = format!("{method} {path} → {status} {reason}");
    text = text.trim_end().to_string();
    text.push_str(&cloud_suffix(cloud_error));
    text.push_str(&request_suffix(request_id));
    text
}

fn request_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|request_id| format!(" (request id {request_id})"))
        .unwrap_or_default()
}

fn cloud_suffix(cloud_error: &Option<Box<CloudError>>) -> String {
    match cloud_error {
        Some(error) if error.message.is_empty() => format!(": {}", error.code),
        Some(error) => format!(": {}: {}", error.code, error.message),
        None => String::new(),
    }
}

impl ArmError {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ArmError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn arm_code(&self) -> Option<&str> {
        match self {
            ArmError::Http { cloud_error, .. } | ArmError::Operation { cloud_error, .. } => {
                cloud_error.as_ref().map(|error| error.code.as_str())
            }
            _ => None,
        }
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The stable code: `fk::azure::dns_name_label_already_taken`, `fk::azure::connection`.
    pub(crate) fn code(&self) -> String {
        if let Some(code) = self.arm_code() {
            return format!("fk::azure::{}", snake_case(code));
        }
        match self {
            ArmError::Http { status, .. } => format!("fk::azure::http_{status}"),
            ArmError::Operation { .. } => "fk::azure::operation_failed".into(),
            ArmError::Transport { .. } => "fk::azure::connection".into(),
            ArmError::Auth(_) => "fk::azure::auth".into(),
            ArmError::Protocol(_) => "fk::azure::protocol".into(),
        }
    }

    /// The error as the engine shows it, prefixed by the resource's address.
    pub(crate) fn for_resource(&self, address: &Address) -> ProviderError {
        let mut error = ProviderError::new(self.code(), format!("`{address}`: {self}"));
        if let ArmError::Http {
            cloud_error: Some(cloud),
            ..
        }
        | ArmError::Operation {
            cloud_error: Some(cloud),
            ..
        } = self
        {
            error.details.extend(cloud.details.iter().cloned());
        }
        error
    }
}

/// `DnsNameLabelAlreadyTaken` → `dns_name_label_already_taken`.
pub(crate) fn snake_case(code: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = code.chars().collect();
    for (idx, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = idx > 0 && (chars[idx - 1].is_ascii_lowercase());
            let next_lower = chars.get(idx + 1).is_some_and(char::is_ascii_lowercase);
            let prev_upper = idx > 0 && chars[idx - 1].is_ascii_uppercase();
            if !out.is_empty() && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_arm_codes_to_snake_case() {
        assert_eq!(
            snake_case("DnsNameLabelAlreadyTaken"),
            "dns_name_label_already_taken"
        );
        assert_eq!(snake_case("InvalidRequestURI"), "invalid_request_uri");
        assert_eq!(snake_case("Conflict"), "conflict");
    }

    #[test]
    fn parses_cloud_error_with_details() {
        let body = serde_json::json!({"error": {"code": "InvalidTemplate", "message": "bad",
            "details": [{"code": "A", "message": "inner"}]}});
        let error = CloudError::parse(&body).unwrap_or_default();
        assert_eq!(error.code, "InvalidTemplate");
        assert_eq!(error.details, vec!["A: inner".to_string()]);
        assert_eq!(CloudError::parse(&serde_json::json!({"x": 1})), None);
    }

    #[test]
    fn message_names_address_status_code_and_request_id() {
        let error = ArmError::Http {
            method: "PUT".into(),
            path: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/etcd".into(),
            status: 409,
            cloud_error: Some(Box::new(CloudError {
                code: "DnsNameLabelAlreadyTaken".into(),
                message: "The DNS name label 'fk-etcd' is not available".into(),
                details: Vec::new(),
            })),
            request_id: Some("req-123".into()),
        };
        let provider_error = error.for_resource(&Address::new("azure_container_group", "etcd"));
        assert_eq!(
            provider_error.code,
            "fk::azure::dns_name_label_already_taken"
        );
        assert_eq!(
            provider_error.message,
            "`azure_container_group.etcd`: PUT /subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/etcd → 409 Conflict: DnsNameLabelAlreadyTaken: The DNS name label 'fk-etcd' is not available (request id req-123)"
        );
    }
}
