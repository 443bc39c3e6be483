//! TEMPORARY stand-in until the config branch lands (replaced at merge).
use crate::addr::Address;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::value::Value;

pub trait Scope {
    fn variable(&self, name: &str) -> Option<Value>;
    fn resource(&self, address: &Address) -> Option<Value>;
}

pub fn evaluate(expr: &Expr, scope: &dyn Scope) -> Result<Value, Diagnostic> {
    match &expr.kind {
        ExprKind::Literal(value) => Ok(value.clone()),
        ExprKind::Interp(inner) => evaluate(inner, scope),
        ExprKind::Template(parts) => {
            let mut out = String::new();
            for part in parts {
                match part {
                    TemplatePart::Text(text) => out.push_str(text),
                    TemplatePart::Interp(inner) => {
                        let value = evaluate(inner, scope)?;
                        if value.is_unknown() {
                            return Ok(Value::Unknown);
                        }
                        out.push_str(&value.to_interpolated().unwrap_or_default());
                    }
                }
            }
            Ok(Value::String(out))
        }
        ExprKind::Ref(reference) => {
            let base = match &reference.target {
                RefTarget::Var(name) => scope.variable(name),
                RefTarget::Resource(address) => scope.resource(address),
            };
            base.and_then(|value| value.get_path(&reference.path))
                .ok_or_else(|| {
                    Diagnostic::error("fk::eval::unsupported_attribute", "no such value")
                        .at(expr.span, "here")
                })
        }
        ExprKind::Call { .. } => Ok(Value::Unknown),
        ExprKind::List(items) => items
            .iter()
            .map(|item| evaluate(item, scope))
            .collect::<Result<_, _>>()
            .map(Value::List),
        ExprKind::Map(entries) => entries
            .iter()
            .map(|(key, attr)| evaluate(&attr.value, scope).map(|value| (key.clone(), value)))
            .collect::<Result<_, _>>()
            .map(Value::Map),
    }
}

pub fn references(expr: &Expr) -> Vec<(Reference, Span)> {
    let mut out = Vec::new();
    collect(expr, &mut out);
    out
}

fn collect(expr: &Expr, out: &mut Vec<(Reference, Span)>) {
    match &expr.kind {
        ExprKind::Ref(reference) => out.push((reference.clone(), expr.span)),
        ExprKind::Interp(inner) => collect(inner, out),
        ExprKind::Template(parts) => {
            for part in parts {
                if let TemplatePart::Interp(inner) = part {
                    collect(inner, out);
                }
            }
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|arg| collect(arg, out)),
        ExprKind::List(items) => items.iter().for_each(|item| collect(item, out)),
        ExprKind::Map(entries) => entries.values().for_each(|attr| collect(&attr.value, out)),
        ExprKind::Literal(_) => {}
    }
}
