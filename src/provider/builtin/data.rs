//! `data`: a value stored in state, like Terraform's `terraform_data`. `input` is stored and
//! echoed as `output`; a change to `triggers_replace` replaces it. No cloud object.

use async_trait::async_trait;

use crate::provider::{
    Attribute, OpContext, PlannedChange, Provider, ProviderError, ResourceSchema, Type,
};
use crate::value::Value;

pub struct DataProvider;

pub(crate) const DATA_TYPE: &str = "data";

fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: DATA_TYPE.to_string(),
        description: "a value kept in state: `input` is stored and echoed as `output`".into(),
        attributes: vec![
            Attribute::optional("input", Type::Any).describe("any value; changes update in place"),
            Attribute::optional("triggers_replace", Type::Any)
                .force_new("a change to `triggers_replace` replaces the resource")
                .describe("any value; a change replaces the resource"),
            Attribute::computed("output", Type::Any).describe("the stored `input`"),
            Attribute::computed("id", Type::String).describe("a random identity"),
        ],
        remote: false,
    }
}

#[async_trait]
impl Provider for DataProvider {
    fn name(&self) -> &str {
        "builtin"
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        vec![schema()]
    }

    fn plan(
        &self,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        config: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        let mut change = schema.propose(prior, config);
        // `output` follows `input` exactly, so it is known whenever `input` is.
        let input = config.get("input").cloned().unwrap_or_default();
        if let Some(planned) = change.planned.as_map_mut() {
            planned.insert("output".into(), input);
        }
        Ok(change)
    }

    fn intended_id(&self, _resource_type: &str, _planned: &Value) -> String {
        uuid::Uuid::new_v4().to_string()
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Ok(Some(prior.clone()))
    }

    async fn create(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let mut value = planned.clone();
        if let Some(map) = value.as_map_mut() {
            map.insert("id".into(), Value::str(id));
        }
        Ok(value)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        _prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.create(_ctx, _resource_type, id, planned).await
    }

    async fn delete(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
}
