//! The Azure provider: ARM REST over reqwest (rustls), bearer tokens from `azure_identity`.
//!
//! Resource types and their pinned api-versions:
//!
//! | type | ARM type | api-version |
//! |---|---|---|
//! | `azure_resource_group` | `Microsoft.Resources/resourceGroups` | 2021-04-01 |
//! | `azure_storage_account` | `Microsoft.Storage/storageAccounts` | 2025-01-01 |
//! | `azure_file_share` | `Microsoft.Storage/.../fileServices/default/shares` | 2025-01-01 |
//! | `azure_container_group` | `Microsoft.ContainerInstance/containerGroups` | 2025-09-01 |
//! | `azure_user_assigned_identity` | `Microsoft.ManagedIdentity/userAssignedIdentities` | 2024-11-30 |
//! | `azure_role_assignment` | `Microsoft.Authorization/roleAssignments` | 2026-08-01 |
//! | `dns_label` | none (plan-time FQDN) | — |
//!
//! Each type is a module under [`types`] with one value implementing [`types::AzureType`],
//! listed once in [`types::TYPES`]; [`AzureProvider`] looks the type up and delegates.
//!
//! Invariant: nothing here prints or reads the environment; the CLI builds an
//! [`EnvSnapshot`] and an [`AzureConfig`] and hands them in. Errors quote ARM's answer,
//! never a request body, so secrets stay out of output.

pub(crate) mod auth;
pub(crate) mod before_stop;
pub(crate) mod client;
pub(crate) mod cloud;
pub(crate) mod config;
pub(crate) mod error;
pub mod files;
pub(crate) mod lro;
pub(crate) mod pricing;
pub(crate) mod retry;
pub(crate) mod shape;
pub mod types;
pub(crate) mod vk_credentials;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod spec_check;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

pub use auth::{EnvSnapshot, IdentityTokenSource, StaticToken, TokenSource};
pub(crate) use client::ArmClient;
pub use config::AzureConfig;
// The types' modules at `provider::azure::<type>`, where `cli::observe` and the tests name them.
pub(crate) use types::container_group;
pub use types::{
    dns_label, file_share, resource_group, role_assignment, storage_account, user_assigned_identity,
};

use types::container_group::ContainerGroup;
use types::{Arm, AzureType};

use crate::addr::Address;
use crate::provider::{
    Action, AttrProblem, Cost, OpContext, PlannedChange, Provider, ProviderError, ResourceSchema,
};
use crate::value::Value;

/// The provider of every Azure resource type in a module.
pub struct AzureProvider {
    client: ArmClient,
    config: AzureConfig,
    refresh_slots: Arc<Semaphore>,
}

impl AzureProvider {
    /// A provider for `config`, authenticating with `tokens`.
    pub fn new(
        config: AzureConfig,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<AzureProvider, ProviderError> {
        let client = ArmClient::new(
            &config.cloud.management_url,
            &config.subscription_id,
            tokens,
            config.retry,
            config.poll_interval,
        )
        .map_err(|error| ProviderError::new(error.code(), error.to_string()))?;
        Ok(AzureProvider {
            client,
            refresh_slots: Arc::new(Semaphore::new(config.parallelism.max(1))),
            config,
        })
    }

    /// The provider as the CLI builds it: a local endpoint (the emulator) takes a static
    /// token; a real cloud takes the credential the environment selects.
    pub(crate) fn from_environment(
        config: AzureConfig,
        env: &EnvSnapshot,
    ) -> Result<AzureProvider, ProviderError> {
        let tokens: Arc<dyn TokenSource> = if config.is_local() {
            Arc::new(StaticToken::new("fk-emulator"))
        } else {
            let source = IdentityTokenSource::from_env(env, &config.cloud)
                .map_err(|error| ProviderError::new("fk::azure::auth", error.to_string()))?;
            Arc::new(source)
        };
        AzureProvider::new(config, tokens)
    }

    /// Shows every retried request to `observer` (throttling, 5xx, "another operation").
    pub(crate) fn set_retry_observer(&mut self, observer: client::RetryObserver) {
        self.client.set_retry_observer(observer);
    }

    /// The container group `id` as ARM shows it now (for `fk status`).
    pub(crate) async fn container_group_view(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        ContainerGroup::groups(self.arm())
            .view(id)
            .await
            .map_err(|error| error.for_resource(address))
    }

    /// What a container of the group `id` printed (ContainerListLogs, for `fk logs`).
    pub(crate) async fn container_logs(
        &self,
        address: &Address,
        id: &str,
        container: &str,
        tail: Option<u32>,
    ) -> Result<String, ProviderError> {
        ContainerGroup::groups(self.arm())
            .logs(id, container, tail)
            .await
            .map_err(|error| error.for_resource(address))
    }

    pub(crate) fn config(&self) -> &AzureConfig {
        &self.config
    }

    fn arm(&self) -> Arm<'_> {
        Arm {
            client: &self.client,
            config: &self.config,
        }
    }
}

/// The type named `resource_type`, or the error that the provider has none.
fn find(resource_type: &str) -> Result<&'static dyn AzureType, ProviderError> {
    types::find(resource_type).ok_or_else(|| unknown_type(resource_type))
}

/// The state with the id the engine recorded before the create, not ARM's spelling of it
/// (ARM ids are case-insensitive and may come back as `resourcegroups`).
fn with_id(ty: &dyn AzureType, mut state: Value, id: &str) -> Value {
    if !ty.is_arm_resource() {
        return state;
    }
    if let Some(fields) = state.as_map_mut() {
        fields.insert("id".into(), Value::str(id));
    }
    state
}

fn unknown_type(resource_type: &str) -> ProviderError {
    ProviderError::new(
        "fk::azure::unknown_type",
        format!("the azure provider has no resource type `{resource_type}`"),
    )
}

#[async_trait]
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        "azure"
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        types::TYPES.iter().map(|ty| ty.schema()).collect()
    }

    fn hourly_cost(&self, resource_type: &str, value: &Value) -> Option<Cost> {
        types::find(resource_type)?.hourly_cost(&self.config, value)
    }

    fn validate(&self, resource_type: &str, config: &Value) -> Vec<AttrProblem> {
        types::find(resource_type)
            .map(|ty| ty.validate(config))
            .unwrap_or_default()
    }

    fn validate_module(&self, resources: &[(Address, Value)]) -> Vec<(Address, AttrProblem)> {
        dns_label::duplicates(resources)
    }

    fn plan(
        &self,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        config: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        match types::find(&schema.type_name) {
            Some(ty) => ty.plan(&self.config, schema, prior, config),
            None => Ok(schema.propose(prior, config)),
        }
    }

    fn intended_id(&self, resource_type: &str, planned: &Value) -> String {
        types::find(resource_type)
            .map(|ty| ty.intended_id(&self.config, planned))
            .unwrap_or_default()
    }

    async fn read(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let _slot = self.refresh_slots.acquire().await.map_err(|_| {
            ProviderError::new("fk::azure::shutting_down", "the provider is shutting down")
        })?;
        let ty = find(resource_type)?;
        let state = ty.read(self.arm(), ctx, id, prior).await?;
        Ok(state.map(|state| with_id(ty, state, id)))
    }

    async fn create(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let ty = find(resource_type)?;
        let state = ty.write(self.arm(), ctx, id, None, planned).await?;
        Ok(with_id(ty, state, id))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let ty = find(resource_type)?;
        let state = ty.write(self.arm(), ctx, id, Some(prior), planned).await?;
        Ok(with_id(ty, state, id))
    }

    async fn delete(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<(), ProviderError> {
        find(resource_type)?
            .delete(self.arm(), ctx, id, prior)
            .await
    }

    fn actions(&self, resource_type: &str) -> &'static [Action] {
        types::find(resource_type).map_or(&[], |ty| ty.actions())
    }

    async fn act(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
        action: Action,
    ) -> Result<Option<Value>, ProviderError> {
        match types::find(resource_type) {
            Some(ty) => ty.act(self.arm(), ctx, id, prior, action).await,
            None => Err(types::no_action(resource_type)),
        }
    }
}
