//! The plan: what apply will do, serialisable so `-out` can save it and `apply` run it exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) use super::cost::PlanCost;
use crate::addr::Address;
use crate::state::State;
use crate::value::{Path, Value, path_to_string};

/// The version of the saved-plan file and of `--json`.
pub(crate) const PLAN_FORMAT_VERSION: &str = "1.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    NoOp,
    Create,
    Update,
    /// Replace, deleting the old object first (`-/+`).
    DeleteThenCreate,
    /// Replace, creating the new object first (`+/-`, `create_before_destroy`).
    CreateThenDelete,
    Delete,
}

impl Action {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::DeleteThenCreate => "-/+",
            Action::CreateThenDelete => "+/-",
            Action::Delete => "-",
        }
    }

    pub(crate) fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }

    /// Terraform-compatible action list for `--json`.
    pub(crate) fn json_actions(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Update => vec!["update"],
            Action::DeleteThenCreate => vec!["delete", "create"],
            Action::CreateThenDelete => vec!["create", "delete"],
            Action::Delete => vec!["delete"],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Normal,
    Destroy,
}

/// Why a resource needs replacing: the attribute path and the rule that forces it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cause {
    pub(crate) path: Path,
    pub(crate) reason: String,
}

impl Cause {
    pub(crate) fn path_text(&self) -> String {
        path_to_string(&self.path)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResourceChange {
    pub(crate) address: Address,
    pub(crate) action: Action,
    /// Why this action, when it is not the obvious one: "tainted", "requested with
    /// --replace", "deleted outside fk", "no longer in the module", "destroy".
    pub(crate) action_reason: Option<String>,
    /// The attributes that force a replacement, each with its rule.
    pub(crate) replace_causes: Vec<Cause>,
    /// The provider's words on consequences ("restarts every container of the group").
    pub(crate) notes: Vec<String>,
    /// The current object's identity, for update and delete.
    pub(crate) prior_id: Option<String>,
    #[serde(with = "marked::option")]
    pub(crate) before: Option<Value>,
    #[serde(with = "marked::option")]
    pub(crate) after: Option<Value>,
    /// Direct dependencies in the module (apply order).
    pub(crate) dependencies: Vec<Address>,
    pub(crate) create_before_destroy: bool,
    /// Set for the delete of an object set aside by an earlier create_before_destroy.
    pub(crate) deposed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct OutputChange {
    pub(crate) name: String,
    #[serde(with = "marked::option")]
    pub(crate) before: Option<Value>,
    #[serde(with = "marked::option")]
    pub(crate) after: Option<Value>,
    pub(crate) sensitive: bool,
}

/// A resource changed outside fk, found by refresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Drift {
    pub(crate) address: Address,
    /// `None`: the object was deleted outside fk. Otherwise the paths that differ.
    pub(crate) changed_paths: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub(crate) format_version: String,
    pub(crate) mode: Mode,
    pub(crate) module_name: String,
    /// The module's digest when planned: applying a saved plan after the module changed is
    /// refused.
    pub(crate) module_digest: String,
    /// The lineage and serial of the stored state planned against (`None`: no state yet).
    /// Applying a saved plan after the state moved is refused.
    pub(crate) state_lineage: Option<String>,
    pub state_serial: Option<u64>,
    /// Every resource with an action other than no-op, in apply order.
    pub(crate) changes: Vec<ResourceChange>,
    pub(crate) output_changes: Vec<OutputChange>,
    pub(crate) drift: Vec<Drift>,
    pub(crate) targets: Vec<Address>,
    /// Resolved variables (secrets kept marked): apply re-evaluates the module with them.
    #[serde(with = "marked::map")]
    pub(crate) variables: BTreeMap<String, Value>,
    /// The refreshed state the plan was made from; a saved plan applies against it.
    pub prior_state: State,
    pub(crate) warnings: Vec<String>,
    /// The estimated cost per hour now and after apply, where a provider knows prices.
    #[serde(default)]
    pub(crate) cost: Option<PlanCost>,
}

impl Plan {
    pub fn n_add(&self) -> usize {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Create || change.action.is_replace())
            .count()
    }

    pub(crate) fn n_change(&self) -> usize {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Update)
            .count()
    }

    pub fn n_destroy(&self) -> usize {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Delete || change.action.is_replace())
            .count()
    }

    /// True when applying would change any resource or output.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
            || self
                .output_changes
                .iter()
                .any(|output| match (&output.before, &output.after) {
                    (Some(before), Some(after)) => !before.same_data(after),
                    (None, None) => false,
                    _ => true,
                })
    }
}

/// Values with their marks in saved plans: `{"$fk": "unknown"}` and
/// `{"$fk": "sensitive", "value": ...}`; a map holding a `$fk` key of its own is wrapped as
/// `{"$fk": "map", "entries": {...}}`.
pub(crate) mod marked {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Map, Value as Json, json};

    use crate::value::Value;

    pub(crate) fn encode(value: &Value) -> Json {
        match value {
            Value::Unknown => json!({"$fk": "unknown"}),
            Value::Sensitive(inner) => json!({"$fk": "sensitive", "value": encode(inner)}),
            Value::List(items) => Json::Array(items.iter().map(encode).collect()),
            Value::Map(map) => {
                let entries: Map<String, Json> = map
                    .iter()
                    .map(|(key, item)| (key.clone(), encode(item)))
                    .collect();
                if map.contains_key("$fk") {
                    json!({"$fk": "map", "entries": entries})
                } else {
                    Json::Object(entries)
                }
            }
            other => other.to_json(),
        }
    }

    pub(crate) fn decode(json: &Json) -> Value {
        match json {
            Json::Array(items) => Value::List(items.iter().map(decode).collect()),
            Json::Object(map) => match map.get("$fk").and_then(Json::as_str) {
                Some("unknown") => Value::Unknown,
                Some("sensitive") => decode(map.get("value").unwrap_or(&Json::Null)).sensitive(),
                Some("map") => match map.get("entries") {
                    Some(Json::Object(entries)) => Value::Map(
                        entries
                            .iter()
                            .map(|(key, item)| (key.clone(), decode(item)))
                            .collect(),
                    ),
                    _ => Value::Null,
                },
                _ => Value::Map(
                    map.iter()
                        .map(|(key, item)| (key.clone(), decode(item)))
                        .collect(),
                ),
            },
            other => Value::from_json(other),
        }
    }

    pub(crate) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            value: &Option<Value>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            value.as_ref().map(encode).serialize(serializer)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Value>, D::Error> {
            Ok(Option::<Json>::deserialize(deserializer)?.map(|json| decode(&json)))
        }
    }

    pub(crate) mod map {
        use std::collections::BTreeMap;

        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            values: &BTreeMap<String, Value>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            values
                .iter()
                .map(|(key, value)| (key.clone(), encode(value)))
                .collect::<BTreeMap<_, _>>()
                .serialize(serializer)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<BTreeMap<String, Value>, D::Error> {
            Ok(BTreeMap::<String, Json>::deserialize(deserializer)?
                .into_iter()
                .map(|(key, json)| (key, decode(&json)))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::marked::{decode, encode};
    use crate::value::Value;
    use std::collections::BTreeMap;

    #[test]
    fn marks_survive_a_saved_plan() {
        let value = Value::Map(BTreeMap::from([
            ("ip".to_string(), Value::Unknown),
            ("key".to_string(), Value::str("s3cr3t").sensitive()),
            (
                "odd".to_string(),
                Value::Map(BTreeMap::from([("$fk".to_string(), Value::str("unknown"))])),
            ),
            (
                "list".to_string(),
                Value::List(vec![Value::Int(1), Value::Unknown]),
            ),
        ]));
        assert_eq!(decode(&encode(&value)), value);
    }
}
