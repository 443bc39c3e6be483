//! Routes that are not ARM: the request log, runtime fault changes and a managed-identity
//! token endpoint (App Service style, so `azure_identity`'s `ManagedIdentityCredential` can
//! use the emulator through `IDENTITY_ENDPOINT` / `IDENTITY_HEADER`). No fault applies here.

use super::arm_response::ArmResponse;
use super::faults::{FaultConfig, FaultInjector};
use super::server::{Shared, now_ms, settle};
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

/// How long an emulator token claims to live.
const TOKEN_LIFETIME_SECS: u64 = 3_600;

/// `GET /_emulator/log`, `GET` and `PUT /_emulator/faults`.
pub(crate) fn handle(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> ArmResponse {
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_emulator/log") => {
            let mut world = shared.lock_world();
            settle(&mut world, now_ms(), shared.delay_ms());
            ArmResponse::json(StatusCode::OK, json!({ "entries": world.log }))
        }
        ("GET", "/_emulator/faults") => {
            let faults = shared.lock_faults();
            ArmResponse::json(StatusCode::OK, json!(faults.config))
        }
        ("PUT", "/_emulator/faults") => match serde_json::from_slice::<FaultConfig>(body) {
            Ok(config) => {
                let answer = ArmResponse::json(StatusCode::OK, json!(config));
                *shared.lock_faults() = FaultInjector::new(config);
                answer
            }
            Err(error) => ArmResponse::bad_request(
                "InvalidRequestContent",
                format!("the fault configuration is not valid: {error}"),
            ),
        },
        _ => ArmResponse::not_found(
            "NotFound",
            format!("the emulator has no route `{} {path}`", method.as_str()),
        ),
    }
}

/// `GET /msi/token?api-version=2019-08-01&resource=...` with header `x-identity-header`.
pub(crate) fn token(
    headers: &HeaderMap,
    query: &BTreeMap<String, String>,
    now_ms: u64,
) -> ArmResponse {
    let identity_header = headers
        .get("x-identity-header")
        .and_then(|value| value.to_str().ok());
    if identity_header.is_none_or(str::is_empty) {
        return ArmResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({ "statusCode": 401, "message": "the x-identity-header header is missing" }),
        );
    }
    let Some(resource) = query
        .get("resource")
        .filter(|resource| !resource.is_empty())
    else {
        return ArmResponse::json(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request", "error_description": "resource is required" }),
        );
    };
    let expires_on = now_ms / 1000 + TOKEN_LIFETIME_SECS;
    ArmResponse::json(
        StatusCode::OK,
        json!({
            "access_token": format!("fk-emulator-{}", uuid::Uuid::new_v4()),
            "expires_on": expires_on.to_string(),
            "token_type": "Bearer",
            "resource": resource,
        }),
    )
}
