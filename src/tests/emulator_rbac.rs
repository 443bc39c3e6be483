//! The emulator's user-assigned identities and role assignments, as azure-arm.md and the
//! official specs (`managedidentity/2024-11-30`, `authorization/2026-08-01`) describe them:
//! PUT 201 then 200, the ids Entra ID gives, `PrincipalNotFound` until a new identity's
//! principal has replicated, `RoleAssignmentExists`, DELETE 200 then 204. When the specs are
//! present, the emulator's answers and fk's request bodies are checked against them.

use crate::emulator_support;

use std::collections::BTreeMap;
use std::time::Duration;

use emulator_support::*;
use fk::emulator::schema::SpecValidator;
use fk::provider::azure::role_assignment::RoleAssignment;
use fk::provider::azure::types::ArmResource;
use fk::provider::azure::user_assigned_identity::UserAssignedIdentity;
use fk::value::Value as FkValue;
use reqwest::StatusCode;
use serde_json::{Value, json};

const IDENTITY_API: &str = "api-version=2024-11-30";
const RBAC_API: &str = "api-version=2026-08-01";
const ACI_CONTRIBUTOR: &str = "5d977122-f97e-4b4d-a52f-6b43003ddb4d";

fn identity_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}?{IDENTITY_API}"
    )
}

fn assignment_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Authorization/roleAssignments/{name}?{RBAC_API}"
    )
}

fn assignment_body(principal: &str) -> Value {
    json!({ "properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ACI_CONTRIBUTOR}"),
        "principalId": principal,
        "principalType": "ServicePrincipal",
    }})
}

/// The validator of a spec file, when the specs are there.
fn spec(relative: &str) -> Option<SpecValidator> {
    let path = official_specs(relative)?.join(relative);
    path.is_file()
        .then(|| SpecValidator::load(&path).expect("the spec loads"))
}

#[tokio::test]
async fn identities_and_role_assignments_answer_as_arm_does() {
    let cloud = Cloud::start(test_config()).await;
    cloud.create_resource_group("rg", "westeurope").await;
    let identity_spec = spec("managedidentity/2024-11-30/ManagedIdentity.json");
    let rbac_spec = spec("authorization/2026-08-01/authorization-RoleAssignmentsCalls.json");

    // An identity in a missing group, with a bad name: refused.
    let missing = cloud
        .put(
            &identity_path("nope", "vk"),
            json!({"location": "westeurope"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "ResourceGroupNotFound");
    let bad = cloud
        .put(
            &identity_path("rg", "-x"),
            json!({"location": "westeurope"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // 201 with the ids Entra ID gives; 200 on the second PUT, the same ids.
    let created = cloud
        .put(
            &identity_path("rg", "vk-id"),
            json!({"location": "West Europe", "tags": {"a": "b"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    );
    let principal = created.body["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    for key in ["clientId", "principalId", "tenantId"] {
        let id = created.body["properties"][key].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{key}: {id}");
    }
    let again = cloud
        .put(
            &identity_path("rg", "vk-id"),
            json!({"location": "westeurope"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["properties"], created.body["properties"]);
    if let Some(spec) = &identity_spec {
        assert_eq!(spec.validate("Identity", &created.body), vec![]);
    }

    // Right after: the principal has not replicated.
    let name = "0b1c4f3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f";
    let early = cloud
        .put(&assignment_path("rg", name), assignment_body(&principal))
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert_eq!(early.code(), "PrincipalNotFound");
    // A principal the directory never heard of stays unknown.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let stranger = cloud
        .put(
            &assignment_path("rg", name),
            assignment_body("11111111-2222-4333-8444-555555555555"),
        )
        .await;
    assert_eq!(stranger.code(), "PrincipalNotFound");

    // Replicated: 201, the role named without the subscription, as the example answers.
    let made = cloud
        .put(&assignment_path("rg", name), assignment_body(&principal))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["type"], "Microsoft.Authorization/roleAssignments");
    assert_eq!(
        made.body["properties"]["roleDefinitionId"],
        format!("/providers/Microsoft.Authorization/roleDefinitions/{ACI_CONTRIBUTOR}")
    );
    assert_eq!(
        made.body["properties"]["scope"],
        format!("/subscriptions/{SUB}/resourceGroups/rg")
    );
    if let Some(spec) = &rbac_spec {
        assert_eq!(spec.validate("RoleAssignment", &made.body), vec![]);
    }
    let same = cloud
        .put(&assignment_path("rg", name), assignment_body(&principal))
        .await;
    assert_eq!(same.status, StatusCode::OK);
    let twin = cloud
        .put(
            &assignment_path("rg", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"),
            assignment_body(&principal),
        )
        .await;
    assert_eq!(twin.status, StatusCode::CONFLICT);
    assert_eq!(twin.code(), "RoleAssignmentExists");
    let not_guid = cloud
        .put(&assignment_path("rg", "vk"), assignment_body(&principal))
        .await;
    assert_eq!(not_guid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        cloud.get(&assignment_path("rg", name)).await.status,
        StatusCode::OK
    );

    // DELETE: 200, then 204; GET then 404.
    assert_eq!(
        cloud.delete(&assignment_path("rg", name)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cloud.delete(&assignment_path("rg", name)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        cloud.get(&assignment_path("rg", name)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cloud.delete(&identity_path("rg", "vk-id")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cloud.delete(&identity_path("rg", "vk-id")).await.status,
        StatusCode::NO_CONTENT
    );
    // A wrong api-version is refused as ARM refuses it.
    let old = cloud
        .get(&identity_path("rg", "vk-id").replace(IDENTITY_API, "api-version=2015-08-31"))
        .await;
    assert_eq!(old.code(), "InvalidApiVersionParameter");
    cloud.emulator.shutdown().await;
}

/// fk's request bodies against the official definitions (when the specs are present).
#[test]
fn fk_request_bodies_follow_the_specs() {
    let planned = FkValue::Map(BTreeMap::from([
        ("name".to_string(), FkValue::str("vk")),
        ("resource_group".to_string(), FkValue::str("rg")),
        ("location".to_string(), FkValue::str("West Europe")),
        (
            "scope".to_string(),
            FkValue::str("/subscriptions/s/resourceGroups/rg"),
        ),
        (
            "role_definition_id".to_string(),
            FkValue::str(ACI_CONTRIBUTOR),
        ),
        ("principal_id".to_string(), FkValue::str("p")),
        (
            "principal_type".to_string(),
            FkValue::str("ServicePrincipal"),
        ),
    ]));
    let identity = UserAssignedIdentity.body("s", &planned, None);
    assert_eq!(identity["location"], "westeurope");
    let assignment = RoleAssignment.body("s", &planned, None);
    assert_eq!(
        assignment["properties"]["principalType"],
        "ServicePrincipal"
    );
    if let Some(spec) = spec("managedidentity/2024-11-30/ManagedIdentity.json") {
        assert_eq!(spec.validate("Identity", &identity), vec![]);
    }
    if let Some(spec) = spec("authorization/2026-08-01/authorization-RoleAssignmentsCalls.json") {
        assert_eq!(
            spec.validate("RoleAssignmentCreateParameters", &assignment),
            vec![]
        );
        // The check can fail: a body without the principal is refused.
        let mut wrong = assignment.clone();
        wrong["properties"]
            .as_object_mut()
            .unwrap()
            .remove("principalId");
        assert!(
            !spec
                .validate("RoleAssignmentCreateParameters", &wrong)
                .is_empty()
        );
    }
}
