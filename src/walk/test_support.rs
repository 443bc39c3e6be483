//! What the walk's unit tests share: a provider that records its calls and refuses one id,
//! and a journal that records what it is given or refuses every append.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::provider::{
    Action, Attribute, OpContext, Provider, ProviderError, Registry, ResourceSchema, Type,
};
use crate::state::{Journal, JournalRecord, StateError};
use crate::value::Value;

pub(crate) const GROUP: &str = "group";
pub(crate) const CERT: &str = "cert";

/// `group` stops and starts; both types delete. Records each action and each delete; every
/// call on the id `fail` is refused with `fk::test::failure` and one detail.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) calls: Mutex<Vec<(Action, String)>>,
    pub(crate) deleted: Mutex<Vec<String>>,
    pub(crate) fail: Option<String>,
}

impl Recorder {
    fn refuse(&self, id: &str) -> ProviderResult<()> {
        if self.fail.as_deref() == Some(id) {
            return Err(
                ProviderError::new("fk::test::failure", format!("`{id}` refused"))
                    .with_detail("Conflict: the service said no"),
            );
        }
        Ok(())
    }
}

/// A registry with `provider` in it.
pub(crate) fn registry(provider: std::sync::Arc<Recorder>) -> Registry {
    let mut registry = Registry::new();
    registry.register(provider);
    registry
}

fn schema(type_name: &str) -> ResourceSchema {
    ResourceSchema {
        type_name: type_name.to_string(),
        description: String::new(),
        attributes: vec![Attribute::computed("state", Type::String)],
        remote: true,
    }
}

#[async_trait]
impl Provider for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn schemas(&self) -> Vec<ResourceSchema> {
        vec![schema(GROUP), schema(CERT)]
    }
    fn actions(&self, resource_type: &str) -> &'static [Action] {
        if resource_type == GROUP {
            &[Action::Stop, Action::Start]
        } else {
            &[]
        }
    }
    fn intended_id(&self, _: &str, _: &Value) -> String {
        String::new()
    }
    async fn read(
        &self,
        _: &OpContext,
        _: &str,
        _: &str,
        _: &Value,
    ) -> ProviderResult<Option<Value>> {
        Ok(None)
    }
    async fn create(
        &self,
        _: &OpContext,
        _: &str,
        _: &str,
        value: &Value,
    ) -> ProviderResult<Value> {
        Ok(value.clone())
    }
    async fn update(
        &self,
        _: &OpContext,
        _: &str,
        _: &str,
        _: &Value,
        value: &Value,
    ) -> ProviderResult<Value> {
        Ok(value.clone())
    }
    async fn delete(&self, _: &OpContext, _: &str, id: &str, _: &Value) -> ProviderResult<()> {
        self.refuse(id)?;
        self.deleted.lock().unwrap().push(id.to_string());
        Ok(())
    }
    async fn act(
        &self,
        ctx: &OpContext,
        _: &str,
        id: &str,
        _: &Value,
        action: Action,
    ) -> ProviderResult<Option<Value>> {
        self.calls
            .lock()
            .unwrap()
            .push((action, ctx.address.name.clone()));
        self.refuse(id)?;
        let state = if action == Action::Stop {
            "Stopped"
        } else {
            "Running"
        };
        Ok(Some(Value::from_json(
            &serde_json::json!({ "state": state }),
        )))
    }
}

type ProviderResult<T> = Result<T, ProviderError>;

/// Records what it is given, or refuses every append.
#[derive(Default)]
pub(crate) struct Records {
    pub(crate) refuse: bool,
    pub(crate) records: Mutex<Vec<JournalRecord>>,
}

#[async_trait]
impl Journal for Records {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError> {
        if self.refuse {
            return Err(StateError::JournalFailed {
                path: PathBuf::from("state/test.json.journal"),
                message: "the disk is full".to_string(),
            });
        }
        self.records.lock().unwrap().extend(records);
        Ok(())
    }
}
