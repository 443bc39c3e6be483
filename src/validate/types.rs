//! Written values against schema types: literals, templates, references to variables and
//! attributes of known types, nested blocks.

use std::collections::BTreeMap;

use super::{Checker, var_type_fits};
use crate::config::model::{Attr, Expr, ExprKind, RefTarget};
use crate::diag::{Diagnostic, Span};
use crate::provider::{Attribute, Presence, Type};
use crate::value::{PathSeg, Value};

/// Why a path does not lead to an attribute.
pub(super) struct PathProblem {
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

/// Follows `path` through attribute types; the type at its end, or why it goes nowhere.
pub(super) fn walk_schema_path<'s>(
    attributes: &'s [Attribute],
    path: &[PathSeg],
) -> Result<&'s Type, PathProblem> {
    let Some((PathSeg::Key(first), rest)) = path.split_first() else {
        return Err(PathProblem {
            message: "it does not start with an attribute name".into(),
            help: None,
        });
    };
    let Some(attribute) = attributes.iter().find(|attribute| attribute.name == *first) else {
        return Err(PathProblem {
            message: format!("there is no attribute `{first}`"),
            help: crate::diag::nearest(first, attributes.iter().map(|a| a.name.as_str()))
                .map(|near| format!("did you mean `{near}`?")),
        });
    };
    let mut ty = &attribute.ty;
    for step in rest {
        ty = match (ty, step) {
            (Type::Any, _) => return Ok(ty),
            (Type::List(of), PathSeg::Index(_)) => of,
            (Type::Map(of), PathSeg::Key(_)) => of,
            (Type::Object(fields), PathSeg::Key(key)) => {
                match fields.iter().find(|field| field.name == *key) {
                    Some(field) => &field.ty,
                    None => {
                        return Err(PathProblem {
                            message: format!("there is no attribute `{key}` inside"),
                            help: crate::diag::nearest(
                                key,
                                fields.iter().map(|field| field.name.as_str()),
                            )
                            .map(|near| format!("did you mean `{near}`?")),
                        });
                    }
                }
            }
            (other, PathSeg::Key(key)) => {
                return Err(PathProblem {
                    message: format!("a {} has no attribute `{key}`", other.describe()),
                    help: None,
                });
            }
            (other, PathSeg::Index(_)) => {
                return Err(PathProblem {
                    message: format!("a {} cannot be indexed", other.describe()),
                    help: None,
                });
            }
        };
    }
    Ok(ty)
}

/// True when an attribute on `path` (or a block it passes through) is sensitive.
pub(super) fn path_is_sensitive(attributes: &[Attribute], path: &[PathSeg]) -> bool {
    let mut fields = attributes;
    let mut ty: Option<&Type> = None;
    for step in path {
        match (ty, step) {
            (None, PathSeg::Key(key)) | (Some(Type::Object(_)), PathSeg::Key(key)) => {
                let Some(field) = fields.iter().find(|field| field.name == *key) else {
                    return false;
                };
                if field.sensitive {
                    return true;
                }
                ty = Some(&field.ty);
            }
            (Some(Type::List(of) | Type::Map(of)), _) => ty = Some(of),
            _ => return false,
        }
        if let Some(Type::Object(inner)) = ty {
            fields = inner;
        }
    }
    false
}

/// True when a plain value fits `ty`.
fn value_fits(value: &Value, ty: &Type) -> bool {
    match (value.unmarked(), ty) {
        (_, Type::Any) | (Value::Unknown, _) => true,
        (Value::String(_), Type::String) => true,
        (Value::Int(_), Type::Int | Type::Number) => true,
        (Value::Float(_), Type::Number) => true,
        (Value::Bool(_), Type::Bool) => true,
        (Value::List(items), Type::List(of)) => items.iter().all(|item| value_fits(item, of)),
        (Value::Map(map), Type::Map(of)) => map.values().all(|item| value_fits(item, of)),
        (Value::Map(_), Type::Object(_)) => true,
        _ => false,
    }
}

/// True when an attribute of type `found` can stand where `expected` is wanted.
fn types_fit(found: &Type, expected: &Type) -> bool {
    match (found, expected) {
        (Type::Any, _) | (_, Type::Any) => true,
        (Type::Int, Type::Int | Type::Number) => true,
        (Type::Number, Type::Number) => true,
        (Type::String, Type::String) | (Type::Bool, Type::Bool) => true,
        (Type::List(left), Type::List(right)) => types_fit(left, right),
        (Type::Map(_) | Type::Object(_), Type::Map(_) | Type::Object(_)) => true,
        _ => false,
    }
}

impl Checker<'_> {
    fn mismatch(&mut self, span: Span, what: &str, expected: &Type, found: &str) {
        let expected = with_article(&expected.describe());
        self.push(
            Diagnostic::error(
                "fk::validate::type_mismatch",
                format!("`{what}` expects {expected}, found {found}"),
            )
            .at(span, format!("expected {expected}")),
        );
    }

    /// Checks a written value against the attribute type `ty`; `what` names it in messages.
    pub(super) fn check_type(&mut self, expr: &Expr, ty: &Type, what: &str) {
        match (&expr.kind, ty) {
            (ExprKind::Literal(value), _) => {
                if !value_fits(value, ty) {
                    self.mismatch(expr.span, what, ty, &with_article(value.type_name()));
                }
            }
            (_, Type::Any) => {}
            (ExprKind::Template(_), Type::String) => {}
            (ExprKind::Template(_), _) => {
                self.mismatch(expr.span, what, ty, "a string");
            }
            (ExprKind::Interp(inner), _) => self.check_interpolated(inner, expr.span, ty, what),
            (ExprKind::List(items), Type::List(of)) => {
                for (item_idx, item) in items.iter().enumerate() {
                    self.check_type(item, of, &format!("{what}[{item_idx}]"));
                }
            }
            (ExprKind::Map(entries), Type::Map(of)) => {
                for (key, attr) in entries {
                    self.check_type(&attr.value, of, &format!("{what}.{key}"));
                }
            }
            (ExprKind::Map(entries), Type::Object(fields)) => {
                self.check_object(entries, fields, expr.span, what);
            }
            (ExprKind::List(_), _) => self.mismatch(expr.span, what, ty, "a list"),
            (ExprKind::Map(_), _) => self.mismatch(expr.span, what, ty, "a table"),
            (ExprKind::Ref(_) | ExprKind::Call { .. }, _) => {}
        }
    }

    /// A string that is only `${...}`: the type of what it refers to, where known.
    fn check_interpolated(&mut self, inner: &Expr, span: Span, ty: &Type, what: &str) {
        match &inner.kind {
            ExprKind::Literal(value) if !value_fits(value, ty) => {
                self.mismatch(span, what, ty, &with_article(value.type_name()));
            }
            ExprKind::Call { .. } if !matches!(ty, Type::String) => {
                self.mismatch(span, what, ty, "a string (functions return strings)");
            }
            ExprKind::Ref(reference) => match &reference.target {
                RefTarget::Var(name) => {
                    let Some(variable) = self.module.variables.get(name) else {
                        return;
                    };
                    if reference.path.is_empty() && !var_type_fits(variable.var_type, ty) {
                        let found =
                            format!("variable `{name}` of type {}", variable.var_type.name());
                        self.mismatch(span, what, ty, &found);
                    }
                }
                RefTarget::Resource(address) => {
                    if !self.module.resources.contains_key(address) {
                        return;
                    }
                    let Some(schema) = self.registry.schema(&address.resource_type).cloned() else {
                        return;
                    };
                    if let Ok(found) = walk_schema_path(&schema.attributes, &reference.path)
                        && !types_fit(found, ty)
                    {
                        let found = format!(
                            "{} (`{}.{}`)",
                            with_article(&found.describe()),
                            address,
                            crate::value::path_to_string(&reference.path)
                        );
                        self.mismatch(span, what, ty, &found);
                    }
                }
            },
            _ => {}
        }
    }

    /// A nested block (`[[containers]]`, an inline table) against its fields.
    fn check_object(
        &mut self,
        entries: &BTreeMap<String, Attr>,
        fields: &[Attribute],
        span: Span,
        what: &str,
    ) {
        let within = format!("`{what}`");
        for (key, attr) in entries {
            let Some(field) = fields.iter().find(|field| field.name == *key) else {
                self.unknown_attribute(key, attr.key_span, &within, fields);
                continue;
            };
            if field.presence == Presence::Computed {
                self.push(
                    Diagnostic::error(
                        "fk::validate::computed_attribute",
                        format!("`{what}.{key}` is computed by the provider and cannot be set"),
                    )
                    .at(attr.key_span, "set by the provider"),
                );
                continue;
            }
            self.check_type(&attr.value, &field.ty, &format!("{what}.{key}"));
        }
        for field in fields {
            if field.presence == Presence::Required && !entries.contains_key(&field.name) {
                self.push(
                    Diagnostic::error(
                        "fk::validate::missing_attribute",
                        format!(
                            "`{what}` is missing the required attribute `{}`",
                            field.name
                        ),
                    )
                    .at(span, format!("`{}` not set", field.name))
                    .help(format!(
                        "add `{} = ...` ({})",
                        field.name,
                        field.ty.describe()
                    )),
                );
            }
        }
    }
}

/// `a string`, `an integer`.
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}
