//! Long-running operations: the `Azure-AsyncOperation` status resource (ACI) and the
//! `Location` result URL (storage accounts, resource-group deletes), both computed from the
//! operation's start and finish times (azure-arm.md §3).

use crate::arm_response::ArmResponse;
use crate::clock::rfc3339;
use crate::context::RequestContext;
use crate::world::{OperationRecord, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Records an operation on `resource_id` that finishes `duration_ms` from now, failing with
/// `error` if given; returns its id.
pub(crate) fn begin(
    world: &mut World,
    context: &RequestContext<'_>,
    resource_id: &str,
    kind: &str,
    duration_ms: u64,
    error: Option<Value>,
) -> String {
    let operation_id = uuid::Uuid::new_v4().to_string();
    world.operations.insert(
        operation_id.clone(),
        OperationRecord {
            id: operation_id.clone(),
            resource_id: resource_id.to_owned(),
            kind: kind.to_owned(),
            started_ms: context.now_ms,
            finishes_ms: context.now_ms.saturating_add(duration_ms),
            error,
        },
    );
    operation_id
}

/// `GET` of an `Azure-AsyncOperation` URL: 200 with `status` InProgress until the operation
/// finishes, then Succeeded or Failed (with `error`); `events_of` gives the events of the
/// resource the operation is about (its resource module knows them).
pub(crate) fn async_operation_status(
    world: &World,
    context: &RequestContext<'_>,
    operation_id: &str,
    events_of: impl FnOnce(&str) -> Vec<Value>,
) -> ArmResponse {
    let Some(operation) = world.operations.get(operation_id) else {
        return operation_not_found(operation_id);
    };
    let finished = context.now_ms >= operation.finishes_ms;
    let status = match (&operation.error, finished) {
        (_, false) => "InProgress",
        (Some(_), true) => "Failed",
        (None, true) => "Succeeded",
    };
    let events = events_of(&operation.resource_id);
    let mut body = json!({
        "id": operation.resource_id,
        "name": operation.id,
        "status": status,
        "startTime": rfc3339(operation.started_ms),
        "properties": { "events": events },
    });
    if let Some(object) = body.as_object_mut()
        && finished
    {
        object.insert("endTime".into(), json!(rfc3339(operation.finishes_ms)));
        if let Some(error) = &operation.error {
            object.insert("error".into(), error.clone());
        }
    }
    ArmResponse::json(StatusCode::OK, body)
}

/// `GET` of a `Location` URL: 202 while running, then what `result` answers for the finished
/// operation (the router asks the resource module: the storage account, or nothing for a
/// delete), or the CloudError the operation failed with.
pub(crate) fn location_status(
    world: &World,
    context: &RequestContext<'_>,
    operation_id: &str,
    result: impl FnOnce(&OperationRecord) -> ArmResponse,
) -> ArmResponse {
    let Some(operation) = world.operations.get(operation_id) else {
        return operation_not_found(operation_id);
    };
    if context.now_ms < operation.finishes_ms {
        let remaining_ms = operation.finishes_ms - context.now_ms;
        return ArmResponse::empty(StatusCode::ACCEPTED)
            .with_header("retry-after", retry_after_seconds(remaining_ms));
    }
    if let Some(error) = &operation.error {
        return ArmResponse::json(StatusCode::BAD_REQUEST, json!({ "error": error }));
    }
    result(operation)
}

/// `Retry-After` for a wait of `delay_ms`: whole seconds, 0 for sub-second waits.
pub(crate) fn retry_after_seconds(delay_ms: u64) -> String {
    (delay_ms / 1000).to_string()
}

fn operation_not_found(operation_id: &str) -> ArmResponse {
    ArmResponse::not_found(
        "OperationNotFound",
        format!("The operation '{operation_id}' could not be found."),
    )
}
