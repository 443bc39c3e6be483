//! `azure_user_assigned_identity` (Microsoft.ManagedIdentity/userAssignedIdentities,
//! api-version 2024-11-30).
//!
//! Attributes: `name`, `resource_group`, `location` (all force new), `tags`; computed `id`,
//! `client_id`, `principal_id`, `tenant_id` (Entra ID gives them at create and keeps them
//! for the identity's life). PUT is synchronous (201 on create, 200 on update); DELETE
//! answers 200, or 204 when there was nothing.

use serde_json::Value as Json;

use super::ArmResource;
use crate::provider::azure::shape::{
    id_segment, json_text, location_from_json, map, tags_from_json, text,
};
use crate::provider::{Attribute, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const TYPE: &str = "azure_user_assigned_identity";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: TYPE.into(),
        description: "A user-assigned managed identity: an Entra ID principal with no secret, \
                      for container groups"
            .into(),
        attributes: vec![
            Attribute::required("name", Type::String)
                .force_new("an identity cannot be renamed")
                .describe("3-128 characters: letters, digits, `-`, `_`"),
            Attribute::required("resource_group", Type::String)
                .force_new("an identity cannot move to another resource group"),
            Attribute::required("location", Type::String)
                .force_new("an identity cannot move to another region"),
            Attribute::optional("tags", Type::map(Type::String)).describe("ARM tags"),
            Attribute::computed("id", Type::String).describe("the ARM resource id"),
            Attribute::computed("client_id", Type::String)
                .describe("the application (client) id: what a workload names to get a token"),
            Attribute::computed("principal_id", Type::String)
                .describe("the object id of its service principal: what a role assignment names"),
            Attribute::computed("tenant_id", Type::String).describe("its Entra ID tenant"),
        ],
        remote: true,
    }
}

/// The user-assigned managed identity type.
pub struct UserAssignedIdentity;

impl ArmResource for UserAssignedIdentity {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = "2024-11-30";

    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String {
        format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            text(planned, "resource_group"),
            text(planned, "name")
        )
    }

    fn state(&self, answer: &Json, _known: Option<&Value>) -> Value {
        let id = answer.get("id").and_then(Json::as_str).unwrap_or_default();
        map([
            ("id", Value::str(id)),
            ("name", json_text(answer, "/name")),
            (
                "resource_group",
                id_segment(id, "resourceGroups").map_or(Value::Null, Value::str),
            ),
            ("location", location_from_json(answer)),
            ("tags", tags_from_json(answer)),
            ("client_id", json_text(answer, "/properties/clientId")),
            ("principal_id", json_text(answer, "/properties/principalId")),
            ("tenant_id", json_text(answer, "/properties/tenantId")),
        ])
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The answer in the spec's IdentityCreate example (shape, not copied values).
    #[test]
    fn reads_the_computed_ids_and_the_resource_group_from_an_answer() {
        let answer = json!({
            "id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/vk",
            "name": "vk",
            "location": "West Europe",
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "properties": {"clientId": "c", "principalId": "p", "tenantId": "t"},
            "tags": {}
        });
        let state = UserAssignedIdentity.state(&answer, None);
        assert_eq!(state.get("resource_group"), Some(&Value::str("rg")));
        assert_eq!(state.get("location"), Some(&Value::str("westeurope")));
        assert_eq!(state.get("client_id"), Some(&Value::str("c")));
        assert_eq!(state.get("principal_id"), Some(&Value::str("p")));
        assert_eq!(state.get("tags"), Some(&Value::Null));
    }
}
