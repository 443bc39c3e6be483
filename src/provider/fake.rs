//! `fake`: an in-memory cloud with real semantics, for engine tests and the crash test.
//!
//! Objects have identities; a create of an identity that exists is refused (so a duplicate
//! create is caught, not hidden); reads see what creates wrote; latency and failures are
//! injectable. With a world file, the cloud outlives the process (written atomically after
//! every change), so a test can kill fk and inspect what exists.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::provider::{Attribute, OpContext, Provider, ProviderError, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const FAKE_TYPE: &str = "fake_thing";

#[derive(Clone, Debug, Default)]
pub struct FakeConfig {
    /// Where the world is kept between processes; in memory only when `None`.
    pub world_file: Option<PathBuf>,
    /// Time each create, update and delete takes.
    pub latency: Duration,
    /// Names whose create fails.
    pub fail_names: Vec<String>,
}

impl FakeConfig {
    /// Reads `[provider.fake]` values: `world`, `latency_ms`, `fail`.
    #[cfg(feature = "test-providers")]
    pub(crate) fn from_values(values: &BTreeMap<String, Value>) -> FakeConfig {
        FakeConfig {
            world_file: values
                .get("world")
                .and_then(Value::as_str)
                .map(PathBuf::from),
            latency: Duration::from_millis(
                values
                    .get("latency_ms")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .max(0) as u64,
            ),
            fail_names: values
                .get("fail")
                .and_then(Value::as_list)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|n| n.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FakeWorld {
    pub objects: BTreeMap<String, serde_json::Value>,
    pub n_creates: u64,
    pub(crate) n_deletes: u64,
    /// Every change in order: `create fake/a`, `update fake/a`, `delete fake/a`.
    #[serde(default)]
    pub log: Vec<String>,
}

pub struct FakeProvider {
    config: FakeConfig,
    world: Mutex<FakeWorld>,
}

fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: FAKE_TYPE.to_string(),
        description: "an object in the fake cloud".into(),
        attributes: vec![
            Attribute::required("name", Type::String).force_new("`name` is the object's identity"),
            Attribute::optional("shape", Type::String)
                .force_new("a fake thing cannot change its shape in place"),
            Attribute::optional("size", Type::Int),
            Attribute::optional("tags", Type::map(Type::String)),
            Attribute::optional("lines", Type::list(Type::String)),
            Attribute::optional("secret", Type::String).sensitive(),
            Attribute::computed("ip", Type::String),
            Attribute::computed("token", Type::String).sensitive(),
        ],
        remote: true,
    }
}

impl FakeProvider {
    pub fn new(config: FakeConfig) -> FakeProvider {
        let world = config
            .world_file
            .as_ref()
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        FakeProvider {
            config,
            world: Mutex::new(world),
        }
    }

    /// Changes the world as if someone edited it outside fk (drift, for tests).
    pub fn tamper(&self, edit: impl FnOnce(&mut FakeWorld)) {
        let _ = self.change(edit);
    }

    /// A copy of the world, for test assertions.
    pub fn world(&self) -> FakeWorld {
        self.world
            .lock()
            .map(|world| world.clone())
            .unwrap_or_default()
    }

    fn change<T>(&self, edit: impl FnOnce(&mut FakeWorld) -> T) -> Result<T, ProviderError> {
        let mut world = self
            .world
            .lock()
            .map_err(|_| ProviderError::new("fk::fake::poisoned", "fake world lock poisoned"))?;
        let result = edit(&mut world);
        if let Some(path) = &self.config.world_file {
            let bytes = serde_json::to_vec_pretty(&*world)
                .map_err(|err| ProviderError::new("fk::fake::io", err.to_string()))?;
            if let Some(folder) = path
                .parent()
                .filter(|folder| !folder.as_os_str().is_empty())
            {
                std::fs::create_dir_all(folder)
                    .map_err(|err| ProviderError::new("fk::fake::io", err.to_string()))?;
            }
            let temp = path.with_extension("tmp");
            std::fs::write(&temp, bytes)
                .and_then(|()| std::fs::rename(&temp, path))
                .map_err(|err| {
                    ProviderError::new("fk::fake::io", format!("writing {}: {err}", path.display()))
                })?;
        }
        Ok(result)
    }

    async fn wait(&self, fraction: u32) {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency / fraction).await;
        }
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn name(&self) -> &str {
        "fake"
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        vec![schema()]
    }

    fn intended_id(&self, _resource_type: &str, planned: &Value) -> String {
        format!(
            "fake/{}",
            planned
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("unnamed")
        )
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let found = self.change(|world| world.objects.get(id).cloned())?;
        Ok(found.map(|json| {
            let mut value = Value::from_json(&json);
            // Like a real service, the fake never returns the secret it was given.
            if let (Some(map), Some(secret)) = (value.as_map_mut(), prior.get("secret")) {
                map.insert("secret".into(), secret.clone());
            }
            for path in prior.sensitive_paths() {
                value.mark_sensitive_at(&path);
            }
            value
        }))
    }

    async fn create(
        &self,
        ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.wait(2).await;
        let name = planned.get("name").and_then(Value::as_str).unwrap_or("");
        if self.config.fail_names.iter().any(|fail| fail == name) {
            return Err(ProviderError::new(
                "fk::fake::injected_failure",
                format!("`{}`: create failed (injected)", ctx.address),
            )
            .with_detail("Failed: the fake cloud was told to fail this name"));
        }
        let created = self.change(|world| {
            if world.objects.contains_key(id) {
                return Err(ProviderError::new(
                    "fk::fake::already_exists",
                    format!("`{}`: object `{id}` already exists", ctx.address),
                ));
            }
            world.n_creates += 1;
            world.log.push(format!("create {id}"));
            let mut value = planned.clone();
            if let Some(map) = value.as_map_mut() {
                map.insert(
                    "ip".into(),
                    Value::str(format!(
                        "10.0.{}.{}",
                        world.n_creates / 250,
                        world.n_creates % 250
                    )),
                );
                map.insert(
                    "token".into(),
                    Value::str(uuid::Uuid::new_v4().simple().to_string()).sensitive(),
                );
            }
            world.objects.insert(id.to_string(), without_secret(&value));
            Ok(value)
        })??;
        ctx.report("waiting for the fake object to be ready");
        self.wait(2).await;
        Ok(created)
    }

    async fn update(
        &self,
        ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        self.wait(1).await;
        self.change(|world| {
            if !world.objects.contains_key(id) {
                return Err(ProviderError::new(
                    "fk::fake::not_found",
                    format!("`{}`: object `{id}` does not exist", ctx.address),
                ));
            }
            let mut value = planned.clone();
            if let Some(map) = value.as_map_mut() {
                for key in ["ip", "token"] {
                    if let Some(kept) = prior.get(key) {
                        map.insert(key.into(), kept.clone());
                    }
                }
            }
            world.objects.insert(id.to_string(), without_secret(&value));
            world.log.push(format!("update {id}"));
            Ok(value)
        })?
    }

    async fn delete(
        &self,
        _ctx: &OpContext,
        _resource_type: &str,
        id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        self.wait(1).await;
        self.change(|world| {
            if world.objects.remove(id).is_some() {
                world.n_deletes += 1;
                world.log.push(format!("delete {id}"));
            }
        })
    }
}

fn without_secret(value: &Value) -> serde_json::Value {
    let mut json = value.to_json();
    if let Some(map) = json.as_object_mut() {
        map.remove("secret");
    }
    json
}
