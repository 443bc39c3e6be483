//! Plan rules of ACI, and the official examples parsed into state without a perpetual diff.

use serde_json::Value as Json;

use super::cloud::CloudProfile;
use super::container_group::body::{CONFIG_KEYS, to_body};
use super::container_group::state::from_response;
use super::container_group::{PATCH_NOTE, RESTART_NOTE, plan};
use super::fixtures::{full_group_config, simulated_get, with};
use super::spec_check::{load, official_specs};
use super::types::ArmResource;
use super::{AzureConfig, AzureProvider, StaticToken, file_share, storage_account};
use crate::provider::{PlannedChange, Provider};
use crate::value::{PathSeg, Value, path_from_string, path_to_string};

fn cloud() -> CloudProfile {
    CloudProfile::public()
}

/// The state fk would hold after applying `config`: plan, PUT, GET.
fn applied(config: &Value) -> Value {
    let change = plan(&cloud(), "sub", None, config);
    let answer = simulated_get(&to_body(&change.planned), "Succeeded", "Running");
    from_response(&answer, Some(&change.planned))
}

/// The configurable part of a state: what a user would have written to get it.
fn config_of(state: &Value) -> Value {
    let fields = state.as_map().cloned().unwrap_or_default();
    Value::Map(
        fields
            .into_iter()
            .filter(|(key, _)| CONFIG_KEYS.contains(&key.as_str()))
            .collect(),
    )
}

fn assert_no_change(change: &PlannedChange, prior: &Value) {
    assert!(
        change.requires_replace.is_empty(),
        "{:?}",
        change.requires_replace
    );
    assert!(change.notes.is_empty(), "{:?}", change.notes);
    assert!(
        change.planned.same_data(prior),
        "planned differs from prior:\n{}\n{}",
        change.planned.to_json(),
        prior.to_json()
    );
}

#[test]
fn applied_group_replans_to_no_change() {
    let config = full_group_config();
    let state = applied(&config);
    assert_eq!(state.get("state"), Some(&Value::str("Running")));
    let secret = state.get_path(&path_from_string(
        "containers[0].secure_env.ETCD_ROOT_PASSWORD",
    ));
    assert!(
        secret.as_ref().is_some_and(Value::is_sensitive),
        "secure value kept and marked"
    );
    assert_no_change(&plan(&cloud(), "sub", Some(&state), &config), &state);
}

#[test]
fn image_or_env_change_updates_in_place_and_restarts_every_container() {
    let state = applied(&full_group_config());
    for (path, new) in [
        (
            &["containers", "0", "image"][..],
            Value::str("registry.k8s.io/etcd:3.5.22-0"),
        ),
        (
            &["containers", "0", "env", "ETCD_NAME"][..],
            Value::str("etcd-1"),
        ),
        (
            &["containers", "0", "secure_env", "ETCD_ROOT_PASSWORD"][..],
            Value::str("rotated"),
        ),
        (&["dns_label"][..], Value::str("fk-etcd-two")),
    ] {
        let config = with(full_group_config(), path, new);
        let change = plan(&cloud(), "sub", Some(&state), &config);
        assert!(
            change.requires_replace.is_empty(),
            "{path:?}: {:?}",
            change.requires_replace
        );
        assert_eq!(change.notes, vec![RESTART_NOTE.to_string()], "{path:?}");
    }
}

#[test]
fn tags_only_change_is_a_patch_that_restarts_nothing() {
    let state = applied(&full_group_config());
    let config = with(full_group_config(), &["tags", "owner"], Value::str("ops"));
    let change = plan(&cloud(), "sub", Some(&state), &config);
    assert!(change.requires_replace.is_empty());
    assert_eq!(change.notes, vec![PATCH_NOTE.to_string()]);
}

#[test]
fn replaces_group_when_cpu_changes_and_deletes_first_to_keep_its_label() {
    let state = applied(&full_group_config());
    let config = with(
        full_group_config(),
        &["containers", "0", "cpu"],
        Value::Float(2.0),
    );
    let change = plan(&cloud(), "sub", Some(&state), &config);
    let causes: Vec<String> = change
        .requires_replace
        .iter()
        .map(|cause| path_to_string(&cause.path))
        .collect();
    assert_eq!(causes, ["containers[0].cpu"]);
    assert!(
        change.requires_replace[0]
            .reason
            .contains("InvalidContainerGroupUpdate")
    );
    assert!(
        change
            .delete_before_create
            .as_deref()
            .is_some_and(|why| why.contains("fk-etcd"))
    );
    assert_eq!(change.planned.get("ip_address"), Some(&Value::Unknown));
}

#[test]
fn replacement_with_a_new_label_needs_no_delete_first() {
    let state = applied(&full_group_config());
    let config = with(full_group_config(), &["os_type"], Value::str("Windows"));
    let config = with(config, &["dns_label"], Value::str("fk-etcd-win"));
    let change = plan(&cloud(), "sub", Some(&state), &config);
    assert_eq!(
        change.requires_replace[0].path,
        vec![PathSeg::Key("os_type".into())]
    );
    assert_eq!(change.delete_before_create, None);
    assert_eq!(
        change.planned.get("fqdn"),
        Some(&Value::str("fk-etcd-win.westeurope.azurecontainer.io"))
    );
}

#[test]
fn restart_policy_ports_and_added_containers_replace() {
    let state = applied(&full_group_config());
    let policy = with(
        full_group_config(),
        &["restart_policy"],
        Value::str("Never"),
    );
    let ports = with(
        full_group_config(),
        &["containers", "0", "ports", "0", "port"],
        Value::Int(2381),
    );
    let mut more = full_group_config();
    if let Some(Value::List(containers)) = more.as_map_mut().and_then(|m| m.get_mut("containers")) {
        let mut second = containers[0].clone();
        second
            .as_map_mut()
            .map(|m| m.insert("name".into(), Value::str("sidecar")));
        containers.push(second);
    }
    for (config, cause) in [
        (policy, "restart_policy"),
        (ports, "containers[0].ports"),
        (more, "containers"),
    ] {
        let change = plan(&cloud(), "sub", Some(&state), &config);
        let causes: Vec<String> = change
            .requires_replace
            .iter()
            .map(|c| path_to_string(&c.path))
            .collect();
        assert!(causes.iter().any(|c| c == cause), "{cause}: {causes:?}");
    }
}

#[test]
fn unknown_image_still_plans_in_place() {
    let state = applied(&full_group_config());
    let config = with(
        full_group_config(),
        &["containers", "0", "image"],
        Value::Unknown,
    );
    let change = plan(&cloud(), "sub", Some(&state), &config);
    assert!(change.requires_replace.is_empty());
    assert_eq!(change.notes, vec![RESTART_NOTE.to_string()]);
}

#[test]
fn drifted_group_plans_a_repair() {
    let config = full_group_config();
    let state = applied(&config);
    let drifted = with(
        state.clone(),
        &["containers", "0", "image"],
        Value::str("nginx"),
    );
    let change = plan(&cloud(), "sub", Some(&drifted), &config);
    assert_eq!(change.notes, vec![RESTART_NOTE.to_string()]);
    let image = change
        .planned
        .get_path(&path_from_string("containers[0].image"));
    assert_eq!(image, Some(Value::str("registry.k8s.io/etcd:3.5.21-0")));
}

#[test]
fn new_group_plans_known_id_and_fqdn() {
    let change = plan(&cloud(), "sub", None, &full_group_config());
    assert_eq!(
        change.planned.get("fqdn"),
        Some(&Value::str("fk-etcd.westeurope.azurecontainer.io"))
    );
    let id = change
        .planned
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(id.ends_with(
        "/resourceGroups/fk/providers/Microsoft.ContainerInstance/containerGroups/fk-etcd"
    ));
    let cpu = change
        .planned
        .get_path(&path_from_string("containers[0].cpu"));
    assert_eq!(
        cpu,
        Some(Value::Float(1.0)),
        "cpu reads as a number for pricing"
    );
}

fn example_bodies(specs: &std::path::Path, relative: &str) -> Vec<Json> {
    let example = load(specs, relative);
    let mut bodies = Vec::new();
    for response in example["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, r)| r)
    {
        let body = &response["body"];
        match body.get("value").and_then(Json::as_array) {
            Some(list) => bodies.extend(list.iter().cloned()),
            None if body.is_object() => bodies.push(body.clone()),
            None => {}
        }
    }
    bodies
}

#[test]
fn container_group_examples_parse_and_replan_to_no_change() {
    let Some(specs) = official_specs("container_group_examples_parse_and_replan_to_no_change")
    else {
        return;
    };
    let mut n_bodies = 0;
    for file in [
        "ContainerGroupsCreateOrUpdate.json",
        "ContainerGroupsGet_Succeeded.json",
        "ContainerGroupsList.json",
        "ContainerGroupsUpdate.json",
        "ContainerGroupsDelete.json",
    ] {
        for body in example_bodies(
            &specs,
            &format!("containerinstance/2026-05-01/examples/{file}"),
        ) {
            n_bodies += 1;
            let state = from_response(&body, None);
            assert!(
                state.get("name").and_then(Value::as_str).is_some(),
                "{file}"
            );
            let change = plan(&cloud(), "subid", Some(&state), &config_of(&state));
            assert_no_change(&change, &state);
        }
    }
    assert!(n_bodies >= 5, "found {n_bodies} example bodies");
}

fn test_provider() -> AzureProvider {
    let config = AzureConfig::local("http://127.0.0.1:9", "sub");
    AzureProvider::new(config, std::sync::Arc::new(StaticToken::new("t"))).expect("provider")
}

#[test]
fn storage_and_share_examples_replan_to_no_change() {
    let Some(specs) = official_specs("storage_and_share_examples_replan_to_no_change") else {
        return;
    };
    let provider = test_provider();
    let account_schema = storage_account::schema();
    let keys = load(
        &specs,
        "storage/2025-08-01/examples/StorageAccountListKeys.json",
    );
    let key = storage_account::primary_key(&keys["responses"]["200"]["body"]);
    assert_eq!(key, Value::str("<value>"));
    for body in example_bodies(
        &specs,
        "storage/2025-08-01/examples/StorageAccountCreate.json",
    ) {
        let state = storage_account::from_response(&body, key.clone());
        assert_eq!(state.get("sku"), Some(&Value::str("Standard_GRS")));
        assert!(
            state
                .get("primary_access_key")
                .is_some_and(Value::is_sensitive)
        );
        let config = with(state.clone(), &["primary_access_key"], Value::Null);
        let config = with(config, &["file_endpoint"], Value::Null);
        let change = provider
            .plan(&account_schema, Some(&state), &config)
            .expect("plan");
        assert!(change.requires_replace.is_empty());
        assert!(
            change.planned.same_data(&state),
            "{}",
            change.planned.to_json()
        );
    }
    let share_schema = file_share::schema();
    for body in example_bodies(&specs, "storage/2025-08-01/examples/FileSharesPut.json") {
        let state = file_share::from_response(&body, None);
        assert_eq!(
            state.get("storage_account_name"),
            Some(&Value::str("sto328"))
        );
        let change = provider
            .plan(&share_schema, Some(&state), &state)
            .expect("plan");
        assert!(change.planned.same_data(&state));
    }
}

#[test]
fn storage_account_defaults_do_not_diff() {
    let provider = test_provider();
    let schema = storage_account::schema();
    let config = super::fixtures::toml_value(
        "name = \"fkdemo123\"\nresource_group = \"fk\"\nlocation = \"West Europe\"",
    );
    let body = storage_account::StorageAccount.body("s", &config, None);
    assert_eq!(body["kind"], "StorageV2");
    let mut answer = body.clone();
    answer["id"] = Json::from(
        "/subscriptions/s/resourceGroups/fk/providers/Microsoft.Storage/storageAccounts/fkdemo123",
    );
    answer["name"] = Json::from("fkdemo123");
    let state = storage_account::from_response(&answer, Value::str("key"));
    let change = provider.plan(&schema, Some(&state), &config).expect("plan");
    assert!(
        change.planned.same_data(&state),
        "{}",
        change.planned.to_json()
    );
}

#[test]
fn resource_group_location_spelling_does_not_replace() {
    let provider = test_provider();
    let schema = super::resource_group::schema();
    let answer = serde_json::json!({"id": "/subscriptions/sub/resourceGroups/fk", "name": "fk",
        "location": "westeurope", "tags": {}, "properties": {"provisioningState": "Succeeded"}});
    let state = super::resource_group::ResourceGroup.state(&answer, None);
    let config = super::fixtures::toml_value("name = \"fk\"\nlocation = \"West Europe\"");
    let change = provider.plan(&schema, Some(&state), &config).expect("plan");
    assert!(
        change.requires_replace.is_empty(),
        "{:?}",
        change.requires_replace
    );
    assert!(
        change.planned.same_data(&state),
        "{}",
        change.planned.to_json()
    );
    let moved = super::fixtures::toml_value("name = \"fk\"\nlocation = \"eastus\"");
    let change = provider.plan(&schema, Some(&state), &moved).expect("plan");
    assert_eq!(change.requires_replace.len(), 1);
}

fn validate_module(dir: &std::path::Path) -> Vec<(String, String)> {
    let (module, diagnostics) = crate::config::parse(dir);
    assert!(!diagnostics.has_errors(), "{diagnostics:?}");
    let mut registry = crate::provider::Registry::new();
    registry.register(std::sync::Arc::new(test_provider()));
    let diagnostics = crate::validate::check(&module, &registry);
    diagnostics
        .iter()
        .map(|diag| (diag.code.to_string(), diag.message.clone()))
        .collect()
}

#[test]
fn every_type_passes_the_engine_validator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/azure/module");
    assert_eq!(validate_module(&dir), Vec::new());
}

#[test]
fn engine_validator_reports_provider_checks_at_their_attribute() {
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/azure/module/main.toml");
    let text = std::fs::read_to_string(source).expect("fixture module");
    let text = text
        .replace("label = \"fk-demo-etcd\"", "label = \"Etcd\"")
        .replace(
            "{ name = \"data\", mount_path",
            "{ name = \"dta\", mount_path",
        );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.toml"), text).expect("write module");
    let codes: Vec<String> = validate_module(dir.path())
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert!(
        codes.contains(&"fk::azure::invalid_dns_label".to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"fk::azure::unknown_volume".to_string()),
        "{codes:?}"
    );
}

/// A GET in the shape of Microsoft's `ContainerGroupsGet_Failed` example (2026-05-01): the
/// deployment `Failed`, the group `Pending`, its container `Waiting` with restart count 0,
/// a `FailedMount` event on the group and pull events on the container.
fn failed_answer(config: &Value) -> Json {
    let change = plan(&cloud(), "sub", None, config);
    let mut answer = simulated_get(&to_body(&change.planned), "Failed", "Waiting");
    answer["properties"]["instanceView"]["events"] = serde_json::json!([{
        "name": "FailedMount", "type": "Normal", "count": 1,
        "firstTimestamp": "2026-10-08T00:19:10Z", "lastTimestamp": "2026-10-08T00:19:10Z",
        "message": "Output: mount error(2): Permission denied"
    }]);
    answer["properties"]["containers"][0]["properties"]["instanceView"]["events"] = serde_json::json!([{"name": "Pulled", "type": "Normal", "count": 1,
            "message": "Successfully pulled image"}]);
    answer
}

#[test]
fn failed_group_is_drift_planned_as_a_replacement_with_its_reason_and_events() {
    let config = full_group_config();
    let applied_state = applied(&config);
    let failed = from_response(&failed_answer(&config), Some(&applied_state));
    let health = failed.get("health").expect("health read");
    assert_eq!(health.get("repair"), Some(&Value::str("replace")));
    let events: Vec<String> = health
        .get("events")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .filter_map(|event| event.as_str().map(str::to_string))
        .collect();
    assert!(
        events.contains(&"FailedMount: Output: mount error(2): Permission denied".to_string()),
        "{events:?}"
    );
    let containers = health.get("containers").and_then(Value::as_list).cloned();
    assert_eq!(
        containers,
        Some(vec![Value::str("etcd: Waiting, 0 restarts")])
    );
    let change = plan(&cloud(), "sub", Some(&failed), &config);
    let paths: Vec<String> = change
        .requires_replace
        .iter()
        .map(|cause| path_to_string(&cause.path))
        .collect();
    assert_eq!(paths, ["health"]);
    assert!(
        change.requires_replace[0]
            .reason
            .contains("provisioningState Failed")
    );
    assert!(
        change.delete_before_create.is_some(),
        "the replacement keeps the DNS label: delete first"
    );
    assert_eq!(change.planned.get("health"), Some(&Value::Null));
    // The Failed shape with nothing else different is not "no change".
    assert!(!change.planned.same_data(&failed));
}

#[test]
fn provisioned_group_with_a_container_down_is_redeployed_in_place() {
    let config = full_group_config();
    let change = plan(&cloud(), "sub", None, &config);
    let mut answer = simulated_get(&to_body(&change.planned), "Succeeded", "Running");
    answer["properties"]["containers"][0]["properties"]["instanceView"] = serde_json::json!({
        "restartCount": 4,
        "currentState": {"state": "Terminated", "detailStatus": "Error", "exitCode": 1},
        "events": [{"name": "Killing", "message": "Killing container with id abc."}]
    });
    let state = from_response(&answer, Some(&change.planned));
    let change = plan(&cloud(), "sub", Some(&state), &config);
    assert!(change.requires_replace.is_empty());
    assert_eq!(change.notes.len(), 1);
    assert!(
        change.notes[0].contains("redeploys it in place"),
        "{:?}",
        change.notes
    );
    let health = state.get("health").expect("unhealthy");
    assert_eq!(
        health.get("containers").and_then(Value::as_list).cloned(),
        Some(vec![Value::str(
            "etcd: Terminated (Error, exit code 1), 4 restarts"
        )])
    );
    assert!(
        super::container_group::needs_put(&state, &change.planned),
        "a repair is a PUT, never a tags PATCH"
    );
}

#[test]
fn stopped_and_still_provisioning_groups_are_not_repaired() {
    let config = full_group_config();
    let change = plan(&cloud(), "sub", None, &config);
    let mut stopped = simulated_get(&to_body(&change.planned), "Succeeded", "Terminated");
    stopped["properties"]["instanceView"]["state"] = serde_json::json!("Stopped");
    let state = from_response(&stopped, Some(&change.planned));
    assert_eq!(state.get("health"), Some(&Value::Null));
    assert_no_change(&plan(&cloud(), "sub", Some(&state), &config), &state);
    let creating = simulated_get(&to_body(&change.planned), "Creating", "Waiting");
    let state = from_response(&creating, Some(&change.planned));
    assert_eq!(state.get("health"), Some(&Value::Null));
}

/// The applied fixture group as ARM would show it after someone set, outside fk, a GPU
/// request, `dnsConfig`, diagnostics, a Key Vault secret reference, a Key Vault-referenced
/// variable and a managed identity: none of which fk models here.
fn answer_with_unmodeled(config: &Value) -> (Value, Json) {
    let change = plan(&cloud(), "sub", None, config);
    let mut answer = simulated_get(&to_body(&change.planned), "Succeeded", "Running");
    answer["identity"] =
        serde_json::json!({"type": "SystemAssigned", "principalId": "p-1", "tenantId": "t-1"});
    let properties = &mut answer["properties"];
    properties["dnsConfig"] =
        serde_json::json!({"nameServers": ["10.0.0.10"], "searchDomains": "cluster.local"});
    properties["diagnostics"] = serde_json::json!({"logAnalytics": {"workspaceId": "ws-1", "logType": "ContainerInstanceLogs"}});
    properties["secretReferences"] = serde_json::json!([{"name": "kv", "identity": "/uami", "secretReferenceUri": "https://v.vault.azure.net/secrets/s"}]);
    let etcd = &mut properties["containers"][0]["properties"];
    etcd["resources"]["requests"]["gpu"] = serde_json::json!({"count": 1, "sku": "V100"});
    if let Some(variables) = etcd["environmentVariables"].as_array_mut() {
        variables.push(serde_json::json!({"name": "VAULTED", "secureValueReference": "kv"}));
    }
    let state = from_response(&answer, Some(&change.planned));
    (state, answer)
}

#[test]
fn properties_fk_does_not_model_are_kept_on_update() {
    let config = full_group_config();
    let (state, _) = answer_with_unmodeled(&config);
    assert_no_change(&plan(&cloud(), "sub", Some(&state), &config), &state);
    let secure_env = state.get_path(&path_from_string("containers[0].secure_env"));
    assert!(
        secure_env.is_some_and(|env| env.get("VAULTED").is_none()),
        "a Key Vault reference is not a secure value fk set"
    );
    let edited = with(
        config,
        &["containers", "0", "image"],
        Value::str("etcd:next"),
    );
    let change = plan(&cloud(), "sub", Some(&state), &edited);
    assert!(change.requires_replace.is_empty());
    assert!(
        change
            .notes
            .iter()
            .any(|note| note.starts_with("keeps what fk does not model")
                && note.contains("gpu.count")
                && note.contains("properties.dnsConfig.nameServers")
                && note.contains("identity.type")),
        "{:?}",
        change.notes
    );
    assert!(
        change
            .notes
            .iter()
            .any(|note| note.contains("workspaceKey")),
        "a write-only secret that cannot be resent is named: {:?}",
        change.notes
    );
    let body = to_body(&change.planned);
    assert_eq!(
        body.pointer("/identity/type"),
        Some(&serde_json::json!("SystemAssigned"))
    );
    assert_eq!(
        body.pointer("/identity/principalId"),
        None,
        "read-only fields stay out"
    );
    assert_eq!(
        body.pointer("/properties/containers/0/properties/resources/requests/gpu/sku"),
        Some(&serde_json::json!("V100"))
    );
    assert_eq!(
        body.pointer("/properties/containers/0/properties/image"),
        Some(&serde_json::json!("etcd:next"))
    );
    for pointer in [
        "/properties/dnsConfig",
        "/properties/diagnostics",
        "/properties/secretReferences",
    ] {
        assert!(body.pointer(pointer).is_some(), "{pointer} kept");
    }
    let variables = body
        .pointer("/properties/containers/0/properties/environmentVariables")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let vaulted: Vec<&Json> = variables
        .iter()
        .filter(|variable| variable["name"] == "VAULTED")
        .collect();
    assert_eq!(
        vaulted,
        [&serde_json::json!({"name": "VAULTED", "secureValueReference": "kv"})],
        "sent back as the reference, never as an empty secureValue"
    );
}

#[test]
fn a_replacement_names_the_unmodeled_properties_it_drops() {
    let config = full_group_config();
    let (state, _) = answer_with_unmodeled(&config);
    let bigger = with(config, &["containers", "0", "cpu"], Value::Float(2.0));
    let change = plan(&cloud(), "sub", Some(&state), &bigger);
    assert!(!change.requires_replace.is_empty());
    assert!(
        change.notes.iter().any(|note| note
            .starts_with("the replacement drops what fk does not model")
            && note.contains("gpu.sku")),
        "{:?}",
        change.notes
    );
}

#[test]
fn a_state_recorded_before_health_and_unmodeled_existed_replans_to_no_change() {
    let config = full_group_config();
    let mut state = applied(&config);
    if let Some(fields) = state.as_map_mut() {
        fields.remove("health");
        fields.remove("unmodeled");
    }
    assert_no_change(&plan(&cloud(), "sub", Some(&state), &config), &state);
}

/// A user-assigned identity is sent as ARM wants it, read back without a diff even when ARM
/// spells the id in other case, and changed in place (a full PUT; ACI updates `identity`
/// without recreating the group: azure-arm.md).
#[test]
fn identity_round_trips_and_changes_in_place() {
    let uami = "/subscriptions/sub/resourceGroups/fk/providers/Microsoft.ManagedIdentity/userAssignedIdentities/vk";
    let config = with(
        full_group_config(),
        &["identity"],
        Value::List(vec![Value::str(uami)]),
    );
    let change = plan(&cloud(), "sub", None, &config);
    let body = to_body(&change.planned);
    assert_eq!(body["identity"]["type"], "UserAssigned");
    assert!(body["identity"]["userAssignedIdentities"][uami].is_object());
    // ARM answers with its own spelling of the id and the identity's ids filled in.
    let mut answer = simulated_get(&body, "Succeeded", "Running");
    answer["identity"] = serde_json::json!({
        "type": "UserAssigned",
        "userAssignedIdentities": { uami.replace("resourceGroups", "resourcegroups"): {
            "principalId": "p", "clientId": "c"
        }}
    });
    let state = from_response(&answer, Some(&change.planned));
    assert_no_change(&plan(&cloud(), "sub", Some(&state), &config), &state);
    let other = with(
        full_group_config(),
        &["identity"],
        Value::List(vec![Value::str(uami.replace("/vk", "/other"))]),
    );
    let changed = plan(&cloud(), "sub", Some(&state), &other);
    assert!(
        changed.requires_replace.is_empty(),
        "{:?}",
        changed.requires_replace
    );
    assert!(super::container_group::needs_put(&state, &changed.planned));
}
