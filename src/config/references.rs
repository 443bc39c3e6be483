//! Every reference inside an expression: the edges of the dependency graph.

use crate::config::model::{Expr, ExprKind, Output, Reference, Resource, TemplatePart};
use crate::diag::Span;

/// Every `var.x` and `type.name.attr` inside `expr`, with its span, in source order.
pub fn references(expr: &Expr) -> Vec<(Reference, Span)> {
    let mut found = Vec::new();
    collect(expr, &mut found);
    found
}

fn collect(expr: &Expr, found: &mut Vec<(Reference, Span)>) {
    match &expr.kind {
        ExprKind::Literal(_) => {}
        ExprKind::Interp(inner) => collect(inner, found),
        ExprKind::Template(parts) => {
            for part in parts {
                if let TemplatePart::Interp(inner) = part {
                    collect(inner, found);
                }
            }
        }
        ExprKind::Ref(reference) => found.push((reference.clone(), expr.span)),
        ExprKind::Call { args, .. } => {
            for arg in args {
                collect(arg, found);
            }
        }
        ExprKind::List(items) => {
            for item in items {
                collect(item, found);
            }
        }
        ExprKind::Map(entries) => {
            for attr in entries.values() {
                collect(&attr.value, found);
            }
        }
    }
}

impl Resource {
    /// Every reference in the resource's attributes (not `depends_on`).
    pub fn references(&self) -> Vec<(Reference, Span)> {
        self.attributes
            .values()
            .flat_map(|attr| references(&attr.value))
            .collect()
    }
}

impl Output {
    pub fn references(&self) -> Vec<(Reference, Span)> {
        references(&self.value)
    }
}
