//! Loading what a command works on: the module, its variables, the providers, the state
//! store. Problems are printed here, all at once, and become exit code 1.

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

use super::EXIT_ERROR;
use super::args::{StateArgs, VarArgs};

pub struct Loaded {
    pub module: Module,
    pub variables: BTreeMap<String, Value>,
    pub registry: Registry,
}

/// Prints diagnostics to stderr; true when any is an error.
pub fn report(diagnostics: &Diagnostics, sources: &SourceMap) -> bool {
    if !diagnostics.is_empty() {
        eprint!("{}", diagnostics.render(sources));
        let n_errors = diagnostics.n_errors();
        if n_errors > 0 {
            let noun = if n_errors == 1 { "error" } else { "errors" };
            eprintln!("\n{n_errors} {noun}: nothing was changed");
        }
    }
    diagnostics.has_errors()
}

/// Parses, resolves variables, builds the providers and validates. On any error the
/// diagnostics are printed and `Err(1)` returned.
pub fn module(dir: &Path, vars: &VarArgs, flags: ProviderFlags) -> Result<Loaded, u8> {
    load_module(dir, vars, flags, true)
}

/// [`module`] for a command that plans the module next (`fk plan`, `fk apply`): a clean
/// module is not also planned from empty state by the checks (see [`crate::plan::check`]).
pub fn module_to_plan(dir: &Path, vars: &VarArgs, flags: ProviderFlags) -> Result<Loaded, u8> {
    load_module(dir, vars, flags, false)
}

fn load_module(
    dir: &Path,
    vars: &VarArgs,
    flags: ProviderFlags,
    evaluate_clean: bool,
) -> Result<Loaded, u8> {
    let (mut module, mut diagnostics) = config::parse(dir);
    let inputs = variable_inputs(vars, &mut module.sources, &mut diagnostics);
    let (variables, var_diagnostics) = config::variables::resolve(&module, &inputs);
    diagnostics.extend(var_diagnostics);
    prepare(module, variables, flags, diagnostics, evaluate_clean)
}

/// A module with variables already resolved (a saved plan's).
pub fn module_with_variables(
    dir: &Path,
    variables: BTreeMap<String, Value>,
    flags: ProviderFlags,
) -> Result<Loaded, u8> {
    let (module, diagnostics) = config::parse(dir);
    prepare(module, variables, flags, diagnostics, true)
}

fn prepare(
    mut module: Module,
    variables: BTreeMap<String, Value>,
    flags: ProviderFlags,
    mut diagnostics: Diagnostics,
    evaluate_clean: bool,
) -> Result<Loaded, u8> {
    // `fk plan .` and `fk plan ../m` name the same state file as `fk plan m`.
    module.name = module_name(&module.dir);
    let registry = registry(&module, &variables, flags, &mut diagnostics);
    // Every check that needs no state, whatever the config phase found: every mistake at once.
    let more = crate::plan::check(&module, &variables, &registry, &diagnostics, evaluate_clean);
    diagnostics.extend(more);
    if report(&diagnostics, &module.sources) {
        return Err(EXIT_ERROR);
    }
    Ok(Loaded {
        module,
        variables,
        registry,
    })
}

/// FK_VAR_* first, then var files, then -var flags: later wins.
fn variable_inputs(
    vars: &VarArgs,
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
) -> Vec<VarInput> {
    let mut inputs = Vec::new();
    let mut from_env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(key, value)| {
            key.strip_prefix("FK_VAR_")
                .map(|name| (name.to_string(), value))
        })
        .collect();
    from_env.sort();
    for (name, value) in from_env {
        inputs.push(VarInput {
            name,
            value: VarText::Raw(value),
            origin: VarOrigin::Env,
        });
    }
    for path in &vars.var_files {
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
    for assignment in &vars.vars {
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
pub fn provider_values(
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
    pub skip_before_stop: bool,
}

/// The providers a module uses: the built-in and PKI (`tls`) types always, Azure's when the
/// module uses them, and in test builds (`test-providers`) the `fake` test provider.
pub fn registry(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    flags: ProviderFlags,
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
        let azure = azure_provider(module, variables, flags, diagnostics).or_else(|| {
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
    diagnostics: &mut Diagnostics,
) -> Option<AzureProvider> {
    let values = provider_values(module, "azure", variables, diagnostics);
    let env = EnvSnapshot::new(std::env::vars());
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
            provider.set_retry_observer(super::progress::retry_printer());
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

/// `state/<module>.json` unless `--state` says otherwise.
pub fn state_path(module_name: &str, args: &StateArgs) -> PathBuf {
    args.state
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{module_name}.json")))
}

/// Where a module's state lives: `--state FILE` when given (a local file, whatever the
/// module says), else the module's `[backend.azure_blob]`, else `state/<module>.json`.
/// Backend attributes may use variables; secrets come from the environment only.
pub fn store(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    args: &StateArgs,
) -> Result<Box<dyn StateStore>, u8> {
    let Some(backend) = module.backend.as_ref().filter(|_| args.state.is_none()) else {
        return Ok(Box::new(super::state_cmd::file_store(state_path(
            &module.name,
            args,
        ))?));
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
    if report(&diagnostics, &module.sources) {
        return Err(EXIT_ERROR);
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match BlobStore::from_backend(&values, &env, &module.name) {
        Ok(store) => Ok(Box::new(store.with_keys(super::state_cmd::state_keys()?))),
        Err(message) => {
            eprintln!("error[fk::backend::azure_blob]: {message}");
            Err(EXIT_ERROR)
        }
    }
}

/// The store of the module in `dir` for commands that only read or move state: the module
/// is parsed for its backend, with variables from defaults and `FK_VAR_*` only.
pub fn store_of_dir(dir: &Path, args: &StateArgs) -> Result<Box<dyn StateStore>, u8> {
    let name = module_name(dir);
    if args.state.is_some() || !dir.is_dir() {
        return Ok(Box::new(super::state_cmd::file_store(state_path(
            &name, args,
        ))?));
    }
    let (mut module, _) = config::parse(dir);
    module.name = name;
    if module.backend.is_none() {
        return Ok(Box::new(super::state_cmd::file_store(state_path(
            &module.name,
            args,
        ))?));
    }
    let mut diagnostics = Diagnostics::default();
    let inputs = variable_inputs(&VarArgs::default(), &mut module.sources, &mut diagnostics);
    let (variables, _) = config::variables::resolve(&module, &inputs);
    store(&module, &variables, args)
}

/// The name a module folder gives its state file.
pub fn module_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module".into())
}

pub fn parse_addresses(texts: &[String], flag: &str) -> Result<Vec<Address>, u8> {
    let mut out = Vec::new();
    for text in texts {
        match Address::parse(text) {
            Some(address) => out.push(address),
            None => {
                eprintln!(
                    "error[fk::cli::address]: `--{flag} {text}` is not a resource address\n  = help: write `type.name`, e.g. `azure_container_group.etcd`"
                );
                return Err(EXIT_ERROR);
            }
        }
    }
    Ok(out)
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
            let provider = azure_provider(&module, &BTreeMap::new(), flags, &mut diagnostics);
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
