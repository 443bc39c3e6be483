//! `fk emulator`: a local, ARM-compatible Azure for trying modules offline.

use crate::emulator::{EmulatorConfig, FaultConfig, serve};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serve the subset of Azure Resource Manager that fk uses, on loopback, until Ctrl-C.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,
    /// File holding the emulated cloud, so successive commands see the same world.
    #[arg(long, default_value = "state/emulator-world.json")]
    pub(crate) world: PathBuf,
    /// How long provisioning takes (container groups, storage accounts, deletes), in ms.
    #[arg(long = "delay-ms", default_value_t = 2_000)]
    pub(crate) delay_ms: u64,
    /// Folder of the official Azure specs: request bodies are checked against them instead
    /// of the emulator's own description.
    #[arg(long, env = "FK_AZURE_SPECS")]
    pub(crate) specs: Option<PathBuf>,
    /// Fraction of ARM requests answered 429 (0.0-1.0).
    #[arg(long = "throttle-rate", default_value_t = 0.0)]
    pub(crate) throttle_rate: f64,
    /// `Retry-After` seconds sent with 429 and 503.
    #[arg(long = "retry-after", default_value_t = 1)]
    pub(crate) retry_after: u64,
    /// Answer the first N ARM requests with 503 / 500.
    #[arg(long = "fail-5xx", default_value_t = 0)]
    pub(crate) fail_5xx: u32,
    /// Latency added to every ARM request, in ms.
    #[arg(long = "latency-ms", default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Container-group name whose provisioning ends Failed (repeatable).
    #[arg(long = "fail-operation")]
    pub(crate) fail_operation: Vec<String>,
    /// Require `POST .../providers/{ns}/register` before a namespace can be used.
    #[arg(long = "require-registration")]
    pub(crate) require_registration: bool,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

/// Serves until Ctrl-C; returns the process exit code (0, or 1 when it cannot serve).
pub(crate) async fn run(args: EmulatorArgs) -> u8 {
    if !(0.0..=1.0).contains(&args.throttle_rate) {
        eprintln!(
            "error: `--throttle-rate` must be between 0.0 and 1.0, got {}",
            args.throttle_rate
        );
        return super::EXIT_ERROR;
    }
    let config = EmulatorConfig {
        world_file: Some(args.world.clone()),
        specs_dir: args.specs.clone(),
        provisioning_delay: Duration::from_millis(args.delay_ms),
        faults: FaultConfig {
            throttle_rate: args.throttle_rate,
            retry_after_secs: args.retry_after,
            fail_5xx: args.fail_5xx,
            latency_ms: args.latency_ms,
            fail_operations: args.fail_operation.clone(),
            require_registration: args.require_registration,
            seed: args.seed,
            ..FaultConfig::default()
        },
        listen: Some(args.listen),
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on `{}`: {error}", args.listen);
            return super::EXIT_ERROR;
        }
    };
    let local_addr = listener.local_addr().unwrap_or(args.listen);
    println!("listening on http://{local_addr}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match serve(listener, config, shutdown).await {
        Ok(()) => super::EXIT_OK,
        Err(error) => {
            eprintln!("error: {error}");
            super::EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        emulator: EmulatorArgs,
    }

    #[test]
    fn parses_fault_flags_and_keeps_documented_defaults() {
        let parsed = Command::try_parse_from([
            "fk",
            "--throttle-rate",
            "0.2",
            "--fail-operation",
            "etcd",
            "--fail-operation",
            "apiserver",
            "--seed",
            "7",
        ])
        .expect("flags parse");
        let args = parsed.emulator;
        assert_eq!(args.listen, "127.0.0.1:8787".parse().expect("address"));
        assert_eq!(args.world, PathBuf::from("state/emulator-world.json"));
        assert_eq!(args.delay_ms, 2_000);
        assert_eq!(args.throttle_rate, 0.2);
        assert_eq!(args.fail_operation, vec!["etcd", "apiserver"]);
        assert_eq!(args.seed, 7);
        assert!(Command::try_parse_from(["fk", "--listen", "not-an-address"]).is_err());
    }
}
