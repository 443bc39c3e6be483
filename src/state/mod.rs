//! State: the model, the local file store with its journal and lock.
pub mod model;
pub use model::*;
