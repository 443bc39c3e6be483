//! `azure_container_group` (Microsoft.ContainerInstance/containerGroups, api-version
//! 2025-09-01): schema, checks and the plan rules of ACI.
//!
//! Attributes (TOML spelling):
//!
//! - `name`, `resource_group`, `location` — force new.
//! - `os_type` (`Linux` default | `Windows`), `restart_policy` (`Always` default |
//!   `OnFailure` | `Never`), `sku` (`Standard` default), `zones` (list) — force new.
//! - `ip_type` (`Public` | `Private`; `Public` when `dns_label` or `ports` is set), `ports`
//!   (list of `{port, protocol}`; defaults to every container port when an IP is wanted) —
//!   force new. `dns_label` — updates in place; FQDN `<label>.<location>.azurecontainer.io`.
//! - `containers` (list): `name`, `image`, `command` (list), `cpu`, `memory_gb` (numbers;
//!   force new), `ports` (list of `{port, protocol}`; force new), `env` (table), `secure_env`
//!   (table; sensitive, write-only), `volume_mounts` (list of `{name, mount_path,
//!   read_only}`), `liveness_probe` / `readiness_probe` (`{exec = [..]` or `http_get = {path,
//!   port, scheme}`, `initial_delay_seconds`, `period_seconds`, `failure_threshold`,
//!   `success_threshold`, `timeout_seconds}`).
//! - `init_containers` (list): `name`, `image`, `command`, `env`, `secure_env`,
//!   `volume_mounts`.
//! - `volumes` (list): `name` and one of `azure_file = {share_name, storage_account_name,
//!   storage_account_key (sensitive), read_only}`, `empty_dir = true`, `secret = {file =
//!   base64}` (sensitive).
//! - `tags` (table) — a tags-only change is a PATCH that restarts nothing.
//! - Computed: `id`, `ip_address`, `fqdn`, `state` (`Running`, `Stopped`, ...).
//!
//! Every PUT is a full replacement of the group and restarts every container, so it carries
//! the whole desired body with its secrets; secrets are kept in state, never compared with
//! GET (which never returns them).
//!
//! Here: the schema, checks, plan and [`ContainerGroup`]; `body` builds ARM's body and the
//! normal form, `state` reads answers (and `health`), `extra` keeps what fk does not model,
//! `api` runs the operations (PUT, PATCH, GET, DELETE, stop, start, logs).

pub(crate) mod api;
pub(crate) mod body;
pub(crate) mod extra;
pub(crate) mod state;

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::dns_label::check_label;
use super::{Arm, AzureType, fail};
use crate::provider::azure::cloud::CloudProfile;
use crate::provider::azure::config::AzureConfig;
use crate::provider::azure::shape::text;
use crate::provider::azure::{before_stop, pricing, vk_credentials};
use crate::provider::schema::force_new_changes;
use crate::provider::{
    Action, AttrProblem, Attribute, Cost, OpContext, PlannedChange, ProviderError, ReplaceCause,
    ResourceSchema, Type,
};
use crate::value::{PathSeg, Value};
use api::ContainerGroups;
use body::{CONFIG_KEYS, canonical, to_body};
use extra::{merge, paths as extra_paths};
use state::REPAIR_REDEPLOY;

pub(crate) const TYPE: &str = "azure_container_group";
pub(crate) const API_VERSION: &str = "2025-09-01";

/// ACI's hard limit of ports per IP address.
const MAX_PORTS_PER_IP: usize = 5;

pub(crate) const RESTART_NOTE: &str = "updates in place: restarts every container of the group";
pub(crate) const PATCH_NOTE: &str = "tags only: PATCH, restarts nothing";
const ACI_RULE: &str = "ACI cannot change it in place (InvalidContainerGroupUpdate): the group is deleted and created again";

fn port_type() -> Type {
    Type::list(Type::Object(vec![
        Attribute::required("port", Type::Int),
        Attribute::optional("protocol", Type::String).describe("`TCP` (default) or `UDP`"),
    ]))
}

fn mount_type() -> Type {
    Type::list(Type::Object(vec![
        Attribute::required("name", Type::String),
        Attribute::required("mount_path", Type::String),
        Attribute::optional("read_only", Type::Bool),
    ]))
}

fn probe_type() -> Type {
    Type::Object(vec![
        Attribute::optional("exec", Type::list(Type::String)),
        Attribute::optional(
            "http_get",
            Type::Object(vec![
                Attribute::optional("path", Type::String),
                Attribute::required("port", Type::Int),
                Attribute::optional("scheme", Type::String).describe("`http` or `https`"),
            ]),
        ),
        Attribute::optional("initial_delay_seconds", Type::Int),
        Attribute::optional("period_seconds", Type::Int),
        Attribute::optional("failure_threshold", Type::Int),
        Attribute::optional("success_threshold", Type::Int),
        Attribute::optional("timeout_seconds", Type::Int),
    ])
}

fn container_attributes(with_resources: bool) -> Vec<Attribute> {
    let mut attributes = vec![
        Attribute::required("name", Type::String),
        Attribute::required("image", Type::String),
        Attribute::optional("command", Type::list(Type::String))
            .describe("exec form; replaces the image entrypoint"),
        Attribute::optional("env", Type::map(Type::String)),
        Attribute::optional("secure_env", Type::map(Type::String))
            .sensitive()
            .write_only()
            .describe("secure environment values: never returned by Azure, kept in state"),
        Attribute::optional("volume_mounts", mount_type()),
    ];
    if with_resources {
        attributes.extend([
            Attribute::required("cpu", Type::Number).force_new(ACI_RULE),
            Attribute::required("memory_gb", Type::Number).force_new(ACI_RULE),
            Attribute::optional("ports", port_type()).force_new(ACI_RULE),
            Attribute::optional("liveness_probe", probe_type()),
            Attribute::optional("readiness_probe", probe_type()),
        ]);
    }
    attributes
}

pub(crate) fn schema() -> ResourceSchema {
    let volume = Type::Object(vec![
        Attribute::required("name", Type::String),
        Attribute::optional(
            "azure_file",
            Type::Object(vec![
                Attribute::required("share_name", Type::String),
                Attribute::required("storage_account_name", Type::String),
                Attribute::required("storage_account_key", Type::String)
                    .sensitive()
                    .write_only(),
                Attribute::optional("read_only", Type::Bool),
            ]),
        ),
        Attribute::optional("empty_dir", Type::Bool),
        Attribute::optional("secret", Type::map(Type::String))
            .sensitive()
            .write_only()
            .describe("file name → base64 content"),
    ]);
    let force = |attribute: Attribute| attribute.force_new(ACI_RULE);
    ResourceSchema {
        type_name: TYPE.into(),
        description: "An Azure Container Instances container group".into(),
        attributes: vec![
            Attribute::required("name", Type::String)
                .force_new("a container group cannot be renamed"),
            Attribute::required("resource_group", Type::String)
                .force_new("a container group cannot move to another resource group"),
            Attribute::required("location", Type::String)
                .force_new("a container group cannot move to another region"),
            force(Attribute::optional("os_type", Type::String)),
            force(Attribute::optional("restart_policy", Type::String)),
            force(Attribute::optional("sku", Type::String)),
            force(Attribute::optional("zones", Type::list(Type::String))),
            Attribute::optional("dns_label", Type::String)
                .describe("DNS name label; use `${dns_label.<name>.label}` to pin its FQDN"),
            force(Attribute::optional("ip_type", Type::String)),
            force(Attribute::optional("ports", port_type())),
            Attribute::required(
                "containers",
                Type::list(Type::Object(container_attributes(true))),
            ),
            Attribute::optional(
                "init_containers",
                Type::list(Type::Object(container_attributes(false))),
            ),
            Attribute::optional("volumes", Type::list(volume)),
            Attribute::optional("tags", Type::map(Type::String)),
            Attribute::optional("identity", Type::list(Type::String)).describe(
                "ids of user-assigned managed identities the containers may take tokens for \
                 (`${azure_user_assigned_identity.x.id}`); changed in place",
            ),
            Attribute::optional(
                "before_stop",
                Type::Object(vec![
                    Attribute::required("volume", Type::String),
                    Attribute::required("request", Type::String),
                    Attribute::required("answer", Type::String),
                    Attribute::optional("timeout_seconds", Type::Int),
                ]),
            )
            .describe(
                "fk only, never sent to ARM: before stopping or deleting the running group, \
                 write a request file on this Azure Files volume and wait for the group's \
                 answer (see `provider::azure::before_stop`)",
            ),
            Attribute::computed("id", Type::String),
            Attribute::computed("ip_address", Type::String),
            Attribute::computed("fqdn", Type::String),
            Attribute::computed("state", Type::String)
                .describe("`Running`, `Stopped`, ... (`fk stop` / `fk start`)"),
            Attribute::computed("unmodeled", Type::Any).describe(
                "what the group carries that fk does not model (ARM's spelling): kept on every in-place update",
            ),
            Attribute::computed("health", Type::Any).describe(
                "null while healthy; else the problem, the planned repair, each container's state and the service's events",
            ),
        ],
        remote: true,
    }
}

pub(crate) fn intended_id(subscription_id: &str, planned: &Value) -> String {
    format!(
        "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}",
        text(planned, "resource_group"),
        text(planned, "name")
    )
}

fn changed(before: Option<&Value>, after: Option<&Value>) -> bool {
    let null = Value::Null;
    let (before, after) = (before.unwrap_or(&null), after.unwrap_or(&null));
    !after.is_wholly_known() || !before.same_data(after)
}

fn key_path(key: &str) -> Vec<PathSeg> {
    vec![PathSeg::Key(key.into())]
}

/// Why `planned` cannot be reached from `prior` in place (empty when it can). The schema's
/// force-new attributes (the group's and each container's) say which changes replace and
/// why; beyond them, the containers must keep their names and order.
pub(crate) fn replace_causes(prior: &Value, planned: &Value) -> Vec<ReplaceCause> {
    let mut causes = force_new_changes(&schema().attributes, &[], prior, planned);
    let names = |value: &Value| -> Option<Vec<Value>> {
        let containers = value.get("containers")?.as_list()?;
        Some(
            containers
                .iter()
                .map(|c| c.get("name").cloned().unwrap_or_default())
                .collect(),
        )
    };
    let (before, after) = (names(prior), names(planned));
    let same_names = match (&before, &after) {
        (Some(before), Some(after)) => {
            before.len() == after.len()
                && before
                    .iter()
                    .zip(after)
                    .all(|(b, a)| a.is_wholly_known() && b.same_data(a))
        }
        _ => false,
    };
    if !same_names {
        causes.push(ReplaceCause {
            path: key_path("containers"),
            reason: "adding, removing or renaming containers changes the group's resources: the group is deleted and created again".into(),
        });
        return causes;
    }
    let prior_containers = prior.get("containers").and_then(Value::as_list);
    let planned_containers = planned.get("containers").and_then(Value::as_list);
    let container_attributes = container_attributes(true);
    for (idx, (before, after)) in prior_containers
        .into_iter()
        .flatten()
        .zip(planned_containers.into_iter().flatten())
        .enumerate()
    {
        let at = [PathSeg::Key("containers".into()), PathSeg::Index(idx)];
        causes.extend(force_new_changes(&container_attributes, &at, before, after));
    }
    causes
}

/// True when anything but `tags` differs between the configurable parts, or the group is
/// unhealthy: a PATCH would claim success while the group stays broken.
pub(crate) fn needs_put(prior: &Value, planned: &Value) -> bool {
    unhealthy(prior).is_some()
        || CONFIG_KEYS
            .iter()
            .filter(|key| **key != "tags")
            .any(|key| changed(prior.get(key), planned.get(key)))
}

/// The `health` of a state that needs repair (see `state::health`).
pub(crate) fn unhealthy(state: &Value) -> Option<&Value> {
    state.get("health").filter(|health| !health.is_null())
}

/// The planned repair of an unhealthy group: a replace cause, or a redeploy note.
fn repair(health: &Value) -> (Option<ReplaceCause>, Option<String>) {
    let problem = health
        .get("problem")
        .and_then(Value::as_str)
        .unwrap_or("unhealthy");
    if health.get("repair").and_then(Value::as_str) == Some(REPAIR_REDEPLOY) {
        let note = format!(
            "repairs the group: {problem}; redeploys it in place (a full PUT restarts every container)"
        );
        return (None, Some(note));
    }
    let cause = ReplaceCause {
        path: key_path("health"),
        reason: format!(
            "{problem}; ACI cannot update a failed or terminated group in place: it is deleted and created again"
        ),
    };
    (Some(cause), None)
}

/// The plan of one group: normal form, ACI's replace rules, restart and PATCH notes, and
/// delete-before-create when a replacement keeps its DNS label.
pub(crate) fn plan(
    cloud: &CloudProfile,
    subscription_id: &str,
    prior: Option<&Value>,
    config: &Value,
) -> PlannedChange {
    let mut planned = canonical(config);
    let prior = prior.map(canonical);
    let mut causes = prior
        .as_ref()
        .map(|prior| replace_causes(prior, &planned))
        .unwrap_or_default();
    let (repair_cause, repair_note) = prior
        .as_ref()
        .and_then(|prior| unhealthy(prior))
        .map(repair)
        .unwrap_or_default();
    causes.extend(repair_cause);
    let kept = prior.as_ref().filter(|_| causes.is_empty());
    let kept_value = |key: &str| kept.and_then(|prior| prior.get(key)).cloned();
    let known = |key: &str| planned.get(key).and_then(Value::as_str).map(str::to_string);
    let id = match (known("name"), known("resource_group")) {
        (Some(_), Some(_)) => Value::str(intended_id(subscription_id, &planned)),
        _ => Value::Unknown,
    };
    let ip_address = if planned.get("ip_type").is_some_and(Value::is_null) {
        Value::Null
    } else {
        kept_value("ip_address").unwrap_or(Value::Unknown)
    };
    let label = planned.get("dns_label").cloned().unwrap_or_default();
    let same_label = kept.is_some_and(|prior| prior.get("dns_label") == Some(&label));
    let fqdn = match (label.as_str(), known("location")) {
        _ if label.is_null() => Value::Null,
        _ if same_label && kept_value("fqdn").is_some_and(|fqdn| !fqdn.is_null()) => {
            kept_value("fqdn").unwrap_or_default()
        }
        (Some(label), Some(location)) => Value::str(cloud.container_fqdn(label, &location)),
        _ => Value::Unknown,
    };
    let (unmodeled, unmodeled_notes) = plan_unmodeled(prior.as_ref(), &planned, !causes.is_empty());
    let state = match &repair_note {
        Some(_) => Value::Unknown,
        None => kept_value("state").unwrap_or(Value::Unknown),
    };
    if let Some(fields) = planned.as_map_mut() {
        // A state written before fk read these has neither: planning from it (no refresh)
        // must not invent a change.
        let recorded = |key: &str| {
            prior
                .as_ref()
                .is_none_or(|prior| prior.as_map().is_some_and(|map| map.contains_key(key)))
        };
        if recorded("health") {
            fields.insert("health".into(), Value::Null);
        }
        if recorded("unmodeled") || !unmodeled.is_null() {
            fields.insert("unmodeled".into(), unmodeled);
        }
        fields.insert("id".into(), id);
        fields.insert("ip_address".into(), ip_address);
        fields.insert("fqdn".into(), fqdn);
        fields.insert("state".into(), state);
    }
    let mut notes = Vec::new();
    let mut delete_before_create = None;
    if let Some(prior) = &prior {
        if !causes.is_empty() {
            let kept_label = label
                .as_str()
                .filter(|_| prior.get("dns_label") == Some(&label));
            delete_before_create = kept_label.map(|label| {
                format!("the replacement keeps DNS label `{label}`, which is unique per region: the old group is deleted first")
            });
        } else if let Some(note) = repair_note {
            notes.push(note);
        } else if needs_put(prior, &planned) {
            notes.push(RESTART_NOTE.to_string());
        } else if changed(prior.get("tags"), planned.get("tags")) {
            notes.push(PATCH_NOTE.to_string());
        }
    }
    let changes_group = !notes.is_empty() || delete_before_create.is_some() || !causes.is_empty();
    if changes_group && notes.first().map(String::as_str) != Some(PATCH_NOTE) {
        notes.extend(unmodeled_notes);
    }
    PlannedChange {
        planned,
        requires_replace: causes,
        notes,
        delete_before_create,
    }
}

/// What the plan keeps of the properties fk does not model (see `extra`),
/// and the notes that name what is kept, removed, or cannot be resent.
fn plan_unmodeled(prior: Option<&Value>, planned: &Value, replaced: bool) -> (Value, Vec<String>) {
    let Some(extra) = prior
        .and_then(|prior| prior.get("unmodeled"))
        .filter(|extra| !extra.is_null())
        .map(Value::to_json)
    else {
        return (Value::Null, Vec::new());
    };
    let list = |paths: Vec<String>| {
        paths
            .iter()
            .map(|path| format!("`{path}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if replaced {
        let note = format!(
            "the replacement drops what fk does not model, set outside fk: {} (fk cannot recreate it; model it or set it again after apply)",
            list(extra_paths(&extra))
        );
        return (Value::Null, vec![note]);
    }
    let mut body = to_body(planned);
    let kept = merge(&mut body, &extra);
    let mut notes = Vec::new();
    if let Some(kept) = &kept {
        notes.push(format!(
            "keeps what fk does not model, set outside fk: {}",
            list(extra_paths(kept))
        ));
        for (path, secret) in [
            (
                "/properties/imageRegistryCredentials",
                "registry `password`",
            ),
            ("/properties/diagnostics/logAnalytics", "`workspaceKey`"),
        ] {
            if kept.pointer(path).is_some() {
                notes.push(format!(
                    "ARM never returns the {secret} of `{}`: the PUT resends it without, which ACI may refuse",
                    path.trim_start_matches('/').replace('/', ".")
                ));
            }
        }
    }
    let dropped: Vec<String> = extra_paths(&extra)
        .into_iter()
        .filter(|path| {
            !kept
                .as_ref()
                .is_some_and(|kept| extra_paths(kept).contains(path))
        })
        .collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "removes what fk does not model along with the part of the group the module no longer has: {}",
            list(dropped)
        ));
    }
    (
        kept.map_or(Value::Null, |kept| Value::from_json(&kept)),
        notes,
    )
}

/// A public IP needs ports, and each group port must be some container's port (ACI has no
/// port mapping). Skipped while anything involved is unknown.
fn check_ip_ports(config: &Value) -> Vec<AttrProblem> {
    let canonical_config = canonical(config);
    let containers = canonical_config.get("containers").and_then(Value::as_list);
    let known = |key: &str| {
        canonical_config
            .get(key)
            .is_some_and(Value::is_wholly_known)
    };
    let containers_known = containers.is_some_and(|containers| {
        containers
            .iter()
            .all(|container| container.get("ports").is_some_and(Value::is_wholly_known))
    });
    let wants_ip = canonical_config
        .get("ip_type")
        .is_some_and(|ip| !ip.is_null());
    if !(known("ip_type") && known("ports") && containers_known && wants_ip) {
        return Vec::new();
    }
    let port_numbers = |ports: Option<&Value>| -> Vec<i64> {
        let ports = ports
            .and_then(Value::as_list)
            .map(Vec::as_slice)
            .unwrap_or_default();
        ports
            .iter()
            .filter_map(|port| port.get("port").and_then(Value::as_i64))
            .collect()
    };
    let group_ports = port_numbers(canonical_config.get("ports"));
    if group_ports.is_empty() {
        return vec![AttrProblem {
            path: key_path("ports"),
            code: "fk::azure::ip_without_ports",
            message:
                "the group asks for an IP address (`dns_label` or `ip_type`) but exposes no port"
                    .into(),
            help: Some("add `ports` to a container".into()),
        }];
    }
    let container_ports: BTreeSet<i64> = containers
        .into_iter()
        .flatten()
        .flat_map(|container| port_numbers(container.get("ports")))
        .collect();
    group_ports
        .iter()
        .filter(|port| !container_ports.contains(port))
        .map(|port| AttrProblem {
            path: key_path("ports"),
            code: "fk::azure::port_not_exposed",
            message: format!(
                "port {port} is on the group's IP address but no container exposes it"
            ),
            help: Some("ACI has no port mapping: add it to a container's `ports`".into()),
        })
        .collect()
}

/// The group's requested vCPU and memory (GB): the sums over its containers, which is what
/// ACI bills per second. `None` while any of them is unknown.
pub(crate) fn requested_resources(planned: &Value) -> Option<(f64, f64)> {
    let containers = planned.get("containers")?.as_list()?;
    containers
        .iter()
        .try_fold((0.0, 0.0), |(cpu, memory), container| {
            let container_cpu = container.get("cpu")?.as_f64()?;
            let container_memory = container.get("memory_gb")?.as_f64()?;
            Some((cpu + container_cpu, memory + container_memory))
        })
}

/// Checks a configured group: names, label syntax, mounts naming declared volumes, one
/// source per volume, a variable not both plain and secure.
pub(crate) fn validate(config: &Value) -> Vec<AttrProblem> {
    let mut problems = check_label(config, "dns_label");
    if let Some(name) = config.get("name").and_then(Value::as_str) {
        let valid = (1..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--");
        if !valid {
            problems.push(AttrProblem {
                path: key_path("name"),
                code: "fk::azure::invalid_container_group_name",
                message: format!("container group name `{name}` is not 1-63 lowercase letters, digits and single inner hyphens"),
                help: None,
            });
        }
    }
    let n_ports = config
        .get("ports")
        .and_then(Value::as_list)
        .map_or(0, Vec::len);
    if n_ports > MAX_PORTS_PER_IP {
        problems.push(AttrProblem {
            path: key_path("ports"),
            code: "fk::azure::too_many_ports",
            message: format!("{n_ports} ports on one IP address; ACI allows {MAX_PORTS_PER_IP}"),
            help: Some("split the containers over more groups".into()),
        });
    }
    problems.extend(check_ip_ports(config));
    let volumes = config.get("volumes").and_then(Value::as_list);
    let mut volume_names = BTreeSet::new();
    for (idx, volume) in volumes.into_iter().flatten().enumerate() {
        if let Some(name) = volume.get("name").and_then(Value::as_str) {
            volume_names.insert(name.to_string());
        }
        let n_sources = ["azure_file", "empty_dir", "secret"]
            .iter()
            .filter(|key| {
                volume
                    .get(key)
                    .is_some_and(|v| !v.is_null() && v.as_bool() != Some(false))
            })
            .count();
        if n_sources != 1 {
            problems.push(AttrProblem {
                path: vec![PathSeg::Key("volumes".into()), PathSeg::Index(idx)],
                code: "fk::azure::invalid_volume",
                message: format!("a volume needs exactly one of `azure_file`, `empty_dir`, `secret` (found {n_sources})"),
                help: None,
            });
        }
    }
    let volumes_known = volumes.is_none_or(|list| {
        list.iter()
            .all(|v| v.get("name").is_some_and(Value::is_wholly_known))
    });
    for key in ["containers", "init_containers"] {
        let containers = config.get(key).and_then(Value::as_list);
        for (idx, container) in containers.into_iter().flatten().enumerate() {
            let at = |rest: &[PathSeg]| {
                let mut path = vec![PathSeg::Key(key.into()), PathSeg::Index(idx)];
                path.extend_from_slice(rest);
                path
            };
            let mounts = container.get("volume_mounts").and_then(Value::as_list);
            for (mount_idx, mount) in mounts.into_iter().flatten().enumerate() {
                let Some(name) = mount.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if volumes_known && !volume_names.contains(name) {
                    problems.push(AttrProblem {
                        path: at(&[
                            PathSeg::Key("volume_mounts".into()),
                            PathSeg::Index(mount_idx),
                            PathSeg::Key("name".into()),
                        ]),
                        code: "fk::azure::unknown_volume",
                        message: format!(
                            "mount names volume `{name}`, which the group does not declare"
                        ),
                        help: crate::diag::nearest(name, volume_names.iter().map(String::as_str))
                            .map(|near| format!("did you mean `{near}`?")),
                    });
                }
            }
            let plain = container.get("env").and_then(Value::as_map);
            let secure = container.get("secure_env").and_then(Value::as_map);
            if let (Some(plain), Some(secure)) = (plain, secure) {
                for name in plain.keys().filter(|name| secure.contains_key(*name)) {
                    problems.push(AttrProblem {
                        path: at(&[
                            PathSeg::Key("secure_env".into()),
                            PathSeg::Key(name.clone()),
                        ]),
                        code: "fk::azure::duplicate_env",
                        message: format!("`{name}` is set in both `env` and `secure_env`"),
                        help: None,
                    });
                }
            }
        }
    }
    problems
}

/// The container group type: the only one with `fk stop` / `fk start` and a price.
pub(crate) struct ContainerGroup;

impl ContainerGroup {
    /// The group operations over `arm`'s client.
    pub(crate) fn groups(arm: Arm<'_>) -> ContainerGroups<'_> {
        ContainerGroups {
            client: arm.client,
            max_wait: arm.config.max_wait,
        }
    }

    /// The group's `before_stop` handshake, if it declares one (see [`before_stop`]).
    async fn before_stop(
        arm: Arm<'_>,
        ctx: &OpContext,
        group: &Value,
    ) -> Result<(), ProviderError> {
        before_stop::run(
            ctx,
            &arm.config.cloud,
            group,
            arm.config.poll_interval,
            arm.config.skip_before_stop,
        )
        .await
    }
}

#[async_trait]
impl AzureType for ContainerGroup {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        let mut problems = validate(config);
        problems.extend(vk_credentials::check(config));
        problems
    }

    fn plan(
        &self,
        config: &AzureConfig,
        _schema: &ResourceSchema,
        prior: Option<&Value>,
        value: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        // Variables are known here (validate sees them unknown): check again.
        if let Some(problem) = vk_credentials::check(value).into_iter().next() {
            let mut error = ProviderError::new(problem.code, problem.message);
            if let Some(help) = problem.help {
                error = error.with_detail(help);
            }
            return Err(error);
        }
        Ok(plan(&config.cloud, &config.subscription_id, prior, value))
    }

    fn intended_id(&self, config: &AzureConfig, planned: &Value) -> String {
        intended_id(&config.subscription_id, planned)
    }

    async fn read(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Self::groups(arm).read(id, prior).await.map_err(fail(ctx))
    }

    /// A change of tags alone is a PATCH, which restarts nothing; anything else is a PUT.
    async fn write(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let groups = Self::groups(arm);
        match prior {
            Some(prior) if !needs_put(&canonical(prior), &canonical(planned)) => {
                groups.patch_tags(ctx, id, planned).await
            }
            _ => groups.put(ctx, id, planned, prior.is_none()).await,
        }
    }

    async fn delete(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<(), ProviderError> {
        Self::before_stop(arm, ctx, prior).await?;
        Self::groups(arm).delete(id).await.map_err(fail(ctx))
    }

    fn actions(&self) -> &'static [Action] {
        &[Action::Stop, Action::Start]
    }

    async fn act(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
        action: Action,
    ) -> Result<Option<Value>, ProviderError> {
        let groups = Self::groups(arm);
        let state = match action {
            Action::Stop => {
                Self::before_stop(arm, ctx, prior).await?;
                groups.stop(ctx, id, prior).await?
            }
            Action::Start => groups.start(ctx, id, prior).await?,
        };
        Ok(Some(state))
    }

    fn hourly_cost(&self, config: &AzureConfig, value: &Value) -> Option<Cost> {
        Some(pricing::container_group_cost(value, &config.prices))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::azure::fixtures::{full_group_config, with};
    use crate::value::path_to_string;

    #[test]
    fn sums_requested_resources_for_pricing() {
        let config = full_group_config();
        assert_eq!(requested_resources(&canonical(&config)), Some((1.0, 2.0)));
        let unknown = with(config, &["containers", "0", "cpu"], Value::Unknown);
        assert_eq!(requested_resources(&unknown), None);
    }

    #[test]
    fn full_config_is_valid() {
        assert_eq!(validate(&full_group_config()), Vec::new());
    }

    #[test]
    fn reports_bad_mounts_volumes_env_and_names_at_their_paths() {
        let config = full_group_config();
        let config = with(config, &["name"], Value::str("Bad--Name"));
        let config = with(config, &["dns_label"], Value::str("ok"));
        let config = with(
            config,
            &["containers", "0", "volume_mounts", "0", "name"],
            Value::str("dat"),
        );
        let config = with(
            config,
            &["volumes", "0", "secret"],
            Value::Map(Default::default()),
        );
        let config = with(
            config,
            &["containers", "0", "secure_env", "ETCD_NAME"],
            Value::str("x"),
        );
        let problems: Vec<(String, &str)> = validate(&config)
            .iter()
            .map(|problem| (path_to_string(&problem.path), problem.code))
            .collect();
        assert_eq!(
            problems,
            [
                ("dns_label".to_string(), "fk::azure::invalid_dns_label"),
                (
                    "name".to_string(),
                    "fk::azure::invalid_container_group_name"
                ),
                ("volumes[0]".to_string(), "fk::azure::invalid_volume"),
                (
                    "containers[0].volume_mounts[0].name".to_string(),
                    "fk::azure::unknown_volume"
                ),
                (
                    "containers[0].secure_env.ETCD_NAME".to_string(),
                    "fk::azure::duplicate_env"
                ),
            ]
        );
        let unknown_mount = validate(&with(
            full_group_config(),
            &["containers", "0", "volume_mounts", "0", "name"],
            Value::str("dat"),
        ));
        assert_eq!(
            unknown_mount[0].help.as_deref(),
            Some("did you mean `data`?")
        );
    }

    #[test]
    fn group_ports_must_be_container_ports() {
        let ports = Value::List(vec![Value::Int(2379), Value::Int(443)]);
        let problems = validate(&with(full_group_config(), &["ports"], ports));
        let codes: Vec<&str> = problems.iter().map(|problem| problem.code).collect();
        assert_eq!(codes, ["fk::azure::port_not_exposed"]);
        assert!(problems[0].message.contains("443"));
        let no_ports = with(
            full_group_config(),
            &["containers", "0", "ports"],
            Value::Null,
        );
        let codes: Vec<&str> = validate(&no_ports)
            .iter()
            .map(|problem| problem.code)
            .collect();
        assert_eq!(codes, ["fk::azure::ip_without_ports"]);
    }

    /// The texts the plan showed when these rules were a table of their own.
    #[test]
    fn schema_force_new_attributes_give_the_replace_causes_in_schema_order() {
        let prior = canonical(&full_group_config());
        let planned = with(prior.clone(), &["location"], Value::str("eastus"));
        let planned = with(planned, &["name"], Value::str("other"));
        let planned = with(planned, &["containers", "0", "memory_gb"], Value::Unknown);
        let planned = with(planned, &["tags", "team"], Value::str("x"));
        let causes: Vec<(String, String)> = replace_causes(&prior, &planned)
            .into_iter()
            .map(|cause| (path_to_string(&cause.path), cause.reason))
            .collect();
        assert_eq!(
            causes,
            [
                (
                    "name".to_string(),
                    "a container group cannot be renamed".to_string()
                ),
                (
                    "location".to_string(),
                    "a container group cannot move to another region".to_string()
                ),
                (
                    "containers[0].memory_gb".to_string(),
                    "ACI cannot change it in place (InvalidContainerGroupUpdate): the group is deleted and created again".to_string()
                ),
            ]
        );
    }

    #[test]
    fn more_than_five_ports_on_one_ip_is_an_error() {
        let ports = Value::List((1..=6).map(Value::Int).collect());
        let problems = validate(&with(full_group_config(), &["ports"], ports));
        assert_eq!(problems[0].code, "fk::azure::too_many_ports");
    }
}
