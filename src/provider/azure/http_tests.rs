//! The provider over real HTTP against scripted ARM servers on loopback: the three LRO
//! styles, retries, registration, error messages, readiness, stop and start.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value as Json, json};

use super::cloud::CloudProfile;
use super::container_group::body::to_body;
use super::container_group::plan;
use super::error::ArmError;
use super::fixtures::{
    SECURE_ENV_SECRET, STORAGE_KEY_SECRET, full_group_config, simulated_get, with,
};
use super::lro::Operation;
use super::test_server::{Reply, TestArm, fast_retry};
use super::{AzureConfig, AzureProvider, StaticToken};
use crate::addr::Address;
use crate::provider::{Action, OpContext, Provider};
use crate::value::Value;

const GROUP_ID: &str = "/subscriptions/sub/resourceGroups/fk/providers/Microsoft.ContainerInstance/containerGroups/fk-etcd";

fn provider(arm: &TestArm) -> AzureProvider {
    let config = AzureConfig {
        poll_interval: Duration::from_millis(1),
        retry: fast_retry(),
        ..AzureConfig::local(&arm.base, "sub")
    };
    AzureProvider::new(config, Arc::new(StaticToken::new("test-token"))).expect("provider")
}

fn ctx() -> OpContext {
    OpContext::new(Address::new("azure_container_group", "etcd"))
}

fn planned_group() -> Value {
    plan(&CloudProfile::public(), "sub", None, &full_group_config()).planned
}

fn group_answer(provisioning: &str, container_state: &str) -> Json {
    simulated_get(&to_body(&planned_group()), provisioning, container_state)
}

fn operation<'a>(client: &'a super::ArmClient, path: &'a str) -> Operation<'a> {
    Operation {
        client,
        method: "PUT",
        path,
        resource_path: Some(path),
        max_wait: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn azure_async_operation_is_polled_until_succeeded() {
    let arm = TestArm::start().await;
    let monitor = format!(
        "{}/subscriptions/sub/providers/Microsoft.ContainerInstance/locations/westeurope/operations/op1?api-version=2018-06-01",
        arm.base
    );
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![
            Reply::json(201, json!({"properties": {"provisioningState": "Pending"}}))
                .header("Azure-AsyncOperation", &monitor),
        ],
    );
    arm.on(
        "GET",
        "/operations/op1",
        vec![
            Reply::json(200, json!({"status": "InProgress"})),
            Reply::json(200, json!({"status": "Running"})),
            Reply::json(200, json!({"status": "Succeeded"})),
        ],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, group_answer("Succeeded", "Running"))],
    );
    let client = arm.client();
    let path = format!("{GROUP_ID}?api-version=x");
    let first = client
        .send(Method::PUT, &path, Some(&json!({})))
        .await
        .expect("put");
    let body = operation(&client, &path)
        .wait(first)
        .await
        .expect("succeeded");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(arm.count("GET", "/operations/op1"), 3);
    let auth = arm
        .requests()
        .iter()
        .map(|r| r.authorization.clone())
        .collect::<Vec<_>>();
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some("Bearer test-token"))
    );
}

#[tokio::test]
async fn failed_and_canceled_operations_surface_their_error() {
    for terminal in ["Failed", "Canceled"] {
        let arm = TestArm::start().await;
        let monitor = format!("{}/operations/op2", arm.base);
        arm.on(
            "PUT",
            "/containerGroups/",
            vec![Reply::empty(201).header("Azure-AsyncOperation", &monitor)],
        );
        arm.on("GET", "/operations/op2", vec![
            Reply::json(200, json!({"status": "InProgress"})),
            Reply::json(200, json!({"status": terminal, "error": {"code": "InaccessibleImage", "message": "image 'nope' is not accessible"}}))
                .header("x-ms-request-id", "poll-7"),
        ]);
        let client = arm.client();
        let first = client.send(Method::PUT, GROUP_ID, None).await.expect("put");
        let error = operation(&client, GROUP_ID)
            .wait(first)
            .await
            .expect_err("terminal failure");
        assert_eq!(error.arm_code(), Some("InaccessibleImage"));
        let shown = error.to_string();
        assert!(shown.contains(&format!("ended {terminal}")), "{shown}");
        assert!(shown.contains("image 'nope' is not accessible"), "{shown}");
        assert!(shown.ends_with("(request id poll-7)"), "{shown}");
    }
}

#[tokio::test]
async fn location_header_is_polled_until_not_202() {
    let arm = TestArm::start().await;
    let location = format!(
        "{}/subscriptions/sub/providers/Microsoft.Storage/operations/s1?monitor=true",
        arm.base
    );
    let account = json!({"id": "/subscriptions/sub/resourceGroups/fk/providers/Microsoft.Storage/storageAccounts/fkdemo123",
        "name": "fkdemo123", "location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
        "properties": {"provisioningState": "Succeeded"}});
    arm.on(
        "PUT",
        "/storageAccounts/fkdemo123",
        vec![
            Reply::empty(202)
                .header("Location", &location)
                .header("Retry-After", "0"),
        ],
    );
    arm.on(
        "GET",
        "/operations/s1",
        vec![
            Reply::empty(202),
            Reply::empty(202),
            Reply::json(200, account),
        ],
    );
    arm.on("POST", "/listKeys", vec![Reply::json(200, json!({"keys": [{"keyName": "key1", "value": STORAGE_KEY_SECRET, "permissions": "Full"}]}))]);
    let config = super::fixtures::toml_value(
        "name = \"fkdemo123\"\nresource_group = \"fk\"\nlocation = \"westeurope\"",
    );
    let provider = provider(&arm);
    let id = provider.intended_id("azure_storage_account", &config);
    let state = provider
        .create(&ctx(), "azure_storage_account", &id, &config)
        .await
        .expect("created");
    assert_eq!(arm.count("GET", "/operations/s1"), 3);
    let key = state.get("primary_access_key").expect("key");
    assert!(key.is_sensitive());
    assert_eq!(key.as_str(), Some(STORAGE_KEY_SECRET));
    assert!(!state.to_string().contains(STORAGE_KEY_SECRET));
}

#[tokio::test]
async fn provisioning_state_is_polled_when_no_header_is_given() {
    let arm = TestArm::start().await;
    arm.on(
        "PUT",
        "/containerGroups/",
        vec![Reply::json(
            201,
            json!({"properties": {"provisioningState": "Creating"}}),
        )],
    );
    arm.on("GET", "/containerGroups/", vec![
        Reply::json(200, json!({"properties": {"provisioningState": "Creating"}})),
        Reply::json(200, json!({"properties": {"provisioningState": "Canceled", "error": {"code": "OperationCanceled", "message": "stopped by user"}}})),
    ]);
    let client = arm.client();
    let first = client.send(Method::PUT, GROUP_ID, None).await.expect("put");
    let error = operation(&client, GROUP_ID)
        .wait(first)
        .await
        .expect_err("canceled");
    assert!(matches!(&error, ArmError::Operation { status, .. } if status == "Canceled"));
    assert_eq!(arm.count("GET", "/containerGroups/"), 2);
}

#[tokio::test]
async fn throttled_request_is_retried_and_4xx_is_not() {
    let arm = TestArm::start().await;
    arm.on(
        "GET",
        "/resourceGroups/a",
        vec![
            Reply::error(429, "TooManyRequests", "slow down").header("Retry-After", "0"),
            Reply::error(503, "ServiceUnavailable", "busy"),
            Reply::json(200, json!({"name": "a"})),
        ],
    );
    arm.on(
        "GET",
        "/resourceGroups/b",
        vec![Reply::error(400, "BadRequest", "no")],
    );
    let client = arm.client();
    let answer = client
        .send(Method::GET, "/subscriptions/sub/resourceGroups/a", None)
        .await;
    assert_eq!(answer.map(|r| r.body["name"].clone()), Ok(json!("a")));
    assert_eq!(arm.count("GET", "/resourceGroups/a"), 3);
    let rejected = client
        .send(Method::GET, "/subscriptions/sub/resourceGroups/b", None)
        .await;
    assert_eq!(rejected.map_err(|e| e.status()), Err(Some(400)));
    assert_eq!(arm.count("GET", "/resourceGroups/b"), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let config = AzureConfig {
        retry: fast_retry(),
        ..AzureConfig::local(&base, "sub")
    };
    let provider = AzureProvider::new(config, Arc::new(StaticToken::new("t"))).expect("provider");
    let error = provider
        .read(&ctx(), "azure_container_group", GROUP_ID, &Value::Null)
        .await
        .expect_err("refused");
    assert_eq!(error.code, "fk::azure::connection");
    assert!(
        error
            .message
            .starts_with("`azure_container_group.etcd`: GET /subscriptions/sub/"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn missing_registration_registers_the_namespace_and_retries() {
    let arm = TestArm::start().await;
    arm.on("PUT", "/resourceGroups/fk", vec![
        Reply::error(409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.Resources'."),
        Reply::json(201, json!({"id": "/subscriptions/sub/resourceGroups/fk", "name": "fk", "location": "westeurope"})),
    ]);
    arm.on(
        "POST",
        "/providers/Microsoft.Resources/register",
        vec![Reply::json(
            200,
            json!({"registrationState": "Registering"}),
        )],
    );
    arm.on(
        "GET",
        "/providers/Microsoft.Resources",
        vec![
            Reply::json(200, json!({"registrationState": "Registering"})),
            Reply::json(200, json!({"registrationState": "Registered"})),
        ],
    );
    let provider = provider(&arm);
    let config = super::fixtures::toml_value("name = \"fk\"\nlocation = \"westeurope\"");
    let id = provider.intended_id("azure_resource_group", &config);
    let state = provider
        .create(&ctx(), "azure_resource_group", &id, &config)
        .await
        .expect("created");
    assert_eq!(state.get("name"), Some(&Value::str("fk")));
    assert_eq!(arm.count("PUT", "/resourceGroups/fk"), 2);
    assert_eq!(arm.count("POST", "/register"), 1);
}

#[tokio::test]
async fn errors_name_address_status_code_request_id_and_never_a_secret() {
    let arm = TestArm::start().await;
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![
            Reply::error(
                400,
                "DnsNameLabelAlreadyTaken",
                "The DNS name label 'fk-etcd' in container group 'fk-etcd' is not available.",
            )
            .header("x-ms-request-id", "req-42"),
        ],
    );
    let provider = provider(&arm);
    let planned = planned_group();
    let error = provider
        .create(&ctx(), "azure_container_group", GROUP_ID, &planned)
        .await
        .expect_err("taken");
    assert_eq!(error.code, "fk::azure::dns_name_label_already_taken");
    for part in [
        "`azure_container_group.etcd`",
        "PUT /subscriptions/sub/resourceGroups/fk/",
        "400 Bad Request",
        "DnsNameLabelAlreadyTaken",
        "(request id req-42)",
    ] {
        assert!(
            error.message.contains(part),
            "{part} missing in {}",
            error.message
        );
    }
    let everything = format!("{error:?} {error}");
    for secret in [SECURE_ENV_SECRET, STORAGE_KEY_SECRET, "test-token"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    let sent = &arm.requests()[0].body.to_string();
    assert!(
        sent.contains(SECURE_ENV_SECRET) && sent.contains(STORAGE_KEY_SECRET),
        "PUT carries the secrets"
    );
}

#[tokio::test]
async fn create_returns_once_every_container_is_running() {
    let arm = TestArm::start().await;
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![Reply::json(201, group_answer("Pending", "Waiting"))],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![
            Reply::json(200, group_answer("Creating", "Waiting")),
            Reply::json(200, group_answer("Succeeded", "Waiting")),
            Reply::json(200, group_answer("Succeeded", "Waiting")),
            Reply::json(200, group_answer("Succeeded", "Running")),
        ],
    );
    let provider = provider(&arm);
    let state = provider
        .create(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await
        .expect("ready");
    assert_eq!(arm.count("GET", "/containerGroups/fk-etcd"), 4);
    assert_eq!(state.get("state"), Some(&Value::str("Running")));
    assert_eq!(
        state.get("fqdn"),
        Some(&Value::str("fk-etcd.westeurope.azurecontainer.io"))
    );
    let again = provider
        .plan(
            &super::container_group::schema(),
            Some(&state),
            &full_group_config(),
        )
        .expect("plan");
    assert!(
        again.notes.is_empty() && again.requires_replace.is_empty(),
        "{:?}",
        again.notes
    );
}

#[tokio::test]
async fn failed_group_reports_the_service_events() {
    let arm = TestArm::start().await;
    let mut failed = group_answer("Failed", "Waiting");
    failed["properties"]["instanceView"]["events"] = json!([{"name": "FailedMount", "message": "mount error(2): Permission denied", "type": "Warning", "count": 3}]);
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![Reply::json(201, group_answer("Pending", "Waiting"))],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![
            Reply::json(200, group_answer("Creating", "Waiting")),
            Reply::json(200, failed),
        ],
    );
    arm.on("POST", "/fk-etcd/stop", vec![Reply::empty(204)]);
    let provider = provider(&arm);
    let error = provider
        .create(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await
        .expect_err("failed");
    assert_eq!(error.code, "fk::azure::container_group_failed");
    assert!(
        error
            .details
            .iter()
            .any(|d| d == "FailedMount: mount error(2): Permission denied"),
        "{:?}",
        error.details
    );
    // ACI keeps retrying (and billing) a failed group: the failed create is stopped.
    assert_eq!(arm.count("POST", "/fk-etcd/stop"), 1);
    assert!(
        error
            .details
            .iter()
            .any(|d| d.contains("fk stopped the group")),
        "{:?}",
        error.details
    );
}

#[tokio::test]
async fn a_refused_create_stops_nothing() {
    let arm = TestArm::start().await;
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![Reply::error(
            400,
            "DnsNameLabelAlreadyTaken",
            "The DNS name label 'fk-etcd' is not available.",
        )],
    );
    arm.on("POST", "/fk-etcd/stop", vec![Reply::empty(204)]);
    let error = provider(&arm)
        .create(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await
        .expect_err("refused");
    assert_eq!(error.code, "fk::azure::dns_name_label_already_taken");
    assert_eq!(arm.count("POST", "/fk-etcd/stop"), 0);
}

#[tokio::test]
async fn tags_only_update_sends_a_patch_not_a_put() {
    let arm = TestArm::start().await;
    let mut patched = group_answer("Succeeded", "Running");
    patched["tags"] = json!({"fk.io/cluster": "demo", "owner": "ops"});
    arm.on(
        "PATCH",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, patched)],
    );
    let provider = provider(&arm);
    let prior = planned_group();
    let config = with(full_group_config(), &["tags", "owner"], Value::str("ops"));
    let planned = plan(&CloudProfile::public(), "sub", Some(&prior), &config).planned;
    let state = provider
        .update(&ctx(), "azure_container_group", GROUP_ID, &prior, &planned)
        .await
        .expect("patched");
    assert_eq!(arm.count("PUT", "/containerGroups"), 0);
    assert_eq!(
        arm.requests()[0].body,
        json!({"tags": {"fk.io/cluster": "demo", "owner": "ops"}})
    );
    assert_eq!(
        state.get("tags").and_then(|t| t.get("owner")),
        Some(&Value::str("ops"))
    );
}

#[tokio::test]
async fn read_of_a_deleted_group_is_none_and_delete_of_it_succeeds() {
    let arm = TestArm::start().await;
    arm.on(
        "DELETE",
        "/containerGroups/fk-etcd",
        vec![Reply::empty(204)],
    );
    let provider = provider(&arm);
    let read = provider
        .read(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await;
    assert_eq!(read, Ok(None));
    let deleted = provider
        .delete(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await;
    assert_eq!(deleted, Ok(()));
}

#[tokio::test]
async fn stop_then_start_marks_the_state() {
    let arm = TestArm::start().await;
    let mut stopped = group_answer("Succeeded", "Terminated");
    stopped["properties"]["instanceView"]["state"] = json!("Stopped");
    let monitor = format!("{}/operations/start1", arm.base);
    arm.on("POST", "/fk-etcd/stop", vec![Reply::empty(204)]);
    arm.on(
        "POST",
        "/fk-etcd/start",
        vec![Reply::empty(202).header("Azure-AsyncOperation", &monitor)],
    );
    arm.on(
        "GET",
        "/operations/start1",
        vec![Reply::json(200, json!({"status": "Succeeded"}))],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![
            Reply::json(200, stopped),
            Reply::json(200, group_answer("Succeeded", "Waiting")),
            Reply::json(200, group_answer("Succeeded", "Running")),
        ],
    );
    let provider = provider(&arm);
    let prior = planned_group();
    let stopped = provider
        .act(
            &ctx(),
            "azure_container_group",
            GROUP_ID,
            &prior,
            Action::Stop,
        )
        .await
        .expect("stopped");
    assert_eq!(
        stopped.as_ref().and_then(|s| s.get("state")),
        Some(&Value::str("Stopped"))
    );
    let started = provider
        .act(
            &ctx(),
            "azure_container_group",
            GROUP_ID,
            &prior,
            Action::Start,
        )
        .await
        .expect("started");
    assert_eq!(
        started.as_ref().and_then(|s| s.get("state")),
        Some(&Value::str("Running"))
    );
    let secret = started.as_ref().and_then(|s| {
        s.get_path(&crate::value::path_from_string(
            "containers[0].secure_env.ETCD_ROOT_PASSWORD",
        ))
    });
    assert_eq!(
        secret.as_ref().and_then(Value::as_str),
        Some(SECURE_ENV_SECRET),
        "write-only value kept"
    );
}

#[tokio::test]
async fn token_is_only_sent_to_the_arm_endpoint() {
    let arm = TestArm::start().await;
    let elsewhere = TestArm::start().await;
    let monitor = format!("{}/operations/op9", elsewhere.base);
    arm.on(
        "DELETE",
        "/containerGroups/fk-etcd",
        vec![Reply::empty(202).header("Azure-AsyncOperation", &monitor)],
    );
    elsewhere.on(
        "GET",
        "/operations/op9",
        vec![Reply::json(200, json!({"status": "Succeeded"}))],
    );
    let provider = provider(&arm);
    let deleted = provider
        .delete(&ctx(), "azure_container_group", GROUP_ID, &Value::Null)
        .await;
    assert_eq!(deleted, Ok(()));
    assert_eq!(elsewhere.count("GET", "/operations/op9"), 1);
    assert!(
        elsewhere
            .requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
    assert!(arm.requests().iter().all(|r| r.authorization.is_some()));
}

/// Counts concurrent token requests and holds each until the test opens the gate.
struct GatedToken {
    in_flight: std::sync::atomic::AtomicUsize,
    most_in_flight: std::sync::atomic::AtomicUsize,
    gate: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl super::TokenSource for GatedToken {
    async fn token(&self) -> Result<super::auth::BearerToken, super::auth::AuthError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now, SeqCst);
        let _permit = self.gate.acquire().await;
        self.in_flight.fetch_sub(1, SeqCst);
        Err(super::auth::AuthError {
            source_name: "gate".into(),
            message: "closed".into(),
        })
    }

    fn describe(&self) -> String {
        "gate".into()
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_runs_reads_in_parallel_but_bounded() {
    use std::sync::atomic::Ordering::SeqCst;
    let tokens = Arc::new(GatedToken {
        in_flight: Default::default(),
        most_in_flight: Default::default(),
        gate: tokio::sync::Semaphore::new(0),
    });
    let config = AzureConfig {
        parallelism: 2,
        ..AzureConfig::local("http://127.0.0.1:9", "sub")
    };
    let provider = Arc::new(AzureProvider::new(config, tokens.clone()).expect("provider"));
    let reads: Vec<_> = (0..5)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move {
                provider
                    .read(&ctx(), "azure_container_group", GROUP_ID, &Value::Null)
                    .await
            })
        })
        .collect();
    // Paused time only advances once every task is blocked: the reads have gone as far as
    // they can.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tokens.in_flight.load(SeqCst), 2);
    tokens.gate.add_permits(5);
    for read in reads {
        let error = read.await.expect("task").expect_err("gate refuses");
        assert_eq!(error.code, "fk::azure::auth");
    }
    assert_eq!(tokens.most_in_flight.load(SeqCst), 2);
}

#[tokio::test]
async fn refreshed_state_keeps_the_recorded_id_whatever_arm_spells() {
    let arm = TestArm::start().await;
    let mut answer = group_answer("Succeeded", "Running");
    answer["id"] = json!(GROUP_ID.to_ascii_lowercase());
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, answer)],
    );
    let provider = provider(&arm);
    let state = provider
        .read(&ctx(), "azure_container_group", GROUP_ID, &planned_group())
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(state.get("id"), Some(&Value::str(GROUP_ID)));
    let again = provider
        .plan(
            &super::container_group::schema(),
            Some(&state),
            &full_group_config(),
        )
        .expect("plan");
    assert!(again.planned.same_data(&state), "no diff after refresh");
}

#[tokio::test]
async fn in_place_update_puts_the_whole_body_with_its_secrets() {
    let arm = TestArm::start().await;
    let ready = group_answer("Succeeded", "Running");
    arm.on(
        "PUT",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, ready.clone())],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, ready)],
    );
    let provider = provider(&arm);
    let prior = planned_group();
    let config = with(
        full_group_config(),
        &["containers", "0", "image"],
        Value::str("registry.k8s.io/etcd:3.5.22-0"),
    );
    let planned = plan(&CloudProfile::public(), "sub", Some(&prior), &config).planned;
    provider
        .update(&ctx(), "azure_container_group", GROUP_ID, &prior, &planned)
        .await
        .expect("updated");
    let put = arm
        .requests()
        .into_iter()
        .find(|request| request.method == "PUT")
        .expect("a PUT");
    let container = &put.body["properties"]["containers"][0]["properties"];
    assert_eq!(container["image"], "registry.k8s.io/etcd:3.5.22-0");
    let sent = put.body.to_string();
    for secret in [
        SECURE_ENV_SECRET,
        STORAGE_KEY_SECRET,
        "Y2EtY2VydA==",
        "init-secret",
    ] {
        assert!(sent.contains(secret), "{secret} missing from the PUT");
    }
}

#[tokio::test]
async fn a_delete_answered_200_is_done_even_when_the_group_it_deleted_had_failed() {
    let arm = TestArm::start().await;
    arm.on(
        "DELETE",
        "/containerGroups/",
        vec![Reply::json(
            200,
            json!({"properties": {"provisioningState": "Failed"}}),
        )],
    );
    let client = arm.client();
    let answer = client
        .send(Method::DELETE, GROUP_ID, None)
        .await
        .expect("delete");
    let delete = Operation {
        method: "DELETE",
        resource_path: None,
        ..operation(&client, GROUP_ID)
    };
    delete.wait(answer).await.expect("the delete succeeded");
    assert_eq!(arm.count("GET", "/containerGroups/"), 0, "nothing to poll");
}

#[tokio::test]
async fn start_right_after_stop_waits_out_container_group_transitioning() {
    let arm = TestArm::start().await;
    let transitioning = "The container group 'fk-etcd' is still transitioning, please retry later.";
    arm.on(
        "POST",
        "/fk-etcd/start",
        vec![
            Reply::error(409, "ContainerGroupTransitioning", transitioning),
            Reply::error(409, "ContainerGroupTransitioning", transitioning),
            Reply::empty(204),
        ],
    );
    arm.on(
        "GET",
        "/containerGroups/fk-etcd",
        vec![Reply::json(200, group_answer("Succeeded", "Running"))],
    );
    let mut provider = provider(&arm);
    let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = notices.clone();
    provider.set_retry_observer(Arc::new(move |notice| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(notice.reason.clone());
        }
    }));
    let started = provider
        .act(
            &ctx(),
            "azure_container_group",
            GROUP_ID,
            &planned_group(),
            Action::Start,
        )
        .await
        .expect("started after the group finished transitioning");
    assert_eq!(
        started.as_ref().and_then(|s| s.get("state")),
        Some(&Value::str("Running"))
    );
    assert_eq!(arm.count("POST", "/fk-etcd/start"), 3);
    let notices = notices.lock().map(|n| n.clone()).unwrap_or_default();
    assert_eq!(
        notices,
        [
            "another operation holds the resource (409 ContainerGroupTransitioning)",
            "another operation holds the resource (409 ContainerGroupTransitioning)"
        ]
    );
}
