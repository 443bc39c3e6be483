//! `Microsoft.ContainerInstance/containerGroups`: PUT (201 + `Azure-AsyncOperation` for a
//! new group, 200 for an in-place update), GET with instance views, PATCH (tags), DELETE,
//! start / stop / restart and lists (azure-arm.md §2).

use self::rules::{
    check_body, claim_fqdn, predict_failure, refuse_in_place_update, refuse_over_quota,
};
use crate::arm_response::{ArmResponse, parse_json_body};
use crate::context::RequestContext;
use crate::names::{
    CONTAINER_INSTANCE_OPERATION_API_VERSION, InGroup, container_group_id,
    is_valid_container_group_name, key_of, normalize_location,
};
use crate::operations;
use crate::resources::file_data::run_init_containers;
use crate::resources::resource_groups;
use crate::world::{ContainerGroupRecord, GroupFailure, GroupPhase, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

mod rules;
mod view;

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
    body: &[u8],
) -> ArmResponse {
    let (subscription, group, name) = container_group.parts();
    if !is_valid_container_group_name(name) {
        return ArmResponse::bad_request(
            "InvalidContainerGroupName",
            format!(
                "The container group name '{name}' is invalid. A container group name must be \
                 1-63 lowercase letters, numbers or hyphens, and cannot start or end with a \
                 hyphen or have consecutive hyphens."
            ),
        );
    }
    let resource_group_id = match resource_groups::find(world, subscription, group) {
        Ok(resource_group) => resource_group.id.clone(),
        Err(answer) => return answer,
    };
    let request = match parse_json_body(body) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    if let Err(answer) = check_body(context, name, &request) {
        return answer;
    }
    let location = normalize_location(request["location"].as_str().unwrap_or_default());
    let group_id = container_group_id(&resource_group_id, name);
    let group_key = key_of(&group_id);
    let previous = world.container_groups.get(&group_key).cloned();
    if let Some(previous) = &previous {
        if let Some(answer) = refuse_while_busy(previous, context, "PUT") {
            return answer;
        }
        if previous.location != location {
            return ArmResponse::conflict(
                "InvalidResourceLocation",
                format!(
                    "The resource '{name}' already exists in location '{}' in resource group \
                     '{group}'. A resource with the same name cannot be created in location \
                     '{location}'. Please select a new resource name.",
                    previous.location
                ),
            );
        }
        if let Some(answer) = refuse_in_place_update(previous, &request) {
            return answer;
        }
    }
    if let Some(answer) = refuse_over_quota(world, &group_id, &location, &request) {
        return answer;
    }
    let fqdn = match claim_fqdn(
        world,
        &group_id,
        name,
        &location,
        &request,
        previous.as_ref(),
    ) {
        Ok(fqdn) => fqdn,
        Err(answer) => return answer,
    };
    let failure = predict_failure(world, context, name, &request);
    let (init_logs, init_failure) = match failure {
        None => run_init_containers(world, &request),
        Some(_) => Default::default(),
    };
    let system_assigned = request
        .pointer("/identity/type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.to_ascii_lowercase().contains("systemassigned"));
    let principal_id = match &previous {
        Some(previous) if previous.principal_id.is_some() => previous.principal_id.clone(),
        _ => system_assigned.then(|| uuid::Uuid::new_v4().to_string()),
    };
    let (status, operation_kind, generation) = match &previous {
        Some(previous) => (StatusCode::OK, "update", previous.generation + 1),
        None => (StatusCode::CREATED, "create", 0),
    };
    let mut record = ContainerGroupRecord {
        id: group_id,
        resource_group_key: key_of(&resource_group_id),
        name: name.to_owned(),
        location,
        body: request,
        operation_started_ms: context.now_ms,
        operation_kind: operation_kind.to_owned(),
        operation_id: String::new(),
        failure,
        stopped_at_ms: None,
        generation,
        fqdn,
        principal_id,
        logged_phase: String::new(),
        crashed: Default::default(),
        init_logs,
        init_failure,
    };
    let async_operation = begin_provisioning(world, context, &mut record);
    let body = view::render(&record, context.now_ms, context.delay_ms, true);
    world.container_groups.insert(group_key, record);
    ArmResponse::json(status, body).with_header("azure-asyncoperation", async_operation)
}

pub(crate) fn get(
    world: &World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
) -> ArmResponse {
    match find(world, container_group) {
        Ok(record) => ArmResponse::json(
            StatusCode::OK,
            view::render(record, context.now_ms, context.delay_ms, true),
        ),
        Err(answer) => answer,
    }
}

pub(crate) fn list(
    world: &World,
    context: &RequestContext<'_>,
    subscription: &str,
    group: Option<&str>,
) -> ArmResponse {
    let prefix = match group {
        Some(group) => match resource_groups::find_readable(world, subscription, group) {
            Ok(resource_group) => format!("{}/", key_of(&resource_group.id)),
            Err(answer) => return answer,
        },
        None => format!("/subscriptions/{}/", subscription.to_ascii_lowercase()),
    };
    let value: Vec<Value> = world
        .container_groups
        .iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .map(|(_, record)| view::render(record, context.now_ms, context.delay_ms, false))
        .collect();
    ArmResponse::json(StatusCode::OK, json!({ "value": value }))
}

pub(crate) fn patch(
    world: &mut World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
    body: &[u8],
) -> ArmResponse {
    let group_key = match find(world, container_group) {
        Ok(record) => key_of(&record.id),
        Err(answer) => return answer,
    };
    let request = match parse_json_body(body) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let tags = request.get("tags").cloned();
    if let Some(tags) = &tags
        && !tags
            .as_object()
            .is_some_and(|tags| tags.values().all(Value::is_string))
    {
        return ArmResponse::bad_request(
            "InvalidRequestContent",
            "The request content was invalid and cannot be deserialized: `tags` must map names \
             to strings.",
        );
    }
    let Some(record) = world.container_groups.get_mut(&group_key) else {
        return not_found(container_group);
    };
    if let (Some(tags), Some(body)) = (tags, record.body.as_object_mut()) {
        body.insert("tags".into(), tags);
    }
    let body = view::render(record, context.now_ms, context.delay_ms, true);
    ArmResponse::json(StatusCode::OK, body)
}

pub(crate) fn delete(
    world: &mut World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
) -> ArmResponse {
    let Ok(record) = find(world, container_group) else {
        return ArmResponse::empty(StatusCode::NO_CONTENT);
    };
    let body = view::render(record, context.now_ms, context.delay_ms, true);
    let group_key = key_of(&record.id);
    if let Some(removed) = world.container_groups.remove(&group_key) {
        world.log_event(context.now_ms, &removed.id, "Deleted");
    }
    ArmResponse::json(StatusCode::OK, body)
}

/// `POST .../start`, `.../stop`, `.../restart`.
pub(crate) fn act(
    world: &mut World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
    action: &str,
) -> ArmResponse {
    let mut record = match find(world, container_group) {
        Ok(record) => record.clone(),
        Err(answer) => return answer,
    };
    let stopped = record.stopped_at_ms.is_some();
    let answer = match action {
        "stop" => {
            if !stopped {
                record.stopped_at_ms = Some(context.now_ms);
                record.logged_phase = "Stopped".into();
                world.log_event(context.now_ms, &record.id, "Stopped");
            }
            ArmResponse::empty(StatusCode::NO_CONTENT)
        }
        "start" if !stopped => ArmResponse::empty(StatusCode::NO_CONTENT),
        "start"
            if record.stopped_at_ms.is_some_and(|stopped_ms| {
                context.now_ms < stopped_ms.saturating_add(context.stop_transition_ms)
            }) =>
        {
            return ArmResponse::conflict(
                "ContainerGroupTransitioning",
                format!(
                    "The container group '{}' is still transitioning, please retry later.",
                    record.name
                ),
            );
        }
        _ => {
            if let Some(answer) = refuse_while_busy(&record, context, "POST") {
                return answer;
            }
            record.stopped_at_ms = None;
            record.crashed.clear();
            record.generation += 1;
            record.operation_started_ms = context.now_ms;
            record.operation_kind = action.to_owned();
            record.failure = predict_failure(world, context, &container_group.name, &record.body);
            (record.init_logs, record.init_failure) = match record.failure {
                None => run_init_containers(world, &record.body),
                Some(_) => Default::default(),
            };
            let async_operation = begin_provisioning(world, context, &mut record);
            if action == "start" {
                ArmResponse::empty(StatusCode::ACCEPTED)
                    .with_header("azure-asyncoperation", async_operation)
            } else {
                ArmResponse::empty(StatusCode::NO_CONTENT)
            }
        }
    };
    world.container_groups.insert(key_of(&record.id), record);
    answer
}

/// `GET .../containers/{container}/logs[?tail=N]`: what the container printed, as
/// `{"content": "..."}` (ContainerListLogs). A running container has printed the line its
/// start writes (its command) and whatever a test injected; one that never ran has no log.
pub(crate) fn logs(
    world: &mut World,
    context: &RequestContext<'_>,
    container_group: &InGroup,
    container: &str,
) -> ArmResponse {
    let name = &container_group.name;
    let (record, spec) = match find_container(world, container_group, container, true) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let phase = GroupPhase::of(&record, context.now_ms, context.delay_ms);
    let is_init = is_init_container(&record, container);
    let mut lines = Vec::new();
    if matches!(phase, GroupPhase::Succeeded | GroupPhase::Stopped)
        && (is_init || record.init_failure.is_none())
    {
        let command: Vec<&str> = spec
            .pointer("/properties/command")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let image = spec
            .pointer("/properties/image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let started = if command.is_empty() {
            format!("starting {image}")
        } else {
            format!("starting {image}: {}", command.join(" "))
        };
        lines.push(started);
    }
    if is_init && matches!(phase, GroupPhase::Succeeded | GroupPhase::Stopped) {
        lines.extend(record.init_logs.get(container).cloned().unwrap_or_default());
    }
    let key = format!("{name}/{container}").to_ascii_lowercase();
    lines.extend(world.container_logs.get(&key).cloned().unwrap_or_default());
    if let Some(tail) = context.tail {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let mut content = lines.join("\n");
    if !content.is_empty() {
        content.push('\n');
    }
    ArmResponse::json(StatusCode::OK, serde_json::json!({ "content": content }))
}

/// Logs the phase changes of every group since the last request, in order.
/// The events of the group `resource_id` names, oldest first, for its operation status;
/// none when the group is gone.
pub(crate) fn events(world: &World, context: &RequestContext<'_>, resource_id: &str) -> Vec<Value> {
    world
        .container_groups
        .get(&key_of(resource_id))
        .map(|group| view::group_events(group, context.now_ms, context.delay_ms))
        .unwrap_or_default()
}

pub(crate) fn settle(world: &mut World, now_ms: u64, delay_ms: u64) {
    let mut transitions: Vec<(String, Vec<&'static str>, bool)> = Vec::new();
    for record in world.container_groups.values_mut() {
        let phase = GroupPhase::of(record, now_ms, delay_ms);
        let sequence = phase_sequence(&record.operation_kind, record.failure.is_some());
        let current = match phase {
            GroupPhase::Stopped => continue,
            GroupPhase::Waiting => 0,
            GroupPhase::Creating => sequence.len().saturating_sub(2).min(1),
            GroupPhase::Succeeded | GroupPhase::Failed => sequence.len() - 1,
        };
        let logged = sequence
            .iter()
            .position(|label| *label == record.logged_phase);
        let from = logged.map_or(0, |logged| logged + 1);
        if from > current {
            continue;
        }
        let labels: Vec<&'static str> = sequence[from..=current].to_vec();
        record.logged_phase = sequence[current].to_owned();
        transitions.push((record.id.clone(), labels, record.init_failure.is_some()));
    }
    for (group_id, labels, init_failed) in transitions {
        for label in labels {
            world.log_event(now_ms, &group_id, label);
            if label == "Succeeded" {
                let containers = if init_failed {
                    "init container failed; containers Waiting"
                } else {
                    "containers Running"
                };
                world.log_event(now_ms, &group_id, containers);
            }
        }
    }
}

fn phase_sequence(operation_kind: &str, fails: bool) -> Vec<&'static str> {
    let terminal = if fails { "Failed" } else { "Succeeded" };
    match operation_kind {
        "update" | "restart" => vec!["Updating", terminal],
        _ => vec!["Pending", "Creating", terminal],
    }
}

/// Records the provisioning operation of `record` and returns its `Azure-AsyncOperation` URL.
fn begin_provisioning(
    world: &mut World,
    context: &RequestContext<'_>,
    record: &mut ContainerGroupRecord,
) -> String {
    let error = record.failure.as_ref().map(|failure| {
        let (code, message) = match failure {
            GroupFailure::Mount { message, .. } => ("FailedMount", message.clone()),
            GroupFailure::Injected { image } => {
                ("Failed", format!("Failed to pull image \"{image}\": not found"))
            }
        };
        json!({
            "code": "ResourceOperationFailure",
            "message": "The resource operation completed with terminal provisioning state 'Failed'.",
            "details": [{ "code": code, "message": message }],
        })
    });
    let operation_id = operations::begin(
        world,
        context,
        &record.id,
        "container_group",
        context.delay_ms,
        error,
    );
    let first_label = phase_sequence(&record.operation_kind, false)[0];
    world.log_event(context.now_ms, &record.id, first_label);
    record.logged_phase = first_label.to_owned();
    record.operation_id = operation_id.clone();
    let subscription = record.id.split('/').nth(2).unwrap_or_default();
    format!(
        "{}/subscriptions/{subscription}/providers/Microsoft.ContainerInstance/locations/{}/\
         operations/{operation_id}?api-version={CONTAINER_INSTANCE_OPERATION_API_VERSION}",
        context.base_url, record.location
    )
}

/// ACI refuses a PUT or action while the group's previous operation still runs.
fn refuse_while_busy(
    record: &ContainerGroupRecord,
    context: &RequestContext<'_>,
    method: &str,
) -> Option<ArmResponse> {
    let phase = GroupPhase::of(record, context.now_ms, context.delay_ms);
    phase.in_progress().then(|| {
        let subscription = record.id.split('/').nth(2).unwrap_or_default();
        ArmResponse::conflict(
            "AnotherOperationInProgress",
            format!(
                "Another operation on this or dependent resource is in progress. To retrieve \
                 status of the operation use uri: {}/subscriptions/{subscription}/providers/\
                 Microsoft.ContainerInstance/locations/{}/operations/{}?api-version={}. \
                 Operation '{method}' on container group '{}' was refused.",
                context.base_url,
                record.location,
                record.operation_id,
                CONTAINER_INSTANCE_OPERATION_API_VERSION,
                record.name
            ),
        )
    })
}

fn is_init_container(record: &ContainerGroupRecord, container: &str) -> bool {
    record
        .body
        .pointer("/properties/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("name").and_then(Value::as_str) == Some(container))
}

/// A group and one of its containers (or init containers, when `include_init`), or the answer ARM gives when either is missing.
fn find_container(
    world: &World,
    container_group: &InGroup,
    container: &str,
    include_init: bool,
) -> Result<(ContainerGroupRecord, Value), ArmResponse> {
    let name = &container_group.name;
    let record = find(world, container_group)?;
    let of = |list: &str| {
        record
            .body
            .pointer(&format!("/properties/{list}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut specs = of("containers");
    if include_init {
        specs.extend(of("initContainers"));
    }
    specs
        .into_iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .map(|spec| (record.clone(), spec))
        .ok_or_else(|| {
            ArmResponse::not_found(
                "ContainerNotFound",
                format!("The container '{container}' does not exist in container group '{name}'."),
            )
        })
}

/// `POST .../containers/{container}/exec` and `.../attach` (Containers_ExecuteCommand,
/// Containers_Attach): ARM answers with a websocket session to the running container, its
/// URI and a one-time password to send as the `Authorization` header. The emulator opens the
/// session (checks the group, the container, that the group runs, and the exec body) but
/// serves no websocket: its URI names the emulator and the session, nothing more.
pub(crate) fn session(
    world: &mut World,
    context: &RequestContext<'_>,
    (container_group, container): (&InGroup, &str),
    exec_body: Option<&[u8]>,
) -> ArmResponse {
    let InGroup { group, name, .. } = container_group;
    let record = match find_container(world, container_group, container, false) {
        Ok((record, _)) => record,
        Err(answer) => return answer,
    };
    if let Some(body) = exec_body {
        let request = match parse_json_body(body) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let command = request.get("command").and_then(Value::as_str);
        if command.is_none_or(|command| command.trim().is_empty()) {
            return ArmResponse::bad_request(
                "InvalidRequestContent",
                "The request content was invalid: `command` must be a non-empty string.",
            );
        }
        let size_ok = |axis: &str| {
            request
                .pointer(&format!("/terminalSize/{axis}"))
                .is_none_or(|value| {
                    value
                        .as_i64()
                        .is_some_and(|n| (0..=i64::from(i32::MAX)).contains(&n))
                })
        };
        if !size_ok("rows") || !size_ok("cols") {
            return ArmResponse::bad_request(
                "InvalidRequestContent",
                "The request content was invalid: `terminalSize` rows and cols are 32-bit integers.",
            );
        }
    }
    if GroupPhase::of(&record, context.now_ms, context.delay_ms) != GroupPhase::Succeeded {
        // The message is the one ARM gives for a stopped group (azure-cli#8136); the code is
        // the emulator's own, as no public source names it.
        return ArmResponse::cloud_error(
            StatusCode::CONFLICT,
            "ContainerGroupNotRunning",
            format!("Container Group '{name}' in resource group '{group}' is not running."),
        );
    }
    let session = uuid::Uuid::new_v4();
    let socket_base = context.base_url.replacen("http", "ws", 1);
    ArmResponse::json(
        StatusCode::OK,
        json!({
            "webSocketUri": format!("{socket_base}/_emulator/sessions/{session}"),
            "password": uuid::Uuid::new_v4().simple().to_string(),
        }),
    )
}

fn find<'w>(
    world: &'w World,
    container_group: &InGroup,
) -> Result<&'w ContainerGroupRecord, ArmResponse> {
    let (subscription, group, name) = container_group.parts();
    let resource_group = resource_groups::find_readable(world, subscription, group)?;
    let group_key = key_of(&container_group_id(&resource_group.id, name));
    world
        .container_groups
        .get(&group_key)
        .ok_or_else(|| not_found(container_group))
}

fn not_found(container_group: &InGroup) -> ArmResponse {
    let InGroup { group, name, .. } = container_group;
    ArmResponse::not_found(
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.ContainerInstance/containerGroups/{name}' under resource \
             group '{group}' was not found."
        ),
    )
}
