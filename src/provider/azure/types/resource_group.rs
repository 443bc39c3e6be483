//! `azure_resource_group` (Microsoft.Resources/resourceGroups, api-version 2021-04-01).
//!
//! Attributes: `name` (force new), `location` (force new), `tags` (table of strings);
//! computed `id`. PUT is synchronous; DELETE is an LRO that deletes everything inside.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value as Json;

use super::{Arm, ArmResource};
use crate::provider::azure::client::RESOURCES_API_VERSION;
use crate::provider::azure::error::ArmError;
use crate::provider::azure::lro::Operation;
use crate::provider::azure::shape::{
    json_text, location_from_json, map, tags_from_json, text, with_version,
};
use crate::provider::{Attribute, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const TYPE: &str = "azure_resource_group";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: TYPE.into(),
        description: "An Azure resource group; deleting it deletes everything inside".into(),
        attributes: vec![
            Attribute::required("name", Type::String)
                .force_new("a resource group cannot be renamed")
                .describe("1-90 characters: letters, digits, `-`, `_`, `.`, `(`, `)`"),
            Attribute::required("location", Type::String)
                .force_new("a resource group cannot move to another region")
                .describe("Azure region, e.g. `westeurope`"),
            Attribute::optional("tags", Type::map(Type::String)).describe("ARM tags"),
            Attribute::computed("id", Type::String).describe("the ARM resource id"),
        ],
        remote: true,
    }
}

/// The resource group type.
pub(crate) struct ResourceGroup;

#[async_trait]
impl ArmResource for ResourceGroup {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = RESOURCES_API_VERSION;

    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String {
        format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}",
            text(planned, "name")
        )
    }

    fn state(&self, answer: &Json, _known: Option<&Value>) -> Value {
        map([
            ("id", json_text(answer, "/id")),
            ("name", json_text(answer, "/name")),
            ("location", location_from_json(answer)),
            ("tags", tags_from_json(answer)),
        ])
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    /// DELETE is an LRO (it deletes everything inside): wait for it.
    async fn remove(&self, arm: Arm<'_>, id: &str) -> Result<(), ArmError> {
        let path = with_version(id, RESOURCES_API_VERSION);
        let response = match arm.client.send(Method::DELETE, &path, None).await {
            Err(error) if error.is_not_found() => return Ok(()),
            other => other?,
        };
        let operation = Operation {
            client: arm.client,
            method: "DELETE",
            path: id,
            resource_path: None,
            max_wait: arm.config.max_wait,
        };
        operation.wait(response).await.map(|_| ())
    }
}
