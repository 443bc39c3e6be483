//! `fk apply` and `fk destroy`: plan (or read a saved plan), confirm, walk, persist.

use std::io::{BufRead as _, Write as _};

use crate::apply::order::OpKind;
use crate::apply::{self, ApplyInput, Outcome};
use crate::plan::{Action, Mode, Plan};
use crate::render;
use crate::state::{State, StateStore};
use crate::value::Value;

use super::args::{ApplyArgs, DestroyArgs, RunArgs};
use super::load::{self, Loaded};
use super::plan::{load_saved, lock, make_plan};
use super::walk;
use super::{EXIT_ERROR, EXIT_OK};

pub async fn run(args: ApplyArgs) -> u8 {
    let flags = load::ProviderFlags {
        skip_before_stop: args.skip_before_stop,
    };
    let result = if args.target.is_file() {
        apply_saved(&args, flags).await
    } else {
        plan_and_apply(
            &args.target,
            &args.run,
            Mode::Normal,
            args.auto_approve,
            flags,
        )
        .await
    };
    result.unwrap_or_else(|code| code)
}

pub async fn destroy(args: DestroyArgs) -> u8 {
    let flags = load::ProviderFlags {
        skip_before_stop: args.skip_before_stop,
    };
    plan_and_apply(
        &args.module,
        &args.run,
        Mode::Destroy,
        args.auto_approve,
        flags,
    )
    .await
    .unwrap_or_else(|code| code)
}

async fn plan_and_apply(
    module_dir: &std::path::Path,
    run: &RunArgs,
    mode: Mode,
    auto_approve: bool,
    flags: load::ProviderFlags,
) -> Result<u8, u8> {
    // A destroy plans no resource's values: the module's evaluation is checked first.
    let loaded = if mode == Mode::Destroy {
        load::module(module_dir, &run.vars, flags)?
    } else {
        load::module_to_plan(module_dir, &run.vars, flags)?
    };
    let store = load::store(&loaded.module, &loaded.variables, &run.state)?;
    let operation = if mode == Mode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let _lock = lock(store.as_ref(), operation, run.lock_timeout).await?;
    let plan = make_plan(&loaded, run, mode, store.as_ref()).await?;
    let stdout = console::Term::stdout();
    print!(
        "{}",
        render::plan_text(&plan, stdout.is_term() && console::colors_enabled())
    );
    let _ = std::io::stdout().flush();
    if !plan.has_changes() {
        persist_if_refreshed(store.as_ref(), &plan).await?;
        return Ok(EXIT_OK);
    }
    if !auto_approve && !confirm(mode)? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(EXIT_ERROR);
    }
    execute(&loaded, &plan, store.as_ref(), run.parallelism).await
}

async fn apply_saved(args: &ApplyArgs, flags: load::ProviderFlags) -> Result<u8, u8> {
    let saved = load_saved(&args.target)?;
    if !args.run.vars.vars.is_empty() || !args.run.vars.var_files.is_empty() {
        eprintln!(
            "error[fk::cli::saved_plan_vars]: a saved plan carries its variables; `-var` and `--var-file` cannot change them"
        );
        return Err(EXIT_ERROR);
    }
    let plan = saved.plan;
    let loaded = load::module_with_variables(&saved.module_dir, plan.variables.clone(), flags)?;
    if loaded.module.digest != plan.module_digest {
        eprintln!(
            "error[fk::cli::stale_plan]: the module `{}` changed since this plan was made\n  = help: make a new plan with `fk plan {} -out {}`",
            saved.module_dir.display(),
            saved.module_dir.display(),
            args.target.display()
        );
        return Err(EXIT_ERROR);
    }
    let store = load::store(&loaded.module, &loaded.variables, &args.run.state)?;
    let _lock = lock(store.as_ref(), "apply", args.run.lock_timeout).await?;
    let stored = store.load().await.map_err(|err| {
        eprintln!("error[fk::state::load]: {err}");
        EXIT_ERROR
    })?;
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
        eprintln!(
            "error[fk::cli::stale_plan]: the state moved since the plan was made: {reason}\n  = help: make a new plan and apply that"
        );
        return Err(EXIT_ERROR);
    }
    execute(&loaded, &plan, store.as_ref(), args.run.parallelism).await
}

fn confirm(mode: Mode) -> Result<bool, u8> {
    let question = match mode {
        Mode::Normal => "Do you want to perform these actions?",
        Mode::Destroy => "Do you really want to destroy all of these resources?",
    };
    eprint!("\n{question}\n  Only 'yes' will be accepted.\n\n  Enter a value: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| {
            eprintln!("error: cannot read the answer: {err}");
            EXIT_ERROR
        })?;
    Ok(answer.trim() == "yes")
}

/// A plan with no changes still records what refresh learned (adopted creates, drift).
async fn persist_if_refreshed(store: &dyn StateStore, plan: &Plan) -> Result<(), u8> {
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
        store.persist(&next).await.map_err(|err| {
            eprintln!("error[fk::state::persist]: {err}");
            EXIT_ERROR
        })?;
    }
    Ok(())
}

async fn execute(
    loaded: &Loaded,
    plan: &Plan,
    store: &dyn StateStore,
    parallelism: usize,
) -> Result<u8, u8> {
    if plan.state_lineage.is_none() {
        // Pin the lineage before the first journal record, so a crash in this first apply
        // replays onto this state's history and not a new random one.
        store.persist(&plan.prior_state).await.map_err(|err| {
            eprintln!("error[fk::state::persist]: {err}");
            EXIT_ERROR
        })?;
    }
    let (io, handles) = walk::open(store).await?;
    let report = apply::run(ApplyInput {
        plan,
        module: &loaded.module,
        walk: io.input(&loaded.registry, plan.prior_state.clone(), parallelism),
    })
    .await;
    let interrupted_code = handles.finish().await;

    let mut final_state: State = report.state.clone();
    final_state.serial = plan.state_serial.unwrap_or(0) + 1;
    final_state.lineage = plan.prior_state.lineage.clone();
    walk::persist(store, &final_state).await?;
    if !report.diagnostics.is_empty() {
        eprint!("{}", report.diagnostics.render(&loaded.module.sources));
    }
    if let Some(error) = &report.error {
        eprintln!("error[{}]: {error}", error.code());
    }
    print_summary(plan, &report);
    if report.succeeded() && plan.mode == Mode::Normal {
        print_outputs(&final_state);
    }
    Ok(if report.interrupted {
        interrupted_code
    } else if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
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
