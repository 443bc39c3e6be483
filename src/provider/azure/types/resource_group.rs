//! `azure_resource_group` (Microsoft.Resources/resourceGroups, api-version 2021-04-01).
//!
//! Attributes: `name` (force new), `location` (force new), `tags` (table of strings);
//! computed `id`. PUT is synchronous; DELETE is an LRO that deletes everything inside.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value as Json, json};

use super::{Arm, AzureType, fail};
use crate::provider::azure::client::{ArmClient, RESOURCES_API_VERSION};
use crate::provider::azure::cloud::normalise_location;
use crate::provider::azure::config::AzureConfig;
use crate::provider::azure::error::ArmError;
use crate::provider::azure::lro::Operation;
use crate::provider::azure::shape::{
    location_from_json, map, normalise_location_in, tags_from_json, tags_to_json, text,
    with_version,
};
use crate::provider::{Attribute, OpContext, PlannedChange, ProviderError, ResourceSchema, Type};
use crate::value::Value;

pub const TYPE: &str = "azure_resource_group";
pub const API_VERSION: &str = RESOURCES_API_VERSION;

pub fn schema() -> ResourceSchema {
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

pub fn intended_id(subscription_id: &str, planned: &Value) -> String {
    format!(
        "/subscriptions/{subscription_id}/resourceGroups/{}",
        text(planned, "name")
    )
}

/// The planned value with server defaults normalised (location spelling).
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
    map([
        ("id", crate::provider::azure::shape::json_text(body, "/id")),
        (
            "name",
            crate::provider::azure::shape::json_text(body, "/name"),
        ),
        ("location", location_from_json(body)),
        ("tags", tags_from_json(body)),
    ])
}

pub async fn put(client: &ArmClient, id: &str, planned: &Value) -> Result<Value, ArmError> {
    let path = with_version(id, API_VERSION);
    let response = client
        .send(Method::PUT, &path, Some(&body(planned)))
        .await?;
    Ok(from_response(&response.body))
}

pub async fn delete(
    client: &ArmClient,
    id: &str,
    max_wait: std::time::Duration,
) -> Result<(), ArmError> {
    let path = with_version(id, API_VERSION);
    let response = match client.send(Method::DELETE, &path, None).await {
        Err(error) if error.is_not_found() => return Ok(()),
        other => other?,
    };
    let operation = Operation {
        client,
        method: "DELETE",
        path: id,
        resource_path: None,
        max_wait,
    };
    operation.wait(response).await.map(|_| ())
}

pub async fn read(client: &ArmClient, id: &str) -> Result<Option<Value>, ArmError> {
    let body = client.get_optional(&with_version(id, API_VERSION)).await?;
    Ok(body.map(|body| from_response(&body)))
}

/// The resource group type.
pub struct ResourceGroup;

#[async_trait]
impl AzureType for ResourceGroup {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn plan(
        &self,
        _config: &AzureConfig,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        value: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        Ok(schema.propose(prior, &normalise(value)))
    }

    fn intended_id(&self, config: &AzureConfig, planned: &Value) -> String {
        intended_id(&config.subscription_id, planned)
    }

    async fn read(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        _prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        read(arm.client, id).await.map_err(fail(ctx))
    }

    async fn write(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        _prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        put(arm.client, id, planned).await.map_err(fail(ctx))
    }

    async fn delete(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        delete(arm.client, id, arm.config.max_wait)
            .await
            .map_err(fail(ctx))
    }
}
