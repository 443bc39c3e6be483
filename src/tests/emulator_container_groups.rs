//! The emulator's container groups over real HTTP: the create LRO, instance views, secrets,
//! update rules, DNS labels, stop / start, failures and the log.

use crate::emulator_support;

use emulator_support::*;
use fk::emulator::FaultConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn container_state(group: &Value) -> &str {
    group
        .pointer("/properties/containers/0/properties/instanceView/currentState/state")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[tokio::test]
async fn creates_group_through_async_operation_then_runs_it_without_secrets() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;

    let created = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(created.header("x-ms-request-id").is_some());
    assert_eq!(created.body["properties"]["provisioningState"], "Pending");
    assert_eq!(
        created.body["properties"]["instanceView"]["state"],
        "Pending"
    );
    assert_eq!(
        created.body["properties"]["ipAddress"]["fqdn"],
        "fk-web.eastus.azurecontainer.io"
    );
    let operation_url = created
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert!(
        operation_url
            .contains("/providers/Microsoft.ContainerInstance/locations/eastus/operations/")
    );
    assert!(operation_url.ends_with("api-version=2018-06-01"));

    let finished = cloud.wait_async(&operation_url).await;
    assert_eq!(finished.body["status"], "Succeeded");
    let event_names: Vec<&str> = finished.body["properties"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["name"].as_str())
        .collect();
    assert_eq!(event_names, vec!["Pulling", "Pulled", "Created", "Started"]);

    let group = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(
        group.body["id"],
        format!(
            "/subscriptions/{SUB}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups/web"
        )
    );
    assert_eq!(group.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(group.body["properties"]["instanceView"]["state"], "Running");
    assert_eq!(container_state(&group.body), "Running");
    assert_eq!(group.body["properties"]["restartPolicy"], "Always");
    assert_eq!(
        group.body["properties"]["ipAddress"]["ports"][0]["protocol"],
        "TCP"
    );
    assert!(group.body["properties"]["ipAddress"]["ip"].is_string());
    let text = group.body.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("c2VjcmV0"),
        "secrets leaked: {text}"
    );
    assert_eq!(group.body["properties"]["volumes"][0]["secret"], json!({}));
    let variables =
        &group.body["properties"]["containers"][0]["properties"]["environmentVariables"];
    assert_eq!(variables[1], json!({ "name": "TOKEN" }));

    let log = cloud.log().await;
    assert!(
        log.iter()
            .all(|entry| entry["ms"].as_u64().is_some_and(|ms| ms < 3_600_000)),
        "log times count from the start of the emulator: {log:?}"
    );
    let events: Vec<String> = log
        .iter()
        .filter(|entry| {
            entry["kind"] == "event"
                && entry["resource"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("/web"))
        })
        .map(|entry| entry["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        events,
        vec!["Pending", "Creating", "Succeeded", "containers Running"]
    );
}

#[tokio::test]
async fn refuses_cpu_change_in_place_but_updates_image() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    cloud
        .create_group(
            "demo",
            "web",
            group_body("eastus", "fk-web", 1.0, "nginx:1.25"),
        )
        .await;

    let cpu_change = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 2.0, "nginx:1.25"),
        )
        .await;
    assert_eq!(cpu_change.status, StatusCode::CONFLICT);
    assert_eq!(cpu_change.code(), "InvalidContainerGroupUpdate");

    let image_change = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx:1.27"),
        )
        .await;
    assert_eq!(image_change.status, StatusCode::OK, "{}", image_change.body);
    assert_eq!(
        image_change.body["properties"]["provisioningState"],
        "Updating"
    );
    let operation = image_change
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert_eq!(
        cloud.wait_async(&operation).await.body["status"],
        "Succeeded"
    );
    let group = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(
        group.body["properties"]["containers"][0]["properties"]["image"],
        "nginx:1.27"
    );
    assert_eq!(container_state(&group.body), "Running");
}

#[tokio::test]
async fn refuses_a_put_while_the_previous_operation_runs() {
    let config = fk::emulator::EmulatorConfig {
        provisioning_delay: std::time::Duration::from_secs(600),
        ..test_config()
    };
    let cloud = Cloud::start(config).await;
    cloud.create_resource_group("demo", "eastus").await;
    let body = group_body("eastus", "fk-web", 1.0, "nginx");
    assert_eq!(
        cloud
            .put(&cg_path("demo", "web"), body.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    let again = cloud.put(&cg_path("demo", "web"), body).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "AnotherOperationInProgress");
}

#[tokio::test]
async fn keeps_dns_labels_unique_per_region() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("one", "eastus").await;
    cloud.create_resource_group("two", "westus").await;
    cloud
        .create_group(
            "one",
            "first",
            group_body("eastus", "fk-shared", 1.0, "nginx"),
        )
        .await;

    let same_region = cloud
        .put(
            &cg_path("two", "second"),
            group_body("eastus", "fk-shared", 1.0, "nginx"),
        )
        .await;
    assert_eq!(same_region.status, StatusCode::BAD_REQUEST);
    assert_eq!(same_region.code(), "DnsNameLabelAlreadyTaken");
    assert!(
        same_region.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'fk-shared'")
    );

    let other_region = cloud
        .put(
            &cg_path("two", "second"),
            group_body("West US", "fk-shared", 1.0, "nginx"),
        )
        .await;
    assert_eq!(
        other_region.status,
        StatusCode::CREATED,
        "{}",
        other_region.body
    );
    assert_eq!(
        other_region.body["properties"]["ipAddress"]["fqdn"],
        "fk-shared.westus.azurecontainer.io"
    );

    let bad_label = cloud
        .put(
            &cg_path("two", "third"),
            group_body("eastus", "Bad", 1.0, "nginx"),
        )
        .await;
    assert_eq!(bad_label.code(), "InvalidDnsNameLabel");
}

#[tokio::test]
async fn stops_and_starts_a_group_as_the_service_does() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    cloud
        .create_group("demo", "web", group_body("eastus", "fk-web", 1.0, "nginx"))
        .await;

    let stop = cloud.post(&cg_action("demo", "web", "stop"), None).await;
    assert_eq!(stop.status, StatusCode::NO_CONTENT);
    let stopped = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(
        stopped.body["properties"]["instanceView"]["state"],
        "Stopped"
    );
    assert_eq!(container_state(&stopped.body), "Terminated");
    assert!(stopped.body["properties"]["ipAddress"].get("ip").is_none());
    assert_eq!(
        stopped.body["properties"]["ipAddress"]["fqdn"],
        "fk-web.eastus.azurecontainer.io"
    );
    cloud.create_resource_group("other", "eastus").await;
    let label_kept = cloud
        .put(
            &cg_path("other", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(label_kept.code(), "DnsNameLabelAlreadyTaken");

    let start = cloud.post(&cg_action("demo", "web", "start"), None).await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    let operation = start
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert_eq!(
        cloud.wait_async(&operation).await.body["status"],
        "Succeeded"
    );
    let running = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(container_state(&running.body), "Running");
    assert!(running.body["properties"]["ipAddress"]["ip"].is_string());
    let start_again = cloud.post(&cg_action("demo", "web", "start"), None).await;
    assert_eq!(start_again.status, StatusCode::NO_CONTENT);
    let events: Vec<String> = cloud
        .log()
        .await
        .iter()
        .filter(|entry| {
            entry["resource"].as_str().is_some_and(|r| {
                r.ends_with("demo/providers/Microsoft.ContainerInstance/containerGroups/web")
            })
        })
        .map(|entry| entry["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    let after_stop: Vec<&str> = events
        .iter()
        .skip_while(|event| *event != "Stopped")
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_stop,
        vec![
            "Stopped",
            "Pending",
            "Creating",
            "Succeeded",
            "containers Running"
        ]
    );
}

#[tokio::test]
async fn fails_provisioning_of_a_chosen_name_with_events() {
    let config = fk::emulator::EmulatorConfig {
        faults: FaultConfig {
            fail_operations: vec!["doomed".into()],
            ..Default::default()
        },
        ..test_config()
    };
    let cloud = Cloud::start(config).await;
    cloud.create_resource_group("demo", "eastus").await;
    let finished = cloud
        .create_group(
            "demo",
            "doomed",
            group_body("eastus", "fk-doomed", 1.0, "nginx"),
        )
        .await;
    assert_eq!(finished.body["status"], "Failed");
    assert_eq!(finished.body["error"]["code"], "ResourceOperationFailure");

    let group = cloud.get(&cg_path("demo", "doomed")).await;
    assert_eq!(group.body["properties"]["provisioningState"], "Failed");
    assert_ne!(container_state(&group.body), "Running");
    let events = &group.body["properties"]["containers"][0]["properties"]["instanceView"]["events"];
    assert!(
        events
            .as_array()
            .into_iter()
            .flatten()
            .any(|event| event["name"] == "Failed"),
        "{events}"
    );
}

#[tokio::test]
async fn fails_mount_when_the_storage_key_is_wrong() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    let account = cloud
        .put(
            &account_path("demo", "fkdata"),
            json!({ "location": "eastus", "kind": "StorageV2", "sku": { "name": "Standard_LRS" } }),
        )
        .await;
    cloud
        .wait_location(&account.header("location").expect("Location"))
        .await;
    let share = format!(
        "/subscriptions/{SUB}/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/fkdata/fileServices/default/shares/etcd?{STORAGE}"
    );
    assert_eq!(
        cloud.put(&share, json!({})).await.status,
        StatusCode::CREATED
    );
    let keys = cloud
        .post(
            &account_path("demo", "fkdata").replace('?', "/listKeys?"),
            None,
        )
        .await;
    let good_key = keys.body["keys"][0]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let with_key = |name: &str, key: &str| {
        let mut body = group_body("eastus", &format!("fk-{name}"), 1.0, "nginx");
        body["properties"]["volumes"] = json!([{ "name": "data", "azureFile": {
            "shareName": "etcd", "storageAccountName": "fkdata", "storageAccountKey": key } }]);
        body["properties"]["containers"][0]["properties"]["volumeMounts"] =
            json!([{ "name": "data", "mountPath": "/data" }]);
        body
    };
    let mounted = cloud
        .create_group("demo", "good", with_key("good", &good_key))
        .await;
    assert_eq!(mounted.body["status"], "Succeeded");
    let refused = cloud
        .create_group("demo", "bad", with_key("bad", "d3Jvbmc="))
        .await;
    assert_eq!(refused.body["status"], "Failed");
    assert_eq!(refused.body["error"]["details"][0]["code"], "FailedMount");
    let no_shared_key = json!({ "location": "eastus", "kind": "StorageV2", "sku": { "name": "Standard_LRS" },
                                "properties": { "allowSharedKeyAccess": false } });
    assert_eq!(
        cloud
            .put(&account_path("demo", "fkdata"), no_shared_key)
            .await
            .status,
        StatusCode::OK
    );
    let key_access_off = cloud
        .create_group("demo", "later", with_key("later", &good_key))
        .await;
    assert_eq!(
        key_access_off.body["status"], "Failed",
        "allowSharedKeyAccess false breaks key mounts"
    );
    let group = cloud.get(&cg_path("demo", "bad")).await;
    assert_eq!(
        group.body["properties"]["instanceView"]["events"][0]["name"],
        "FailedMount"
    );
    assert!(!group.body.to_string().contains(&good_key));
}

#[tokio::test]
async fn patches_tags_and_deletes_with_body_then_204() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    cloud
        .create_group("demo", "web", group_body("eastus", "fk-web", 1.0, "nginx"))
        .await;
    let patched = cloud
        .send(
            "PATCH",
            &cg_path("demo", "web"),
            Some(json!({ "tags": { "team": "fk" } })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["tags"]["team"], "fk");
    let listed = cloud
        .get(&format!("/subscriptions/{SUB}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups?{ACI}"))
        .await;
    assert_eq!(listed.body["value"][0]["name"], "web");
    assert!(
        listed.body["value"][0]["properties"]
            .get("instanceView")
            .is_none()
    );
    assert_eq!(
        cloud.delete(&cg_path("demo", "web")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cloud.delete(&cg_path("demo", "web")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        cloud.get(&cg_path("demo", "web")).await.code(),
        "ResourceNotFound"
    );
}

#[tokio::test]
async fn refuses_groups_past_the_standard_cores_quota_per_region() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    cloud
        .create_group("demo", "big", group_body("eastus", "fk-big", 80.0, "nginx"))
        .await;
    let over = cloud
        .put(
            &cg_path("demo", "more"),
            group_body("eastus", "fk-more", 30.0, "nginx"),
        )
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert_eq!(over.code(), "ContainerGroupQuotaReached");
    assert!(
        over.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'StandardCores'")
    );
    let elsewhere = cloud
        .put(
            &cg_path("demo", "more"),
            group_body("westus", "fk-more", 30.0, "nginx"),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);
}
