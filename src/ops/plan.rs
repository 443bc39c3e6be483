//! Planning: load the state, refresh, build the graph, diff; and the saved-plan file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diag::{Diagnostic, Diagnostics, nearest};
use crate::graph;
use crate::plan::{self, Mode, Plan, PlanInput};
use crate::refresh::{pending, refresh};
use crate::state::{State, StateStore};

use super::workspace::parse_addresses;
use super::{Context, Failure, OpsError, Ui, Workspace, lock};

/// What a plan is asked for (`fk plan`'s and `fk apply`'s flags).
#[derive(Clone, Debug)]
pub struct PlanOptions {
    pub mode: Mode,
    /// Read every object before planning (always done when creates were interrupted).
    pub refresh: bool,
    /// Addresses as given to `--target` and `--replace`.
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    /// How many reads (and, in an apply, operations) run at once.
    pub parallelism: usize,
    /// How long to wait for a state lock another run holds.
    pub lock_timeout: Duration,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            mode: Mode::Normal,
            refresh: true,
            targets: Vec::new(),
            replace: Vec::new(),
            parallelism: 10,
            lock_timeout: Duration::ZERO,
        }
    }
}

/// `fk plan`: under the state lock, the plan of `workspace` against the state in `store`.
pub async fn plan(
    workspace: &Workspace,
    store: &dyn StateStore,
    options: &PlanOptions,
    ui: &dyn Ui,
) -> Result<Plan, OpsError> {
    let _lock = lock(store, "plan", options.lock_timeout, ui).await?;
    make_plan(workspace, options, store, ui).await
}

/// Load state, refresh, build the graph and diff. The caller holds the lock.
pub(super) async fn make_plan(
    workspace: &Workspace,
    options: &PlanOptions,
    store: &dyn StateStore,
    ui: &dyn Ui,
) -> Result<Plan, OpsError> {
    let stored = store
        .load()
        .await
        .map_err(|err| OpsError::new("fk::state::load", err.to_string()))?;
    let state = stored.clone().unwrap_or_else(State::fresh);
    let interrupted = pending(&state);
    if !interrupted.is_empty() {
        let names: Vec<String> = interrupted
            .iter()
            .map(|address| format!("`{address}`"))
            .collect();
        ui.say(&format!(
            "note: a previous run was interrupted while creating {}; refresh adopts what exists",
            names.join(", ")
        ));
    }
    let (refreshed, drift) = if options.refresh || !interrupted.is_empty() {
        if !options.refresh {
            ui.say("note: refreshing anyway: interrupted creates must be adopted or forgotten");
        }
        refresh(&state, &workspace.registry, options.parallelism)
            .await
            .map_err(|errors| {
                OpsError::Several(
                    errors
                        .into_iter()
                        .map(|err| Failure {
                            code: err.code.clone(),
                            message: format!("refreshing: {err}"),
                            help: None,
                            details: err.details.clone(),
                        })
                        .collect(),
                )
            })?
    } else {
        (state, Vec::new())
    };
    let sources = &workspace.module.sources;
    let (dependency_graph, graph_diagnostics) = graph::build(&workspace.module, Some(&refreshed));
    show_warnings(OpsError::check(graph_diagnostics, sources)?, workspace, ui);
    let targets = parse_addresses(&options.targets, "target")?;
    let replace = parse_addresses(&options.replace, "replace")?;
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
    show_warnings(OpsError::check(diagnostics, sources)?, workspace, ui);
    let (plan, diagnostics) = plan::diff(PlanInput {
        module: &workspace.module,
        variables: &workspace.variables,
        state: &refreshed,
        stored: stored.map(|state| (state.lineage, state.serial)),
        registry: &workspace.registry,
        graph: &dependency_graph,
        mode: options.mode,
        targets: &targets,
        replace: &replace,
        drift,
    });
    show_warnings(OpsError::check(diagnostics, sources)?, workspace, ui);
    Ok(plan)
}

fn show_warnings(warnings: Diagnostics, workspace: &Workspace, ui: &dyn Ui) {
    if !warnings.is_empty() {
        ui.warnings(&warnings, &workspace.module.sources);
    }
}

/// The saved-plan file: the plan and where its module lives. It holds secrets (variables,
/// state), so it is written owner-only, and sealed like the state when encryption is on.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SavedPlan {
    pub(crate) fk_saved_plan: u32,
    pub(crate) module_dir: PathBuf,
    pub(crate) plan: Plan,
}

/// Writes `plan` of the module in `module_dir` to `path` (`fk plan -out`).
pub fn save_plan(
    path: &Path,
    module_dir: &Path,
    plan: &Plan,
    context: &Context,
) -> Result<(), OpsError> {
    let saved = SavedPlan {
        fk_saved_plan: 1,
        module_dir: module_dir
            .canonicalize()
            .unwrap_or_else(|_| module_dir.to_path_buf()),
        plan: plan.clone(),
    };
    let keys = context.state_keys()?;
    let write = || -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
        let bytes = crate::state::crypt::encode(keys.as_deref(), bytes, path)
            .map_err(std::io::Error::other)?;
        crate::state::write_private(path, &bytes)
    };
    write().map_err(|err| {
        OpsError::new(
            "fk::cli::save_plan",
            format!("cannot write the plan to `{}`: {err}", path.display()),
        )
    })
}

/// Reads a plan saved by [`save_plan`], refusing another format version.
pub fn read_saved_plan(path: &Path, context: &Context) -> Result<SavedPlan, OpsError> {
    let bytes = std::fs::read(path).map_err(|err| {
        OpsError::new(
            "fk::cli::read_plan",
            format!("cannot read `{}`: {err}", path.display()),
        )
    })?;
    let keys = context.state_keys()?;
    let bytes = crate::state::crypt::decode(keys.as_deref(), &bytes, path)
        .map_err(|err| OpsError::new("fk::cli::read_plan", err.to_string()))?;
    let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|err| {
        OpsError::new(
            "fk::cli::read_plan",
            format!(
                "`{}` is not a plan saved by `fk plan -out`: {err}",
                path.display()
            ),
        )
    })?;
    if saved.plan.format_version != plan::PLAN_FORMAT_VERSION {
        return Err(OpsError::new(
            "fk::cli::read_plan",
            format!(
                "`{}` has plan format {}, this fk reads {}",
                path.display(),
                saved.plan.format_version,
                plan::PLAN_FORMAT_VERSION
            ),
        ));
    }
    Ok(saved)
}
