//! References against what the module declares and what the target type's schema has.

use super::Checker;
use super::types::walk_schema_path;
use crate::addr::Address;
use crate::config::model::{Expr, RefTarget};
use crate::config::references;
use crate::diag::{Diagnostic, nearest};
use crate::value::path_to_string;

impl Checker<'_> {
    /// Every reference in `expr`; `from` is the resource holding it, if any.
    pub(super) fn check_references(&mut self, expr: &Expr, from: Option<&Address>) {
        for (reference, span) in references(expr) {
            match &reference.target {
                RefTarget::Var(name) => {
                    if self.module.variables.contains_key(name) {
                        continue;
                    }
                    let mut diagnostic = Diagnostic::error(
                        "fk::validate::unknown_reference",
                        format!("`var.{name}` is not declared"),
                    )
                    .at(span, "no such variable");
                    let names = self.module.variables.keys().map(String::as_str);
                    if let Some(near) = nearest(name, names) {
                        diagnostic = diagnostic.help(format!("did you mean `var.{near}`?"));
                    } else {
                        diagnostic = diagnostic
                            .help(format!("declare it with a `[variable.{name}]` section"));
                    }
                    self.push(diagnostic);
                }
                RefTarget::Resource(address) => {
                    if from == Some(address) {
                        self.push(
                            Diagnostic::error(
                                "fk::validate::self_reference",
                                format!("resource `{address}` refers to itself"),
                            )
                            .at(span, "a resource cannot use its own attributes")
                            .help("use the value directly, or a variable"),
                        );
                        continue;
                    }
                    if !self.module.resources.contains_key(address) {
                        let mut diagnostic = Diagnostic::error(
                            "fk::validate::unknown_reference",
                            format!("resource `{address}` is not declared"),
                        )
                        .at(span, "no such resource");
                        if let Some(near) = self.nearest_address(&address.to_string()) {
                            diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
                        }
                        self.push(diagnostic);
                        continue;
                    }
                    let Some(schema) = self.registry.schema(&address.resource_type).cloned() else {
                        continue;
                    };
                    if let Err(problem) = walk_schema_path(&schema.attributes, &reference.path) {
                        let mut diagnostic = Diagnostic::error(
                            "fk::validate::unknown_reference_attribute",
                            format!(
                                "cannot refer to `{address}.{}`: {}",
                                path_to_string(&reference.path),
                                problem.message
                            ),
                        )
                        .at(
                            span,
                            format!("not an attribute of `{}`", address.resource_type),
                        );
                        if let Some(help) = problem.help {
                            diagnostic = diagnostic.help(help);
                        }
                        self.push(diagnostic);
                    }
                }
            }
        }
    }
}
