//! Text → module model with spans. No IO beyond reading the module folder.
pub mod model;
pub use model::*;
