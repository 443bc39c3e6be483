//! The Frankenetes module run by the real `fk` binary against an in-process emulator, as
//! the end-to-end tests (frankenetes, lifecycle, cost) share it.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use fk::emulator::{EmulatorConfig, LogEntry, RunningEmulator};

pub struct Cluster {
    pub emulator: RunningEmulator,
    /// The working folder: state lands in `state/frankenetes.json` below it.
    pub dir: tempfile::TempDir,
}

pub fn module_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("modules/frankenetes")
}

/// Standard output and standard error together, for messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

impl Cluster {
    /// An emulator whose operations take `delay_ms`, and an empty working folder.
    pub async fn start(delay_ms: u64) -> Cluster {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let emulator = fk::emulator::start(EmulatorConfig {
            provisioning_delay: Duration::from_millis(delay_ms),
            ..Default::default()
        })
        .await
        .expect("emulator starts");
        Cluster {
            emulator,
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    /// `fk ARGS...` pointed at the emulator, not yet run.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fk"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("FK_ARM_ENDPOINT", &self.emulator.base_url)
            .env(
                "AZURE_SUBSCRIPTION_ID",
                "00000000-0000-0000-0000-000000000000",
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `fk COMMAND modules/frankenetes EXTRA...`, run to the end.
    pub async fn on_module(&self, command: &str, extra: &[&str]) -> Output {
        let module = module_dir();
        let mut args = vec![command, module.to_str().expect("a UTF-8 path")];
        args.extend_from_slice(extra);
        self.command(&args).output().await.expect("fk runs")
    }

    pub async fn apply(&self) -> Output {
        self.on_module("apply", &["--auto-approve"]).await
    }

    /// `fk plan --detailed-exitcode EXTRA...`: exit 0 means nothing to do.
    pub async fn plan(&self, extra: &[&str]) -> Output {
        let mut args = vec!["--detailed-exitcode"];
        args.extend_from_slice(extra);
        self.on_module("plan", &args).await
    }

    pub fn log(&self) -> Vec<LogEntry> {
        self.emulator.log_entries()
    }
}
