//! `azure_file_share` (Microsoft.Storage fileServices/default/shares, api-version
//! 2025-01-01).
//!
//! Attributes: `name` (3-63 lowercase letters, digits, single hyphens; force new),
//! `storage_account_name` (force new), `resource_group` (force new), `quota_gb` (1-102400;
//! when unset the service's default is kept); computed `id`. Shares are always SMB, which
//! is what ACI mounts. PUT is synchronous.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::storage_account::API_VERSION;
use super::{Arm, ArmResource, put_once};
use crate::provider::azure::error::ArmError;
use crate::provider::azure::shape::{id_segment, json_text, map, text};
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::{PathSeg, Value};

pub(crate) const TYPE: &str = "azure_file_share";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: TYPE.into(),
        description: "An SMB file share in a storage account (durable data of container groups)"
            .into(),
        attributes: vec![
            Attribute::required("name", Type::String).force_new("a share cannot be renamed"),
            Attribute::required("storage_account_name", Type::String)
                .force_new("a share cannot move to another storage account"),
            Attribute::required("resource_group", Type::String)
                .force_new("a share cannot move to another resource group"),
            Attribute::optional_computed("quota_gb", Type::Int)
                .describe("size limit in GiB; the service default when unset"),
            Attribute::computed("id", Type::String),
        ],
        remote: true,
    }
}

/// State from a share body; `prior` supplies the quota when the answer has none (the
/// PUT example answers with only id, name and type).
pub(crate) fn from_response(body: &Json, prior: Option<&Value>) -> Value {
    let id = body.get("id").and_then(Json::as_str).unwrap_or_default();
    let quota = body
        .pointer("/properties/shareQuota")
        .and_then(Json::as_i64)
        .map(Value::Int)
        .or_else(|| prior.and_then(|prior| prior.get("quota_gb")).cloned())
        .unwrap_or(Value::Null);
    map([
        ("id", Value::str(id)),
        ("name", json_text(body, "/name")),
        (
            "storage_account_name",
            id_segment(id, "storageAccounts").map_or(Value::Null, Value::str),
        ),
        (
            "resource_group",
            id_segment(id, "resourceGroups").map_or(Value::Null, Value::str),
        ),
        ("quota_gb", quota),
    ])
}

/// The file share type.
pub(crate) struct FileShare;

#[async_trait]
impl ArmResource for FileShare {
    const TYPE: &'static str = TYPE;
    const API_VERSION: &'static str = API_VERSION;

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        let Some(name) = config.get("name").and_then(Value::as_str) else {
            return Vec::new();
        };
        let bytes = name.as_bytes();
        let valid = (3..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-')
            && !name.contains("--");
        if valid {
            return Vec::new();
        }
        vec![AttrProblem {
            path: vec![PathSeg::Key("name".into())],
            code: "fk::azure::invalid_share_name",
            message: format!(
                "share name `{name}` is not 3-63 lowercase letters, digits and single inner hyphens"
            ),
            help: None,
        }]
    }

    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String {
        format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}/fileServices/default/shares/{}",
            text(planned, "resource_group"),
            text(planned, "storage_account_name"),
            text(planned, "name")
        )
    }

    /// Always SMB (what ACI mounts), said on create; the quota when one is configured.
    fn body(&self, _subscription_id: &str, planned: &Value, prior: Option<&Value>) -> Json {
        let mut properties = serde_json::Map::new();
        if let Some(quota) = planned.get("quota_gb").and_then(Value::as_i64) {
            properties.insert("shareQuota".into(), json!(quota));
        }
        if prior.is_none() {
            properties.insert("enabledProtocols".into(), json!("SMB"));
        }
        json!({ "properties": properties })
    }

    fn state(&self, answer: &Json, known: Option<&Value>) -> Value {
        from_response(answer, known)
    }

    /// A PUT answer without an id gets the id asked for.
    async fn put(
        &self,
        arm: Arm<'_>,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ArmError> {
        let mut state = put_once(self, arm.client, id, prior, planned).await?;
        if state
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && let Some(fields) = state.as_map_mut()
        {
            fields.insert("id".into(), Value::str(id));
        }
        Ok(state)
    }
}
