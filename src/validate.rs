//! Semantic checks of a parsed module: every problem at once.

use crate::config::Module;
use crate::diag::Diagnostics;
use crate::provider::Registry;

/// TEMPORARY stand-in (replaced by the config branch at merge).
pub fn check(_module: &Module, _registry: &Registry) -> Diagnostics {
    Diagnostics::default()
}
