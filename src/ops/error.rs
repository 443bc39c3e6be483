//! [`OpsError`]: why an operation stopped, as a value the caller renders once.

use crate::diag::{Diagnostics, SourceMap};

/// One failure: a stable, greppable code (`fk::state::load`, `fk::cli::stale_plan`), a
/// one-line message, an optional help line and further lines (a provider's events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Empty for the few failures that have no code of their own.
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) details: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code.is_empty() {
            write!(f, "error: {}", self.message)?;
        } else {
            write!(f, "error[{}]: {}", self.code, self.message)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        for detail in &self.details {
            write!(f, "\n  {detail}")?;
        }
        Ok(())
    }
}

/// Why an operation stopped. Nothing was changed unless the failure says so (a walk that
/// could not compact its state says the journal still holds every finished operation).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Failed(Failure),
    /// Several failures at once (refreshing objects in parallel), in the order found.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<Failure>),
    /// Problems in the module, every one at once, with spans into `sources`.
    #[error("{}", .diagnostics.render(.sources))]
    Module {
        diagnostics: Diagnostics,
        sources: SourceMap,
    },
}

impl OpsError {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> OpsError {
        OpsError::Failed(Failure {
            code: code.into(),
            message: message.into(),
            help: None,
            details: Vec::new(),
        })
    }

    /// The same failure with a help line (a no-op on the other variants).
    pub(crate) fn help(mut self, help: impl Into<String>) -> OpsError {
        if let OpsError::Failed(failure) = &mut self {
            failure.help = Some(help.into());
        }
        self
    }

    /// The module's diagnostics as an error when any is one; the rest (warnings) otherwise.
    pub fn check(diagnostics: Diagnostics, sources: &SourceMap) -> Result<Diagnostics, OpsError> {
        if diagnostics.has_errors() {
            Err(OpsError::Module {
                diagnostics,
                sources: sources.clone(),
            })
        } else {
            Ok(diagnostics)
        }
    }

    /// The stable code of a single failure (`None` for several or for diagnostics).
    #[cfg(test)]
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            OpsError::Failed(failure) => Some(&failure.code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_renders_its_code_message_help_and_details_in_that_order() {
        let mut err = OpsError::new("fk::state::persist", "disk full").help("try again");
        if let OpsError::Failed(failure) = &mut err {
            failure.details.push("more".into());
        }
        assert_eq!(
            err.to_string(),
            "error[fk::state::persist]: disk full\n  = help: try again\n  more"
        );
        assert_eq!(err.code(), Some("fk::state::persist"));
        assert_eq!(
            OpsError::new("", "cannot read the answer").to_string(),
            "error: cannot read the answer"
        );
    }
}
