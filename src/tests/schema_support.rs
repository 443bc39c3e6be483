//! A schema-only provider for front-end tests: the `data` and `test_group` types, plus a few
//! provider checks so their mapping onto spans is exercised. It refuses every operation.

use std::sync::Arc;

use async_trait::async_trait;
use fk::addr::Address;
use fk::provider::{
    AttrProblem, Attribute, OpContext, Provider, ProviderError, Registry, ResourceSchema, Type,
};
use fk::value::{PathSeg, Value};

pub struct SchemaProvider;

pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Arc::new(SchemaProvider));
    registry
}

fn refuse() -> ProviderError {
    ProviderError::new(
        "fk::test::schema_only",
        "the schema-only test provider performs no operations",
    )
}

impl SchemaProvider {
    fn data_schema() -> ResourceSchema {
        ResourceSchema {
            type_name: "data".into(),
            description: "a value kept in state".into(),
            attributes: vec![
                Attribute::optional("input", Type::Any),
                Attribute::optional("triggers_replace", Type::Any).force_new("triggers changed"),
                Attribute::computed("output", Type::Any),
            ],
            remote: false,
        }
    }

    fn group_schema() -> ResourceSchema {
        let container = Type::Object(vec![
            Attribute::required("name", Type::String),
            Attribute::required("image", Type::String),
            Attribute::optional("env", Type::map(Type::String)),
            Attribute::optional("secure_env", Type::map(Type::String)).sensitive(),
        ]);
        ResourceSchema {
            type_name: "test_group".into(),
            description: "a container group, schema only".into(),
            attributes: vec![
                Attribute::required("name", Type::String).force_new("names are immutable"),
                Attribute::optional("cpu", Type::Number),
                Attribute::optional("containers", Type::list(container)),
                Attribute::optional("tags", Type::map(Type::String)),
                Attribute::computed("ip", Type::String),
                Attribute::computed("key", Type::String).sensitive(),
            ],
            remote: true,
        }
    }
}

#[async_trait]
impl Provider for SchemaProvider {
    fn name(&self) -> &str {
        "test"
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        vec![Self::data_schema(), Self::group_schema()]
    }

    /// `cpu` must be in (0, 4]; a container image may not be empty.
    fn validate(&self, resource_type: &str, config: &Value) -> Vec<AttrProblem> {
        let mut problems = Vec::new();
        if resource_type != "test_group" {
            return problems;
        }
        if let Some(cpu) = config.get("cpu").and_then(Value::as_f64)
            && !(cpu > 0.0 && cpu <= 4.0)
        {
            problems.push(AttrProblem {
                path: vec![PathSeg::Key("cpu".into())],
                code: "fk::test::cpu_out_of_range",
                message: format!("`cpu` must be more than 0 and at most 4, not {cpu}"),
                help: Some("a group has at most 4 cores".into()),
            });
        }
        let containers = config.get("containers").and_then(Value::as_list);
        for (container_idx, container) in containers.into_iter().flatten().enumerate() {
            if container.get("image").and_then(Value::as_str) == Some("") {
                problems.push(AttrProblem {
                    path: vec![
                        PathSeg::Key("containers".into()),
                        PathSeg::Index(container_idx),
                        PathSeg::Key("image".into()),
                    ],
                    code: "fk::test::empty_image",
                    message: "a container image cannot be empty".into(),
                    help: None,
                });
            }
        }
        problems
    }

    /// Two groups may not share a `name`.
    fn validate_module(&self, resources: &[(Address, Value)]) -> Vec<(Address, AttrProblem)> {
        let mut seen: Vec<(&str, &Address)> = Vec::new();
        let mut problems = Vec::new();
        for (address, config) in resources {
            if address.resource_type != "test_group" {
                continue;
            }
            let Some(name) = config.get("name").and_then(Value::as_str) else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(seen_name, _)| *seen_name == name) {
                problems.push((
                    address.clone(),
                    AttrProblem {
                        path: vec![PathSeg::Key("name".into())],
                        code: "fk::test::duplicate_name",
                        message: format!("group name `{name}` is already used by `{first}`"),
                        help: None,
                    },
                ));
            } else {
                seen.push((name, address));
            }
        }
        problems
    }

    fn intended_id(&self, resource_type: &str, _planned: &Value) -> String {
        format!("{resource_type}/unused")
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        _prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Err(refuse())
    }

    async fn create(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        _planned: &Value,
    ) -> Result<Value, ProviderError> {
        Err(refuse())
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        _prior: &Value,
        _planned: &Value,
    ) -> Result<Value, ProviderError> {
        Err(refuse())
    }

    async fn delete(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        _id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        Err(refuse())
    }
}
