//! `fk stop` and `fk start`: lock, load the state, say what will happen, walk, persist.
//!
//! No confirmation: both are reversible and change no configuration. Stop keeps every
//! group's configuration, DNS label and the etcd snapshots on the file share; etcd stops
//! last, after everything that talks to it, and its snapshot sidecar writes the final
//! snapshot when the group's containers receive SIGTERM.

use crate::apply::Outcome;
use crate::graph;
use crate::lifecycle::{self, LifecycleInput};
use crate::provider::Action;
use crate::state::StateStore;

use super::args::LifecycleArgs;
use super::load;
use super::plan::lock;
use super::walk;
use super::{EXIT_ERROR, EXIT_OK};

pub async fn run(args: LifecycleArgs, action: Action) -> u8 {
    act(&args, action).await.unwrap_or_else(|code| code)
}

/// (verb, past participle, order) as printed.
fn words(action: Action) -> (&'static str, &'static str, &'static str) {
    match action {
        Action::Stop => ("stop", "stopped", "dependents first"),
        Action::Start => ("start", "started", "each ready before its dependents"),
    }
}

async fn act(args: &LifecycleArgs, action: Action) -> Result<u8, u8> {
    let (verb, past, order) = words(action);
    let flags = load::ProviderFlags {
        skip_before_stop: args.skip_before_stop,
    };
    let loaded = load::module(&args.module, &args.vars, flags)?;
    let store = load::store(&loaded.module, &loaded.variables, &args.state)?;
    let _lock = lock(store.as_ref(), verb, args.lock_timeout).await?;
    let Some(state) = store.load().await.map_err(|err| {
        eprintln!("error[fk::state::load]: {err}");
        EXIT_ERROR
    })?
    else {
        println!("Nothing to {verb}: the module has no state (apply it first).");
        return Ok(EXIT_OK);
    };
    let (graph, diagnostics) = graph::build(&loaded.module, Some(&state));
    if load::report(&diagnostics, &loaded.module.sources) {
        return Err(EXIT_ERROR);
    }
    let targets = lifecycle::targets(action, &graph, &loaded.registry, &state);
    if targets.is_empty() {
        println!("Nothing to {verb}: every resource that can {verb} is already {past}.");
        return Ok(EXIT_OK);
    }
    println!("fk will {verb} {} resource(s), {order}:", targets.len());
    for address in &targets {
        println!("  {address}");
    }
    println!();
    let code = execute(
        &loaded,
        store.as_ref(),
        state,
        &graph,
        action,
        args.parallelism,
    )
    .await?;
    if code == EXIT_OK {
        println!("\nDone: {} resource(s) {past}.", targets.len());
    }
    Ok(code)
}

async fn execute(
    loaded: &load::Loaded,
    store: &dyn StateStore,
    state: crate::state::State,
    graph: &graph::DependencyGraph,
    action: Action,
    parallelism: usize,
) -> Result<u8, u8> {
    let (io, handles) = walk::open(store).await?;
    let serial = state.serial;
    let report = lifecycle::run(LifecycleInput {
        action,
        graph,
        walk: io.input(&loaded.registry, state, parallelism),
    })
    .await;
    let interrupted_code = handles.finish().await;
    let mut final_state = report.state.clone();
    final_state.serial = serial + 1;
    walk::persist(store, &final_state).await?;
    if report.succeeded() {
        return Ok(EXIT_OK);
    }
    let (verb, _, _) = words(action);
    for (address, outcome) in &report.results {
        match outcome {
            Outcome::Failed(message) => eprintln!("  failed   {address}: {message}"),
            Outcome::Skipped(reason) => eprintln!("  skipped  {address}: {reason}"),
            Outcome::NotStarted => eprintln!("  not started  {address}"),
            Outcome::Succeeded => {}
        }
    }
    eprintln!("\n`fk {verb}` did not finish. State is saved: run it again to finish the job.");
    Ok(if report.interrupted {
        interrupted_code
    } else {
        EXIT_ERROR
    })
}
