//! Test fixtures: a fully featured container group and what ARM answers about it.

use serde_json::{Value as Json, json};

use crate::value::Value;

pub(crate) const SECURE_ENV_SECRET: &str = "hunter2-secure";
pub(crate) const STORAGE_KEY_SECRET: &str = "storage-key-secret";

const FULL_GROUP: &str = r#"
name = "fk-etcd"
resource_group = "fk"
location = "westeurope"
os_type = "Linux"
restart_policy = "Always"
dns_label = "fk-etcd"
zones = ["1"]
tags = { "fk.io/cluster" = "demo" }

[[containers]]
name = "etcd"
image = "registry.k8s.io/etcd:3.5.21-0"
command = ["etcd", "--data-dir=/var/lib/etcd"]
cpu = 1
memory_gb = 2
ports = [{ port = 2379 }, { port = 2380, protocol = "TCP" }]
env = { ETCD_NAME = "etcd-0" }
secure_env = { ETCD_ROOT_PASSWORD = "hunter2-secure" }
volume_mounts = [
  { name = "data", mount_path = "/var/lib/etcd" },
  { name = "certs", mount_path = "/etc/etcd/pki", read_only = true },
  { name = "snapshots", mount_path = "/snapshots" },
]
liveness_probe = { exec = ["etcdctl", "endpoint", "health"], initial_delay_seconds = 10, period_seconds = 10, failure_threshold = 3 }
readiness_probe = { http_get = { path = "/health", port = 2379, scheme = "https" }, timeout_seconds = 5 }

[[init_containers]]
name = "init-perms"
image = "busybox:1.36"
command = ["sh", "-c", "chmod 700 /var/lib/etcd"]
env = { MODE = "700" }
secure_env = { INIT_TOKEN = "init-secret" }
volume_mounts = [{ name = "data", mount_path = "/var/lib/etcd" }]

[[volumes]]
name = "data"
empty_dir = true

[[volumes]]
name = "certs"
secret = { "ca.crt" = "Y2EtY2VydA==" }

[[volumes]]
name = "snapshots"
azure_file = { share_name = "etcd", storage_account_name = "fkdemo123", storage_account_key = "storage-key-secret" }
"#;

/// A TOML table as the engine would hand it over.
pub(crate) fn toml_value(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).expect("fixture TOML parses");
    Value::from_json(&serde_json::to_value(table).expect("TOML converts to JSON"))
}

pub(crate) fn full_group_config() -> Value {
    toml_value(FULL_GROUP)
}

/// Sets `key` of a map value (a test edit of a config).
pub(crate) fn with(mut value: Value, path: &[&str], new: Value) -> Value {
    let Some((last, parents)) = path.split_last() else {
        return new;
    };
    let mut at = &mut value;
    for key in parents {
        at = match key.parse::<usize>() {
            Ok(idx) => match at {
                Value::List(items) => &mut items[idx],
                _ => panic!("not a list at {key}"),
            },
            Err(_) => at
                .as_map_mut()
                .and_then(|map| map.get_mut(*key))
                .expect("path exists"),
        };
    }
    at.as_map_mut()
        .expect("map at path")
        .insert(last.to_string(), new);
    value
}

/// What GET answers after a PUT of `body`: secrets stripped, read-only fields added.
pub(crate) fn simulated_get(body: &Json, provisioning: &str, container_state: &str) -> Json {
    let mut answer = body.clone();
    let name = "fk-etcd";
    answer["id"] = json!(format!(
        "/subscriptions/sub/resourceGroups/fk/providers/Microsoft.ContainerInstance/containerGroups/{name}"
    ));
    answer["name"] = json!(name);
    answer["type"] = json!("Microsoft.ContainerInstance/containerGroups");
    answer["location"] = json!("West Europe");
    let properties = &mut answer["properties"];
    properties["provisioningState"] = json!(provisioning);
    let group_state = if container_state == "Running" {
        "Running"
    } else {
        "Pending"
    };
    properties["instanceView"] = json!({ "state": group_state, "events": [] });
    for key in ["containers", "initContainers"] {
        for container in properties[key].as_array_mut().into_iter().flatten() {
            let container_properties = &mut container["properties"];
            for variable in container_properties["environmentVariables"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if let Some(variable) = variable.as_object_mut() {
                    variable.remove("secureValue");
                }
            }
            container_properties["instanceView"] = json!({
                "restartCount": 0,
                "currentState": { "state": container_state },
                "events": []
            });
        }
    }
    for volume in properties["volumes"].as_array_mut().into_iter().flatten() {
        if volume.get("secret").is_some() {
            volume["secret"] = json!({});
        }
        if let Some(file) = volume.get_mut("azureFile").and_then(Json::as_object_mut) {
            file.remove("storageAccountKey");
        }
    }
    if let Some(ip) = properties
        .get_mut("ipAddress")
        .and_then(Json::as_object_mut)
    {
        ip.insert("ip".into(), json!("20.1.2.3"));
        if let Some(label) = ip.get("dnsNameLabel").and_then(Json::as_str) {
            let fqdn = format!("{label}.westeurope.azurecontainer.io");
            ip.insert("fqdn".into(), json!(fqdn));
        }
    }
    answer
}
