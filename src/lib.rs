//! fk declares a serverless Kubernetes cluster ("Frankenetes") on Azure Container Instances
//! in TOML, and plans, applies and destroys it the way Terraform does.
//!
//! # The pipeline
//!
//! `config::parse → validate::check → graph::build → refresh → plan::diff → render → apply::run`
//!
//! The engine (everything but `cli`) never prints and never reads the environment; `ops`
//! sequences the phases into operations (plan, apply, destroy, stop, start, state moves) and
//! `cli` wires them to the terminal. ARCHITECTURE.md is the map.
//!
//! # Files fk reads and writes
//!
//! | file | owner | what |
//! |---|---|---|
//! | `<module>/*.toml` | `config` | the module, read together, never written |
//! | `--var-file F` | `ops` | variable values (TOML) |
//! | `state/<module>.json` | `state` | the state snapshot (owner-only permissions) |
//! | `state/<module>.json.backup` | `state` | the snapshot before the last write |
//! | `state/<module>.json.journal` | `state` | finished operations since the snapshot (JSON lines) |
//! | `state/<module>.json.lock` | `state` | who holds the state (owner, host, pid, operation, time) |
//! | blob `<blob>` (default `<module>.json`) in `[backend.azure_blob]` | `state::blob` | the snapshot, replaced with the lease and `If-Match` |
//! | blob `<blob>.journal` | `state::blob` | finished operations since the snapshot (append blob) |
//! | blob `<blob>.lock` | `state::blob` | who holds the state; exists while a run holds its leases |
//! | `state push`/`state pull` FILE | `ops` | a local state moved to or from the backend |
//! | `-out F` | `ops` | a saved plan, applied exactly by `fk apply F` |
//! | `--world F` of `fk emulator` | `emulator` | the emulated cloud, so successive runs see one world |

// Diagnostics are returned by value on purpose: they are cold-path data, and boxing them
// everywhere would only add noise.
#![allow(clippy::result_large_err)]

pub mod addr;
pub mod cli;
pub mod config;
pub mod diag;
pub use fk_emulator as emulator;
pub mod graph;
pub mod ops;
pub mod plan;
pub mod provider;
pub mod refresh;
pub mod render;
pub mod state;
pub mod validate;
pub mod value;
pub mod walk;

pub use walk::{apply, lifecycle};
