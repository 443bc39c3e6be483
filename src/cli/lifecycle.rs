//! `fk stop` and `fk start`: the flags to `ops::act`, then what did not finish.
//!
//! No confirmation: both are reversible and change no configuration. Stop keeps every
//! group's configuration, DNS label and the etcd snapshots on the file share; etcd stops
//! last, after everything that talks to it, and its snapshot sidecar writes the final
//! snapshot when the group's containers receive SIGTERM.

use crate::apply::Outcome;
use crate::ops::{self, Acted, Checks, Context, ProviderFlags};
use crate::provider::Action;

use super::args::LifecycleArgs;
use super::walk::Terminal;
use super::{CliResult, EXIT_ERROR, EXIT_OK, workspace};

/// (verb, past participle) as printed.
fn words(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Stop => ("stop", "stopped"),
        Action::Start => ("start", "started"),
    }
}

pub(crate) async fn run(args: LifecycleArgs, action: Action, context: &Context) -> CliResult {
    let (verb, past) = words(action);
    let flags = ProviderFlags {
        skip_before_stop: args.skip_before_stop,
    };
    let loaded = workspace(&args.module, &args.vars, flags, Checks::All, context)?;
    let state_file = args.state.state.as_deref();
    let store = ops::store(&loaded.module, &loaded.variables, state_file, context)?;
    let terminal = Terminal::default();
    let acted = ops::act(
        &loaded,
        store.as_ref(),
        action,
        args.parallelism,
        args.lock_timeout,
        &terminal,
    )
    .await?;
    let (targets, report) = match acted {
        Acted::NoState => {
            println!("Nothing to {verb}: the module has no state (apply it first).");
            return Ok(EXIT_OK);
        }
        Acted::NothingToDo => {
            println!("Nothing to {verb}: every resource that can {verb} is already {past}.");
            return Ok(EXIT_OK);
        }
        Acted::Walked { targets, report } => (targets, report),
    };
    if report.succeeded() {
        println!("\nDone: {} resource(s) {past}.", targets.len());
        return Ok(EXIT_OK);
    }
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
        terminal.interrupted_code()
    } else {
        EXIT_ERROR
    })
}
