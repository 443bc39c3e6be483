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
//! so a world reloaded from its file continues where it was. Boundary: a crate of its own
//! (`fk-emulator`, re-exported by fk as `fk::emulator`) that does not depend on fk; it never
//! prints nor reads the environment: the caller (`fk emulator`, a test) passes everything in
//! through [`EmulatorConfig`] and prints. Clippy holds it to that (`print_stdout`,
//! `print_stderr`, and the environment functions listed in `clippy.toml` beside this file).
//!
//! # Layers
//!
//! Each layer uses only those below it; a module never calls back up (the test in
//! `layers.rs` reads the crate's source and holds every file to it):
//!
//! | layer | files | does |
//! |---|---|---|
//! | server | `server.rs`, `server/admin.rs` | HTTP, authentication, faults, the request log, persisting the world; `/_emulator/...` and `/msi/token` |
//! | router | `router.rs` | ARM path → route, api-versions, registration, settling the world, dispatch |
//! | resources | `resources/<type>.rs` | one module per resource type; may use the resource it lives in (share → account → group), never the router |
//! | operations | `operations.rs` | long-running operations: begin, `Azure-AsyncOperation` status, `Location` results |
//! | world | `world.rs` | every record, the log, the world file |
//!
//! Leaves any layer may use: `context.rs` (what a route is given), `clock.rs` (the only clock),
//! `arm_response.rs`, `names.rs`, `faults.rs`, `schema` (the OpenAPI validator, also used by
//! fk's provider tests), `config.rs`, `error.rs`. The Files data plane
//! (`resources/file_data.rs`) is reached from the server directly, as it is not ARM.
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

#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]
#![deny(clippy::disallowed_methods)]
// what fk does not use is `pub(crate)`: the crate's public surface is what lib.rs re-exports
#![deny(unreachable_pub)]

mod arm_response;
mod clock;
mod config;
mod context;
mod error;
mod faults;
#[cfg(test)]
mod layers;
mod names;
mod operations;
mod resources;
mod router;
pub mod schema;
mod server;
mod world;

pub use config::EmulatorConfig;
pub use error::EmulatorError;
pub use faults::FaultConfig;
pub use server::{RunningEmulator, serve, start};
pub use world::LogEntry;
