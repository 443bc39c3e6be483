//! Providers: the resource types fk knows and the operations behind them.
//!
//! The engine talks to every provider through [`Provider`]; a [`Registry`] maps each
//! resource type to the provider that owns it. `builtin` holds types that live only in
//! state (`data`); `tls` generates the cluster's PKI into state; `fake` is an in-memory cloud
//! for engine tests; `azure` talks ARM.

pub mod azure;
pub mod builtin;
#[cfg(any(test, feature = "test-providers"))]
pub mod fake;
pub(crate) mod schema;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::addr::Address;
use crate::value::{Path, Value};
pub use schema::{Attribute, PlannedChange, Presence, ReplaceCause, ResourceSchema, Type};

/// A problem a provider finds in a configured resource. The engine turns it into a
/// diagnostic pointing at the attribute at `path` (and, when the plan knows the value came
/// from variables, at those variables first). Problems of one resource with the same code and
/// message are one diagnostic with a label at each path.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrProblem {
    pub path: Path,
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

/// An operation that did not succeed. Display never includes a secret.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
#[error("{message}")]
pub struct ProviderError {
    /// Stable, greppable: `fk::azure::throttled`, `fk::fake::injected_failure`.
    pub code: String,
    /// One line: what failed, with the service's status, code and request id where known.
    pub message: String,
    /// Further lines: the service's events (`FailedMount: ...`), inner errors.
    pub details: Vec<String>,
}

impl ProviderError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ProviderError {
        ProviderError {
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> ProviderError {
        self.details.push(detail.into());
        self
    }
}

/// What an operation may tell the engine while it runs.
pub(crate) type ProgressFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Context handed to every remote operation.
#[derive(Clone)]
pub struct OpContext {
    pub(crate) address: Address,
    /// Status text for the progress display ("waiting for containers: etcd Waiting").
    pub(crate) progress: ProgressFn,
}

impl OpContext {
    pub fn new(address: Address) -> OpContext {
        OpContext {
            address,
            progress: Arc::new(|_| {}),
        }
    }

    pub(crate) fn report(&self, status: &str) {
        (self.progress)(status);
    }
}

/// What a resource costs while it exists, as its provider estimates it from a value.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// Per hour, in `currency`. `None`: the value holds an unknown the price depends on
    /// (a size known only after apply).
    pub(crate) per_hour: Option<f64>,
    /// ISO 4217 code: `USD`.
    pub(crate) currency: String,
    /// How the figure was reached, one line:
    /// `2 vCPU × $0.0405 + 4 GB × $0.00445, Linux, eastus prices`.
    pub(crate) basis: String,
    /// Where the prices come from and their date, one line; equal for every resource priced
    /// from one table, so the plan shows it once.
    pub(crate) source: String,
}

/// A lifecycle action on an existing resource that is not a change of its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Stop,
    Start,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name, as in `[provider.<name>]`.
    fn name(&self) -> &str;

    /// One schema per resource type this provider owns.
    fn schemas(&self) -> Vec<ResourceSchema>;

    /// Checks beyond the schema (label syntax, value ranges). `config` may hold unknowns.
    fn validate(&self, _resource_type: &str, _config: &Value) -> Vec<AttrProblem> {
        Vec::new()
    }

    /// Checks across every resource of this provider in a module (two container groups
    /// claiming one DNS label in one region). Values may hold unknowns.
    fn validate_module(&self, _resources: &[(Address, Value)]) -> Vec<(Address, AttrProblem)> {
        Vec::new()
    }

    /// Plans one resource. The default is the schema's generic proposal; providers refine it
    /// (which changes replace, which restart, normalised server defaults). Pure: no IO.
    fn plan(
        &self,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        config: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        Ok(schema.propose(prior, config))
    }

    /// The identity a create of `planned` will have. The engine records it durably before it
    /// calls [`Provider::create`], so an interrupted create can be adopted by the next run.
    fn intended_id(&self, resource_type: &str, planned: &Value) -> String;

    /// Reads the live object. `Ok(None)` when it no longer exists.
    async fn read(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError>;

    /// Creates the object with identity `id`; returns its new state (every planned value
    /// known). Returns when the object is ready for its dependents.
    async fn create(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError>;

    /// Changes the object in place; returns its new state once ready for its dependents.
    async fn update(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError>;

    /// Deletes the object; an object already gone is success.
    async fn delete(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<(), ProviderError>;

    /// The lifecycle actions `resource_type` supports (`fk stop` / `fk start` act on those
    /// resources only). The default is none.
    fn actions(&self, _resource_type: &str) -> &'static [Action] {
        &[]
    }

    /// The estimated cost of a resource of `resource_type` with `value` (planned or in
    /// state). `None`: this provider knows no price for it. Pure: no IO.
    fn hourly_cost(&self, _resource_type: &str, _value: &Value) -> Option<Cost> {
        None
    }

    /// Runs a lifecycle action; returns the new state. Types without actions refuse.
    async fn act(
        &self,
        _ctx: &OpContext,
        resource_type: &str,
        _id: &str,
        _prior: &Value,
        action: Action,
    ) -> Result<Option<Value>, ProviderError> {
        let _ = action;
        Err(ProviderError::new(
            "fk::provider::no_action",
            format!("`{resource_type}` has no stop or start"),
        ))
    }
}

/// The providers of a run, indexed by resource type.
#[derive(Clone, Default)]
pub struct Registry {
    providers: Vec<Arc<dyn Provider>>,
    by_type: BTreeMap<String, (usize, Arc<ResourceSchema>)>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a provider; a type already owned by an earlier provider stays with it.
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        let provider_idx = self.providers.len();
        for schema in provider.schemas() {
            self.by_type
                .entry(schema.type_name.clone())
                .or_insert((provider_idx, Arc::new(schema)));
        }
        self.providers.push(provider);
    }

    pub(crate) fn schema(&self, resource_type: &str) -> Option<&Arc<ResourceSchema>> {
        self.by_type.get(resource_type).map(|(_, schema)| schema)
    }

    pub(crate) fn provider(&self, resource_type: &str) -> Option<&Arc<dyn Provider>> {
        self.by_type
            .get(resource_type)
            .map(|(provider_idx, _)| &self.providers[*provider_idx])
    }

    pub(crate) fn type_names(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str)
    }
}
