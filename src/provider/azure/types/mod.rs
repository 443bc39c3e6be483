//! The Azure resource types: one module (or folder) per type, each with one value that
//! implements [`AzureType`], listed once in [`TYPES`]. A plain ARM resource implements
//! [`ArmResource`] (its hooks) and gets [`AzureType`] from it.
//!
//! [`super::AzureProvider`] looks a type up by name and delegates; it holds what every type
//! shares (the ARM client, the settings, the refresh slots, the engine's id on the state).
//! Adding a type: a module here with its schema, checks, plan and operations, and one line
//! in [`TYPES`].

pub(crate) mod container_group;
pub mod dns_label;
pub mod file_share;
pub mod resource_group;
pub mod role_assignment;
pub mod storage_account;
pub mod user_assigned_identity;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value as Json, json};

use super::client::ArmClient;
use super::cloud::normalise_location;
use super::config::AzureConfig;
use super::error::ArmError;
use super::shape::{normalise_location_in, tags_to_json, text, with_version};
use crate::provider::{
    Action, AttrProblem, Cost, OpContext, PlannedChange, ProviderError, ResourceSchema,
};
use crate::value::Value;

/// Every Azure resource type, in the order the provider lists their schemas.
pub(crate) static TYPES: &[&dyn AzureType] = &[
    &resource_group::ResourceGroup,
    &storage_account::StorageAccount,
    &file_share::FileShare,
    &container_group::ContainerGroup,
    &dns_label::DnsLabel,
    &user_assigned_identity::UserAssignedIdentity,
    &role_assignment::RoleAssignment,
];

/// The type named `name` (`azure_container_group`), if the provider has it.
pub(crate) fn find(name: &str) -> Option<&'static dyn AzureType> {
    TYPES.iter().copied().find(|ty| ty.name() == name)
}

/// What a type's remote operations use: the provider's ARM client and settings.
#[derive(Clone, Copy)]
pub struct Arm<'a> {
    pub(crate) client: &'a ArmClient,
    pub(crate) config: &'a AzureConfig,
}

/// Turns an ARM failure into the engine's error, naming the resource `ctx` acts on.
pub(crate) fn fail(ctx: &OpContext) -> impl Fn(ArmError) -> ProviderError + '_ {
    |error| error.for_resource(&ctx.address)
}

/// One Azure resource type: what [`crate::provider::Provider`] asks of the provider, for
/// this type alone. Pure methods take the settings; remote ones take [`Arm`].
#[async_trait]
pub(crate) trait AzureType: Send + Sync {
    /// The type's name in a module: `azure_container_group`.
    fn name(&self) -> &'static str;

    fn schema(&self) -> ResourceSchema;

    /// Checks beyond the schema. `config` may hold unknowns.
    fn validate(&self, _config: &Value) -> Vec<AttrProblem> {
        Vec::new()
    }

    /// Plans one resource. Pure: no IO.
    fn plan(
        &self,
        _config: &AzureConfig,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        value: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        Ok(schema.propose(prior, value))
    }

    /// The identity a create of `planned` will have (the ARM id).
    fn intended_id(&self, config: &AzureConfig, planned: &Value) -> String;

    /// True for an ARM resource: the provider puts the id the engine recorded on its state
    /// (ARM ids are case-insensitive and may come back spelt otherwise).
    fn is_arm_resource(&self) -> bool {
        true
    }

    /// Reads the live object; `Ok(None)` when it no longer exists.
    async fn read(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError>;

    /// Creates (`prior` is `None`) or updates the object; returns its new state once ready.
    async fn write(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError>;

    /// Deletes the object; an object already gone is success.
    async fn delete(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<(), ProviderError>;

    /// The lifecycle actions (`fk stop` / `fk start`) this type supports.
    fn actions(&self) -> &'static [Action] {
        &[]
    }

    /// Runs a lifecycle action; returns the new state. Types without actions refuse.
    async fn act(
        &self,
        _arm: Arm<'_>,
        _ctx: &OpContext,
        _id: &str,
        _prior: &Value,
        _action: Action,
    ) -> Result<Option<Value>, ProviderError> {
        Err(no_action(self.name()))
    }

    /// The estimated cost of a resource with `value`; `None`: no price known. Pure.
    fn hourly_cost(&self, _config: &AzureConfig, _value: &Value) -> Option<Cost> {
        None
    }
}

/// A plain ARM resource: GET with its api-version gives the state, a PUT of the body made
/// from the planned value gives the new state, DELETE counts "not found" as done. A type
/// says what differs (api version, body, state from an answer) and overrides an operation
/// only where Azure really does it otherwise; [`AzureType`] follows from it.
#[async_trait]
pub trait ArmResource: Send + Sync {
    /// The type's name in a module: `azure_resource_group`.
    const TYPE: &'static str;
    /// The `api-version` every request for this type names.
    const API_VERSION: &'static str;

    fn schema(&self) -> ResourceSchema;

    /// Checks beyond the schema. `config` may hold unknowns.
    fn validate(&self, _config: &Value) -> Vec<AttrProblem> {
        Vec::new()
    }

    /// The configured value with server defaults filled in, so it compares equal to what
    /// GET answers. Pure. Default: the location spelled as ARM answers it.
    fn normalise(&self, config: &Value) -> Value {
        let mut value = config.clone();
        if let Some(fields) = value.as_map_mut() {
            normalise_location_in(fields);
        }
        value
    }

    /// The ARM id a create of `planned` will have.
    fn intended_id(&self, subscription_id: &str, planned: &Value) -> String;

    /// The PUT body for `planned`; `prior` is `None` on create. Default: a tracked resource
    /// with no properties, only its location and tags.
    fn body(&self, _subscription_id: &str, planned: &Value, _prior: Option<&Value>) -> Json {
        json!({
            "location": normalise_location(text(planned, "location")),
            "tags": tags_to_json(planned),
        })
    }

    /// The state an answer describes; `known` is the value fk already has for it (the
    /// planned one after a PUT, the prior one after a GET).
    fn state(&self, answer: &Json, known: Option<&Value>) -> Value;

    /// What the answer alone does not say, read after a GET or PUT (default: nothing).
    async fn finish(
        &self,
        _client: &ArmClient,
        _id: &str,
        state: Value,
    ) -> Result<Value, ArmError> {
        Ok(state)
    }

    /// The live object; `Ok(None)` when it no longer exists.
    async fn get(
        &self,
        client: &ArmClient,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ArmError> {
        let Some(answer) = client
            .get_optional(&with_version(id, Self::API_VERSION))
            .await?
        else {
            return Ok(None);
        };
        let state = self.state(&answer, Some(prior));
        self.finish(client, id, state).await.map(Some)
    }

    /// Creates or updates the object; the state once ARM is done.
    async fn put(
        &self,
        arm: Arm<'_>,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ArmError> {
        put_once(self, arm.client, id, prior, planned).await
    }

    /// Deletes the object; one already gone (404) is done.
    async fn remove(&self, arm: Arm<'_>, id: &str) -> Result<(), ArmError> {
        arm.client
            .delete_if_present(&with_version(id, Self::API_VERSION))
            .await
    }
}

/// One synchronous PUT of `ty`'s body for `planned`: the state from its answer.
pub(crate) async fn put_once<T: ArmResource + ?Sized>(
    ty: &T,
    client: &ArmClient,
    id: &str,
    prior: Option<&Value>,
    planned: &Value,
) -> Result<Value, ArmError> {
    let body = ty.body(client.subscription_id(), planned, prior);
    let response = client
        .send(Method::PUT, &with_version(id, T::API_VERSION), Some(&body))
        .await?;
    let state = ty.state(&response.body, Some(planned));
    ty.finish(client, id, state).await
}

#[async_trait]
impl<T: ArmResource> AzureType for T {
    fn name(&self) -> &'static str {
        T::TYPE
    }

    fn schema(&self) -> ResourceSchema {
        ArmResource::schema(self)
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        ArmResource::validate(self, config)
    }

    fn plan(
        &self,
        _config: &AzureConfig,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        value: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        Ok(schema.propose(prior, &self.normalise(value)))
    }

    fn intended_id(&self, config: &AzureConfig, planned: &Value) -> String {
        ArmResource::intended_id(self, &config.subscription_id, planned)
    }

    async fn read(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        self.get(arm.client, id, prior).await.map_err(fail(ctx))
    }

    async fn write(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.put(arm, id, prior, planned).await.map_err(fail(ctx))
    }

    async fn delete(
        &self,
        arm: Arm<'_>,
        ctx: &OpContext,
        id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        self.remove(arm, id).await.map_err(fail(ctx))
    }
}

/// The refusal of a lifecycle action by a type that has none.
pub(crate) fn no_action(resource_type: &str) -> ProviderError {
    ProviderError::new(
        "fk::provider::no_action",
        format!("`{resource_type}` has no stop or start"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_listed_once_under_its_schema_name() {
        let names: Vec<&str> = TYPES.iter().map(|ty| ty.name()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            names.len(),
            "a type is listed twice: {names:?}"
        );
        for ty in TYPES {
            assert_eq!(ty.schema().type_name, ty.name());
            assert_eq!(ty.is_arm_resource(), ty.schema().remote, "{}", ty.name());
            assert_eq!(find(ty.name()).map(|found| found.name()), Some(ty.name()));
        }
        assert!(find("azure_virtual_machine").is_none());
    }

    /// What the provider answered for a type it does not have before the types were
    /// objects: an error naming it, and nothing sent (the endpoint is closed).
    #[tokio::test]
    async fn the_provider_refuses_a_type_it_does_not_have() {
        use crate::addr::Address;
        use crate::provider::Provider;
        use crate::provider::azure::{AzureProvider, StaticToken};

        let config = AzureConfig::local("http://127.0.0.1:9", "sub");
        let provider = AzureProvider::new(config, std::sync::Arc::new(StaticToken::new("t")))
            .expect("provider");
        let ctx = OpContext::new(Address::new("azure_virtual_machine", "vm"));
        let value = Value::Map(Default::default());
        let codes = [
            provider
                .read(&ctx, "azure_virtual_machine", "id", &value)
                .await
                .map(|_| ()),
            provider
                .create(&ctx, "azure_virtual_machine", "id", &value)
                .await
                .map(|_| ()),
            provider
                .update(&ctx, "azure_virtual_machine", "id", &value, &value)
                .await
                .map(|_| ()),
            provider
                .delete(&ctx, "azure_virtual_machine", "id", &value)
                .await,
        ]
        .map(|result| result.map_err(|error| error.code));
        let refused = Err("fk::azure::unknown_type".to_string());
        assert_eq!(
            codes,
            [refused.clone(), refused.clone(), refused.clone(), refused]
        );
        let act = provider
            .act(&ctx, "azure_virtual_machine", "id", &value, Action::Stop)
            .await
            .map_err(|error| error.code);
        assert_eq!(act, Err("fk::provider::no_action".to_string()));
        let act = provider
            .act(&ctx, dns_label::TYPE, "id", &value, Action::Start)
            .await
            .map_err(|error| (error.code, error.message));
        assert_eq!(
            act,
            Err((
                "fk::provider::no_action".to_string(),
                "`dns_label` has no stop or start".to_string()
            ))
        );
        assert_eq!(provider.actions("azure_virtual_machine"), []);
        assert_eq!(provider.hourly_cost("azure_virtual_machine", &value), None);
    }

    /// The tracked-resource defaults: a location is spelled as ARM answers it (so
    /// `West Europe` plans no change against `westeurope`), a type without one keeps its
    /// configuration as written, and the body carries the location and tags alone.
    #[test]
    fn plain_types_normalise_the_location_only_where_they_have_one() {
        use crate::provider::azure::shape::map;
        let group = map([
            ("name", Value::str("fk")),
            ("location", Value::str("West Europe")),
            ("tags", map([("team", Value::str("k8s"))])),
        ]);
        let planned = resource_group::ResourceGroup.normalise(&group);
        assert_eq!(planned.get("location"), Some(&Value::str("westeurope")));
        assert_eq!(
            resource_group::ResourceGroup.body("s", &group, None),
            json!({"location": "westeurope", "tags": {"team": "k8s"}})
        );
        let share = map([("name", Value::str("data")), ("quota_gb", Value::Int(5))]);
        assert_eq!(file_share::FileShare.normalise(&share), share);
    }

    #[test]
    fn only_container_groups_stop_and_start() {
        let with_actions: Vec<&str> = TYPES
            .iter()
            .filter(|ty| !ty.actions().is_empty())
            .map(|ty| ty.name())
            .collect();
        assert_eq!(with_actions, [container_group::TYPE]);
        assert_eq!(
            container_group::ContainerGroup.actions(),
            [Action::Stop, Action::Start]
        );
    }
}
