//! `azure_storage_account` (Microsoft.Storage/storageAccounts, api-version 2025-01-01).
//!
//! Attributes: `name` (3-24 lowercase letters and digits, globally unique; force new),
//! `resource_group` (force new), `location` (force new), `kind` (default `StorageV2`; force
//! new), `sku` (default `Standard_LRS`), `tags`; computed `id`, `file_endpoint` and
//! `primary_access_key` (sensitive, read with listKeys on every create and refresh).
//!
//! PUT is an LRO answered 202 + `Location`; fk always asks for TLS 1.2, HTTPS only, no public
//! blob access and shared-key access on (ACI mounts Azure Files with the key).

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value as Json, json};

use super::{Arm, ArmResource};
use crate::provider::azure::client::ArmClient;
use crate::provider::azure::error::ArmError;
use crate::provider::azure::lro::Operation;
use crate::provider::azure::shape::{
    id_segment, json_text, location_from_json, map, normalise_location_in, tags_from_json,
    tags_to_json, text, with_version,
};
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::{PathSeg, Value};

pub(crate) const TYPE: &str = "azure_storage_account";
pub(crate) const API_VERSION: &str = "2025-01-01";
const DEFAULT_KIND: &str = "StorageV2";
const DEFAULT_SKU: &str = "Standard_LRS";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: TYPE.into(),
        description: "An Azure storage account (holds the file shares)".into(),
        attributes: vec![
            Attribute::required("name", Type::String)
                .force_new("a storage account cannot be renamed")
                .describe("3-24 lowercase letters and digits, unique across Azure"),
            Attribute::required("resource_group", Type::String)
                .force_new("a storage account cannot move to another resource group"),
            Attribute::required("location", Type::String)
                .force_new("a storage account cannot move to another region"),
            Attribute::optional("kind", Type::String)
                .force_new("the account kind is fixed at creation")
                .describe("`StorageV2` (default), `FileStorage`, ..."),
            Attribute::optional("sku", Type::String)
                .describe("replication: `Standard_LRS` (default), `Standard_ZRS`, ..."),
            Attribute::optional("tags", Type::map(Type::String)),
            Attribute::computed("id", Type::String),
            Attribute::computed("file_endpoint", Type::String)
                .describe("`https://<name>.file.core.windows.net/`"),
            Attribute::computed("primary_access_key", Type::String)
                .sensitive()
                .describe("key1 from listKeys; mounts Azure Files shares"),
        ],
        remote: true,
    }
}

/// State from a GET body and the key from listKeys (`Null` when unknown).
pub(crate) fn from_response(body: &Json, primary_key: Value) -> Value {
    let id = body.get("id").and_then(Json::as_str).unwrap_or_default();
    map([
        ("id", Value::str(id)),
        ("name", json_text(body, "/name")),
        (
            "resource_group",
            id_segment(id, "resourceGroups").map_or(Value::Null, Value::str),
        ),
        ("location", location_from_json(body)),
        ("kind", json_text(body, "/kind")),
        ("sku", json_text(body, "/sku/name")),
        ("tags", tags_from_json(body)),
        (
            "file_endpoint",
            json_text(body, "/properties/primaryEndpoints/file"),
        ),
        ("primary_access_key", primary_key.sensitive()),
    ])
}

/// key1 (or the first key) of a listKeys answer.
pub(crate) fn primary_key(list_keys: &Json) -> Value {
    let keys = list_keys.get("keys").and_then(Json::as_array);
    let keys = keys.map(Vec::as_slice).unwrap_or_default();
    keys.iter()
        .find(|key| key.get("keyName").and_then(Json::as_str) == Some("key1"))
        .or_else(|| keys.first())
        .and_then(|key| key.get("value"))
        .and_then(Json::as_str)
        .map_or(Value::Null, Value::str)
}

async fn list_keys(client: &ArmClient, id: &str) -> Result<Value, ArmError> {
    let path = with_version(&format!("{id}/listKeys"), API_VERSION);
    let response = client.send(Method::POST, &path, None).await?;
    Ok(primary_key(&response.body))
}

/// The storage account type.
pub(crate) struct StorageAccount;

#[async_trait]
impl ArmResource for StorageAccount {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = API_VERSION;

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        let Some(name) = config.get("name").and_then(Value::as_str) else {
            return Vec::new();
        };
        let valid = (3..=24).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if valid {
            return Vec::new();
        }
        vec![AttrProblem {
            path: vec![PathSeg::Key("name".into())],
            code: "fk::azure::invalid_storage_account_name",
            message: format!(
                "storage account name `{name}` is not 3-24 lowercase letters and digits"
            ),
            help: Some("storage account names are global: add a short random suffix".into()),
        }]
    }

    /// Config with defaults filled in, so it compares equal to what GET returns.
    fn normalise(&self, config: &Value) -> Value {
        let mut value = config.clone();
        if let Some(fields) = value.as_map_mut() {
            for (key, default) in [("kind", DEFAULT_KIND), ("sku", DEFAULT_SKU)] {
                if fields.get(key).is_none_or(Value::is_null) {
                    fields.insert(key.into(), Value::str(default));
                }
            }
            normalise_location_in(fields);
        }
        value
    }

    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String {
        format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}",
            text(planned, "resource_group"),
            text(planned, "name")
        )
    }

    fn body(&self, _subscription_id: &str, planned: &Value, _prior: Option<&Value>) -> Json {
        let planned = self.normalise(planned);
        json!({
            "location": text(&planned, "location"),
            "kind": text(&planned, "kind"),
            "sku": { "name": text(&planned, "sku") },
            "tags": tags_to_json(&planned),
            "properties": {
                "minimumTlsVersion": "TLS1_2",
                "supportsHttpsTrafficOnly": true,
                "allowBlobPublicAccess": false,
                "allowSharedKeyAccess": true,
                "largeFileSharesState": "Enabled"
            }
        })
    }

    /// The state without the key, which only listKeys gives ([`Self::finish`]).
    fn state(&self, answer: &Json, _known: Option<&Value>) -> Value {
        from_response(answer, Value::Null)
    }

    /// The primary key, read with listKeys on every create and refresh.
    async fn finish(
        &self,
        client: &ArmClient,
        id: &str,
        mut state: Value,
    ) -> Result<Value, ArmError> {
        let key = list_keys(client, id).await?;
        if let Some(fields) = state.as_map_mut() {
            fields.insert("primary_access_key".into(), key.sensitive());
        }
        Ok(state)
    }

    /// PUT is an LRO answered 202 + `Location`: wait for the account.
    async fn put(
        &self,
        arm: Arm<'_>,
        id: &str,
        _prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ArmError> {
        let path = with_version(id, API_VERSION);
        let response = arm
            .client
            .send(
                Method::PUT,
                &path,
                Some(&self.body(arm.client.subscription_id(), planned, None)),
            )
            .await?;
        let operation = Operation {
            client: arm.client,
            method: "PUT",
            path: id,
            resource_path: Some(&path),
            max_wait: arm.config.max_wait,
        };
        let account = operation.wait(response).await?;
        let state = self.state(&account, Some(planned));
        self.finish(arm.client, id, state).await
    }
}
