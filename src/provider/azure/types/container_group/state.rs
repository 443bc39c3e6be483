//! A container group's state from ARM's answer: the GET body in fk's attribute tree and
//! normal form, with the write-only values GET never returns carried over from the prior
//! state (secure env values, storage keys, secret volume contents).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::body::{PROBE_NUMBERS, canonical, field, object, to_body};
use crate::provider::azure::shape::{id_segment, json_text, tags_from_json};
use crate::value::Value;

/// The attribute tree of a GET body, in normal form. Write-only values (secure env values,
/// storage keys, secret volume contents) are taken from `prior`: GET never returns them.
/// The user-assigned identities of a group, spelled as `prior` spells them when they are
/// the same id (ARM ids are case-insensitive; ARM may answer `resourcegroups`).
fn identities(body: &Json, prior: Option<&Value>) -> Value {
    let known: Vec<String> = prior
        .and_then(|prior| prior.get("identity"))
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(String::from))
        .collect();
    let Some(assigned) = body
        .pointer("/identity/userAssignedIdentities")
        .and_then(Json::as_object)
    else {
        return Value::Null;
    };
    Value::List(
        assigned
            .keys()
            .map(|id| {
                known
                    .iter()
                    .find(|spelled| spelled.eq_ignore_ascii_case(id))
                    .map_or_else(|| Value::str(id), Value::str)
            })
            .collect(),
    )
}

pub(crate) fn from_response(body: &Json, prior: Option<&Value>) -> Value {
    let id = body.get("id").and_then(Json::as_str).unwrap_or_default();
    let properties = body.get("properties").cloned().unwrap_or(Json::Null);
    let ip = properties.get("ipAddress").cloned().unwrap_or(Json::Null);
    let containers = |key: &str, with_resources: bool| {
        let list = properties.get(key).and_then(Json::as_array);
        let list = list.into_iter().flatten();
        Value::List(
            list.map(|c| container_from_json(c, with_resources))
                .collect(),
        )
    };
    let from = |pointer: &str| Value::from_json(body.pointer(pointer).unwrap_or(&Json::Null));
    let state = BTreeMap::from([
        ("id".to_string(), Value::str(id)),
        ("name".into(), json_text(body, "/name")),
        (
            "resource_group".into(),
            id_segment(id, "resourceGroups").map_or(Value::Null, Value::str),
        ),
        ("location".into(), json_text(body, "/location")),
        ("tags".into(), tags_from_json(body)),
        ("identity".into(), identities(body, prior)),
        ("zones".into(), from("/zones")),
        ("os_type".into(), json_text(body, "/properties/osType")),
        ("sku".into(), json_text(body, "/properties/sku")),
        (
            "restart_policy".into(),
            json_text(body, "/properties/restartPolicy"),
        ),
        ("ip_type".into(), json_text(&ip, "/type")),
        ("dns_label".into(), json_text(&ip, "/dnsNameLabel")),
        ("ip_address".into(), json_text(&ip, "/ip")),
        ("fqdn".into(), json_text(&ip, "/fqdn")),
        (
            "ports".into(),
            Value::from_json(ip.get("ports").unwrap_or(&Json::Null)),
        ),
        ("containers".into(), containers("containers", true)),
        (
            "init_containers".into(),
            containers("initContainers", false),
        ),
        (
            "volumes".into(),
            Value::List(
                properties
                    .get("volumes")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .map(volume_from_json)
                    .collect(),
            ),
        ),
        (
            "state".into(),
            json_text(body, "/properties/instanceView/state"),
        ),
        ("health".into(), health(body)),
    ]);
    let mut value = canonical(&Value::Map(state));
    let extra = super::extra::unmodeled(body, &to_body(&value));
    if let Some(fields) = value.as_map_mut() {
        fields.insert(
            "unmodeled".into(),
            extra.as_ref().map_or(Value::Null, Value::from_json),
        );
    }
    if let Some(prior) = prior {
        keep_write_only(&mut value, prior);
    }
    value
}

/// How fk repairs an unhealthy group (see [`health`]).
pub(crate) const REPAIR_REPLACE: &str = "replace";
pub(crate) const REPAIR_REDEPLOY: &str = "redeploy";

/// `Null` for a healthy group; otherwise what is wrong, as ARM reports it: `problem` (one
/// line), `repair` ([`REPAIR_REPLACE`] or [`REPAIR_REDEPLOY`]), `containers` (one line each:
/// state, reason, restart count) and `events` (the service's events, group's first).
///
/// Unhealthy means: provisioning `Failed`/`Canceled`; or a group that should run
/// (`restartPolicy` `Always`) whose runtime state is terminated (`Succeeded`/`Failed`); or,
/// once provisioning `Succeeded`, a container of such a group that is not `Running`. A group
/// stopped (`Stopped`) is healthy: `fk stop` made it so. Transient provisioning states
/// (`Pending`, `Creating`, `Repairing`, ...) are not judged: Microsoft says not to depend on
/// them. A body without `instanceView` (a list answer, an old example) is not judged either.
///
/// Repair, per ACI's rules (`container-instances-update`): a Failed provisioning keeps
/// retrying the same deployment, and a terminated group cannot be updated, so both are
/// replaced (delete, then create); a group that provisioned but whose containers do not run
/// is redeployed in place (a full PUT restarts every container).
pub(crate) fn health(body: &Json) -> Value {
    let props = body.get("properties").cloned().unwrap_or(Json::Null);
    let text = |pointer: &str| props.pointer(pointer).and_then(Json::as_str);
    let provisioning = text("/provisioningState");
    let group_state = text("/instanceView/state");
    let should_run = text("/restartPolicy").unwrap_or("Always") == "Always";
    if group_state == Some("Stopped") {
        return Value::Null;
    }
    let failed_init = failed_init_containers(&props);
    let mut container_lines = container_lines(&props);
    let not_running: Vec<&(String, bool)> = container_lines
        .iter()
        .filter(|(_, running)| !running)
        .collect();
    let (problem, repair) = match (provisioning, group_state) {
        (Some("Succeeded"), _) if should_run && !failed_init.is_empty() => (
            format!(
                "init container {} failed: the group's containers wait for it",
                failed_init.join(", ")
            ),
            REPAIR_REDEPLOY,
        ),
        (Some(state @ ("Failed" | "Canceled")), _) => (
            format!("provisioningState {state}: ACI keeps retrying a failed deployment"),
            REPAIR_REPLACE,
        ),
        (_, Some(state @ ("Failed" | "Succeeded"))) if should_run => (
            format!("the group has terminated (state {state}) but its restart policy is Always"),
            REPAIR_REPLACE,
        ),
        (Some("Succeeded"), _) if should_run && !not_running.is_empty() => (
            format!(
                "{} of {} containers not running",
                not_running.len(),
                container_lines.len()
            ),
            REPAIR_REDEPLOY,
        ),
        _ => return Value::Null,
    };
    container_lines.extend(
        failed_init
            .iter()
            .map(|line| (format!("init container {line}"), false)),
    );
    let events = super::api::events(body);
    object(vec![
        ("problem", Value::str(problem)),
        ("repair", Value::str(repair)),
        (
            "containers",
            Value::List(
                container_lines
                    .into_iter()
                    .map(|(line, _)| Value::str(line))
                    .collect(),
            ),
        ),
        (
            "events",
            Value::List(events.into_iter().map(Value::str).collect()),
        ),
    ])
}

/// One line per init container that exited non-zero or is backing off after doing so
/// (`` `restore` (Terminated, Error, exit code 1) ``): an init container that never
/// completes keeps every container of its group from starting.
pub(crate) fn failed_init_containers(props: &Json) -> Vec<String> {
    let init_containers = props.get("initContainers").and_then(Json::as_array);
    let mut lines = Vec::new();
    for container in init_containers.into_iter().flatten() {
        let Some(state) = container.pointer("/properties/instanceView/currentState") else {
            continue;
        };
        let text = |key: &str| state.get(key).and_then(Json::as_str).unwrap_or("");
        let exit_code = state.get("exitCode").and_then(Json::as_i64);
        let failed = match text("state") {
            "Terminated" => exit_code.is_some_and(|code| code != 0),
            "Waiting" => text("detailStatus") == "CrashLoopBackOff",
            _ => false,
        };
        if !failed {
            continue;
        }
        let name = container.get("name").and_then(Json::as_str).unwrap_or("?");
        let mut details: Vec<String> = Vec::new();
        if !text("detailStatus").is_empty() {
            details.push(text("detailStatus").to_owned());
        }
        if let Some(code) = exit_code {
            details.push(format!("exit code {code}"));
        }
        lines.push(format!(
            "`{name}` ({}, {})",
            text("state"),
            details.join(", ")
        ));
    }
    lines
}

/// One line per container with an instance view (`etcd: Waiting (CrashLoopBackOff), 3
/// restarts`) and whether it runs.
fn container_lines(props: &Json) -> Vec<(String, bool)> {
    let containers = props.get("containers").and_then(Json::as_array);
    let mut lines = Vec::new();
    for container in containers.into_iter().flatten() {
        let Some(view) = container.pointer("/properties/instanceView") else {
            continue;
        };
        let name = container.get("name").and_then(Json::as_str).unwrap_or("?");
        let state = view
            .pointer("/currentState/state")
            .and_then(Json::as_str)
            .unwrap_or("Unknown");
        let mut line = format!("{name}: {state}");
        let detail = view
            .pointer("/currentState/detailStatus")
            .and_then(Json::as_str)
            .filter(|detail| !detail.is_empty());
        let exit_code = view
            .pointer("/currentState/exitCode")
            .and_then(Json::as_i64);
        match (detail, exit_code) {
            (Some(detail), Some(code)) => line.push_str(&format!(" ({detail}, exit code {code})")),
            (Some(detail), None) => line.push_str(&format!(" ({detail})")),
            (None, Some(code)) => line.push_str(&format!(" (exit code {code})")),
            (None, None) => {}
        }
        let restarts = view.get("restartCount").and_then(Json::as_i64).unwrap_or(0);
        line.push_str(&format!(
            ", {restarts} restart{}",
            if restarts == 1 { "" } else { "s" }
        ));
        lines.push((line, state == "Running"));
    }
    lines
}

fn container_from_json(container: &Json, with_resources: bool) -> Value {
    let props = container.get("properties").cloned().unwrap_or(Json::Null);
    let mut env = BTreeMap::new();
    let mut secure_env = BTreeMap::new();
    for variable in props
        .get("environmentVariables")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = variable.get("name").and_then(Json::as_str) else {
            continue;
        };
        match variable.get("value").and_then(Json::as_str) {
            Some(value) => env.insert(name.to_string(), Value::str(value)),
            // A Key Vault reference is not a secure value fk set: kept as `unmodeled`.
            None if variable.get("secureValueReference").is_some() => continue,
            None => secure_env.insert(name.to_string(), Value::Null),
        };
    }
    let from = |pointer: &str| Value::from_json(props.pointer(pointer).unwrap_or(&Json::Null));
    let mounts = props.get("volumeMounts").and_then(Json::as_array);
    let mounts = mounts.into_iter().flatten().map(|mount| {
        object(vec![
            ("name", json_text(mount, "/name")),
            ("mount_path", json_text(mount, "/mountPath")),
            (
                "read_only",
                Value::from_json(mount.get("readOnly").unwrap_or(&Json::Null)),
            ),
        ])
    });
    let mut pairs = vec![
        ("name", json_text(container, "/name")),
        ("image", json_text(&props, "/image")),
        ("command", from("/command")),
        ("env", Value::Map(env)),
        ("secure_env", Value::Map(secure_env)),
        ("volume_mounts", Value::List(mounts.collect())),
    ];
    if with_resources {
        pairs.extend([
            ("cpu", from("/resources/requests/cpu")),
            ("memory_gb", from("/resources/requests/memoryInGB")),
            ("ports", from("/ports")),
            (
                "liveness_probe",
                probe_from_json(props.get("livenessProbe")),
            ),
            (
                "readiness_probe",
                probe_from_json(props.get("readinessProbe")),
            ),
        ]);
    }
    object(pairs)
}

fn probe_from_json(probe: Option<&Json>) -> Value {
    let Some(probe) = probe.filter(|probe| probe.is_object()) else {
        return Value::Null;
    };
    let from = |pointer: &str| Value::from_json(probe.pointer(pointer).unwrap_or(&Json::Null));
    let http_get = match probe.get("httpGet") {
        Some(get) if get.is_object() => object(vec![
            ("path", json_text(get, "/path")),
            (
                "port",
                Value::from_json(get.get("port").unwrap_or(&Json::Null)),
            ),
            ("scheme", json_text(get, "/scheme")),
        ]),
        _ => Value::Null,
    };
    let mut pairs = vec![("exec", from("/exec/command")), ("http_get", http_get)];
    for (key, arm_key) in PROBE_NUMBERS {
        pairs.push((key, from(&format!("/{arm_key}"))));
    }
    object(pairs)
}

fn volume_from_json(volume: &Json) -> Value {
    let azure_file = match volume.get("azureFile") {
        Some(file) if file.is_object() => object(vec![
            ("share_name", json_text(file, "/shareName")),
            (
                "storage_account_name",
                json_text(file, "/storageAccountName"),
            ),
            ("storage_account_key", Value::Null),
            (
                "read_only",
                Value::from_json(file.get("readOnly").unwrap_or(&Json::Null)),
            ),
        ]),
        _ => Value::Null,
    };
    let empty_dir = volume
        .get("emptyDir")
        .map_or(Value::Null, |_| Value::Bool(true));
    let secret = volume
        .get("secret")
        .map_or(Value::Null, |_| Value::Map(BTreeMap::new()));
    object(vec![
        ("name", json_text(volume, "/name")),
        ("azure_file", azure_file),
        ("empty_dir", empty_dir),
        ("secret", secret),
    ])
}

/// Copies what GET never returns from `prior` into `read`, matched by container, variable
/// and volume name.
pub(crate) fn keep_write_only(read: &mut Value, prior: &Value) {
    let prior = canonical(prior);
    let Some(fields) = read.as_map_mut() else {
        return;
    };
    // fk's own setting, never sent to ARM.
    if let Some(hook) = prior.get("before_stop").filter(|hook| !hook.is_null()) {
        fields.insert("before_stop".into(), hook.clone());
    }
    for key in ["containers", "init_containers"] {
        let Some(Value::List(containers)) = fields.get_mut(key) else {
            continue;
        };
        for container in containers.iter_mut() {
            let name = field(container, "name");
            let prior_container = find_named(&prior, key, &name);
            let prior_secure = prior_container
                .and_then(|c| c.get("secure_env"))
                .and_then(Value::as_map);
            let Some(Value::Map(secure)) =
                container.as_map_mut().and_then(|c| c.get_mut("secure_env"))
            else {
                continue;
            };
            for (env_name, env_value) in secure.iter_mut() {
                let kept = prior_secure.and_then(|p| p.get(env_name)).cloned();
                *env_value = kept.unwrap_or(Value::Null).sensitive();
            }
        }
    }
    let Some(Value::List(volumes)) = fields.get_mut("volumes") else {
        return;
    };
    for volume in volumes.iter_mut() {
        let name = field(volume, "name");
        let Some(prior_volume) = find_named(&prior, "volumes", &name) else {
            continue;
        };
        let Some(volume_fields) = volume.as_map_mut() else {
            continue;
        };
        if volume_fields.get("secret").is_some_and(|s| !s.is_null()) {
            volume_fields.insert("secret".into(), field(prior_volume, "secret").sensitive());
        }
        let prior_key = prior_volume
            .get("azure_file")
            .map(|file| field(file, "storage_account_key"));
        if let (Some(file), Some(key)) = (
            volume_fields
                .get_mut("azure_file")
                .and_then(Value::as_map_mut),
            prior_key,
        ) {
            file.insert("storage_account_key".into(), key.sensitive());
        }
    }
}

fn find_named<'a>(value: &'a Value, list_key: &str, name: &Value) -> Option<&'a Value> {
    value
        .get(list_key)?
        .as_list()?
        .iter()
        .find(|item| item.get("name").is_some_and(|n| n.same_data(name)))
}

#[cfg(test)]
mod tests {
    use super::{REPAIR_REDEPLOY, health};
    use serde_json::json;

    /// A group whose init container exited 1 while its containers wait: ACI's runtime
    /// state is `Pending` (init containers running, azure-arm.md "container state").
    fn group(init_state: serde_json::Value) -> serde_json::Value {
        json!({ "properties": {
            "provisioningState": "Succeeded",
            "restartPolicy": "Always",
            "instanceView": { "state": "Pending", "events": [] },
            "initContainers": [{ "name": "restore", "properties": { "instanceView": {
                "restartCount": 0, "currentState": init_state,
                "events": [{ "name": "BackOff", "message": "Back-off restarting failed container" }],
            } } }],
            "containers": [{ "name": "etcd", "properties": { "instanceView": {
                "restartCount": 0,
                "currentState": { "state": "Waiting", "detailStatus": "PodInitializing" },
            } } }],
        } })
    }

    #[test]
    fn a_failed_init_container_is_unhealthy_named_with_its_exit_code_and_events() {
        let health = health(&group(
            json!({ "state": "Terminated", "exitCode": 1, "detailStatus": "Error" }),
        ));
        let text = format!("{health:?}");
        assert!(
            health
                .get("problem")
                .and_then(|p| p.as_str())
                .is_some_and(|p| p
                    == "init container `restore` (Terminated, Error, exit code 1) failed: the \
                    group's containers wait for it"),
            "{text}"
        );
        assert_eq!(
            health.get("repair").and_then(|r| r.as_str()),
            Some(REPAIR_REDEPLOY)
        );
        assert!(text.contains("container `restore`: BackOff"), "{text}");
        assert!(text.contains("etcd: Waiting (PodInitializing)"), "{text}");
    }

    #[test]
    fn an_init_container_that_completed_is_not_the_problem() {
        let health = health(&group(
            json!({ "state": "Terminated", "exitCode": 0, "detailStatus": "Completed" }),
        ));
        let problem = health.get("problem").and_then(|p| p.as_str()).unwrap_or("");
        assert_eq!(problem, "1 of 1 containers not running");
    }
}
