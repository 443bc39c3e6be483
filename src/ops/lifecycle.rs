//! Stop and start: under the state lock, find what the action applies to, walk, persist.

use std::time::Duration;

use crate::addr::Address;
use crate::graph::{self, DependencyGraph};
use crate::lifecycle::{self, LifecycleInput, LifecycleReport};
use crate::provider::Action;
use crate::state::{State, StateStore};
use crate::walk::WalkInput;

use super::apply::{open_journal, persist_walked};
use super::{OpsError, Ui, Workspace, lock};

/// How a stop or start ended without an error of its own.
pub enum Acted {
    /// The module has no state: nothing was applied yet.
    NoState,
    /// Every resource that can take the action already has.
    NothingToDo,
    /// The walk ran over `targets` (shown to the [`Ui`] first); its report says whether every
    /// action succeeded.
    Walked {
        targets: Vec<Address>,
        report: Box<LifecycleReport>,
    },
}

/// `fk stop` and `fk start`. No confirmation: both are reversible and change no
/// configuration.
pub async fn act(
    workspace: &Workspace,
    store: &dyn StateStore,
    action: Action,
    parallelism: usize,
    lock_timeout: Duration,
    ui: &dyn Ui,
) -> Result<Acted, OpsError> {
    let operation = match action {
        Action::Stop => "stop",
        Action::Start => "start",
    };
    let _lock = lock(store, operation, lock_timeout, ui).await?;
    let Some(state) = store
        .load()
        .await
        .map_err(|err| OpsError::new("fk::state::load", err.to_string()))?
    else {
        return Ok(Acted::NoState);
    };
    let (graph, diagnostics) = graph::build(&workspace.module, Some(&state));
    let warnings = OpsError::check(diagnostics, &workspace.module.sources)?;
    if !warnings.is_empty() {
        ui.warnings(&warnings, &workspace.module.sources);
    }
    let targets = lifecycle::targets(action, &graph, &workspace.registry, &state);
    if targets.is_empty() {
        return Ok(Acted::NothingToDo);
    }
    ui.show_targets(action, &targets);
    let report = walk(workspace, store, state, &graph, action, parallelism, ui).await?;
    Ok(Acted::Walked {
        targets,
        report: Box::new(report),
    })
}

/// The one call into the stop/start walk, with the journal it writes and the compaction
/// after it (serial bumped).
async fn walk(
    workspace: &Workspace,
    store: &dyn StateStore,
    state: State,
    graph: &DependencyGraph,
    action: Action,
    parallelism: usize,
    ui: &dyn Ui,
) -> Result<LifecycleReport, OpsError> {
    let journal = open_journal(store).await?;
    let io = ui.walk_started();
    let serial = state.serial;
    let report = lifecycle::run(LifecycleInput {
        action,
        graph,
        walk: WalkInput {
            registry: &workspace.registry,
            state,
            journal,
            parallelism,
            interrupt: io.interrupt,
            events: io.events,
        },
    })
    .await;
    ui.walk_finished().await;
    let mut final_state = report.state.clone();
    final_state.serial = serial + 1;
    persist_walked(store, &final_state).await?;
    Ok(report)
}
