//! `azure_role_assignment` (Microsoft.Authorization/roleAssignments, api-version 2026-08-01).
//!
//! Attributes (all force new: an assignment is never updated, only replaced): `scope` (an
//! ARM id, e.g. a resource group's), `role_definition_id` (a built-in or custom role: its
//! GUID or its full id), `principal_id` (an object id), `principal_type` (`User`, `Group`,
//! `ServicePrincipal`, `ForeignGroup`, `Device`; default `ServicePrincipal`); computed `id`,
//! `name`.
//!
//! The assignment's name is a GUID derived from scope, role and principal, so a create that
//! was interrupted is found again under the same id, and a second assignment of the same
//! role to the same principal at the same scope is the same resource.
//!
//! A principal made seconds before (a new managed identity) may not have replicated to
//! every directory replica yet: ARM then refuses the PUT with `400 PrincipalNotFound`.
//! Giving `principalType` lets ARM skip part of that lookup; the remaining refusals are
//! retried at most [`PRINCIPAL_RETRIES`] times, 1 s after the first and twice as long after
//! each next one, up to [`PRINCIPAL_RETRY_MAX_DELAY`] (about 2 minutes in all).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::{Arm, ArmResource, put_once};
use crate::provider::azure::client::ArmClient;
use crate::provider::azure::error::ArmError;
use crate::provider::azure::shape::{json_text, map, text};
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::{PathSeg, Value};

pub(crate) const TYPE: &str = "azure_role_assignment";
pub(crate) const API_VERSION: &str = "2026-08-01";
pub(crate) const PRINCIPAL_TYPES: [&str; 7] = [
    "User",
    "Group",
    "ServicePrincipal",
    "ForeignGroup",
    "Device",
    "AgentUser",
    "AgentServicePrincipal",
];
/// How many times a `PrincipalNotFound` answer is retried, and the longest wait between two.
pub(crate) const PRINCIPAL_RETRIES: u32 = 11;
pub(crate) const PRINCIPAL_RETRY_MAX_DELAY: Duration = Duration::from_secs(16);

const DEFINITIONS: &str = "/providers/Microsoft.Authorization/roleDefinitions/";

pub(crate) fn schema() -> ResourceSchema {
    let replace = |name: &str| format!("a role assignment cannot change its `{name}`");
    ResourceSchema {
        type_name: TYPE.into(),
        description: "An Azure RBAC role assignment: a role for a principal at a scope".into(),
        attributes: vec![
            Attribute::required("scope", Type::String)
                .force_new(&replace("scope"))
                .describe("the ARM id the role applies to, e.g. a resource group's id"),
            Attribute::required("role_definition_id", Type::String)
                .force_new(&replace("role_definition_id"))
                .describe("the role: its GUID or its full roleDefinitions id"),
            Attribute::required("principal_id", Type::String)
                .force_new(&replace("principal_id"))
                .describe("the object id of the user, group or service principal"),
            Attribute::optional("principal_type", Type::String)
                .force_new(&replace("principal_type"))
                .describe(
                    "`ServicePrincipal` (default; managed identities too), `User`, `Group`, ...",
                ),
            Attribute::computed("id", Type::String).describe("the ARM resource id"),
            Attribute::computed("name", Type::String).describe("the assignment's GUID"),
        ],
        remote: true,
    }
}

/// The GUID at the end of a role definition id (or the GUID itself).
fn role_guid(role: &str) -> &str {
    role.rsplit('/').next().unwrap_or(role)
}

/// A name-based GUID (SHA-256, version and variant bits of RFC 4122 set) of the assignment.
pub(crate) fn assignment_name(planned: &Value) -> String {
    let digest = Sha256::digest(
        format!(
            "{}\n{}\n{}",
            text(planned, "scope").to_ascii_lowercase(),
            role_guid(text(planned, "role_definition_id")).to_ascii_lowercase(),
            text(planned, "principal_id").to_ascii_lowercase()
        )
        .as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// PUT, retrying `PrincipalNotFound` (bounded) while a new principal replicates.
pub(crate) async fn put(client: &ArmClient, id: &str, planned: &Value) -> Result<Value, ArmError> {
    put_waiting(
        client,
        id,
        planned,
        Duration::from_secs(1),
        PRINCIPAL_RETRY_MAX_DELAY,
    )
    .await
}

/// [`put`] with its first and longest wait between two attempts given.
async fn put_waiting(
    client: &ArmClient,
    id: &str,
    planned: &Value,
    first_delay: Duration,
    max_delay: Duration,
) -> Result<Value, ArmError> {
    let mut attempt = 0;
    let mut delay = first_delay;
    loop {
        match put_once(&RoleAssignment, client, id, None, planned).await {
            Ok(mut state) => {
                if let Some(fields) = state.as_map_mut()
                    && fields.get("scope").is_none_or(Value::is_null)
                {
                    fields.insert("scope".into(), Value::str(text(planned, "scope")));
                }
                return Ok(state);
            }
            Err(error)
                if error.arm_code() == Some("PrincipalNotFound") && attempt < PRINCIPAL_RETRIES =>
            {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(max_delay);
            }
            Err(error) => return Err(error),
        }
    }
}

/// The role assignment type.
pub struct RoleAssignment;

/// DELETE answers 200 with the assignment, or 204 when there was none.
#[async_trait]
impl ArmResource for RoleAssignment {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = API_VERSION;

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        let mut problems = Vec::new();
        if let Some(kind) = config.get("principal_type").and_then(Value::as_str)
            && !PRINCIPAL_TYPES.contains(&kind)
        {
            problems.push(AttrProblem {
                path: vec![PathSeg::Key("principal_type".into())],
                code: "fk::azure::invalid_principal_type",
                message: format!("`{kind}` is not a principal type"),
                help: Some(format!("one of {}", PRINCIPAL_TYPES.join(", "))),
            });
        }
        if let Some(role) = config.get("role_definition_id").and_then(Value::as_str)
            && uuid::Uuid::parse_str(role_guid(role)).is_err()
        {
            problems.push(AttrProblem {
                path: vec![PathSeg::Key("role_definition_id".into())],
                code: "fk::azure::invalid_role_definition",
                message: format!("`{role}` is not a role definition GUID or id"),
                help: Some(
                    "write the role's GUID, e.g. `5d977122-f97e-4b4d-a52f-6b43003ddb4d`".into(),
                ),
            });
        }
        if let Some(scope) = config.get("scope").and_then(Value::as_str)
            && !scope.starts_with("/subscriptions/")
        {
            problems.push(AttrProblem {
                path: vec![PathSeg::Key("scope".into())],
                code: "fk::azure::invalid_scope",
                message: format!("scope `{scope}` is not an ARM id"),
                help: Some(
                    "write `/subscriptions/<id>/resourceGroups/<name>` or a resource's id".into(),
                ),
            });
        }
        problems
    }

    /// The configuration with `principal_type` defaulted and the role reduced to its GUID.
    fn normalise(&self, config: &Value) -> Value {
        let mut value = config.clone();
        if let Some(fields) = value.as_map_mut() {
            if fields.get("principal_type").is_none_or(Value::is_null) {
                fields.insert("principal_type".into(), Value::str("ServicePrincipal"));
            }
            if let Some(role) = fields.get("role_definition_id").and_then(Value::as_str) {
                let guid = role_guid(role).to_string();
                fields.insert("role_definition_id".into(), Value::str(guid));
            }
        }
        value
    }

    /// Under its scope, whatever the subscription.
    fn intended_id(&self, _subscription_id: &str, planned: &Value) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            text(planned, "scope").trim_end_matches('/'),
            assignment_name(planned)
        )
    }

    fn body(&self, subscription_id: &str, planned: &Value, _prior: Option<&Value>) -> Json {
        json!({
            "properties": {
                "roleDefinitionId": format!(
                    "/subscriptions/{subscription_id}{DEFINITIONS}{}",
                    role_guid(text(planned, "role_definition_id"))
                ),
                "principalId": text(planned, "principal_id"),
                "principalType": text(planned, "principal_type"),
            }
        })
    }

    fn state(&self, answer: &Json, _known: Option<&Value>) -> Value {
        let role = answer
            .pointer("/properties/roleDefinitionId")
            .and_then(Json::as_str)
            .map_or(Value::Null, |role| Value::str(role_guid(role)));
        map([
            ("id", json_text(answer, "/id")),
            ("name", json_text(answer, "/name")),
            ("scope", json_text(answer, "/properties/scope")),
            ("role_definition_id", role),
            ("principal_id", json_text(answer, "/properties/principalId")),
            (
                "principal_type",
                json_text(answer, "/properties/principalType"),
            ),
        ])
    }

    async fn put(
        &self,
        arm: Arm<'_>,
        id: &str,
        _prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ArmError> {
        put(arm.client, id, planned).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn planned(principal: &str) -> Value {
        RoleAssignment.normalise(&Value::Map(BTreeMap::from([
            (
                "scope".to_string(),
                Value::str("/subscriptions/s/resourceGroups/rg"),
            ),
            (
                "role_definition_id".to_string(),
                Value::str(
                    "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/5d977122-f97e-4b4d-a52f-6b43003ddb4d",
                ),
            ),
            ("principal_id".to_string(), Value::str(principal)),
        ])))
    }

    #[test]
    fn the_name_is_a_stable_guid_of_scope_role_and_principal() {
        let one = assignment_name(&planned("p1"));
        assert_eq!(one, assignment_name(&planned("p1")));
        assert_ne!(one, assignment_name(&planned("p2")));
        let parsed = uuid::Uuid::parse_str(&one).unwrap();
        assert_eq!(parsed.get_version_num(), 5);
        assert!(RoleAssignment.intended_id("s", &planned("p1")).starts_with(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/"
        ));
    }

    #[test]
    fn the_body_names_the_role_in_the_subscription_and_the_principal_type() {
        let sent = RoleAssignment.body("s", &planned("p1"), None);
        assert_eq!(
            sent["properties"]["roleDefinitionId"],
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/5d977122-f97e-4b4d-a52f-6b43003ddb4d"
        );
        assert_eq!(sent["properties"]["principalType"], "ServicePrincipal");
        // ARM answers the role without the subscription: state keeps the GUID either way.
        let state = RoleAssignment.state(&json!({
            "id": "x", "name": "n",
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/5d977122-f97e-4b4d-a52f-6b43003ddb4d",
                "principalId": "p1", "principalType": "ServicePrincipal",
                "scope": "/subscriptions/s/resourceGroups/rg"
            }
        }), None);
        assert_eq!(
            state.get("role_definition_id"),
            planned("p1").get("role_definition_id")
        );
    }

    const ID: &str =
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a";

    fn assignment_answer() -> Json {
        json!({
            "id": ID, "name": "a", "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/5d977122-f97e-4b4d-a52f-6b43003ddb4d",
                "principalId": "p1", "principalType": "ServicePrincipal",
                "scope": "/subscriptions/sub/resourceGroups/rg"
            }
        })
    }

    #[tokio::test]
    async fn principal_not_found_is_retried_until_the_principal_replicates() {
        use crate::provider::azure::test_server::{Reply, TestArm};
        let arm = TestArm::start().await;
        arm.on(
            "PUT",
            "/roleAssignments/a",
            vec![
                Reply::error(400, "PrincipalNotFound", "Principal p1 does not exist"),
                Reply::error(400, "PrincipalNotFound", "Principal p1 does not exist"),
                Reply::json(201, assignment_answer()),
            ],
        );
        let client = arm.client();
        let tick = Duration::from_millis(1);
        let state = put_waiting(&client, ID, &planned("p1"), tick, tick)
            .await
            .unwrap();
        assert_eq!(arm.count("PUT", "/roleAssignments/a"), 3);
        assert_eq!(state.get("principal_id"), Some(&Value::str("p1")));
        let sent = &arm.requests()[0];
        assert!(sent.uri.contains("api-version=2026-08-01"), "{}", sent.uri);
    }

    #[tokio::test]
    async fn principal_not_found_gives_up_after_the_bound_and_other_errors_at_once() {
        use crate::provider::azure::test_server::{Reply, TestArm};
        let arm = TestArm::start().await;
        arm.on(
            "PUT",
            "/roleAssignments/a",
            vec![Reply::error(400, "PrincipalNotFound", "never replicates")],
        );
        let client = arm.client();
        let tick = Duration::from_millis(1);
        let error = put_waiting(&client, ID, &planned("p1"), tick, tick)
            .await
            .unwrap_err();
        assert_eq!(error.arm_code(), Some("PrincipalNotFound"));
        assert_eq!(
            arm.count("PUT", "/roleAssignments/a"),
            PRINCIPAL_RETRIES as usize + 1
        );

        let arm = TestArm::start().await;
        arm.on(
            "PUT",
            "/roleAssignments/a",
            vec![Reply::error(
                400,
                "RoleDefinitionDoesNotExist",
                "no such role",
            )],
        );
        let client = arm.client();
        assert!(
            put_waiting(&client, ID, &planned("p1"), tick, tick)
                .await
                .is_err()
        );
        assert_eq!(arm.count("PUT", "/roleAssignments/a"), 1);
    }

    #[test]
    fn refuses_unknown_principal_types_roles_and_scopes() {
        let mut config = planned("p");
        let fields = config.as_map_mut().unwrap();
        fields.insert("principal_type".into(), Value::str("Robot"));
        fields.insert("role_definition_id".into(), Value::str("Contributor"));
        fields.insert("scope".into(), Value::str("rg"));
        let codes: Vec<&str> = RoleAssignment
            .validate(&config)
            .iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(
            codes,
            [
                "fk::azure::invalid_principal_type",
                "fk::azure::invalid_role_definition",
                "fk::azure::invalid_scope"
            ]
        );
    }
}
