//! Text → module model with spans. No IO beyond reading the module folder.
pub mod eval;
pub mod model;
mod stub;
pub use eval::references;
pub use model::*;
pub use stub::*;
