//! Apply and destroy: plan (or take a saved plan after checking it still fits), confirm, walk,
//! persist.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::apply::{self, ApplyInput, ApplyReport};
use crate::plan::{Mode, Plan};
use crate::state::{Journal, State, StateStore};
use crate::walk::WalkInput;

use super::plan::make_plan;
use super::workspace::load_with_variables;
use super::{
    Context, OpsError, PlanOptions, ProviderFlags, SavedPlan, Ui, WalkIo, Workspace, lock,
};

/// How an apply or destroy ended without an error of its own.
pub enum Applied {
    /// The plan had no changes (what refresh learned is saved).
    NoChanges,
    /// The user declined: nothing was changed.
    Cancelled,
    /// The walk ran; its report says whether every operation succeeded.
    Walked(Box<WalkDone>),
}

/// A finished walk: the plan it carried out, what happened to each operation, and the state
/// saved afterwards.
pub struct WalkDone {
    pub(crate) plan: Plan,
    pub report: ApplyReport,
    pub state: State,
}

/// `fk apply MODULE` and `fk destroy` (`options.mode`): under the state lock, plan, show the
/// plan, ask, walk, persist.
pub async fn apply(
    workspace: &Workspace,
    store: &dyn StateStore,
    options: &PlanOptions,
    ui: &dyn Ui,
) -> Result<Applied, OpsError> {
    let operation = if options.mode == Mode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let _lock = lock(store, operation, options.lock_timeout, ui).await?;
    let plan = make_plan(workspace, options, store, ui).await?;
    ui.show_plan(&plan);
    if !plan.has_changes() {
        persist_if_refreshed(store, &plan).await?;
        return Ok(Applied::NoChanges);
    }
    if !ui.confirm(plan.mode)? {
        return Ok(Applied::Cancelled);
    }
    let done = execute(workspace, plan, store, options.parallelism, ui).await?;
    Ok(Applied::Walked(Box::new(done)))
}

/// The workspace of a saved plan (`fk apply PLANFILE`): its module with the plan's variables,
/// refused when the module changed since the plan was made.
pub fn load_saved(
    saved: &SavedPlan,
    saved_path: &Path,
    flags: ProviderFlags,
    context: &Context,
    ui: &dyn Ui,
) -> Result<Workspace, OpsError> {
    let workspace = load_with_variables(
        &saved.module_dir,
        saved.plan.variables.clone(),
        flags,
        context,
        ui,
    )?;
    if workspace.module.digest != saved.plan.module_digest {
        let dir = saved.module_dir.display();
        return Err(OpsError::new(
            "fk::cli::stale_plan",
            format!("the module `{dir}` changed since this plan was made"),
        )
        .help(format!(
            "make a new plan with `fk plan {dir} -out {}`",
            saved_path.display()
        )));
    }
    Ok(workspace)
}

/// Carries out a plan made earlier exactly, under the state lock, refused when the state
/// moved since (another lineage, another serial, a state appeared or vanished).
pub async fn apply_plan(
    workspace: &Workspace,
    store: &dyn StateStore,
    plan: Plan,
    parallelism: usize,
    lock_timeout: Duration,
    ui: &dyn Ui,
) -> Result<WalkDone, OpsError> {
    let _lock = lock(store, "apply", lock_timeout, ui).await?;
    let stored = store
        .load()
        .await
        .map_err(|err| OpsError::new("fk::state::load", err.to_string()))?;
    let now = stored
        .as_ref()
        .map(|state| (state.lineage.clone(), state.serial));
    let then = plan.state_lineage.clone().zip(plan.state_serial);
    if now != then {
        let reason = match (&now, &then) {
            (Some((lineage, _)), Some((planned_lineage, _))) if lineage != planned_lineage => {
                "it was made for a different state (its lineage differs)".to_string()
            }
            (Some((_, serial)), Some((_, planned_serial))) => {
                format!("serial {planned_serial} then, {serial} now")
            }
            (Some(_), None) => "it was made before any state existed; now there is one".into(),
            _ => "the state it was made against no longer exists".into(),
        };
        return Err(OpsError::new(
            "fk::cli::stale_plan",
            format!("the state moved since the plan was made: {reason}"),
        )
        .help("make a new plan and apply that"));
    }
    execute(workspace, plan, store, parallelism, ui).await
}

/// A plan with no changes still records what refresh learned (adopted creates, drift).
async fn persist_if_refreshed(store: &dyn StateStore, plan: &Plan) -> Result<(), OpsError> {
    let stored = store.load().await.ok().flatten();
    let refreshed = &plan.prior_state;
    let moved = match &stored {
        Some(stored) => {
            stored.resources != refreshed.resources || stored.deposed != refreshed.deposed
        }
        None => false,
    };
    if moved {
        let mut next = refreshed.clone();
        next.serial = plan.state_serial.unwrap_or(0) + 1;
        store
            .persist(&next)
            .await
            .map_err(|err| OpsError::new("fk::state::persist", err.to_string()))?;
    }
    Ok(())
}

async fn execute(
    workspace: &Workspace,
    plan: Plan,
    store: &dyn StateStore,
    parallelism: usize,
    ui: &dyn Ui,
) -> Result<WalkDone, OpsError> {
    if plan.state_lineage.is_none() {
        // Pin the lineage before the first journal record, so a crash in this first apply
        // replays onto this state's history and not a new random one.
        store
            .persist(&plan.prior_state)
            .await
            .map_err(|err| OpsError::new("fk::state::persist", err.to_string()))?;
    }
    let journal = open_journal(store).await?;
    let report = walk(workspace, &plan, journal, parallelism, ui.walk_started()).await;
    ui.walk_finished().await;
    let mut state: State = report.state.clone();
    state.serial = plan.state_serial.unwrap_or(0) + 1;
    state.lineage = plan.prior_state.lineage.clone();
    persist_walked(store, &state).await?;
    Ok(WalkDone {
        plan,
        report,
        state,
    })
}

/// The one call into the apply walk.
async fn walk(
    workspace: &Workspace,
    plan: &Plan,
    journal: Arc<dyn Journal>,
    parallelism: usize,
    io: WalkIo,
) -> ApplyReport {
    apply::run(ApplyInput {
        plan,
        module: &workspace.module,
        walk: WalkInput {
            registry: &workspace.registry,
            state: plan.prior_state.clone(),
            journal,
            parallelism,
            interrupt: io.interrupt,
            events: io.events,
        },
    })
    .await
}

pub(super) async fn open_journal(store: &dyn StateStore) -> Result<Arc<dyn Journal>, OpsError> {
    store
        .journal()
        .await
        .map_err(|err| OpsError::new("fk::state::journal", err.to_string()))
}

/// Compacts a walk's state into the store; on failure says that the journal still holds
/// every finished operation.
pub(super) async fn persist_walked(store: &dyn StateStore, state: &State) -> Result<(), OpsError> {
    store.persist(state).await.map_err(|err| {
        OpsError::new("fk::state::persist", err.to_string()).help(
            "the journal beside the state file still holds every finished operation; the next run reads it",
        )
    })
}
