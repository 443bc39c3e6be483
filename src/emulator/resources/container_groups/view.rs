//! What GET shows of a container group at a given time: its phase computed from the
//! operation's timestamps, the instance view of every container with events, server
//! defaults filled in and every write-only secret stripped (azure-arm.md §2.2, §2.4).

use crate::clock::rfc3339;
use crate::world::{ContainerGroupRecord, GroupFailure, GroupPhase};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

impl GroupPhase {
    /// `properties.provisioningState` in this phase.
    pub(crate) fn provisioning_state(self, operation_kind: &str) -> &'static str {
        match self {
            GroupPhase::Waiting | GroupPhase::Creating if is_update(operation_kind) => "Updating",
            GroupPhase::Waiting => "Pending",
            GroupPhase::Creating => "Creating",
            GroupPhase::Failed => "Failed",
            GroupPhase::Succeeded | GroupPhase::Stopped => "Succeeded",
        }
    }
}

fn is_update(operation_kind: &str) -> bool {
    matches!(operation_kind, "update" | "restart")
}

/// The group as GET shows it; `with_instance_view` is false for list results.
pub(crate) fn render(
    group: &ContainerGroupRecord,
    now_ms: u64,
    delay_ms: u64,
    with_instance_view: bool,
) -> Value {
    let phase = GroupPhase::of(group, now_ms, delay_ms);
    let mut properties = group
        .body
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    strip_secrets(&mut properties);
    let properties_object = ensure_object(&mut properties);
    properties_object.remove("instanceView");
    properties_object.remove("provisioningState");
    properties_object
        .entry("sku")
        .or_insert_with(|| json!("Standard"));
    properties_object
        .entry("restartPolicy")
        .or_insert_with(|| json!("Always"));
    properties_object
        .entry("initContainers")
        .or_insert_with(|| json!([]));
    properties_object.insert("isCreatedFromStandbyPool".into(), json!(false));
    properties_object.insert(
        "provisioningState".into(),
        json!(phase.provisioning_state(&group.operation_kind)),
    );
    for container in array_items(properties_object.get_mut("containers")) {
        let container_properties = ensure_object(entry(container, "properties"));
        container_properties
            .entry("environmentVariables")
            .or_insert_with(|| json!([]));
        container_properties.remove("instanceView");
    }
    if let Some(ip_address) = properties_object.get_mut("ipAddress") {
        render_ip_address(ip_address, group, phase);
    }
    if with_instance_view {
        add_instance_views(properties_object, group, phase, now_ms, delay_ms);
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(group.id));
    body.insert("name".into(), json!(group.name));
    body.insert(
        "type".into(),
        json!("Microsoft.ContainerInstance/containerGroups"),
    );
    body.insert("location".into(), json!(group.location));
    for optional in ["tags", "zones"] {
        if let Some(value) = group.body.get(optional) {
            body.insert(optional.into(), value.clone());
        }
    }
    if let Some(identity) = group.body.get("identity") {
        body.insert("identity".into(), render_identity(identity, group));
    }
    body.insert("properties".into(), properties);
    Value::Object(body)
}

/// Every event of the group and its containers, oldest first (the operation status shows
/// these).
pub(crate) fn group_events(group: &ContainerGroupRecord, now_ms: u64, delay_ms: u64) -> Vec<Value> {
    let phase = GroupPhase::of(group, now_ms, delay_ms);
    let mut events = group_level_events(group, phase, delay_ms);
    let containers = group
        .body
        .pointer("/properties/containers")
        .and_then(Value::as_array);
    for container in containers.into_iter().flatten() {
        events.extend(container_events(group, container, phase, delay_ms));
    }
    events.sort_by(|left, right| {
        left["firstTimestamp"]
            .as_str()
            .cmp(&right["firstTimestamp"].as_str())
    });
    events
}

/// Removes every write-only value: secure environment values, secret-volume contents,
/// storage keys, registry passwords, Log Analytics keys.
pub(crate) fn strip_secrets(properties: &mut Value) {
    for list in ["containers", "initContainers"] {
        for container in array_items(properties.get_mut(list)) {
            let variables = container.pointer_mut("/properties/environmentVariables");
            for variable in array_items(variables) {
                if let Some(variable) = variable.as_object_mut() {
                    variable.remove("secureValue");
                }
            }
        }
    }
    for volume in array_items(properties.get_mut("volumes")) {
        if let Some(secret) = volume.get_mut("secret") {
            *secret = json!({});
        }
        if let Some(azure_file) = volume.get_mut("azureFile").and_then(Value::as_object_mut) {
            azure_file.remove("storageAccountKey");
        }
    }
    for credential in array_items(properties.get_mut("imageRegistryCredentials")) {
        if let Some(credential) = credential.as_object_mut() {
            credential.remove("password");
        }
    }
    if let Some(log_analytics) = properties
        .pointer_mut("/diagnostics/logAnalytics")
        .and_then(Value::as_object_mut)
    {
        log_analytics.remove("workspaceKey");
        log_analytics.remove("workspaceResourceId");
    }
}

/// The public IP of a group's deployment: stable per group and generation.
pub(crate) fn ip_of(group: &ContainerGroupRecord) -> String {
    let digest = Sha256::digest(format!(
        "{}|{}",
        group.id.to_ascii_lowercase(),
        group.generation
    ));
    format!("20.{}.{}.{}", digest[0], digest[1], digest[2].max(1))
}

fn render_ip_address(ip_address: &mut Value, group: &ContainerGroupRecord, phase: GroupPhase) {
    let ip_address = ensure_object(ip_address);
    if ip_address.contains_key("dnsNameLabel") {
        ip_address
            .entry("autoGeneratedDomainNameLabelScope")
            .or_insert_with(|| json!("Unsecure"));
    }
    for port in array_items(ip_address.get_mut("ports")) {
        ensure_object(port)
            .entry("protocol")
            .or_insert_with(|| json!("TCP"));
    }
    let is_public = ip_address
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("public"));
    if phase == GroupPhase::Stopped {
        ip_address.remove("ip");
    } else if is_public {
        ip_address.insert("ip".into(), json!(ip_of(group)));
    }
    if let Some(fqdn) = &group.fqdn {
        ip_address.insert("fqdn".into(), json!(fqdn));
    }
}

fn render_identity(identity: &Value, group: &ContainerGroupRecord) -> Value {
    let mut identity = identity.clone();
    let identity_object = ensure_object(&mut identity);
    if let Some(principal_id) = &group.principal_id {
        identity_object.insert("principalId".into(), json!(principal_id));
        identity_object.insert(
            "tenantId".into(),
            json!("00000000-0000-0000-0000-0000000000e1"),
        );
    }
    if let Some(assigned) = identity_object
        .get_mut("userAssignedIdentities")
        .and_then(Value::as_object_mut)
    {
        for (identity_id, details) in assigned.iter_mut() {
            let digest = Sha256::digest(identity_id.to_ascii_lowercase().as_bytes());
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            let guid = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            *details = json!({ "principalId": guid, "clientId": guid });
        }
    }
    identity
}

fn add_instance_views(
    properties: &mut Map<String, Value>,
    group: &ContainerGroupRecord,
    phase: GroupPhase,
    now_ms: u64,
    delay_ms: u64,
) {
    let ready_ms = group.operation_started_ms.saturating_add(delay_ms);
    let originals = group
        .body
        .pointer("/properties/containers")
        .and_then(Value::as_array);
    let originals: Vec<Value> = originals.cloned().unwrap_or_default();
    // A failed init container (see `file_data::run_init_containers`): what ACI shows then is
    // not in azure-arm.md nor in the ContainerGroup spec's examples, which only say that an
    // init container's instance view has the container shape and that containers wait
    // (`Waiting`) while init containers run, the group's runtime state being `Pending`. The
    // emulator takes the most conservative shape Kubernetes (which ACI's states mirror) gives
    // a pod whose init container fails under restart policy Always: provisioning stays
    // `Succeeded` (the deployment itself worked), the group stays `Pending`, every container
    // `Waiting` (`PodInitializing`) with no Started event, the failed init container
    // `Terminated` with its exit code (`Error`) and a `BackOff` warning, later init containers
    // `Waiting`. Nothing retries it into success: a redeploy or a stop and start runs it anew.
    let init_failed = (phase == GroupPhase::Succeeded)
        .then_some(group.init_failure.as_ref())
        .flatten();
    for (container, original) in array_items(properties.get_mut("containers")).zip(&originals) {
        let current_state = match phase {
            GroupPhase::Succeeded if init_failed.is_some() => {
                json!({ "state": "Waiting", "detailStatus": "PodInitializing" })
            }
            GroupPhase::Waiting | GroupPhase::Creating => {
                json!({ "state": "Waiting", "detailStatus": "ContainerCreating" })
            }
            GroupPhase::Failed => match &group.failure {
                Some(GroupFailure::Injected { .. }) => {
                    json!({ "state": "Waiting", "detailStatus": "ErrImagePull" })
                }
                _ => json!({ "state": "Waiting", "detailStatus": "ContainerCreating" }),
            },
            GroupPhase::Succeeded => {
                json!({ "state": "Running", "startTime": rfc3339(ready_ms), "detailStatus": "" })
            }
            GroupPhase::Stopped => json!({
                "state": "Terminated",
                "startTime": rfc3339(ready_ms),
                "finishTime": rfc3339(group.stopped_at_ms.unwrap_or(now_ms)),
                "exitCode": 0,
                "detailStatus": "Stopped",
            }),
        };
        let mut events = if init_failed.is_some() {
            Vec::new()
        } else {
            container_events(group, original, phase, delay_ms)
        };
        let mut restart_count = 0;
        let mut current_state = current_state;
        let name = original.get("name").and_then(Value::as_str).unwrap_or("");
        if let (GroupPhase::Succeeded, Some(since)) = (phase, group.crashed.get(name)) {
            (current_state, restart_count) = crash_loop(*since, now_ms);
            events.push(event(
                "BackOff",
                "Back-off restarting failed container",
                "Warning",
                now_ms.max(*since),
            ));
        }
        let container_properties = ensure_object(entry(container, "properties"));
        container_properties.insert(
            "instanceView".into(),
            json!({ "restartCount": restart_count, "currentState": current_state, "events": events }),
        );
    }
    let mut reached_failure = false;
    for init_container in array_items(properties.get_mut("initContainers")) {
        let name = init_container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut events = Vec::new();
        let current_state = match (phase, init_failed) {
            (GroupPhase::Succeeded, Some(_)) if reached_failure => {
                json!({ "state": "Waiting", "detailStatus": "PodInitializing" })
            }
            (GroupPhase::Succeeded, Some(failure)) if failure.container == name => {
                reached_failure = true;
                events = container_events(group, init_container, phase, delay_ms);
                events.push(event(
                    "BackOff",
                    "Back-off restarting failed container",
                    "Warning",
                    ready_ms,
                ));
                json!({
                    "state": "Terminated", "exitCode": failure.exit_code, "detailStatus": "Error",
                    "finishTime": rfc3339(ready_ms),
                })
            }
            (GroupPhase::Succeeded | GroupPhase::Stopped, _) => json!({
                "state": "Terminated", "exitCode": 0, "detailStatus": "Completed",
                "finishTime": rfc3339(ready_ms),
            }),
            _ => json!({ "state": "Waiting", "detailStatus": "PodInitializing" }),
        };
        let container_properties = ensure_object(entry(init_container, "properties"));
        container_properties.insert(
            "instanceView".into(),
            json!({ "restartCount": 0, "currentState": current_state, "events": events }),
        );
    }
    let state = match phase {
        GroupPhase::Succeeded if init_failed.is_some() => "Pending",
        GroupPhase::Succeeded => "Running",
        GroupPhase::Stopped => "Stopped",
        _ => "Pending",
    };
    properties.insert(
        "instanceView".into(),
        json!({ "state": state, "events": group_level_events(group, phase, delay_ms) }),
    );
}

/// How often a crash-looping container of the emulator restarts.
const CRASH_PERIOD_MS: u64 = 1_000;

/// A container crashing since `since_ms`, at `now_ms`: it exits with code 1 and is restarted
/// every [`CRASH_PERIOD_MS`], so its restart count grows with time; between runs it waits in
/// back-off (`Waiting`, `CrashLoopBackOff`), the first half of each period, and shows its
/// last exit (`Terminated`) the second half.
fn crash_loop(since_ms: u64, now_ms: u64) -> (Value, u64) {
    let elapsed = now_ms.saturating_sub(since_ms);
    let restarts = 1 + elapsed / CRASH_PERIOD_MS;
    let state = if elapsed % CRASH_PERIOD_MS < CRASH_PERIOD_MS / 2 {
        json!({ "state": "Waiting", "detailStatus": "CrashLoopBackOff" })
    } else {
        json!({ "state": "Terminated", "exitCode": 1, "detailStatus": "Error",
                "finishTime": rfc3339(now_ms) })
    };
    (state, restarts)
}

fn group_level_events(
    group: &ContainerGroupRecord,
    phase: GroupPhase,
    delay_ms: u64,
) -> Vec<Value> {
    let ready_ms = group.operation_started_ms.saturating_add(delay_ms);
    match (&group.failure, phase) {
        (Some(GroupFailure::Mount { message, .. }), GroupPhase::Failed) => {
            vec![event("FailedMount", message, "Warning", ready_ms)]
        }
        _ => Vec::new(),
    }
}

fn container_events(
    group: &ContainerGroupRecord,
    container: &Value,
    phase: GroupPhase,
    delay_ms: u64,
) -> Vec<Value> {
    let image = container
        .pointer("/properties/image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pulling_ms = group.operation_started_ms.saturating_add(delay_ms / 2);
    let ready_ms = group.operation_started_ms.saturating_add(delay_ms);
    let mut events = Vec::new();
    if phase == GroupPhase::Waiting {
        return events;
    }
    events.push(event(
        "Pulling",
        &format!("pulling image \"{image}\""),
        "Normal",
        pulling_ms,
    ));
    match (phase, &group.failure) {
        (GroupPhase::Creating, _) => {}
        (GroupPhase::Failed, Some(GroupFailure::Injected { .. })) => events.push(event(
            "Failed",
            &format!(
                "Failed to pull image \"{image}\": rpc error: code = Unknown desc = failed to \
                 pull and unpack image \"{image}\": not found"
            ),
            "Warning",
            ready_ms,
        )),
        (GroupPhase::Failed, _) => {}
        _ => {
            let pulled = format!("Successfully pulled image \"{image}\"");
            events.push(event("Pulled", &pulled, "Normal", ready_ms));
            events.push(event("Created", "Created container", "Normal", ready_ms));
            events.push(event("Started", "Started container", "Normal", ready_ms));
        }
    }
    if let (GroupPhase::Stopped, Some(stopped_ms)) = (phase, group.stopped_at_ms) {
        events.push(event("Killing", "Killing container", "Normal", stopped_ms));
    }
    events
}

fn event(name: &str, message: &str, event_type: &str, at_ms: u64) -> Value {
    json!({
        "count": 1,
        "firstTimestamp": rfc3339(at_ms),
        "lastTimestamp": rfc3339(at_ms),
        "name": name,
        "message": message,
        "type": event_type,
    })
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(object) => object,
        _ => unreachable!("replaced by an object above"),
    }
}

fn entry<'v>(value: &'v mut Value, member: &str) -> &'v mut Value {
    ensure_object(value)
        .entry(member)
        .or_insert_with(|| json!({}))
}

fn array_items(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value.and_then(Value::as_array_mut).into_iter().flatten()
}

#[cfg(test)]
mod crash_tests {
    use super::crash_loop;

    #[test]
    fn a_crash_loop_restarts_more_as_time_passes_and_alternates_back_off_and_exit() {
        let (first, first_count) = crash_loop(10_000, 10_100);
        assert_eq!(first["state"], "Waiting");
        assert_eq!(first["detailStatus"], "CrashLoopBackOff");
        let (later, later_count) = crash_loop(10_000, 13_700);
        assert_eq!(later["state"], "Terminated");
        assert_eq!(later["exitCode"], 1);
        assert_eq!((first_count, later_count), (1, 4));
    }
}
