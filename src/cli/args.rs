//! Flags shared by the commands, and Terraform-style single-dash long flags.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Accepts Terraform's spelling (`-out=p`, `-var k=v`, `-auto-approve`) by rewriting the
/// known single-dash long flags to their `--` form.
pub(crate) fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    const LONG_FLAGS: &[&str] = &[
        "out",
        "var",
        "var-file",
        "target",
        "replace",
        "refresh",
        "json",
        "auto-approve",
        "detailed-exitcode",
        "parallelism",
        "destroy",
        "state",
        "lock-timeout",
    ];
    args.into_iter()
        .map(|arg| {
            let Some(text) = arg.to_str() else { return arg };
            let Some(rest) = text.strip_prefix('-') else {
                return arg;
            };
            if rest.starts_with('-') {
                return arg;
            }
            let name = rest.split('=').next().unwrap_or("");
            if LONG_FLAGS.contains(&name) {
                OsString::from(format!("-{text}"))
            } else {
                arg
            }
        })
        .collect()
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ModuleArgs {
    /// The module folder (`*.toml` files)
    pub(crate) module: PathBuf,
    #[command(flatten)]
    pub(crate) vars: VarArgs,
}

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct VarArgs {
    /// Set a variable: `-var name=value` (repeatable; later wins)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(crate) vars: Vec<String>,
    /// Read variables from a TOML file (repeatable; later wins)
    #[arg(long = "var-file", value_name = "FILE")]
    pub(crate) var_files: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct StateArgs {
    /// The state file (default: `state/<module>.json`)
    #[arg(long = "state", value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) vars: VarArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Read every object before planning (`--refresh=false` plans from state alone)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(crate) refresh: bool,
    /// Plan only this resource and what it depends on (repeatable)
    #[arg(long = "target", value_name = "ADDR")]
    pub(crate) targets: Vec<String>,
    /// Replace this resource even if nothing forces it (repeatable)
    #[arg(long = "replace", value_name = "ADDR")]
    pub(crate) replace: Vec<String>,
    /// How many operations run at once
    #[arg(long, default_value_t = 10)]
    pub(crate) parallelism: usize,
    /// How long to wait for a state lock another run holds: `0s` (fail at once), `30s`, `5m`
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) lock_timeout: std::time::Duration,
}

impl VarArgs {
    pub(crate) fn sources(&self) -> crate::ops::VarSources {
        crate::ops::VarSources {
            assignments: self.vars.clone(),
            files: self.var_files.clone(),
        }
    }
}

impl RunArgs {
    pub(crate) fn plan_options(&self, mode: crate::plan::Mode) -> crate::ops::PlanOptions {
        crate::ops::PlanOptions {
            mode,
            refresh: self.refresh,
            targets: self.targets.clone(),
            replace: self.replace.clone(),
            parallelism: self.parallelism,
            lock_timeout: self.lock_timeout,
        }
    }
}

/// `90`, `90s`, `5m`, `1h` as a duration.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(idx) => text.split_at(idx),
        None => (text, "s"),
    };
    let count: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. `30s` or `5m`"))?;
    let seconds = match unit {
        "s" => count,
        "m" => count.saturating_mul(60),
        "h" => count.saturating_mul(3600),
        _ => return Err(format!("`{text}` has an unknown unit; use `s`, `m` or `h`")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PlanArgs {
    pub(crate) module: PathBuf,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// Save the plan; `fk apply FILE` runs exactly it
    #[arg(long = "out", value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print the plan as JSON (format documented in `fk::render::plan_json`)
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long = "detailed-exitcode")]
    pub(crate) detailed_exitcode: bool,
    /// Plan the destruction of everything in state
    #[arg(long)]
    pub(crate) destroy: bool,
}

/// What `fk apply` and `fk destroy` share beyond the run flags.
#[derive(Args, Debug, Clone)]
pub(crate) struct ChangeArgs {
    /// Do not ask for confirmation
    #[arg(long = "auto-approve")]
    pub(crate) auto_approve: bool,
    /// Go on without a container group's `before_stop` handshake (the last etcd snapshot
    /// of the Frankenetes module): what was written since its last snapshot may be lost
    #[arg(long = "skip-before-stop")]
    pub(crate) skip_before_stop: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ApplyArgs {
    /// A module folder, or a plan saved with `fk plan -out FILE`
    pub(crate) target: PathBuf,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct DestroyArgs {
    pub(crate) module: PathBuf,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `fk stop` and `fk start`.
#[derive(Args, Debug, Clone)]
pub(crate) struct LifecycleArgs {
    pub(crate) module: PathBuf,
    #[command(flatten)]
    pub(crate) vars: VarArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// How many groups stop or start at once (dependency order always holds)
    #[arg(long, default_value_t = 10)]
    pub(crate) parallelism: usize,
    /// How long to wait for a state lock another run holds: `0s` (fail at once), `30s`, `5m`
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) lock_timeout: std::time::Duration,
    /// Go on without a container group's `before_stop` handshake (the last etcd snapshot
    /// of the Frankenetes module): what was written since its last snapshot may be lost
    #[arg(long = "skip-before-stop")]
    pub(crate) skip_before_stop: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct GraphArgs {
    pub(crate) module: PathBuf,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub(crate) format: GraphFormat,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct OutputArgs {
    pub(crate) module: PathBuf,
    /// One output; its value alone is printed (secrets never are)
    pub(crate) name: Option<String>,
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ShowArgs {
    /// A module folder (show its state) or a saved plan file
    pub(crate) target: PathBuf,
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct KubeconfigArgs {
    pub(crate) module: PathBuf,
    /// Where to write it (default: `state/<module>.kubeconfig`, owner-only)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// The output of the module that holds the kubeconfig
    #[arg(long = "from-output", default_value = "admin_kubeconfig")]
    pub(crate) from_output: String,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub(crate) enum StateCommand {
    /// List the addresses in state
    List {
        module: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Write a local state file to the module's backend (lineage must match, serial must
    /// not go back): how a cluster's state moves to a storage account
    Push {
        module: PathBuf,
        /// The local state file, e.g. `state/<module>.json`
        file: PathBuf,
        #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
        lock_timeout: std::time::Duration,
    },
    /// Read the module's state (journal replayed) into a local file, or to stdout
    Pull {
        module: PathBuf,
        /// Where to write it (owner-only); refuses to replace a newer or foreign state
        file: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ForceUnlockArgs {
    /// The lock ID the error message named
    pub(crate) lock_id: String,
    /// The module whose state is locked (default: the lock under `state/` with this ID)
    pub(crate) module: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_single_dash_flags_become_long_flags() {
        let args = [
            "fk", "plan", "m", "-out=p", "-var", "a=1", "-x", "--json", "-",
        ]
        .map(OsString::from);
        let normalized: Vec<String> = normalize_args(args)
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            normalized,
            [
                "fk", "plan", "m", "--out=p", "--var", "a=1", "-x", "--json", "-"
            ]
        );
    }
}
