//! The container group's two shapes: fk's attribute tree (snake_case, as written in TOML)
//! and ARM's JSON body. This file builds the body; `state` reads answers.
//! [`canonical`] puts either side into one normal form (server defaults filled, empty lists
//! unset, numbers as floats where ARM uses floats, secrets marked), so a config and the GET
//! of what it produced compare equal.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::provider::azure::cloud::normalise_location;
use crate::provider::azure::shape::{null_if_empty, tags_to_json};
use crate::value::Value;

pub(crate) const DEFAULT_OS_TYPE: &str = "Linux";
pub(crate) const DEFAULT_RESTART_POLICY: &str = "Always";
pub(crate) const DEFAULT_SKU: &str = "Standard";

/// The configurable top-level attributes, in the order of the schema.
pub(crate) const CONFIG_KEYS: &[&str] = &[
    "name",
    "resource_group",
    "location",
    "os_type",
    "restart_policy",
    "sku",
    "zones",
    "dns_label",
    "ip_type",
    "ports",
    "containers",
    "init_containers",
    "volumes",
    "tags",
    "identity",
];

pub(super) fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

fn or_default(value: Value, default: &str) -> Value {
    if value.is_null() {
        Value::str(default)
    } else {
        value
    }
}

fn as_float(value: Value) -> Value {
    match value.unmarked() {
        Value::Int(number) => Value::Float(*number as f64),
        _ => value,
    }
}

fn list_of(value: Value, each: impl Fn(&Value) -> Value) -> Value {
    match value.unmarked() {
        Value::List(items) => null_if_empty(Value::List(items.iter().map(each).collect())),
        _ => value,
    }
}

pub(super) fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

/// The normal form of a whole group (computed attributes are left as they are).
pub(crate) fn canonical(value: &Value) -> Value {
    let Some(fields) = value.as_map() else {
        return value.clone();
    };
    let mut out = fields.clone();
    let location = field(value, "location");
    let location = match location.as_str() {
        Some(text) => Value::str(normalise_location(text)),
        None => location,
    };
    out.insert("location".into(), location);
    out.insert(
        "os_type".into(),
        or_default(field(value, "os_type"), DEFAULT_OS_TYPE),
    );
    out.insert(
        "restart_policy".into(),
        or_default(field(value, "restart_policy"), DEFAULT_RESTART_POLICY),
    );
    out.insert("sku".into(), or_default(field(value, "sku"), DEFAULT_SKU));
    out.insert("zones".into(), null_if_empty(field(value, "zones")));
    out.insert("tags".into(), null_if_empty(field(value, "tags")));
    out.insert("identity".into(), null_if_empty(field(value, "identity")));
    let containers = list_of(field(value, "containers"), |c| canonical_container(c, true));
    let init_containers = list_of(field(value, "init_containers"), |c| {
        canonical_container(c, false)
    });
    let mut ports = list_of(field(value, "ports"), canonical_port);
    let dns_label = field(value, "dns_label");
    let mut ip_type = field(value, "ip_type");
    if ports.is_null() && (!ip_type.is_null() || !dns_label.is_null()) {
        ports = container_ports(&containers);
    }
    if ip_type.is_null() && !(ports.is_null() && dns_label.is_null()) {
        ip_type = Value::str("Public");
    }
    out.insert("containers".into(), containers);
    out.insert("init_containers".into(), init_containers);
    out.insert("ports".into(), ports);
    out.insert("ip_type".into(), ip_type);
    out.insert("dns_label".into(), dns_label);
    out.insert(
        "volumes".into(),
        list_of(field(value, "volumes"), canonical_volume),
    );
    for key in CONFIG_KEYS {
        out.entry(key.to_string()).or_insert(Value::Null);
    }
    Value::Map(out)
}

/// Every container port, for a public IP configured without its own `ports`.
fn container_ports(containers: &Value) -> Value {
    let mut ports = Vec::new();
    for container in containers.as_list().into_iter().flatten() {
        for port in container
            .get("ports")
            .and_then(Value::as_list)
            .into_iter()
            .flatten()
        {
            if !ports.contains(port) {
                ports.push(port.clone());
            }
        }
    }
    null_if_empty(Value::List(ports))
}

fn canonical_port(port: &Value) -> Value {
    match port.unmarked() {
        Value::Int(number) => object(vec![
            ("port", Value::Int(*number)),
            ("protocol", Value::str("TCP")),
        ]),
        Value::Map(_) => object(vec![
            ("port", field(port, "port")),
            (
                "protocol",
                match field(port, "protocol").as_str() {
                    Some(protocol) => Value::str(protocol.to_ascii_uppercase()),
                    None => or_default(field(port, "protocol"), "TCP"),
                },
            ),
        ]),
        _ => port.clone(),
    }
}

fn sensitive_values(value: Value) -> Value {
    match value.unmarked() {
        Value::Map(map) if map.is_empty() => Value::Null,
        Value::Map(map) => Value::Map(
            map.iter()
                .map(|(key, item)| (key.clone(), item.clone().sensitive()))
                .collect(),
        ),
        _ => value,
    }
}

fn canonical_container(container: &Value, with_resources: bool) -> Value {
    if container.as_map().is_none() {
        return container.clone();
    }
    let mut pairs = vec![
        ("name", field(container, "name")),
        ("image", field(container, "image")),
        ("command", null_if_empty(field(container, "command"))),
        ("env", null_if_empty(field(container, "env"))),
        (
            "secure_env",
            sensitive_values(field(container, "secure_env")),
        ),
        (
            "volume_mounts",
            list_of(field(container, "volume_mounts"), |mount| {
                object(vec![
                    ("name", field(mount, "name")),
                    ("mount_path", field(mount, "mount_path")),
                    (
                        "read_only",
                        match field(mount, "read_only") {
                            Value::Null => Value::Bool(false),
                            other => other,
                        },
                    ),
                ])
            }),
        ),
    ];
    if with_resources {
        pairs.extend([
            ("cpu", as_float(field(container, "cpu"))),
            ("memory_gb", as_float(field(container, "memory_gb"))),
            ("ports", list_of(field(container, "ports"), canonical_port)),
            (
                "liveness_probe",
                canonical_probe(field(container, "liveness_probe")),
            ),
            (
                "readiness_probe",
                canonical_probe(field(container, "readiness_probe")),
            ),
        ]);
    }
    object(pairs)
}

fn canonical_probe(probe: Value) -> Value {
    if probe.as_map().is_none() {
        return probe;
    }
    let http_get = field(&probe, "http_get");
    let http_get = if http_get.as_map().is_some() {
        object(vec![
            ("path", field(&http_get, "path")),
            ("port", field(&http_get, "port")),
            (
                "scheme",
                match field(&http_get, "scheme").as_str() {
                    Some(scheme) => Value::str(scheme.to_ascii_lowercase()),
                    None => field(&http_get, "scheme"),
                },
            ),
        ])
    } else {
        http_get
    };
    object(vec![
        ("exec", null_if_empty(field(&probe, "exec"))),
        ("http_get", http_get),
        (
            "initial_delay_seconds",
            field(&probe, "initial_delay_seconds"),
        ),
        ("period_seconds", field(&probe, "period_seconds")),
        ("failure_threshold", field(&probe, "failure_threshold")),
        ("success_threshold", field(&probe, "success_threshold")),
        ("timeout_seconds", field(&probe, "timeout_seconds")),
    ])
}

fn canonical_volume(volume: &Value) -> Value {
    if volume.as_map().is_none() {
        return volume.clone();
    }
    let azure_file = field(volume, "azure_file");
    let azure_file = if azure_file.as_map().is_some() {
        object(vec![
            ("share_name", field(&azure_file, "share_name")),
            (
                "storage_account_name",
                field(&azure_file, "storage_account_name"),
            ),
            (
                "storage_account_key",
                field(&azure_file, "storage_account_key").sensitive(),
            ),
            (
                "read_only",
                match field(&azure_file, "read_only") {
                    Value::Null => Value::Bool(false),
                    other => other,
                },
            ),
        ])
    } else {
        azure_file
    };
    let empty_dir = match field(volume, "empty_dir") {
        Value::Bool(false) => Value::Null,
        other => other,
    };
    let secret = match field(volume, "secret") {
        Value::Null => Value::Null,
        secret => secret.sensitive(),
    };
    object(vec![
        ("name", field(volume, "name")),
        ("azure_file", azure_file),
        ("empty_dir", empty_dir),
        ("secret", secret),
    ])
}

/// The full PUT body: ACI replaces the whole group, so everything goes, secrets included.
pub(crate) fn to_body(planned: &Value) -> Json {
    let planned = canonical(planned);
    let mut properties = Map::new();
    properties.insert("osType".into(), planned_json(&planned, "os_type"));
    properties.insert("sku".into(), planned_json(&planned, "sku"));
    properties.insert(
        "restartPolicy".into(),
        planned_json(&planned, "restart_policy"),
    );
    let containers = planned.get("containers").and_then(Value::as_list);
    properties.insert(
        "containers".into(),
        Json::Array(
            containers
                .into_iter()
                .flatten()
                .map(|c| container_json(c, true))
                .collect(),
        ),
    );
    if let Some(inits) = planned.get("init_containers").and_then(Value::as_list) {
        let inits = inits.iter().map(|c| container_json(c, false)).collect();
        properties.insert("initContainers".into(), Json::Array(inits));
    }
    if let Some(ip_type) = planned.get("ip_type").and_then(Value::as_str) {
        let mut ip = Map::new();
        ip.insert("type".into(), json!(ip_type));
        ip.insert("ports".into(), ports_json(&field(&planned, "ports")));
        if let Some(label) = planned.get("dns_label").and_then(Value::as_str) {
            ip.insert("dnsNameLabel".into(), json!(label));
            ip.insert(
                "autoGeneratedDomainNameLabelScope".into(),
                json!("Unsecure"),
            );
        }
        properties.insert("ipAddress".into(), Json::Object(ip));
    }
    if let Some(volumes) = planned.get("volumes").and_then(Value::as_list) {
        let volumes = volumes.iter().map(volume_json).collect();
        properties.insert("volumes".into(), Json::Array(volumes));
    }
    let mut body = Map::new();
    body.insert("location".into(), planned_json(&planned, "location"));
    body.insert("tags".into(), tags_to_json(&planned));
    if let Some(zones) = planned.get("zones").and_then(Value::as_list) {
        body.insert(
            "zones".into(),
            Json::Array(zones.iter().map(Value::to_json).collect()),
        );
    }
    if let Some(identities) = planned.get("identity").and_then(Value::as_list) {
        let assigned: Map<String, Json> = identities
            .iter()
            .filter_map(Value::as_str)
            .map(|id| (id.to_string(), json!({})))
            .collect();
        body.insert(
            "identity".into(),
            json!({ "type": "UserAssigned", "userAssignedIdentities": assigned }),
        );
    }
    body.insert("properties".into(), Json::Object(properties));
    let mut body = Json::Object(body);
    if let Some(extra) = planned.get("unmodeled").filter(|extra| !extra.is_null()) {
        super::extra::merge(&mut body, &extra.to_json());
    }
    body
}

fn planned_json(value: &Value, key: &str) -> Json {
    field(value, key).to_json()
}

fn ports_json(ports: &Value) -> Json {
    let ports = ports.as_list().into_iter().flatten().map(|port| {
        json!({ "port": field(port, "port").to_json(), "protocol": field(port, "protocol").to_json() })
    });
    Json::Array(ports.collect())
}

fn container_json(container: &Value, with_resources: bool) -> Json {
    let mut properties = Map::new();
    properties.insert("image".into(), planned_json(container, "image"));
    if let Some(command) = container.get("command").filter(|c| !c.is_null()) {
        properties.insert("command".into(), command.to_json());
    }
    let mut env: BTreeMap<String, Json> = BTreeMap::new();
    for (name, value) in container
        .get("env")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
    {
        let value = value.to_interpolated().unwrap_or_default();
        env.insert(name.clone(), json!({ "name": name, "value": value }));
    }
    let secure = container.get("secure_env").and_then(Value::as_map);
    for (name, value) in secure.into_iter().flatten() {
        let value = value.to_interpolated().unwrap_or_default();
        env.insert(name.clone(), json!({ "name": name, "secureValue": value }));
    }
    properties.insert(
        "environmentVariables".into(),
        Json::Array(env.into_values().collect()),
    );
    if let Some(mounts) = container.get("volume_mounts").and_then(Value::as_list) {
        let mounts = mounts.iter().map(|mount| {
            json!({
                "name": planned_json(mount, "name"),
                "mountPath": planned_json(mount, "mount_path"),
                "readOnly": planned_json(mount, "read_only"),
            })
        });
        properties.insert("volumeMounts".into(), Json::Array(mounts.collect()));
    }
    if with_resources {
        if let Some(ports) = container.get("ports").filter(|p| !p.is_null()) {
            properties.insert("ports".into(), ports_json(ports));
        }
        properties.insert(
            "resources".into(),
            json!({ "requests": {
                "cpu": planned_json(container, "cpu"),
                "memoryInGB": planned_json(container, "memory_gb"),
            }}),
        );
        for (key, arm_key) in [
            ("liveness_probe", "livenessProbe"),
            ("readiness_probe", "readinessProbe"),
        ] {
            if let Some(probe) = container.get(key).filter(|p| p.as_map().is_some()) {
                properties.insert(arm_key.into(), probe_json(probe));
            }
        }
    }
    json!({ "name": planned_json(container, "name"), "properties": properties })
}

fn probe_json(probe: &Value) -> Json {
    let mut out = Map::new();
    if let Some(exec) = probe.get("exec").filter(|e| !e.is_null()) {
        out.insert("exec".into(), json!({ "command": exec.to_json() }));
    }
    if let Some(http_get) = probe.get("http_get").filter(|h| h.as_map().is_some()) {
        let mut get = Map::new();
        for (key, arm_key) in [("path", "path"), ("port", "port"), ("scheme", "scheme")] {
            let value = field(http_get, key);
            if !value.is_null() {
                get.insert(arm_key.into(), value.to_json());
            }
        }
        out.insert("httpGet".into(), Json::Object(get));
    }
    for (key, arm_key) in PROBE_NUMBERS {
        let value = field(probe, key);
        if !value.is_null() {
            out.insert(arm_key.to_string(), value.to_json());
        }
    }
    Json::Object(out)
}

pub(super) const PROBE_NUMBERS: [(&str, &str); 5] = [
    ("initial_delay_seconds", "initialDelaySeconds"),
    ("period_seconds", "periodSeconds"),
    ("failure_threshold", "failureThreshold"),
    ("success_threshold", "successThreshold"),
    ("timeout_seconds", "timeoutSeconds"),
];

fn volume_json(volume: &Value) -> Json {
    let mut out = Map::new();
    out.insert("name".into(), planned_json(volume, "name"));
    if let Some(file) = volume.get("azure_file").filter(|f| f.as_map().is_some()) {
        out.insert(
            "azureFile".into(),
            json!({
                "shareName": planned_json(file, "share_name"),
                "storageAccountName": planned_json(file, "storage_account_name"),
                "storageAccountKey": planned_json(file, "storage_account_key"),
                "readOnly": planned_json(file, "read_only"),
            }),
        );
    }
    if volume.get("empty_dir").and_then(Value::as_bool) == Some(true) {
        out.insert("emptyDir".into(), json!({}));
    }
    if let Some(secret) = volume.get("secret").filter(|s| !s.is_null()) {
        out.insert("secret".into(), secret.to_json());
    }
    Json::Object(out)
}
