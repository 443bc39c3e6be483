//! The command line: the only place that knows clap, environment variables and the terminal.
//! Commands are thin: parse flags, load, call one engine operation (`ops`), print. Every
//! failure comes back as an [`OpsError`] and is rendered in one place, [`render`].
//!
//! Exit codes (one place): 0 success; 1 error; 2 `plan --detailed-exitcode` found changes;
//! 130 interrupted (Ctrl-C); 143 interrupted by SIGTERM (128 + the signal's number, as
//! shells report it).

mod apply;
mod args;
mod inspect;
mod lifecycle;
mod observe;
mod plan;
mod progress;
mod state_cmd;
mod walk;

pub(crate) mod emulator;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ops::{self, OpsError};
use crate::provider::Action;

pub(crate) use args::normalize_args;

pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_ERROR: u8 = 1;
pub(crate) const EXIT_CHANGES: u8 = 2;
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
pub(crate) const EXIT_TERMINATED: u8 = 143;

#[derive(Parser, Debug)]
#[command(
    name = "fk",
    version,
    about = "Plan, apply and destroy a serverless Kubernetes cluster on Azure Container Instances"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a module: every problem at once, with file:line:col
    Validate(args::ModuleArgs),
    /// Refresh, diff and print what apply would do
    Plan(args::PlanArgs),
    /// Make the infrastructure match the module (or run a saved plan exactly)
    Apply(args::ApplyArgs),
    /// Destroy everything the module's state holds, dependents first
    Destroy(args::DestroyArgs),
    /// Stop the module's container groups, dependents first (no compute billing; DNS labels,
    /// configuration and etcd's snapshots are kept)
    Stop(args::LifecycleArgs),
    /// Start the module's stopped container groups, each ready before its dependents
    Start(args::LifecycleArgs),
    /// Print the module's dependency graph (DOT or mermaid)
    Graph(args::GraphArgs),
    /// Print the outputs recorded by the last apply (secrets stay hidden)
    Output(args::OutputArgs),
    /// Print the recorded state of every resource, or a saved plan (secrets stay hidden)
    Show(args::ShowArgs),
    /// Write the applied cluster's admin kubeconfig to a file (never to the terminal)
    Kubeconfig(args::KubeconfigArgs),
    /// Inspect the state
    #[command(subcommand)]
    State(args::StateCommand),
    /// Remove a lock left by a run that can no longer release it
    ForceUnlock(args::ForceUnlockArgs),
    /// What ARM says about each container group now (exit 1 when unhealthy)
    Status(observe::StatusArgs),
    /// Print what a component's container printed (ARM ContainerListLogs)
    Logs(observe::LogsArgs),
    /// Serve a local, ARM-compatible Azure for trying modules offline (until Ctrl-C)
    Emulator(emulator::EmulatorArgs),
}

/// Runs fk with the process's arguments and environment.
pub fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse_from(normalize_args(std::env::args_os()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let code = runtime.block_on(run(cli.command));
    ExitCode::from(code)
}

async fn run(command: Command) -> u8 {
    // The one read of the environment; non-Unicode variables are none of fk's.
    let env = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
    let context = ops::Context::new(env).with_retry_observer(progress::retry_printer);
    let context = &context;
    let result = match command {
        Command::Validate(args) => inspect::validate(args, context).await,
        Command::Plan(args) => plan::run(args, context).await,
        Command::Apply(args) => apply::run(args, context).await,
        Command::Destroy(args) => apply::destroy(args, context).await,
        Command::Stop(args) => lifecycle::run(args, Action::Stop, context).await,
        Command::Start(args) => lifecycle::run(args, Action::Start, context).await,
        Command::Graph(args) => inspect::graph(args, context).await,
        Command::Output(args) => inspect::output(args, context).await,
        Command::Show(args) => inspect::show(args, context).await,
        Command::State(command) => inspect::state(command, context).await,
        Command::Kubeconfig(args) => inspect::kubeconfig(args, context).await,
        Command::ForceUnlock(args) => inspect::force_unlock(args, context).await,
        Command::Emulator(args) => Ok(emulator::run(args).await),
        Command::Status(args) => observe::status(args, context).await,
        Command::Logs(args) => observe::logs(args, context).await,
    };
    result.unwrap_or_else(|err| {
        render(&err);
        EXIT_ERROR
    })
}

/// Every failure of every command is written here, on stderr: `error[code]: message`, then
/// `  = help: ...` and detail lines; a module's diagnostics with their source lines and the
/// count of errors.
fn render(err: &OpsError) {
    match err {
        OpsError::Module {
            diagnostics,
            sources,
        } => {
            eprint!("{}", diagnostics.render(sources));
            let n_errors = diagnostics.n_errors();
            let noun = if n_errors == 1 { "error" } else { "errors" };
            eprintln!("\n{n_errors} {noun}: nothing was changed");
        }
        failure => eprintln!("{failure}"),
    }
}

/// What a command returns: its exit code, or the failure [`render`] writes (exit code 1).
type CliResult = Result<u8, OpsError>;

/// The module a command works on, its warnings shown.
fn workspace(
    dir: &std::path::Path,
    vars: &args::VarArgs,
    flags: ops::ProviderFlags,
    checks: ops::Checks,
    context: &ops::Context,
) -> Result<ops::Workspace, OpsError> {
    let terminal = walk::Terminal::default();
    ops::load(dir, &vars.sources(), flags, checks, context, &terminal)
}
