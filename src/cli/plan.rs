//! `fk plan`, and the planning every changing command shares.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, nearest};
use crate::graph;
use crate::plan::{self, Mode, Plan, PlanInput};
use crate::refresh::{pending, refresh};
use crate::render;
use crate::state::{State, StateError, StateLock, StateStore};

use super::args::{PlanArgs, RunArgs};
use super::load::{self, Loaded, parse_addresses, report};
use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};

pub async fn run(args: PlanArgs) -> u8 {
    match plan_command(args).await {
        Ok(code) | Err(code) => code,
    }
}

async fn plan_command(args: PlanArgs) -> Result<u8, u8> {
    // A destroy plans no resource's values: the module's evaluation is checked first.
    let loaded = if args.destroy {
        load::module(&args.module, &args.run.vars, load::ProviderFlags::default())?
    } else {
        load::module_to_plan(&args.module, &args.run.vars, load::ProviderFlags::default())?
    };
    let store = load::store(&loaded.module, &loaded.variables, &args.run.state)?;
    let _lock = lock(store.as_ref(), "plan", args.run.lock_timeout).await?;
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Normal
    };
    let plan = make_plan(&loaded, &args.run, mode, store.as_ref()).await?;
    let stdout = console::Term::stdout();
    if args.json {
        let text = serde_json::to_string_pretty(&render::plan_json(&plan)).unwrap_or_default();
        println!("{text}");
    } else {
        print!(
            "{}",
            render::plan_text(&plan, stdout.is_term() && console::colors_enabled())
        );
    }
    let _ = std::io::stdout().flush();
    if let Some(out) = &args.out {
        save(out, &loaded.module.dir, &plan)?;
        eprintln!(
            "\nSaved the plan to {}: `fk apply {}` applies exactly it.",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// Takes the state lock, printing who holds it when it is taken. While another run holds
/// it, tries again every second until `timeout` has passed (0: fail at once).
pub async fn lock(
    store: &dyn StateStore,
    operation: &str,
    timeout: std::time::Duration,
) -> Result<Box<dyn StateLock>, u8> {
    let started = std::time::Instant::now();
    let mut said_waiting = false;
    loop {
        let err = match store.lock(crate::state::LockInfo::new(operation)).await {
            Ok(lock) => {
                if let Some(previous) = lock.taken_over() {
                    eprintln!(
                        "warning: the previous run (`{}` by `{}` on `{}`, pid {}, since {}) ended without releasing the state lock; fk took it over",
                        previous.operation,
                        previous.who,
                        previous.host,
                        previous.pid,
                        previous.created
                    );
                }
                return Ok(lock);
            }
            Err(err) => err,
        };
        let locked = matches!(err, StateError::Locked { .. });
        if locked && started.elapsed() < timeout {
            if !said_waiting {
                eprintln!(
                    "{err}\n\nWaiting up to {}s for the lock...",
                    timeout.as_secs()
                );
                said_waiting = true;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        let code = if locked { "locked" } else { "lock" };
        eprintln!("error[fk::state::{code}]: {err}");
        return Err(EXIT_ERROR);
    }
}

/// Load state, refresh, build the graph and diff. Diagnostics are printed.
pub async fn make_plan(
    loaded: &Loaded,
    run: &RunArgs,
    mode: Mode,
    store: &dyn StateStore,
) -> Result<Plan, u8> {
    let stored = store.load().await.map_err(|err| {
        eprintln!("error[fk::state::load]: {err}");
        EXIT_ERROR
    })?;
    let state = stored.clone().unwrap_or_else(State::fresh);
    let interrupted = pending(&state);
    if !interrupted.is_empty() {
        let names: Vec<String> = interrupted
            .iter()
            .map(|address| format!("`{address}`"))
            .collect();
        eprintln!(
            "note: a previous run was interrupted while creating {}; refresh adopts what exists",
            names.join(", ")
        );
    }
    let (refreshed, drift) = if run.refresh || !interrupted.is_empty() {
        if !run.refresh {
            eprintln!("note: refreshing anyway: interrupted creates must be adopted or forgotten");
        }
        refresh(&state, &loaded.registry, run.parallelism)
            .await
            .map_err(|errors| {
                for err in errors {
                    eprintln!("error[{}]: refreshing: {err}", err.code);
                    for detail in &err.details {
                        eprintln!("  {detail}");
                    }
                }
                EXIT_ERROR
            })?
    } else {
        (state, Vec::new())
    };
    let (dependency_graph, graph_diagnostics) = graph::build(&loaded.module, Some(&refreshed));
    if report(&graph_diagnostics, &loaded.module.sources) {
        return Err(EXIT_ERROR);
    }
    let targets = parse_addresses(&run.targets, "target")?;
    let replace = parse_addresses(&run.replace, "replace")?;
    let mut diagnostics = Diagnostics::default();
    for (flag, address) in targets
        .iter()
        .map(|a| ("target", a))
        .chain(replace.iter().map(|a| ("replace", a)))
    {
        if !dependency_graph.contains(address) {
            let all: Vec<String> = dependency_graph
                .addresses()
                .map(ToString::to_string)
                .collect();
            let mut diagnostic = Diagnostic::error(
                "fk::cli::unknown_address",
                format!("`--{flag} {address}`: no such resource in the module or its state"),
            );
            if let Some(near) = nearest(&address.to_string(), all.iter().map(String::as_str)) {
                diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
            }
            diagnostics.push(diagnostic);
        }
    }
    if report(&diagnostics, &loaded.module.sources) {
        return Err(EXIT_ERROR);
    }
    let (plan, diagnostics) = plan::diff(PlanInput {
        module: &loaded.module,
        variables: &loaded.variables,
        state: &refreshed,
        stored: stored.map(|state| (state.lineage, state.serial)),
        registry: &loaded.registry,
        graph: &dependency_graph,
        mode,
        targets: &targets,
        replace: &replace,
        drift,
    });
    if report(&diagnostics, &loaded.module.sources) {
        return Err(EXIT_ERROR);
    }
    Ok(plan)
}

/// The saved-plan file: the plan and where its module lives. It holds secrets (variables,
/// state), so it is written owner-only.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SavedPlan {
    pub fk_saved_plan: u32,
    pub module_dir: PathBuf,
    pub plan: Plan,
}

fn save(path: &Path, module_dir: &Path, plan: &Plan) -> Result<(), u8> {
    let saved = SavedPlan {
        fk_saved_plan: 1,
        module_dir: module_dir
            .canonicalize()
            .unwrap_or_else(|_| module_dir.to_path_buf()),
        plan: plan.clone(),
    };
    // A saved plan holds the state and every variable: sealed like the state when state
    // encryption is on.
    let keys = super::state_cmd::state_keys()?;
    let write = || -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
        let bytes = crate::state::crypt::encode(keys.as_deref(), bytes, path)
            .map_err(std::io::Error::other)?;
        crate::state::write_private(path, &bytes)
    };
    write().map_err(|err| {
        eprintln!(
            "error[fk::cli::save_plan]: cannot write the plan to `{}`: {err}",
            path.display()
        );
        EXIT_ERROR
    })
}

pub fn load_saved(path: &Path) -> Result<SavedPlan, u8> {
    let bytes = std::fs::read(path).map_err(|err| {
        eprintln!(
            "error[fk::cli::read_plan]: cannot read `{}`: {err}",
            path.display()
        );
        EXIT_ERROR
    })?;
    let keys = super::state_cmd::state_keys()?;
    let bytes = crate::state::crypt::decode(keys.as_deref(), &bytes, path).map_err(|err| {
        eprintln!("error[fk::cli::read_plan]: {err}");
        EXIT_ERROR
    })?;
    let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|err| {
        eprintln!(
            "error[fk::cli::read_plan]: `{}` is not a plan saved by `fk plan -out`: {err}",
            path.display()
        );
        EXIT_ERROR
    })?;
    if saved.plan.format_version != plan::PLAN_FORMAT_VERSION {
        eprintln!(
            "error[fk::cli::read_plan]: `{}` has plan format {}, this fk reads {}",
            path.display(),
            saved.plan.format_version,
            plan::PLAN_FORMAT_VERSION
        );
        return Err(EXIT_ERROR);
    }
    Ok(saved)
}
