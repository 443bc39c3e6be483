//! Expressions and references written back as module text (`"${var.prefix}-etcd"`), for
//! messages, plan annotations and tests.

use std::fmt;

use crate::config::model::{Expr, ExprKind, RefTarget, Reference, TemplatePart};
use crate::value::{PathSeg, Value};

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            RefTarget::Var(name) => write!(f, "var.{name}")?,
            RefTarget::Resource(address) => write!(f, "{address}")?,
        }
        for step in &self.path {
            match step {
                PathSeg::Key(key) => write!(f, ".{key}")?,
                PathSeg::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(Value::String(text)) => {
                write!(f, "{}", format!("{text:?}").replace("${", "$${"))
            }
            ExprKind::Literal(value) => write!(f, "{value}"),
            ExprKind::Interp(inner) => {
                f.write_str("\"${")?;
                write_inner(f, inner)?;
                f.write_str("}\"")
            }
            ExprKind::Template(parts) => {
                f.write_str("\"")?;
                for part in parts {
                    match part {
                        TemplatePart::Text(text) => {
                            let escaped = format!("{text:?}");
                            let escaped = escaped.trim_matches('"').replace("${", "$${");
                            f.write_str(&escaped)?;
                        }
                        TemplatePart::Interp(inner) => {
                            f.write_str("${")?;
                            write_inner(f, inner)?;
                            f.write_str("}")?;
                        }
                    }
                }
                f.write_str("\"")
            }
            ExprKind::Ref(_) | ExprKind::Call { .. } => {
                f.write_str("\"${")?;
                write_inner(f, self)?;
                f.write_str("}\"")
            }
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (item_idx, item) in items.iter().enumerate() {
                    if item_idx > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExprKind::Map(entries) => {
                f.write_str("{")?;
                for (entry_idx, (key, attr)) in entries.iter().enumerate() {
                    if entry_idx > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, " {key} = {}", attr.value)?;
                }
                f.write_str(if entries.is_empty() { "}" } else { " }" })
            }
        }
    }
}

/// An expression as written inside `${...}`.
fn write_inner(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    match &expr.kind {
        ExprKind::Ref(reference) => write!(f, "{reference}"),
        ExprKind::Call { function, args } => {
            write!(f, "{function}(")?;
            for (arg_idx, arg) in args.iter().enumerate() {
                if arg_idx > 0 {
                    f.write_str(", ")?;
                }
                write_inner(f, arg)?;
            }
            f.write_str(")")
        }
        ExprKind::Literal(Value::String(text)) => write!(f, "{text:?}"),
        ExprKind::Literal(value) => write!(f, "{value}"),
        _ => write!(f, "{expr}"),
    }
}
