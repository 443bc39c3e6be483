//! The plan: a pure diff of the module against refreshed state.
//!
//! Invariant: `plan` does no IO. The same module, variables and state give the same plan,
//! byte for byte.

pub mod check;
pub(crate) mod cost;
pub(crate) mod diff;
pub mod model;

pub use check::check;
pub(crate) use diff::{PlanInput, diff};
pub use model::*;
