//! `azure_user_assigned_identity` (Microsoft.ManagedIdentity/userAssignedIdentities,
//! api-version 2024-11-30).
//!
//! Attributes: `name`, `resource_group`, `location` (all force new), `tags`; computed `id`,
//! `client_id`, `principal_id`, `tenant_id` (Entra ID gives them at create and keeps them
//! for the identity's life). PUT is synchronous (201 on create, 200 on update); DELETE
//! answers 200, or 204 when there was nothing.

use serde_json::{Value as Json, json};

use super::ArmResource;
use crate::provider::azure::cloud::normalise_location;
use crate::provider::azure::shape::{
    id_segment, json_text, location_from_json, map, normalise_location_in, tags_from_json,
    tags_to_json, text,
};
use crate::provider::{Attribute, ResourceSchema, Type};
use crate::value::Value;

pub const TYPE: &str = "azure_user_assigned_identity";
pub const API_VERSION: &str = "2024-11-30";

pub fn schema() -> ResourceSchema {
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

pub fn intended_id(subscription_id: &str, planned: &Value) -> String {
    format!(
        "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        text(planned, "resource_group"),
        text(planned, "name")
    )
}

/// The planned value with the location spelled as ARM answers it.
pub fn normalise(config: &Value) -> Value {
    let mut value = config.clone();
    if let Some(fields) = value.as_map_mut() {
        normalise_location_in(fields);
    }
    value
}

pub fn body(planned: &Value) -> Json {
    json!({
        "location": normalise_location(text(planned, "location")),
        "tags": tags_to_json(planned),
    })
}

pub fn from_response(body: &Json) -> Value {
    let id = body.get("id").and_then(Json::as_str).unwrap_or_default();
    map([
        ("id", Value::str(id)),
        ("name", json_text(body, "/name")),
        (
            "resource_group",
            id_segment(id, "resourceGroups").map_or(Value::Null, Value::str),
        ),
        ("location", location_from_json(body)),
        ("tags", tags_from_json(body)),
        ("client_id", json_text(body, "/properties/clientId")),
        ("principal_id", json_text(body, "/properties/principalId")),
        ("tenant_id", json_text(body, "/properties/tenantId")),
    ])
}

/// The user-assigned managed identity type.
pub struct UserAssignedIdentity;

impl ArmResource for UserAssignedIdentity {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = API_VERSION;

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn normalise(&self, config: &Value) -> Value {
        normalise(config)
    }

    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String {
        intended_id(subscription_id, planned)
    }

    fn body(&self, _subscription_id: &str, planned: &Value, _prior: Option<&Value>) -> Json {
        body(planned)
    }

    fn state(&self, answer: &Json, _known: Option<&Value>) -> Value {
        from_response(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let state = from_response(&answer);
        assert_eq!(state.get("resource_group"), Some(&Value::str("rg")));
        assert_eq!(state.get("location"), Some(&Value::str("westeurope")));
        assert_eq!(state.get("client_id"), Some(&Value::str("c")));
        assert_eq!(state.get("principal_id"), Some(&Value::str("p")));
        assert_eq!(state.get("tags"), Some(&Value::Null));
    }
}
