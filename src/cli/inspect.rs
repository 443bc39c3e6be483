//! Commands that read and print: validate, graph, output, show, state list, force-unlock.

use crate::graph;
use crate::ops::{self, Checks, Context, OpsError, ProviderFlags};
use crate::render;
use crate::state::{State, StateStore};
use crate::value::Value;

use super::args::{
    ForceUnlockArgs, GraphArgs, GraphFormat, KubeconfigArgs, ModuleArgs, OutputArgs, ShowArgs,
    StateArgs, StateCommand, VarArgs,
};
use super::{CliResult, EXIT_OK, workspace};

/// Every check that needs no state (`plan::check`), with the variables `plan` would use.
pub(crate) async fn validate(args: ModuleArgs, context: &Context) -> CliResult {
    let flags = ProviderFlags::default();
    let loaded = workspace(&args.module, &args.vars, flags, Checks::All, context)?;
    println!(
        "The module `{}` is valid: {} resources, {} variables, {} outputs.",
        loaded.module.name,
        loaded.module.resources.len(),
        loaded.module.variables.len(),
        loaded.module.outputs.len()
    );
    Ok(EXIT_OK)
}

pub(crate) async fn graph(args: GraphArgs, context: &Context) -> CliResult {
    let flags = ProviderFlags::default();
    let loaded = workspace(
        &args.module,
        &VarArgs::default(),
        flags,
        Checks::All,
        context,
    )?;
    let (dependency_graph, diagnostics) = graph::build(&loaded.module, None);
    let warnings = OpsError::check(diagnostics, &loaded.module.sources)?;
    if !warnings.is_empty() {
        eprint!("{}", warnings.render(&loaded.module.sources));
    }
    match args.format {
        GraphFormat::Dot => print!("{}", dependency_graph.to_dot()),
        GraphFormat::Mermaid => print!("{}", dependency_graph.to_mermaid()),
    }
    Ok(EXIT_OK)
}

async fn stored_state(
    module: &std::path::Path,
    args: &StateArgs,
    context: &Context,
) -> Result<Option<State>, OpsError> {
    let store = ops::store_of_dir(module, args.state.as_deref(), context)?;
    store
        .load()
        .await
        .map_err(|err| OpsError::new("fk::state::load", err.to_string()))
}

/// The module's stored state, or `fk::cli::no_state` saying `what_now` when there is none.
pub(super) async fn applied_state(
    module: &std::path::Path,
    args: &StateArgs,
    context: &Context,
    what_now: &str,
) -> Result<State, OpsError> {
    stored_state(module, args, context).await?.ok_or_else(|| {
        OpsError::new(
            "fk::cli::no_state",
            format!("no state for `{}` yet: {what_now}", module.display()),
        )
    })
}

pub(crate) async fn output(args: OutputArgs, context: &Context) -> CliResult {
    let state = applied_state(&args.module, &args.state, context, "nothing was applied").await?;
    let shown = |sensitive: bool, json: &serde_json::Value| -> serde_json::Value {
        if sensitive {
            serde_json::Value::Null
        } else {
            json.clone()
        }
    };
    if let Some(name) = &args.name {
        let Some(output) = state.outputs.get(name) else {
            return Err(OpsError::new(
                "fk::cli::no_output",
                format!("no output named `{name}`"),
            ));
        };
        if output.sensitive {
            return Err(OpsError::new(
                "fk::cli::sensitive_output",
                format!("`{name}` is sensitive: fk never prints secrets"),
            ));
        }
        match (&output.value, args.json) {
            (serde_json::Value::String(text), false) => println!("{text}"),
            (json, _) => println!("{}", serde_json::to_string_pretty(json).unwrap_or_default()),
        }
        return Ok(EXIT_OK);
    }
    if args.json {
        let all: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(name, output)| {
                (name.clone(), serde_json::json!({"sensitive": output.sensitive, "value": shown(output.sensitive, &output.value)}))
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return Ok(EXIT_OK);
    }
    let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
    for (name, output) in &state.outputs {
        let text = if output.sensitive {
            "(sensitive value)".into()
        } else {
            Value::from_json(&output.value).to_string()
        };
        println!("{name:width$} = {text}");
    }
    Ok(EXIT_OK)
}

pub(crate) async fn show(args: ShowArgs, context: &Context) -> CliResult {
    if args.target.is_file() {
        let saved = ops::read_saved_plan(&args.target, context)?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::plan_json(&saved.plan)).unwrap_or_default()
            );
        } else {
            print!("{}", render::plan_text(&saved.plan, false));
        }
        return Ok(EXIT_OK);
    }
    let Some(state) = stored_state(&args.target, &args.state, context).await? else {
        println!("No state: nothing was applied.");
        return Ok(EXIT_OK);
    };
    if args.json {
        let resources: serde_json::Map<String, serde_json::Value> = state
            .resources
            .iter()
            .map(|(address, resource)| (address.clone(), redacted(&resource.value())))
            .collect();
        let json = serde_json::json!({"lineage": state.lineage, "serial": state.serial, "resources": resources});
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return Ok(EXIT_OK);
    }
    println!(
        "# state serial {} (lineage {})",
        state.serial, state.lineage
    );
    for (address, resource) in &state.resources {
        println!("\n[{address}]  # id = {}", resource.id);
        if let Some(map) = resource.value().as_map() {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            for (key, value) in map {
                println!("{key:width$} = {value}");
            }
        }
    }
    Ok(EXIT_OK)
}

fn redacted(value: &Value) -> serde_json::Value {
    match value {
        Value::Sensitive(_) => serde_json::Value::String("(sensitive value)".into()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(redacted).collect()),
        Value::Map(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), redacted(v))).collect())
        }
        other => other.to_json(),
    }
}

pub(crate) async fn state(command: StateCommand, context: &Context) -> CliResult {
    match command {
        StateCommand::List { module, state } => {
            if let Some(state) = stored_state(&module, &state, context).await? {
                for address in state.resources.keys() {
                    println!("{address}");
                }
            }
            Ok(EXIT_OK)
        }
        StateCommand::Push {
            module,
            file,
            lock_timeout,
        } => super::state_cmd::push(&module, &file, lock_timeout, context).await,
        StateCommand::Pull { module, file } => {
            super::state_cmd::pull(&module, file.as_deref(), context).await
        }
    }
}

pub(crate) async fn force_unlock(args: ForceUnlockArgs, context: &Context) -> CliResult {
    let path = match (&args.module, &args.state.state) {
        (_, Some(path)) => path.clone(),
        // The module's own store: its backend, or `state/<module>.json`.
        (Some(module), None) => {
            let store = ops::store_of_dir(module, None, context)?;
            return unlock(store.as_ref(), &args.lock_id).await;
        }
        (None, None) => find_lock(&args.lock_id).ok_or_else(|| {
            OpsError::new(
                "fk::state::no_such_lock",
                format!("no lock with ID `{}` under `state/`", args.lock_id),
            )
            .help(format!(
                "name the module: `fk force-unlock {} <module>`",
                args.lock_id
            ))
        })?,
    };
    unlock(&crate::state::FileStore::new(path), &args.lock_id).await
}

async fn unlock(store: &dyn StateStore, lock_id: &str) -> CliResult {
    store
        .force_unlock(lock_id)
        .await
        .map_err(|err| OpsError::new("fk::state::force_unlock", err.to_string()))?;
    println!("The state `{}` is unlocked.", store.describe());
    Ok(EXIT_OK)
}

/// The state file under `state/` whose lock carries `lock_id`.
fn find_lock(lock_id: &str) -> Option<std::path::PathBuf> {
    let entries = std::fs::read_dir("state").ok()?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find_map(|path| {
            let name = path.file_name()?.to_str()?;
            let state_name = name.strip_suffix(".lock")?;
            let info: crate::state::LockInfo =
                serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            (info.id == lock_id).then(|| path.with_file_name(state_name))
        })
}

pub(crate) async fn kubeconfig(args: KubeconfigArgs, context: &Context) -> CliResult {
    let state = applied_state(&args.module, &args.state, context, "apply it first").await?;
    let Some(text) = state
        .outputs
        .get(&args.from_output)
        .and_then(|output| output.value.as_str())
    else {
        return Err(OpsError::new(
            "fk::cli::no_output",
            format!(
                "the state has no output `{}` holding a kubeconfig",
                args.from_output
            ),
        ));
    };
    let path = args.output.clone().unwrap_or_else(|| {
        let state_file =
            ops::state_path(&ops::module_name(&args.module), args.state.state.as_deref());
        state_file.with_extension("kubeconfig")
    });
    crate::state::write_private(&path, text.as_bytes()).map_err(|err| {
        OpsError::new(
            "fk::cli::write",
            format!("cannot write `{}`: {err}", path.display()),
        )
    })?;
    let shown = path.canonicalize().unwrap_or(path);
    println!("Wrote the kubeconfig to {} (owner-only).", shown.display());
    println!("  export KUBECONFIG={}", shown.display());
    println!("  kubectl get nodes");
    Ok(EXIT_OK)
}
