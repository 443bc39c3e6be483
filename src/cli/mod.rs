//! The command line: the only place that knows clap, environment variables and the terminal.
//! Commands are thin: parse flags, load, call one engine operation, print.
//!
//! Exit codes (one place): 0 success; 1 error; 2 `plan --detailed-exitcode` found changes;
//! 130 interrupted (Ctrl-C); 143 interrupted by SIGTERM (128 + the signal's number, as
//! shells report it).

mod apply;
mod args;
mod inspect;
mod lifecycle;
mod load;
mod observe;
mod plan;
mod progress;
mod state_cmd;
mod walk;

pub mod emulator;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::provider::Action;

pub use args::normalize_args;

pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;
pub const EXIT_TERMINATED: u8 = 143;

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
    match command {
        Command::Validate(args) => inspect::validate(args).await,
        Command::Plan(args) => plan::run(args).await,
        Command::Apply(args) => apply::run(args).await,
        Command::Destroy(args) => apply::destroy(args).await,
        Command::Stop(args) => lifecycle::run(args, Action::Stop).await,
        Command::Start(args) => lifecycle::run(args, Action::Start).await,
        Command::Graph(args) => inspect::graph(args).await,
        Command::Output(args) => inspect::output(args).await,
        Command::Show(args) => inspect::show(args).await,
        Command::State(command) => inspect::state(command).await,
        Command::Kubeconfig(args) => inspect::kubeconfig(args).await,
        Command::ForceUnlock(args) => inspect::force_unlock(args).await,
        Command::Emulator(args) => emulator::run(args).await,
        Command::Status(args) => observe::status(args).await,
        Command::Logs(args) => observe::logs(args).await,
    }
}
