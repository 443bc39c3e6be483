//! The state model: what fk last knew of every resource it manages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::addr::Address;
use crate::value::{Value, path_from_string, path_to_string};

/// The state file format version this build writes.
pub(crate) const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub(crate) version: u32,
    /// Bumped on every persisted change.
    pub serial: u64,
    /// Identifies one state's history; a plan or a push for another lineage is refused.
    pub lineage: String,
    /// Keyed by address (`type.name`), so the file is sorted and diffable.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    #[serde(default)]
    pub(crate) outputs: BTreeMap<String, OutputState>,
    /// Objects replaced with `create_before_destroy` whose delete has not finished, by
    /// address. The next plan deletes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) deposed: BTreeMap<String, Vec<ResourceState>>,
}

impl State {
    pub fn new(lineage: impl Into<String>) -> State {
        State {
            version: STATE_VERSION,
            serial: 0,
            lineage: lineage.into(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            deposed: BTreeMap::new(),
        }
    }

    /// A fresh state with a random lineage.
    pub fn fresh() -> State {
        State::new(uuid::Uuid::new_v4().to_string())
    }

    pub(crate) fn resource(&self, address: &Address) -> Option<&ResourceState> {
        self.resources.get(&address.to_string())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// Created and recorded.
    #[default]
    Ready,
    /// A create was sent and its answer never recorded: the object may or may not exist.
    /// The next refresh adopts it if it does and forgets it if it does not.
    Pending,
    /// A create or update failed part way; the next plan replaces it.
    Tainted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// The provider's identity of the object (an ARM resource ID, a UUID).
    pub id: String,
    #[serde(default)]
    pub status: ResourceStatus,
    /// Attribute values, plain JSON (secrets included: the file is owner-only).
    pub attributes: serde_json::Value,
    /// Paths (`containers[0].secure_env.TOKEN`) whose values are secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<String>,
    /// Addresses this resource depended on when it was last applied; destroy order for
    /// resources no longer in the module comes from here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// Set by lifecycle actions (`fk stop`): the object exists but is stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

impl ResourceState {
    pub(crate) fn address(&self) -> Address {
        Address::new(&self.resource_type, &self.name)
    }

    /// Stopped by `fk stop`, or read back stopped (a computed `state` of `Stopped`: a group
    /// stopped outside fk, or by an apply that only patched a stopped group's tags).
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
            || self
                .attributes
                .get("state")
                .and_then(|state| state.as_str())
                == Some("Stopped")
    }

    /// The attributes as a [`Value`] with their sensitive marks restored.
    pub(crate) fn value(&self) -> Value {
        let mut value = Value::from_json(&self.attributes);
        for path in &self.sensitive_paths {
            value.mark_sensitive_at(&path_from_string(path));
        }
        value
    }

    /// Builds a record from a value, remembering where its secrets are.
    pub(crate) fn from_value(
        address: &Address,
        id: impl Into<String>,
        value: &Value,
    ) -> ResourceState {
        ResourceState {
            resource_type: address.resource_type.clone(),
            name: address.name.clone(),
            id: id.into(),
            status: ResourceStatus::Ready,
            attributes: value.to_json(),
            sensitive_paths: value
                .sensitive_paths()
                .iter()
                .map(|path| path_to_string(path))
                .collect(),
            dependencies: Vec::new(),
            create_before_destroy: false,
            stopped: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub(crate) value: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) sensitive: bool,
}

/// One line of the apply journal. A `Begin` is durable before a remote create is sent; a
/// `Done` is durable before any dependent starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JournalRecord {
    /// A create of `address` with identity `id` is about to be sent.
    Begin {
        address: String,
        resource: ResourceState,
    },
    /// `address` now has this state (create, update, refresh adoption).
    Put {
        address: String,
        resource: ResourceState,
    },
    /// `address` is gone.
    Remove { address: String },
    /// The current object of `address` is set aside (create_before_destroy): its
    /// replacement comes next, its delete after.
    Depose { address: String },
    /// The deposed object `id` of `address` is deleted.
    RemoveDeposed { address: String, id: String },
    /// An output's new value.
    Output {
        name: String,
        output: Option<OutputState>,
    },
}

impl JournalRecord {
    /// Applies the record to a state (replaying a journal).
    pub fn apply_to(&self, state: &mut State) {
        match self {
            JournalRecord::Begin { address, resource } => {
                let mut pending = resource.clone();
                pending.status = ResourceStatus::Pending;
                state.resources.insert(address.clone(), pending);
            }
            JournalRecord::Put { address, resource } => {
                state.resources.insert(address.clone(), resource.clone());
            }
            JournalRecord::Remove { address } => {
                state.resources.remove(address);
            }
            JournalRecord::Depose { address } => {
                if let Some(current) = state.resources.remove(address) {
                    state
                        .deposed
                        .entry(address.clone())
                        .or_default()
                        .push(current);
                }
            }
            JournalRecord::RemoveDeposed { address, id } => {
                if let Some(objects) = state.deposed.get_mut(address) {
                    objects.retain(|object| &object.id != id);
                    if objects.is_empty() {
                        state.deposed.remove(address);
                    }
                }
            }
            JournalRecord::Output { name, output } => match output {
                Some(output) => {
                    state.outputs.insert(name.clone(), output.clone());
                }
                None => {
                    state.outputs.remove(name);
                }
            },
        }
    }
}
