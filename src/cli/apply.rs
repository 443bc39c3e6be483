//! `fk apply` and `fk destroy`: the flags to `ops::apply` (or `ops::apply_plan` for a saved
//! plan), then the walk's summary and outputs.

use crate::apply::order::OpKind;
use crate::apply::{self, Outcome};
use crate::ops::{self, Applied, Checks, Context, OpsError, ProviderFlags, WalkDone};
use crate::plan::{Action, Mode, Plan};
use crate::state::State;
use crate::value::Value;

use super::args::{ApplyArgs, DestroyArgs, RunArgs};
use super::walk::Terminal;
use super::{CliResult, EXIT_ERROR, EXIT_OK, render, workspace};

pub(crate) async fn run(args: ApplyArgs, context: &Context) -> CliResult {
    let flags = ProviderFlags {
        skip_before_stop: args.change.skip_before_stop,
    };
    if args.target.is_file() {
        apply_saved(&args, flags, context).await
    } else {
        plan_and_apply(
            &args.target,
            &args.run,
            Mode::Normal,
            args.change.auto_approve,
            flags,
            context,
        )
        .await
    }
}

pub(crate) async fn destroy(args: DestroyArgs, context: &Context) -> CliResult {
    let flags = ProviderFlags {
        skip_before_stop: args.change.skip_before_stop,
    };
    plan_and_apply(
        &args.module,
        &args.run,
        Mode::Destroy,
        args.change.auto_approve,
        flags,
        context,
    )
    .await
}

async fn plan_and_apply(
    module_dir: &std::path::Path,
    run: &RunArgs,
    mode: Mode,
    auto_approve: bool,
    flags: ProviderFlags,
    context: &Context,
) -> CliResult {
    // A destroy plans no resource's values: the module's evaluation is checked first.
    let checks = if mode == Mode::Destroy {
        Checks::All
    } else {
        Checks::BeforePlanning
    };
    let terminal = Terminal::new(auto_approve);
    let loaded = workspace(module_dir, &run.vars, flags, checks, context)?;
    let state_file = run.state.state.as_deref();
    let store = ops::store(&loaded.module, &loaded.variables, state_file, context)?;
    let options = run.plan_options(mode);
    match ops::apply(&loaded, store.as_ref(), &options, &terminal).await? {
        Applied::NoChanges => Ok(EXIT_OK),
        Applied::Cancelled => {
            eprintln!("Apply cancelled: nothing was changed.");
            Ok(EXIT_ERROR)
        }
        Applied::Walked(done) => Ok(report(&loaded, &done, &terminal)),
    }
}

async fn apply_saved(args: &ApplyArgs, flags: ProviderFlags, context: &Context) -> CliResult {
    let saved = ops::read_saved_plan(&args.target, context)?;
    if !args.run.vars.vars.is_empty() || !args.run.vars.var_files.is_empty() {
        return Err(OpsError::new(
            "fk::cli::saved_plan_vars",
            "a saved plan carries its variables; `-var` and `--var-file` cannot change them",
        ));
    }
    let terminal = Terminal::new(true);
    let loaded = ops::load_saved(&saved, &args.target, flags, context, &terminal)?;
    let state_file = args.run.state.state.as_deref();
    let store = ops::store(&loaded.module, &loaded.variables, state_file, context)?;
    let done = ops::apply_plan(
        &loaded,
        store.as_ref(),
        saved.plan,
        args.run.parallelism,
        args.run.lock_timeout,
        &terminal,
    )
    .await?;
    Ok(report(&loaded, &done, &terminal))
}

/// What the walk did, on stderr (problems) and stdout (summary, outputs); the exit code.
fn report(loaded: &ops::Workspace, done: &WalkDone, terminal: &Terminal) -> u8 {
    let WalkDone {
        plan,
        report,
        state,
    } = done;
    if !report.diagnostics.is_empty() {
        eprint!("{}", report.diagnostics.render(&loaded.module.sources));
    }
    if let Some(error) = &report.error {
        render(&OpsError::new(error.code(), error.to_string()));
    }
    print_summary(plan, report);
    if report.succeeded() && plan.mode == Mode::Normal {
        print_outputs(state);
    }
    if report.interrupted {
        terminal.interrupted_code()
    } else if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}

fn print_summary(plan: &Plan, report: &apply::ApplyReport) {
    let succeeded = |kind: OpKind, actions: &[Action]| {
        report
            .results
            .iter()
            .filter(|result| result.kind == kind && result.outcome == Outcome::Succeeded)
            .filter(|result| actions.contains(&result.action))
            .count()
    };
    let replaces = [Action::DeleteThenCreate, Action::CreateThenDelete];
    let added = succeeded(OpKind::Apply, &[Action::Create]) + succeeded(OpKind::Apply, &replaces);
    let changed = succeeded(OpKind::Apply, &[Action::Update]);
    let destroyed =
        succeeded(OpKind::Destroy, &[Action::Delete]) + succeeded(OpKind::Destroy, &replaces);
    let verb = if plan.mode == Mode::Destroy {
        "Destroy"
    } else {
        "Apply"
    };
    if report.succeeded() {
        if plan.mode == Mode::Destroy {
            println!("\n{verb} complete! Resources: {destroyed} destroyed.");
        } else {
            println!(
                "\n{verb} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
            );
        }
        return;
    }
    let n_ok = report.count(|outcome| *outcome == Outcome::Succeeded);
    let n_failed = report.count(|outcome| matches!(outcome, Outcome::Failed(_)));
    let n_skipped = report.count(|outcome| matches!(outcome, Outcome::Skipped(_)));
    let n_not_started = report.count(|outcome| *outcome == Outcome::NotStarted);
    let headline = if report.interrupted {
        "interrupted"
    } else {
        "did not finish"
    };
    eprintln!(
        "\n{verb} {headline}: {n_ok} succeeded, {n_failed} failed, {n_skipped} skipped, {n_not_started} not started."
    );
    for result in &report.results {
        match &result.outcome {
            Outcome::Failed(message) => eprintln!("  failed   {}: {message}", result.address),
            Outcome::Skipped(reason) => eprintln!("  skipped  {}: {reason}", result.address),
            Outcome::NotStarted if report.interrupted => {
                eprintln!("  not started  {}", result.address)
            }
            _ => {}
        }
    }
    eprintln!("State is saved: run the same command again to finish the job.");
}

fn print_outputs(state: &State) {
    if state.outputs.is_empty() {
        return;
    }
    println!("\nOutputs:\n");
    let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
    for (name, output) in &state.outputs {
        let shown = if output.sensitive {
            "(sensitive value)".to_string()
        } else {
            Value::from_json(&output.value).to_string()
        };
        println!("{name:width$} = {shown}");
    }
}
