//! Commands that read and print: validate, graph, output, show, state list, force-unlock.

use crate::graph;
use crate::render;
use crate::state::{State, StateStore};
use crate::value::Value;

use super::args::{
    ForceUnlockArgs, GraphArgs, GraphFormat, KubeconfigArgs, ModuleArgs, OutputArgs, ShowArgs,
    StateArgs, StateCommand, VarArgs,
};
use super::load::{self, report};
use super::plan::load_saved;
use super::{EXIT_ERROR, EXIT_OK};

/// Every check that needs no state (`plan::check`), with the variables `plan` would use.
pub async fn validate(args: ModuleArgs) -> u8 {
    let loaded = match load::module(&args.module, &args.vars, load::ProviderFlags::default()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    println!(
        "The module `{}` is valid: {} resources, {} variables, {} outputs.",
        loaded.module.name,
        loaded.module.resources.len(),
        loaded.module.variables.len(),
        loaded.module.outputs.len()
    );
    EXIT_OK
}

pub async fn graph(args: GraphArgs) -> u8 {
    let loaded = match load::module(
        &args.module,
        &VarArgs::default(),
        load::ProviderFlags::default(),
    ) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (dependency_graph, diagnostics) = graph::build(&loaded.module, None);
    if report(&diagnostics, &loaded.module.sources) {
        return EXIT_ERROR;
    }
    match args.format {
        GraphFormat::Dot => print!("{}", dependency_graph.to_dot()),
        GraphFormat::Mermaid => print!("{}", dependency_graph.to_mermaid()),
    }
    EXIT_OK
}

async fn stored_state(module: &std::path::Path, args: &StateArgs) -> Result<Option<State>, u8> {
    let store = load::store_of_dir(module, args)?;
    store.load().await.map_err(|err| {
        eprintln!("error[fk::state::load]: {err}");
        EXIT_ERROR
    })
}

pub async fn output(args: OutputArgs) -> u8 {
    let state = match stored_state(&args.module, &args.state).await {
        Ok(Some(state)) => state,
        Ok(None) => {
            eprintln!(
                "error[fk::cli::no_state]: no state for `{}` yet: nothing was applied",
                args.module.display()
            );
            return EXIT_ERROR;
        }
        Err(code) => return code,
    };
    let shown = |sensitive: bool, json: &serde_json::Value| -> serde_json::Value {
        if sensitive {
            serde_json::Value::Null
        } else {
            json.clone()
        }
    };
    if let Some(name) = &args.name {
        let Some(output) = state.outputs.get(name) else {
            eprintln!("error[fk::cli::no_output]: no output named `{name}`");
            return EXIT_ERROR;
        };
        if output.sensitive {
            eprintln!(
                "error[fk::cli::sensitive_output]: `{name}` is sensitive: fk never prints secrets"
            );
            return EXIT_ERROR;
        }
        match (&output.value, args.json) {
            (serde_json::Value::String(text), false) => println!("{text}"),
            (json, _) => println!("{}", serde_json::to_string_pretty(json).unwrap_or_default()),
        }
        return EXIT_OK;
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
        return EXIT_OK;
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
    EXIT_OK
}

pub async fn show(args: ShowArgs) -> u8 {
    if args.target.is_file() {
        let saved = match load_saved(&args.target) {
            Ok(saved) => saved,
            Err(code) => return code,
        };
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::plan_json(&saved.plan)).unwrap_or_default()
            );
        } else {
            print!("{}", render::plan_text(&saved.plan, false));
        }
        return EXIT_OK;
    }
    let state = match stored_state(&args.target, &args.state).await {
        Ok(Some(state)) => state,
        Ok(None) => {
            println!("No state: nothing was applied.");
            return EXIT_OK;
        }
        Err(code) => return code,
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
        return EXIT_OK;
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
    EXIT_OK
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

pub async fn state(command: StateCommand) -> u8 {
    match command {
        StateCommand::List { module, state } => match stored_state(&module, &state).await {
            Ok(Some(state)) => {
                for address in state.resources.keys() {
                    println!("{address}");
                }
                EXIT_OK
            }
            Ok(None) => EXIT_OK,
            Err(code) => code,
        },
        StateCommand::Push {
            module,
            file,
            lock_timeout,
        } => super::state_cmd::push(&module, &file, lock_timeout).await,
        StateCommand::Pull { module, file } => {
            super::state_cmd::pull(&module, file.as_deref()).await
        }
    }
}

pub async fn force_unlock(args: ForceUnlockArgs) -> u8 {
    let path = match (&args.module, &args.state.state) {
        (_, Some(path)) => path.clone(),
        // The module's own store: its backend, or `state/<module>.json`.
        (Some(module), None) => {
            let store = match load::store_of_dir(module, &args.state) {
                Ok(store) => store,
                Err(code) => return code,
            };
            return unlock(store.as_ref(), &args.lock_id).await;
        }
        (None, None) => match find_lock(&args.lock_id) {
            Some(path) => path,
            None => {
                eprintln!(
                    "error[fk::state::no_such_lock]: no lock with ID `{}` under `state/`\n  = help: name the module: `fk force-unlock {} <module>`",
                    args.lock_id, args.lock_id
                );
                return EXIT_ERROR;
            }
        },
    };
    unlock(&crate::state::FileStore::new(path), &args.lock_id).await
}

async fn unlock(store: &dyn StateStore, lock_id: &str) -> u8 {
    match store.force_unlock(lock_id).await {
        Ok(()) => {
            println!("The state `{}` is unlocked.", store.describe());
            EXIT_OK
        }
        Err(err) => {
            eprintln!("error[fk::state::force_unlock]: {err}");
            EXIT_ERROR
        }
    }
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

pub async fn kubeconfig(args: KubeconfigArgs) -> u8 {
    let state = match stored_state(&args.module, &args.state).await {
        Ok(Some(state)) => state,
        Ok(None) => {
            eprintln!(
                "error[fk::cli::no_state]: no state for `{}` yet: apply it first",
                args.module.display()
            );
            return EXIT_ERROR;
        }
        Err(code) => return code,
    };
    let Some(text) = state
        .outputs
        .get(&args.from_output)
        .and_then(|output| output.value.as_str())
    else {
        eprintln!(
            "error[fk::cli::no_output]: the state has no output `{}` holding a kubeconfig",
            args.from_output
        );
        return EXIT_ERROR;
    };
    let path = args.output.clone().unwrap_or_else(|| {
        let state_file = load::state_path(&load::module_name(&args.module), &args.state);
        state_file.with_extension("kubeconfig")
    });
    if let Err(err) = crate::state::write_private(&path, text.as_bytes()) {
        eprintln!(
            "error[fk::cli::write]: cannot write `{}`: {err}",
            path.display()
        );
        return EXIT_ERROR;
    }
    let shown = path.canonicalize().unwrap_or(path);
    println!("Wrote the kubeconfig to {} (owner-only).", shown.display());
    println!("  export KUBECONFIG={}", shown.display());
    println!("  kubectl get nodes");
    EXIT_OK
}
