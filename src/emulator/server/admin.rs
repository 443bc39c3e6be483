//! Routes that are not ARM: the request log, runtime fault changes and a managed-identity
//! token endpoint (App Service style, so `azure_identity`'s `ManagedIdentityCredential` can
//! use the emulator through `IDENTITY_ENDPOINT` / `IDENTITY_HEADER`). No fault applies here.

use super::Shared;
use crate::arm_response::ArmResponse;
use crate::clock::now_ms;
use crate::faults::{FaultConfig, FaultInjector};
use crate::router::settle;
use crate::world::{ContainerGroupRecord, GroupFailure, World};
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
        ("POST", route) if route.starts_with("/_emulator/fail/") => {
            fail_later(shared, &route["/_emulator/fail/".len()..], body)
        }
        ("POST", route) if route.starts_with("/_emulator/crash/") => {
            crash(shared, &route["/_emulator/crash/".len()..])
        }
        ("POST", route) if route.starts_with("/_emulator/logs/") => {
            inject_log(shared, &route["/_emulator/logs/".len()..], body)
        }
        _ => ArmResponse::not_found(
            "NotFound",
            format!("the emulator has no route `{} {path}`", method.as_str()),
        ),
    }
}

/// `POST /_emulator/fail/{group name}` with `{"message": "..."}`: a group that provisioned
/// fails now, as a group whose share key was rotated does on real ACI: provisioning `Failed`,
/// the group `Pending`, its containers `Waiting`, a `FailedMount` event with the message.
fn fail_later(shared: &Shared, name: &str, body: &[u8]) -> ArmResponse {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|body| {
            body.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Output: mount error(2): Permission denied".into());
    let now = now_ms();
    let mut world = shared.lock_world();
    settle(&mut world, now, shared.delay_ms());
    let record = match group_named(&mut world, name) {
        Ok(record) => record,
        Err(answer) => return answer,
    };
    record.failure = Some(GroupFailure::Mount {
        volume: String::new(),
        message,
    });
    let id = record.id.clone();
    world.log_event(now, &id, "Failed");
    if let Some(record) = world.container_groups.values_mut().find(|r| r.id == id) {
        record.logged_phase = "Failed".into();
    }
    ArmResponse::empty(StatusCode::NO_CONTENT)
}

/// `POST /_emulator/crash/{group name}/{container name}`: the container starts crashing
/// now (exit code 1, restarted with back-off, its restart count growing) while the group
/// stays provisioned: a group whose containers do not run.
fn crash(shared: &Shared, route: &str) -> ArmResponse {
    let Some((name, container)) = route.split_once('/') else {
        return ArmResponse::bad_request(
            "InvalidRequestContent",
            "the route is /_emulator/crash/{group}/{container}",
        );
    };
    let now = now_ms();
    let mut world = shared.lock_world();
    settle(&mut world, now, shared.delay_ms());
    match group_named(&mut world, name) {
        Ok(record) => {
            record.crashed.insert(container.to_string(), now);
            ArmResponse::empty(StatusCode::NO_CONTENT)
        }
        Err(answer) => answer,
    }
}

/// The container group named `name` (in any resource group, any casing), or a 404 naming it.
fn group_named<'w>(
    world: &'w mut World,
    name: &str,
) -> Result<&'w mut ContainerGroupRecord, ArmResponse> {
    world
        .container_groups
        .values_mut()
        .find(|record| record.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ArmResponse::not_found("ResourceNotFound", format!("no container group `{name}`"))
        })
}

/// `POST /_emulator/logs/{group name}/{container name}` with text: lines the container
/// printed, served by ContainerListLogs after what its start printed.
fn inject_log(shared: &Shared, route: &str, body: &[u8]) -> ArmResponse {
    let Some((group, container)) = route.split_once('/') else {
        return ArmResponse::bad_request(
            "InvalidRequestContent",
            "the route is /_emulator/logs/{group}/{container}",
        );
    };
    let text = String::from_utf8_lossy(body);
    let mut world = shared.lock_world();
    let key = format!("{group}/{container}").to_ascii_lowercase();
    world
        .container_logs
        .entry(key)
        .or_default()
        .extend(text.lines().map(str::to_string));
    ArmResponse::empty(StatusCode::NO_CONTENT)
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
