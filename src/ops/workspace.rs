//! Loading what an operation works on: the module, its variables, the providers (a
//! [`Workspace`]), and the state store the module names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::addr::Address;
use crate::config::eval::{Scope, evaluate};
use crate::config::variables::{VarInput, VarOrigin, VarText};
use crate::config::{self, Module};
use crate::diag::{Diagnostic, Diagnostics, SourceMap};
use crate::provider::Registry;
use crate::provider::azure::auth::{AuthError, BearerToken};
use crate::provider::azure::{AzureConfig, AzureProvider, EnvSnapshot, TokenSource};
use crate::provider::builtin::DataProvider;
use crate::provider::tls::TlsProvider;
use crate::state::blob::store::BACKEND_KIND;
use crate::state::{BlobStore, StateStore};
use crate::value::Value;

use super::{Context, OpsError, Ui};

/// A module checked and ready for an operation: its variables resolved and its providers
/// built.
pub struct Workspace {
    pub(crate) module: Module,
    pub(crate) variables: BTreeMap<String, Value>,
    pub(crate) registry: Registry,
}

/// Where variable values come from besides the module's defaults and `FK_VAR_*`: `--var-file`
/// files, then `-var name=value` assignments (later wins).
#[derive(Clone, Debug, Default)]
pub struct VarSources {
    pub(crate) assignments: Vec<String>,
    pub(crate) files: Vec<PathBuf>,
}

/// Which checks a loaded module gets (see [`crate::plan::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Every check that needs no state, a plan from empty state included.
    All,
    /// For an operation that plans the module next (`plan`, `apply`): a clean module is not
    /// also planned from empty state.
    BeforePlanning,
}

/// Parses, resolves variables (defaults < `FK_VAR_*` < var files < `-var`), builds the
/// providers and checks. Every problem at once, as [`OpsError::Module`]; warnings go to `ui`.
pub fn load(
    dir: &Path,
    vars: &VarSources,
    flags: ProviderFlags,
    checks: Checks,
    context: &Context,
    ui: &dyn Ui,
) -> Result<Workspace, OpsError> {
    load_with(
        dir,
        vars,
        checks,
        context,
        ui,
        |module, variables, diagnostics| registry(module, variables, flags, context, diagnostics),
    )
}

/// [`load`] with the caller's providers (`providers` is given the parsed module, its
/// variables and the diagnostics to add to).
pub fn load_with(
    dir: &Path,
    vars: &VarSources,
    checks: Checks,
    context: &Context,
    ui: &dyn Ui,
    providers: impl FnOnce(&Module, &BTreeMap<String, Value>, &mut Diagnostics) -> Registry,
) -> Result<Workspace, OpsError> {
    let (mut module, mut diagnostics) = config::parse(dir);
    let inputs = variable_inputs(vars, context, &mut module.sources, &mut diagnostics);
    let (variables, var_diagnostics) = config::variables::resolve(&module, &inputs);
    diagnostics.extend(var_diagnostics);
    let registry = providers(&module, &variables, &mut diagnostics);
    prepare(module, variables, registry, diagnostics, checks, ui)
}

/// A module with variables already resolved (a saved plan's).
pub(super) fn load_with_variables(
    dir: &Path,
    variables: BTreeMap<String, Value>,
    flags: ProviderFlags,
    context: &Context,
    ui: &dyn Ui,
) -> Result<Workspace, OpsError> {
    let (module, mut diagnostics) = config::parse(dir);
    let registry = registry(&module, &variables, flags, context, &mut diagnostics);
    prepare(module, variables, registry, diagnostics, Checks::All, ui)
}

fn prepare(
    mut module: Module,
    variables: BTreeMap<String, Value>,
    registry: Registry,
    mut diagnostics: Diagnostics,
    checks: Checks,
    ui: &dyn Ui,
) -> Result<Workspace, OpsError> {
    // `fk plan .` and `fk plan ../m` name the same state file as `fk plan m`.
    module.name = module_name(&module.dir);
    // Every check that needs no state, whatever the config phase found: every mistake at once.
    let evaluate_clean = checks == Checks::All;
    let more = crate::plan::check(&module, &variables, &registry, &diagnostics, evaluate_clean);
    diagnostics.extend(more);
    let warnings = OpsError::check(diagnostics, &module.sources)?;
    if !warnings.is_empty() {
        ui.warnings(&warnings, &module.sources);
    }
    Ok(Workspace {
        module,
        variables,
        registry,
    })
}

/// FK_VAR_* first, then var files, then -var flags: later wins.
fn variable_inputs(
    vars: &VarSources,
    context: &Context,
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
) -> Vec<VarInput> {
    let mut inputs = Vec::new();
    // The context's environment is sorted by name.
    for (key, value) in context.env() {
        if let Some(name) = key.strip_prefix("FK_VAR_") {
            inputs.push(VarInput {
                name: name.to_string(),
                value: VarText::Raw(value.clone()),
                origin: VarOrigin::Env,
            });
        }
    }
    for path in &vars.files {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let (file_inputs, file_diagnostics) = config::parse_var_file(path, &text, sources);
                inputs.extend(file_inputs);
                diagnostics.extend(file_diagnostics);
            }
            Err(err) => diagnostics.push(Diagnostic::error(
                "fk::cli::var_file",
                format!("cannot read the variables file `{}`: {err}", path.display()),
            )),
        }
    }
    for assignment in &vars.assignments {
        match assignment.split_once('=') {
            Some((name, value)) => inputs.push(VarInput {
                name: name.trim().to_string(),
                value: VarText::Raw(value.to_string()),
                origin: VarOrigin::Cli,
            }),
            None => diagnostics.push(
                Diagnostic::error("fk::cli::var", format!("`-var {assignment}` has no `=`"))
                    .help("write `-var name=value`"),
            ),
        }
    }
    inputs
}

struct VariablesOnly<'a>(&'a BTreeMap<String, Value>);

impl Scope for VariablesOnly<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }

    fn resource(&self, _address: &Address) -> Option<Value> {
        None
    }
}

/// Evaluated attributes of a `[provider.NAME]` block (variables only).
pub(crate) fn provider_values(
    module: &Module,
    name: &str,
    variables: &BTreeMap<String, Value>,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, Value> {
    let Some(block) = module.providers.get(name) else {
        return BTreeMap::new();
    };
    // A declared variable without a usable value is already reported: what uses it is left
    // unset rather than reported again as an unknown reference.
    let mut with_missing = variables.clone();
    for name in module.variables.keys() {
        with_missing.entry(name.clone()).or_insert(Value::Unknown);
    }
    let scope = VariablesOnly(&with_missing);
    let mut values = BTreeMap::new();
    for (key, attr) in &block.attributes {
        match evaluate(&attr.value, &scope) {
            Ok(value) if value.is_wholly_known() => {
                values.insert(key.clone(), value);
            }
            Ok(_) => {}
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    values
}

/// What the running command's flags ask of the providers, handed to them where they are
/// built (the module and the environment say the rest).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProviderFlags {
    /// `--skip-before-stop`: the Azure provider goes on without a container group's
    /// `before_stop` handshake.
    pub(crate) skip_before_stop: bool,
}

/// The providers a module uses: the built-in and PKI (`tls`) types always, Azure's when the
/// module uses them, and in test builds (`test-providers`) the `fake` test provider.
pub(crate) fn registry(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    flags: ProviderFlags,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Registry {
    let mut registry = Registry::new();
    registry.register(Arc::new(DataProvider));
    registry.register(Arc::new(TlsProvider));
    #[cfg(feature = "test-providers")]
    register_fake(&mut registry, module, variables, diagnostics);
    if uses_azure(module) {
        // With a broken `[provider.azure]` (already reported), its resources are still
        // checked against their schemas, by a provider that can never reach Azure.
        let n_before = diagnostics.n_errors();
        let azure = azure_provider(module, variables, flags, context, diagnostics).or_else(|| {
            (diagnostics.n_errors() > n_before)
                .then(unreachable_azure)
                .flatten()
        });
        if let Some(azure) = azure {
            registry.register(Arc::new(azure));
        }
    }
    registry
}

/// An Azure provider with default settings and no credentials, for checking only.
fn unreachable_azure() -> Option<AzureProvider> {
    let mut env = EnvSnapshot::new(std::iter::empty());
    env.set(
        "AZURE_SUBSCRIPTION_ID",
        "00000000-0000-0000-0000-000000000000",
    );
    let config = AzureConfig::from_module(&BTreeMap::new(), &env).ok()?;
    let why = UnavailableToken("the `[provider.azure]` block has errors".into());
    AzureProvider::new(config, Arc::new(why)).ok()
}

/// The `fake` test provider. Its world file is a plain file name inside the state folder
/// (`state/`): no provider writes anywhere else.
#[cfg(feature = "test-providers")]
fn register_fake(
    registry: &mut Registry,
    module: &Module,
    variables: &BTreeMap<String, Value>,
    diagnostics: &mut Diagnostics,
) {
    use crate::provider::fake::{FakeConfig, FakeProvider};
    let fake_values = provider_values(module, "fake", variables, diagnostics);
    let mut fake_config = FakeConfig::from_values(&fake_values);
    if let Some(world) = fake_config.world_file.take() {
        let plain_name = world.components().count() == 1
            && matches!(
                world.components().next(),
                Some(std::path::Component::Normal(_))
            );
        if plain_name {
            fake_config.world_file = Some(PathBuf::from("state").join(world));
        } else {
            let mut diagnostic = Diagnostic::error(
                "fk::fake::world",
                format!(
                    "`world = \"{}\"` must be a plain file name: the world lives in the state folder",
                    world.display()
                ),
            );
            if let Some(attr) = module
                .providers
                .get("fake")
                .and_then(|block| block.attributes.get("world"))
            {
                diagnostic = diagnostic.at(attr.value.span, "not a plain file name");
            }
            diagnostics.push(diagnostic);
        }
    }
    registry.register(Arc::new(FakeProvider::new(fake_config)));
}

const AZURE_TYPES: &[&str] = &[
    "azure_resource_group",
    "azure_storage_account",
    "azure_file_share",
    "azure_container_group",
    "dns_label",
];

fn uses_azure(module: &Module) -> bool {
    module.providers.contains_key("azure")
        || module
            .resources
            .keys()
            .any(|address| AZURE_TYPES.contains(&address.resource_type.as_str()))
}

/// The Azure provider from `[provider.azure]` and the environment. Without usable
/// credentials it is still built (so validate and plan work offline); the first call that
/// needs a token reports why there is none.
pub fn azure_provider(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    flags: ProviderFlags,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Option<AzureProvider> {
    let values = provider_values(module, "azure", variables, diagnostics);
    let env = EnvSnapshot::new(context.env().clone());
    let with_flags = |mut config: AzureConfig| {
        config.skip_before_stop |= flags.skip_before_stop;
        config
    };
    let config = match AzureConfig::from_module(&values, &env) {
        Ok(config) => with_flags(config),
        // Without a subscription, validate and a first plan still work; the first call to
        // Azure says what is missing.
        Err(problems)
            if problems
                .iter()
                .all(|problem| problem.code == "fk::azure::missing_subscription") =>
        {
            let mut with_placeholder = env.clone();
            with_placeholder.set(
                "AZURE_SUBSCRIPTION_ID",
                "00000000-0000-0000-0000-000000000000",
            );
            let Ok(config) = AzureConfig::from_module(&values, &with_placeholder) else {
                return None;
            };
            let config = with_flags(config);
            let message = problems
                .into_iter()
                .map(|problem| problem.message)
                .collect::<Vec<_>>()
                .join("; ");
            return AzureProvider::new(config, Arc::new(UnavailableToken(message))).ok();
        }
        Err(problems) => {
            let block = module.providers.get("azure");
            for problem in problems {
                let mut diagnostic = Diagnostic::error(problem.code, problem.message);
                let key = problem.path.first().map(|seg| match seg {
                    crate::value::PathSeg::Key(key) => key.clone(),
                    crate::value::PathSeg::Index(idx) => idx.to_string(),
                });
                let span = block.and_then(|block| {
                    key.as_ref()
                        .and_then(|key| block.attributes.get(key))
                        .map(|attr| attr.key_span)
                        .or(Some(block.span))
                });
                if let Some(span) = span {
                    diagnostic = diagnostic.at(span, "in this provider block");
                }
                if let Some(help) = problem.help {
                    diagnostic = diagnostic.help(help);
                }
                diagnostics.push(diagnostic);
            }
            return None;
        }
    };
    match AzureProvider::from_environment(config.clone(), &env) {
        Ok(mut provider) => {
            if let Some(observer) = context.retry_observer() {
                provider.set_retry_observer(observer);
            }
            Some(provider)
        }
        Err(err) => {
            let unavailable = UnavailableToken(err.message.clone());
            match AzureProvider::new(config, Arc::new(unavailable)) {
                Ok(provider) => Some(provider),
                Err(err) => {
                    diagnostics.push(Diagnostic::error("fk::azure::setup", err.message));
                    None
                }
            }
        }
    }
}

/// A token source that explains why there are no credentials, when a token is needed.
struct UnavailableToken(String);

#[async_trait::async_trait]
impl TokenSource for UnavailableToken {
    async fn token(&self) -> Result<BearerToken, AuthError> {
        Err(AuthError {
            source_name: "the environment".into(),
            message: self.0.clone(),
        })
    }

    fn describe(&self) -> String {
        "no credentials".into()
    }
}

/// `state/<module>.json` unless `state_file` (`--state`) says otherwise.
pub fn state_path(module_name: &str, state_file: Option<&Path>) -> PathBuf {
    state_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{module_name}.json")))
}

/// Where a module's state lives: `state_file` (`--state FILE`) when given (a local file,
/// whatever the module says), else the module's `[backend.azure_blob]`, else
/// `state/<module>.json`. Backend attributes may use variables; secrets come from the
/// environment only.
pub fn store(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    state_file: Option<&Path>,
    context: &Context,
) -> Result<Box<dyn StateStore>, OpsError> {
    let Some(backend) = module.backend.as_ref().filter(|_| state_file.is_none()) else {
        return Ok(Box::new(
            context.file_store(state_path(&module.name, state_file))?,
        ));
    };
    let mut diagnostics = Diagnostics::default();
    if backend.kind != BACKEND_KIND {
        diagnostics.push(
            Diagnostic::error(
                "fk::backend::unknown_kind",
                format!("unknown backend `{}`", backend.kind),
            )
            .help(format!("the one backend kind is `{BACKEND_KIND}`")),
        );
    }
    let scope = VariablesOnly(variables);
    let mut values = BTreeMap::new();
    for (key, attr) in &backend.attributes {
        match evaluate(&attr.value, &scope) {
            Ok(value) => {
                values.insert(key.clone(), value);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    OpsError::check(diagnostics, &module.sources)?;
    match BlobStore::from_backend(&values, context.env(), &module.name) {
        Ok(store) => Ok(Box::new(store.with_keys(context.state_keys()?))),
        Err(message) => Err(OpsError::new("fk::backend::azure_blob", message)),
    }
}

/// The store of the module in `dir` for operations that only read or move state: the module
/// is parsed for its backend, with variables from defaults and `FK_VAR_*` only.
pub fn store_of_dir(
    dir: &Path,
    state_file: Option<&Path>,
    context: &Context,
) -> Result<Box<dyn StateStore>, OpsError> {
    let name = module_name(dir);
    if state_file.is_some() || !dir.is_dir() {
        return Ok(Box::new(context.file_store(state_path(&name, state_file))?));
    }
    let (mut module, _) = config::parse(dir);
    module.name = name;
    if module.backend.is_none() {
        return Ok(Box::new(
            context.file_store(state_path(&module.name, state_file))?,
        ));
    }
    let mut diagnostics = Diagnostics::default();
    let inputs = variable_inputs(
        &VarSources::default(),
        context,
        &mut module.sources,
        &mut diagnostics,
    );
    let (variables, _) = config::variables::resolve(&module, &inputs);
    store(&module, &variables, state_file, context)
}

/// The name a module folder gives its state file.
pub fn module_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module".into())
}

/// Resource addresses as given to `--{flag}`.
pub(super) fn parse_addresses(texts: &[String], flag: &str) -> Result<Vec<Address>, OpsError> {
    texts
        .iter()
        .map(|text| {
            Address::parse(text).ok_or_else(|| {
                OpsError::new(
                    "fk::cli::address",
                    format!("`--{flag} {text}` is not a resource address"),
                )
                .help("write `type.name`, e.g. `azure_container_group.etcd`")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo build` (and `--release`) has no test provider: `fake_thing` is an unknown type.
    #[cfg(not(feature = "test-providers"))]
    #[test]
    fn the_product_registers_no_test_provider() {
        let mut diagnostics = Diagnostics::default();
        let registry = registry(
            &Module::default(),
            &BTreeMap::new(),
            ProviderFlags::default(),
            &Context::new(std::iter::empty()),
            &mut diagnostics,
        );
        assert!(registry.schema("data").is_some());
        assert!(registry.schema("fake_thing").is_none());
    }

    /// `--skip-before-stop` reaches the Azure provider's settings through the value the
    /// command passes, and only the command that passes it.
    #[test]
    fn skip_before_stop_is_set_from_the_flags_the_provider_is_built_with() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.toml"),
            "[provider.azure]\nsubscription_id = \"00000000-0000-0000-0000-000000000000\"\nendpoint = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
        let (module, diagnostics) = config::parse(dir.path());
        assert!(!diagnostics.has_errors());
        let skip_of = |flags: ProviderFlags| {
            let mut diagnostics = Diagnostics::default();
            let context = Context::new(std::iter::empty());
            let provider =
                azure_provider(&module, &BTreeMap::new(), flags, &context, &mut diagnostics);
            assert!(!diagnostics.has_errors());
            provider.map(|provider| provider.config().skip_before_stop)
        };
        let skipping = ProviderFlags {
            skip_before_stop: true,
        };
        assert_eq!(skip_of(skipping), Some(true));
        assert_eq!(skip_of(ProviderFlags::default()), Some(false));
    }
}
