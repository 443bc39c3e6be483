//! The emulator's resource groups, storage, faults, authentication and world file over real
//! HTTP.

use crate::emulator_support;

use emulator_support::*;
use fk::emulator::{EmulatorConfig, FaultConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn account_body(location: &str) -> Value {
    json!({ "location": location, "kind": "StorageV2", "sku": { "name": "Standard_LRS" },
            "properties": { "allowSharedKeyAccess": true } })
}

#[tokio::test]
async fn creates_storage_through_location_and_lists_stable_keys() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("demo", "eastus").await;
    let created = cloud
        .put(&account_path("demo", "fkdemo1"), account_body("eastus"))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED);
    assert_eq!(created.body, Value::Null);
    assert!(created.header("retry-after").is_some());
    let location = created.header("location").expect("Location");
    let finished = cloud.wait_location(&location).await;
    assert_eq!(finished.status, StatusCode::OK);
    assert_eq!(finished.body["name"], "fkdemo1");
    assert_eq!(
        finished.body["properties"]["provisioningState"],
        "Succeeded"
    );
    assert_eq!(
        finished.body["properties"]["primaryEndpoints"]["file"],
        "https://fkdemo1.file.core.windows.net/"
    );

    let list_keys = account_path("demo", "fkdemo1").replace('?', "/listKeys?");
    let keys = cloud.post(&list_keys, None).await;
    assert_eq!(keys.status, StatusCode::OK);
    let names: Vec<&str> = keys.body["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["keyName"].as_str())
        .collect();
    assert_eq!(names, vec!["key1", "key2"]);
    let first_key = keys.body["keys"][0]["value"].as_str().unwrap_or_default();
    assert_eq!(first_key.len(), 88);
    assert_ne!(keys.body["keys"][0]["value"], keys.body["keys"][1]["value"]);
    assert_eq!(cloud.post(&list_keys, None).await.body, keys.body);

    cloud.create_resource_group("other", "eastus").await;
    let taken = cloud
        .put(&account_path("other", "fkdemo1"), account_body("eastus"))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "StorageAccountAlreadyTaken");
    let invalid = cloud
        .put(&account_path("other", "Fk-Demo"), account_body("eastus"))
        .await;
    assert_eq!(invalid.code(), "AccountNameInvalid");
    let check =
        format!("/subscriptions/{SUB}/providers/Microsoft.Storage/checkNameAvailability?{STORAGE}");
    let availability = cloud
        .post(
            &check,
            Some(json!({ "name": "fkdemo1", "type": "Microsoft.Storage/storageAccounts" })),
        )
        .await;
    assert_eq!(availability.body["nameAvailable"], false);
    assert_eq!(availability.body["reason"], "AlreadyExists");
}

#[tokio::test]
async fn deletes_a_resource_group_with_everything_inside() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("doomed", "eastus").await;
    let account = cloud
        .put(&account_path("doomed", "fkgone1"), account_body("eastus"))
        .await;
    cloud
        .wait_location(&account.header("location").expect("Location"))
        .await;
    cloud
        .create_group(
            "doomed",
            "web",
            group_body("eastus", "fk-gone", 1.0, "nginx"),
        )
        .await;

    let deleted = cloud.delete(&rg_path("doomed")).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let location = deleted.header("location").expect("Location");
    assert_eq!(
        cloud.get(&cg_path("doomed", "web")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(cloud.wait_location(&location).await.status, StatusCode::OK);
    assert_eq!(
        cloud.get(&rg_path("doomed")).await.code(),
        "ResourceGroupNotFound"
    );
    assert_eq!(
        cloud.send("HEAD", &rg_path("doomed"), None).await.status,
        StatusCode::NOT_FOUND
    );

    cloud.create_resource_group("doomed", "eastus").await;
    assert_eq!(
        cloud.get(&cg_path("doomed", "web")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cloud.get(&account_path("doomed", "fkgone1")).await.status,
        StatusCode::NOT_FOUND
    );
    let reused = cloud
        .put(
            &cg_path("doomed", "web"),
            group_body("eastus", "fk-gone", 1.0, "nginx"),
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::CREATED,
        "the DNS label was freed: {}",
        reused.body
    );
}

#[tokio::test]
async fn requires_a_bearer_token_and_a_known_api_version() {
    let cloud = Cloud::start(test_config()).await;
    let anonymous = cloud
        .client
        .get(cloud.url(&rg_path("demo")))
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("x-ms-request-id"));
    let body: Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["code"], "AuthenticationFailed");

    let missing = cloud
        .get(&format!("/subscriptions/{SUB}/resourcegroups/demo"))
        .await;
    assert_eq!(missing.code(), "MissingApiVersionParameter");
    let unknown = cloud
        .get(&format!(
            "/subscriptions/{SUB}/resourcegroups/demo?api-version=1999-01-01"
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.code(), "InvalidApiVersionParameter");
    let mixed_case = cloud
        .get(&format!(
            "/SUBSCRIPTIONS/{SUB}/resourceGroups/demo?{RESOURCES}"
        ))
        .await;
    assert_eq!(mixed_case.code(), "ResourceGroupNotFound");
}

async fn throttled_sequence(seed: u64) -> Vec<u16> {
    let cloud = Cloud::start(test_config()).await;
    let faults = FaultConfig {
        throttle_rate: 0.3,
        retry_after_secs: 2,
        seed,
        ..Default::default()
    };
    let set = cloud
        .client
        .put(cloud.url("/_emulator/faults"))
        .json(&faults)
        .send()
        .await
        .expect("faults");
    assert_eq!(set.status(), StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let answer = cloud.get(&rg_path("demo")).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.header("retry-after").as_deref(), Some("2"));
            assert_eq!(answer.code(), "TooManyRequests");
        }
        statuses.push(answer.status.as_u16());
    }
    let log = cloud.log().await;
    let n_logged_429 = log.iter().filter(|entry| entry["status"] == 429).count();
    assert_eq!(
        n_logged_429,
        statuses.iter().filter(|status| **status == 429).count()
    );
    statuses
}

#[tokio::test]
async fn throttles_at_about_the_configured_rate_deterministically() {
    let first = throttled_sequence(42).await;
    let n_throttled = first.iter().filter(|status| **status == 429).count();
    assert!(
        (15..=45).contains(&n_throttled),
        "{n_throttled} of 100 throttled"
    );
    assert_eq!(throttled_sequence(42).await, first);
}

#[tokio::test]
async fn injects_a_5xx_burst_and_registration_faults_on_arm_routes_only() {
    let config = EmulatorConfig {
        faults: FaultConfig {
            fail_5xx: 2,
            require_registration: true,
            retry_after_secs: 1,
            ..Default::default()
        },
        ..test_config()
    };
    let cloud = Cloud::start(config).await;
    let log = cloud
        .client
        .get(cloud.url("/_emulator/log"))
        .send()
        .await
        .expect("log");
    assert_eq!(log.status(), StatusCode::OK);
    let first = cloud.get(&rg_path("demo")).await;
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(first.header("retry-after").as_deref(), Some("1"));
    assert_eq!(
        cloud.get(&rg_path("demo")).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    cloud.create_resource_group("demo", "eastus").await;

    let unregistered = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(unregistered.status, StatusCode::CONFLICT);
    assert_eq!(unregistered.code(), "MissingSubscriptionRegistration");
    let register =
        format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/register?{RESOURCES}");
    assert_eq!(cloud.post(&register, None).await.status, StatusCode::OK);
    let provider =
        format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance?{RESOURCES}");
    let mut state = String::new();
    for _ in 0..1_000 {
        state = cloud.get(&provider).await.body["registrationState"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if state == "Registered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(state, "Registered");
    let registered = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(registered.status, StatusCode::CREATED);

    cloud.emulator.set_faults(FaultConfig {
        fail_5xx: 1,
        ..Default::default()
    });
    assert_eq!(
        cloud.get(&rg_path("demo")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(cloud.get(&rg_path("demo")).await.status, StatusCode::OK);
    let statuses: Vec<u16> = cloud
        .emulator
        .log_entries()
        .iter()
        .filter_map(|entry| match entry {
            fk::emulator::LogEntry::Request { status, path, .. }
                if path.ends_with("/resourcegroups/demo") =>
            {
                Some(*status)
            }
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![503, 500, 201, 503, 200]);
}

#[tokio::test]
async fn serves_managed_identity_tokens() {
    let cloud = Cloud::start(test_config()).await;
    let url =
        cloud.url("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com");
    let refused = cloud.client.get(&url).send().await.expect("answer");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let token = cloud
        .client
        .get(&url)
        .header("x-identity-header", "secret")
        .send()
        .await
        .expect("answer");
    assert_eq!(token.status(), StatusCode::OK);
    let body: Value = token.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], "https://management.azure.com");
    assert!(
        body["expires_on"]
            .as_str()
            .is_some_and(|secs| secs.parse::<u64>().is_ok())
    );
}

#[tokio::test]
async fn keeps_the_world_in_a_file_across_restarts() {
    let folder = tempfile::tempdir().expect("temp dir");
    let world_file = folder.path().join("state/emulator-world.json");
    let config = EmulatorConfig {
        world_file: Some(world_file.clone()),
        ..test_config()
    };

    let cloud = Cloud::start(config.clone()).await;
    cloud.create_resource_group("demo", "eastus").await;
    cloud
        .create_group("demo", "web", group_body("eastus", "fk-web", 1.0, "nginx"))
        .await;
    cloud.emulator.shutdown().await;
    let text = std::fs::read_to_string(&world_file).expect("world written");
    assert!(text.contains("fk-web.eastus.azurecontainer.io"));

    let cloud = Cloud::start(config).await;
    let group = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(group.body["properties"]["provisioningState"], "Succeeded");
    let clash = cloud
        .put(
            &cg_path("demo", "other"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(clash.code(), "DnsNameLabelAlreadyTaken");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&world_file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the world holds secrets: owner only");
    }
}

#[tokio::test]
async fn continues_provisioning_from_timestamps_after_a_reload() {
    let folder = tempfile::tempdir().expect("temp dir");
    let world_file = folder.path().join("world.json");
    let slow = EmulatorConfig {
        world_file: Some(world_file.clone()),
        provisioning_delay: std::time::Duration::from_secs(3_600),
        ..test_config()
    };
    let cloud = Cloud::start(slow).await;
    cloud.create_resource_group("demo", "eastus").await;
    let created = cloud
        .put(
            &cg_path("demo", "web"),
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    assert_eq!(created.body["properties"]["provisioningState"], "Pending");
    cloud.emulator.shutdown().await;

    let fast = EmulatorConfig {
        world_file: Some(world_file),
        provisioning_delay: std::time::Duration::ZERO,
        ..test_config()
    };
    let cloud = Cloud::start(fast).await;
    let group = cloud.get(&cg_path("demo", "web")).await;
    assert_eq!(group.body["properties"]["provisioningState"], "Succeeded");
    let events: Vec<String> = cloud
        .emulator
        .log_entries()
        .iter()
        .filter_map(|entry| match entry {
            fk::emulator::LogEntry::Event {
                resource, event, ..
            } if resource.ends_with("/web") => Some(event.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        vec!["Pending", "Creating", "Succeeded", "containers Running"]
    );
}

#[tokio::test]
async fn answers_any_path_casing_with_canonical_ids() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("Demo-RG", "East US").await;
    cloud
        .create_group(
            "Demo-RG",
            "web",
            group_body("eastus", "fk-web", 1.0, "nginx"),
        )
        .await;
    let shouted = format!(
        "/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/demo-rg/PROVIDERS/MICROSOFT.CONTAINERINSTANCE/CONTAINERGROUPS/web?{ACI}"
    );
    let group = cloud.get(&shouted).await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(
        group.body["id"],
        format!(
            "/subscriptions/{SUB}/resourceGroups/Demo-RG/providers/Microsoft.ContainerInstance/containerGroups/web"
        )
    );
    let resource_group = cloud.get(&rg_path("DEMO-rg")).await;
    assert_eq!(resource_group.body["name"], "Demo-RG");
    assert_eq!(resource_group.body["location"], "eastus");
}

/// The Azure Files data plane of a share the emulator holds, through fk's own client:
/// SharedKey-signed create, put range, get, list and delete; a wrong key and an unknown
/// share are refused as Azure refuses them.
#[tokio::test]
async fn serves_the_file_data_plane_of_its_shares_to_a_shared_key_client() {
    use fk::provider::azure::files::{FilesClient, FilesError};
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("files", "eastus").await;
    let account = cloud
        .put(&account_path("files", "fkfiles1"), account_body("eastus"))
        .await;
    cloud
        .wait_location(&account.header("location").expect("Location"))
        .await;
    let share =
        account_path("files", "fkfiles1").replace('?', "/fileServices/default/shares/snapshots?");
    let created = cloud.put(&share, json!({ "properties": {} })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let keys = cloud
        .post(
            &account_path("files", "fkfiles1").replace('?', "/listKeys?"),
            None,
        )
        .await;
    let key = keys.body["keys"][1]["value"].as_str().unwrap().to_owned();
    let endpoint = format!("{}/fkfiles1", cloud.emulator.base_url);
    let files = FilesClient::new(&endpoint, "fkfiles1", &key).unwrap();

    assert_eq!(files.list("snapshots", "").await.unwrap(), vec![]);
    let content: Vec<u8> = (0..5_000_000u32).map(|n| (n % 251) as u8).collect();
    files
        .put("snapshots", "snapshot-1.db", &content)
        .await
        .unwrap();
    files.put("snapshots", "notes.txt", b"x").await.unwrap();
    assert_eq!(
        files.get("snapshots", "snapshot-1.db").await.unwrap(),
        Some(content)
    );
    let listed = files.list("snapshots", "").await.unwrap();
    let sizes: Vec<(&str, u64)> = listed
        .iter()
        .map(|entry| (entry.name.as_str(), entry.size))
        .collect();
    assert_eq!(sizes, vec![("notes.txt", 1), ("snapshot-1.db", 5_000_000)]);
    assert!(
        listed[0]
            .last_modified
            .as_deref()
            .is_some_and(|time| time.ends_with(" GMT"))
    );
    files.delete("snapshots", "notes.txt").await.unwrap();
    assert_eq!(files.get("snapshots", "notes.txt").await.unwrap(), None);
    files.delete("snapshots", "notes.txt").await.unwrap();

    let other_key = "c2VjcmV0LWtleS10aGF0LWlzLW5vdC10aGUtYWNjb3VudHM=";
    let forged = FilesClient::new(&endpoint, "fkfiles1", other_key).unwrap();
    let refused = forged.get("snapshots", "snapshot-1.db").await.unwrap_err();
    assert!(
        matches!(&refused, FilesError::Refused { status: 403, message, .. } if message == "AuthenticationFailed"),
        "{refused}"
    );
    let missing = files.put("nothere", "a", b"a").await.unwrap_err();
    assert!(
        matches!(&missing, FilesError::Refused { status: 404, message, .. } if message == "ShareNotFound"),
        "{missing}"
    );
}
