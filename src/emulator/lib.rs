//! The local ARM-compatible Azure emulator.
//!
//! `fk emulator` serves the subset of Azure Resource Manager that the Azure provider uses,
//! over real HTTP on loopback, with the service's observable behaviour as written down in
//! `reference/azure-arm.md`: resource groups (delete cascades), storage accounts (202 +
//! `Location`, global names, listKeys), file shares, container groups (201 +
//! `Azure-AsyncOperation`, `Pending → Creating → Succeeded`, instance views, start / stop /
//! restart, DNS labels unique per region, `InvalidContainerGroupUpdate`, secrets stripped
//! from GET), CloudError bodies, schema validation of container-group bodies, a request log,
//! fault injection and a world kept in a file.
//!
//! Invariant: every state is computed from timestamps kept in the world, never from timers,
//! so a world reloaded from its file continues where it was. Boundary: the emulator never
//! prints; `cli::emulator` does.
//!
//! # Routes
//!
//! ARM routes need `Authorization: Bearer <anything>` and a supported `api-version`; path
//! segments are case-insensitive. `{rg}` = `/subscriptions/{sub}/resourceGroups/{rg}`.
//!
//! | route | answers |
//! |---|---|
//! | `PUT/GET/HEAD/DELETE /subscriptions/{sub}/resourcegroups/{rg}` | 201/200; 404; DELETE 202 + `Location` (cascades) |
//! | `PUT/GET/DELETE {rg}/providers/Microsoft.Storage/storageAccounts/{a}` | PUT 202 + `Location` (200 if it exists); DELETE 200/204 |
//! | `POST .../storageAccounts/{a}/listKeys`, `POST /subscriptions/{sub}/providers/Microsoft.Storage/checkNameAvailability` | keys; availability |
//! | `PUT/GET/DELETE .../storageAccounts/{a}/fileServices/default/shares/{s}` | 201/200; 404; 200/204 |
//! | `PUT/GET/PATCH/DELETE {rg}/providers/Microsoft.ContainerInstance/containerGroups/{g}` | PUT 201/200 + `Azure-AsyncOperation`; PATCH tags; DELETE 200/204 |
//! | `POST .../containerGroups/{g}/start` · `stop` · `restart` | 202 + `Azure-AsyncOperation` (204 if running) · 204 · 204 |
//! | `GET {rg}/providers/Microsoft.ContainerInstance/containerGroups`, and per subscription | `{"value": [...]}` without instance views |
//! | `PUT/GET/DELETE {rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{i}` | PUT 201/200 with clientId/principalId/tenantId; DELETE 200/204 |
//! | `PUT/GET/DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}` | PUT 201/200; 400 `PrincipalNotFound` until a new identity replicates; 409 `RoleAssignmentExists`; DELETE 200/204 |
//! | `GET .../locations/{l}/operations/{id}` (ACI), `.../asyncoperations/{id}`, `/subscriptions/{sub}/operationresults/{id}` | operation status; `Location` results |
//! | `POST /subscriptions/{sub}/providers/{ns}/register`, `GET .../providers/{ns}` | provider registration |
//!
//! Not ARM (never faulted): `GET /_emulator/log` → `{"entries": [...]}` where an entry is
//! `{"kind":"request","seq":1,"ms":12,"method":"PUT","path":"/subscriptions/...","status":201}`
//! or `{"kind":"event","seq":2,"ms":12,"resource":"/subscriptions/.../containerGroups/web","event":"Pending"}`
//! (events: `Created`, `Creating`, `Pending`, `Updating`, `Succeeded`, `containers Running`,
//! `Failed`, `Stopped`, `Deleting`, `Deleted`), in `seq` order, a request before the events it
//! caused; `GET`/`PUT /_emulator/faults` (a [`FaultConfig`] as JSON); and
//! `GET /msi/token?api-version=2019-08-01&resource=...` with header `x-identity-header`.
//!
//! Start one in-process from a test:
//!
//! ```no_run
//! # async fn demo() -> Result<(), fk_emulator::EmulatorError> {
//! let config = fk_emulator::EmulatorConfig {
//!     provisioning_delay: std::time::Duration::from_millis(100),
//!     ..Default::default()
//! };
//! let emulator = fk_emulator::start(config).await?;
//! // talk to emulator.base_url with `Authorization: Bearer anything`
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod arm_response;
mod container_group_rules;
mod container_group_view;
mod container_groups;
mod faults;
mod file_data;
mod file_shares;
mod identities;
mod names;
mod operations;
mod providers;
mod request_router;
mod resource_groups;
mod role_assignments;
pub mod schema;
mod server;
mod storage_accounts;
mod world;

pub use faults::FaultConfig;
pub use server::{RunningEmulator, serve, start};
pub use world::{LogEntry, World};

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

/// Why an emulator could not start or keep its world.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the world file `{path}`: {source}")]
    ReadWorld {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the world file `{path}` is not a valid emulator world: {source}")]
    ParseWorld {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the world file `{path}`: {source}")]
    WriteWorld {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the specification `{path}`: {message}")]
    Spec { path: PathBuf, message: String },
    #[error("the emulator server failed: {0}")]
    Serve(std::io::Error),
}
