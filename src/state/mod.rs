//! State: the model, the local file store with its journal and lock.
pub mod model;
mod stub;
pub use model::*;
pub use stub::*;
