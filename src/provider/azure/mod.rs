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
//! Invariant: nothing here prints or reads the environment; the CLI builds an
//! [`EnvSnapshot`] and an [`AzureConfig`] and hands them in. Errors quote ARM's answer,
//! never a request body, so secrets stay out of output.

pub mod auth;
pub mod before_stop;
pub mod client;
pub mod cloud;
pub mod config;
pub mod container_group;
pub mod container_group_api;
pub mod container_group_body;
pub mod container_group_extra;
pub mod container_group_state;
pub mod dns_label;
pub mod error;
pub mod file_share;
pub mod files;
pub mod lro;
pub mod pricing;
pub mod resource_group;
pub mod retry;
pub mod role_assignment;
pub mod shape;
pub mod storage_account;
pub mod user_assigned_identity;
pub mod vk_credentials;

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
pub use client::ArmClient;
pub use config::AzureConfig;
use container_group_api::ContainerGroups;
use error::ArmError;

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
    pub fn from_environment(
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
    pub fn set_retry_observer(&mut self, observer: client::RetryObserver) {
        self.client.set_retry_observer(observer);
    }

    /// The container group `id` as ARM shows it now (for `fk status`).
    pub async fn container_group_view(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        self.groups()
            .view(id)
            .await
            .map_err(|error| error.for_resource(address))
    }

    /// What a container of the group `id` printed (ContainerListLogs, for `fk logs`).
    pub async fn container_logs(
        &self,
        address: &Address,
        id: &str,
        container: &str,
        tail: Option<u32>,
    ) -> Result<String, ProviderError> {
        self.groups()
            .logs(id, container, tail)
            .await
            .map_err(|error| error.for_resource(address))
    }

    pub fn config(&self) -> &AzureConfig {
        &self.config
    }

    /// The group's `before_stop` handshake, if it declares one (see [`before_stop`]).
    async fn before_stop(&self, ctx: &OpContext, group: &Value) -> Result<(), ProviderError> {
        before_stop::run(
            ctx,
            &self.config.cloud,
            group,
            self.config.poll_interval,
            self.config.skip_before_stop,
        )
        .await
    }

    fn groups(&self) -> ContainerGroups<'_> {
        ContainerGroups {
            client: &self.client,
            max_wait: self.config.max_wait,
        }
    }

    async fn write(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let fail = |error: ArmError| error.for_resource(&ctx.address);
        let max_wait = self.config.max_wait;
        let state = match resource_type {
            resource_group::TYPE => resource_group::put(&self.client, id, planned)
                .await
                .map_err(fail)?,
            storage_account::TYPE => storage_account::put(&self.client, id, planned, max_wait)
                .await
                .map_err(fail)?,
            file_share::TYPE => file_share::put(&self.client, id, planned, prior.is_none())
                .await
                .map_err(fail)?,
            container_group::TYPE => match prior {
                Some(prior)
                    if !container_group::needs_put(
                        &container_group_body::canonical(prior),
                        &container_group_body::canonical(planned),
                    ) =>
                {
                    self.groups().patch_tags(ctx, id, planned).await?
                }
                _ => self.groups().put(ctx, id, planned, prior.is_none()).await?,
            },
            dns_label::TYPE => planned.clone(),
            user_assigned_identity::TYPE => user_assigned_identity::put(&self.client, id, planned)
                .await
                .map_err(fail)?,
            role_assignment::TYPE => role_assignment::put(&self.client, id, planned)
                .await
                .map_err(fail)?,
            other => return Err(unknown_type(other)),
        };
        if resource_type == dns_label::TYPE {
            return Ok(state);
        }
        Ok(with_id(state, id))
    }
}

/// The state with the id the engine recorded before the create, not ARM's spelling of it
/// (ARM ids are case-insensitive and may come back as `resourcegroups`).
fn with_id(mut state: Value, id: &str) -> Value {
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
        vec![
            resource_group::schema(),
            storage_account::schema(),
            file_share::schema(),
            container_group::schema(),
            dns_label::schema(),
            user_assigned_identity::schema(),
            role_assignment::schema(),
        ]
    }

    fn hourly_cost(&self, resource_type: &str, value: &Value) -> Option<Cost> {
        (resource_type == container_group::TYPE)
            .then(|| pricing::container_group_cost(value, &self.config.prices))
    }

    fn validate(&self, resource_type: &str, config: &Value) -> Vec<AttrProblem> {
        match resource_type {
            storage_account::TYPE => storage_account::validate(config),
            file_share::TYPE => file_share::validate(config),
            container_group::TYPE => {
                let mut problems = container_group::validate(config);
                problems.extend(vk_credentials::check(config));
                problems
            }
            dns_label::TYPE => dns_label::check_label(config, "label"),
            role_assignment::TYPE => role_assignment::validate(config),
            _ => Vec::new(),
        }
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
        let cloud = &self.config.cloud;
        let subscription_id = &self.config.subscription_id;
        Ok(match schema.type_name.as_str() {
            container_group::TYPE => {
                // Variables are known here (validate sees them unknown): check again.
                if let Some(problem) = vk_credentials::check(config).into_iter().next() {
                    let mut error = ProviderError::new(problem.code, problem.message);
                    if let Some(help) = problem.help {
                        error = error.with_detail(help);
                    }
                    return Err(error);
                }
                container_group::plan(cloud, subscription_id, prior, config)
            }
            dns_label::TYPE => dns_label::plan(schema, cloud, prior, config),
            resource_group::TYPE => schema.propose(prior, &resource_group::normalise(config)),
            storage_account::TYPE => schema.propose(prior, &storage_account::normalise(config)),
            user_assigned_identity::TYPE => {
                schema.propose(prior, &user_assigned_identity::normalise(config))
            }
            role_assignment::TYPE => schema.propose(prior, &role_assignment::normalise(config)),
            _ => schema.propose(prior, config),
        })
    }

    fn intended_id(&self, resource_type: &str, planned: &Value) -> String {
        let subscription_id = &self.config.subscription_id;
        match resource_type {
            resource_group::TYPE => resource_group::intended_id(subscription_id, planned),
            storage_account::TYPE => storage_account::intended_id(subscription_id, planned),
            file_share::TYPE => file_share::intended_id(subscription_id, planned),
            container_group::TYPE => container_group::intended_id(subscription_id, planned),
            user_assigned_identity::TYPE => {
                user_assigned_identity::intended_id(subscription_id, planned)
            }
            role_assignment::TYPE => role_assignment::intended_id(planned),
            _ => shape::text(planned, "fqdn").to_string(),
        }
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
        let fail = |error: ArmError| error.for_resource(&ctx.address);
        let read = match resource_type {
            resource_group::TYPE => {
                let path = shape::with_version(id, resource_group::API_VERSION);
                let body = self.client.get_optional(&path).await.map_err(fail)?;
                Ok(body.map(|body| resource_group::from_response(&body)))
            }
            storage_account::TYPE => storage_account::read(&self.client, id).await.map_err(fail),
            file_share::TYPE => file_share::read(&self.client, id, prior)
                .await
                .map_err(fail),
            container_group::TYPE => self.groups().read(id, prior).await.map_err(fail),
            dns_label::TYPE => return Ok(Some(prior.clone())),
            user_assigned_identity::TYPE => user_assigned_identity::read(&self.client, id)
                .await
                .map_err(fail),
            role_assignment::TYPE => role_assignment::read(&self.client, id).await.map_err(fail),
            other => Err(unknown_type(other)),
        };
        read.map(|state| state.map(|state| with_id(state, id)))
    }

    async fn create(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.write(ctx, resource_type, id, None, planned).await
    }

    async fn update(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.write(ctx, resource_type, id, Some(prior), planned)
            .await
    }

    async fn delete(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<(), ProviderError> {
        let fail = |error: ArmError| error.for_resource(&ctx.address);
        let max_wait = self.config.max_wait;
        match resource_type {
            resource_group::TYPE => resource_group::delete(&self.client, id, max_wait)
                .await
                .map_err(fail),
            storage_account::TYPE => storage_account::delete(&self.client, id)
                .await
                .map_err(fail),
            file_share::TYPE => file_share::delete(&self.client, id).await.map_err(fail),
            container_group::TYPE => {
                self.before_stop(ctx, prior).await?;
                self.groups().delete(id).await.map_err(fail)
            }
            dns_label::TYPE => Ok(()),
            user_assigned_identity::TYPE => user_assigned_identity::delete(&self.client, id)
                .await
                .map_err(fail),
            role_assignment::TYPE => role_assignment::delete(&self.client, id)
                .await
                .map_err(fail),
            other => Err(unknown_type(other)),
        }
    }

    fn actions(&self, resource_type: &str) -> &'static [Action] {
        if resource_type == container_group::TYPE {
            &[Action::Stop, Action::Start]
        } else {
            &[]
        }
    }

    async fn act(
        &self,
        ctx: &OpContext,
        resource_type: &str,
        id: &str,
        prior: &Value,
        action: Action,
    ) -> Result<Option<Value>, ProviderError> {
        if resource_type != container_group::TYPE {
            return Err(ProviderError::new(
                "fk::provider::no_action",
                format!("`{resource_type}` has no stop or start"),
            ));
        }
        let state = match action {
            Action::Stop => {
                self.before_stop(ctx, prior).await?;
                self.groups().stop(ctx, id, prior).await?
            }
            Action::Start => self.groups().start(ctx, id, prior).await?,
        };
        Ok(Some(state))
    }
}
