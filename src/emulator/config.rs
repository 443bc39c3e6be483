//! How an emulator runs, as the caller (the CLI, a test) decides it: the emulator reads
//! no environment and no flags of its own.

use crate::faults::FaultConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How an emulator runs: where its world lives, how slow provisioning is, which faults it
/// injects.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The JSON file holding the emulated cloud; `None` keeps the world in memory only.
    pub world_file: Option<PathBuf>,
    /// The folder with `containerinstance/2026-05-01/containerInstance.json`, or that file:
    /// request bodies are then checked against the official specs; `None` checks them
    /// against the emulator's own description (`schema::described`).
    pub specs_dir: Option<PathBuf>,
    /// How long a container group (or storage account, resource-group delete) takes to
    /// provision; the first half is `Pending`, the second `Creating`.
    pub provisioning_delay: Duration,
    /// Faults injected into ARM routes.
    pub faults: FaultConfig,
    /// The address `start` binds; `None` means `127.0.0.1:0`.
    pub listen: Option<SocketAddr>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            world_file: None,
            specs_dir: None,
            provisioning_delay: Duration::from_secs(2),
            faults: FaultConfig::default(),
            listen: None,
        }
    }
}
