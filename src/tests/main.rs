//! fk's integration tests: one test binary (`cargo test --test integration`), one module per
//! area, and the support modules they share declared once. One binary links the crate and its
//! dependencies once instead of once per file; a test is named by its module path
//! (`cargo test --test integration lifecycle::`).
//!
//! The whole binary needs the `test-providers` feature (the `fake` provider); `make test`
//! always turns it on.

mod blob_state;
mod cli;
mod config;
mod config_fuzz;
mod cost;
mod emulator_cloud;
mod emulator_container_groups;
mod emulator_end_to_end;
mod emulator_identity;
mod emulator_rbac;
mod emulator_specs;
mod engine_emulator_end_to_end;
mod engine_properties;
mod etcd_real;
mod frankenetes;
mod kubernetes_rules;
mod lifecycle;
mod pki;
mod plan_cases;
mod validate;
mod virtual_kubelet_run;

// Shared by the modules above.
mod cluster_support;
mod emulator_support;
mod schema_support;
mod support;
