//! Expression evaluation against a [`Scope`]. Pure: no IO, no environment.
//!
//! Marks flow through: a step into an unknown value is unknown, a template or call with an
//! unknown part is unknown, and anything built from a sensitive part is sensitive.

// `Result<Value, Diagnostic>` is the shared contract; evaluation errors are rare and cold.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use crate::addr::Address;
use crate::config::functions;
use crate::config::model::{Expr, ExprKind, RefTarget, Reference, TemplatePart};
use crate::diag::{Diagnostic, Span};
use crate::value::{PathSeg, Value, path_to_string};

/// Where references get their values: variables, and whole resources (maps that may hold
/// [`Value::Unknown`] parts).
pub trait Scope {
    fn variable(&self, name: &str) -> Option<Value>;
    fn resource(&self, address: &Address) -> Option<Value>;
}

/// Evaluates `expr`; the first problem met is returned as a diagnostic at its span.
pub fn evaluate(expr: &Expr, scope: &dyn Scope) -> Result<Value, Diagnostic> {
    match &expr.kind {
        ExprKind::Literal(value) => Ok(value.clone()),
        ExprKind::Interp(inner) => evaluate(inner, scope),
        ExprKind::Template(parts) => evaluate_template(parts, scope),
        ExprKind::Ref(reference) => evaluate_reference(reference, expr.span, scope),
        ExprKind::Call { function, args } => evaluate_call(function, args, expr.span, scope),
        ExprKind::List(items) => items
            .iter()
            .map(|item| evaluate(item, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        ExprKind::Map(entries) => entries
            .iter()
            .map(|(key, attr)| Ok((key.clone(), evaluate(&attr.value, scope)?)))
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Value::Map),
    }
}

fn evaluate_template(parts: &[TemplatePart], scope: &dyn Scope) -> Result<Value, Diagnostic> {
    let mut text = String::new();
    let mut unknown = false;
    let mut sensitive = false;
    for part in parts {
        match part {
            TemplatePart::Text(literal) => text.push_str(literal),
            TemplatePart::Interp(inner) => {
                let value = evaluate(inner, scope)?;
                sensitive |= value.contains_sensitive();
                if !value.is_wholly_known() {
                    unknown = true;
                    continue;
                }
                match value.to_interpolated() {
                    Some(part_text) => text.push_str(&part_text),
                    None => {
                        return Err(Diagnostic::error(
                            "fk::eval::not_a_string",
                            format!("cannot put a {} inside a string", value.type_name()),
                        )
                        .at(inner.span, "not a string, number or bool")
                        .help("use `join(\",\", ...)` to turn a list into a string"));
                    }
                }
            }
        }
    }
    let value = if unknown {
        Value::Unknown
    } else {
        Value::String(text)
    };
    Ok(if sensitive { value.sensitive() } else { value })
}

fn evaluate_reference(
    reference: &Reference,
    span: Span,
    scope: &dyn Scope,
) -> Result<Value, Diagnostic> {
    let (root, shown) = match &reference.target {
        RefTarget::Var(name) => (scope.variable(name), format!("var.{name}")),
        RefTarget::Resource(address) => (scope.resource(address), address.to_string()),
    };
    let Some(root) = root else {
        return Err(Diagnostic::error(
            "fk::eval::unknown_reference",
            format!("`{shown}` is not declared"),
        )
        .at(span, "no such variable or resource"));
    };
    follow_path(root, &reference.path, &shown, span)
}

/// Walks `path` into `value`, keeping marks: unknown stays unknown, sensitive marks the rest.
fn follow_path(
    value: Value,
    path: &[PathSeg],
    shown: &str,
    span: Span,
) -> Result<Value, Diagnostic> {
    let mut current = value;
    let mut sensitive = false;
    for (step_idx, step) in path.iter().enumerate() {
        if let Value::Sensitive(inner) = current {
            sensitive = true;
            current = *inner;
        }
        if current.is_unknown() {
            current = Value::Unknown;
            break;
        }
        let at = if step_idx == 0 {
            shown.to_string()
        } else {
            format!("{shown}.{}", path_to_string(&path[..step_idx]))
        };
        current = match (current, step) {
            (Value::Map(mut map), PathSeg::Key(key)) => match map.remove(key) {
                Some(child) => child,
                None => {
                    let near = crate::diag::nearest(key, map.keys().map(String::as_str))
                        .map(|near| format!("did you mean `{near}`?"));
                    let mut diagnostic = Diagnostic::error(
                        "fk::eval::unsupported_attribute",
                        format!("`{at}` has no attribute `{key}`"),
                    )
                    .at(span, "unsupported attribute");
                    if let Some(help) = near {
                        diagnostic = diagnostic.help(help);
                    }
                    return Err(diagnostic);
                }
            },
            (Value::List(mut items), PathSeg::Index(idx)) => {
                let n_items = items.len();
                if *idx >= n_items {
                    return Err(Diagnostic::error(
                        "fk::eval::invalid_index",
                        format!("index {idx} is out of range: `{at}` has {n_items} item(s)"),
                    )
                    .at(span, "index out of range"));
                }
                items.swap_remove(*idx)
            }
            (other, PathSeg::Key(key)) => {
                return Err(Diagnostic::error(
                    "fk::eval::unsupported_attribute",
                    format!(
                        "`{at}` is a {}, it has no attribute `{key}`",
                        other.type_name()
                    ),
                )
                .at(span, "unsupported attribute"));
            }
            (other, PathSeg::Index(_)) => {
                return Err(Diagnostic::error(
                    "fk::eval::invalid_index",
                    format!("`{at}` is a {}, not a list", other.type_name()),
                )
                .at(span, "cannot index this"));
            }
        };
    }
    Ok(if sensitive {
        current.sensitive()
    } else {
        current
    })
}

fn evaluate_call(
    function: &str,
    args: &[Expr],
    span: Span,
    scope: &dyn Scope,
) -> Result<Value, Diagnostic> {
    let values = args
        .iter()
        .map(|arg| evaluate(arg, scope))
        .collect::<Result<Vec<_>, _>>()?;
    let sensitive = values.iter().any(Value::contains_sensitive);
    let mark = |value: Value| if sensitive { value.sensitive() } else { value };
    if !values.iter().all(Value::is_wholly_known) {
        return Ok(mark(Value::Unknown));
    }
    let plain: Vec<Value> = values.iter().map(Value::strip_marks).collect();
    match functions::call(function, &plain) {
        Ok(value) => Ok(mark(value)),
        Err(error) => {
            let at = error
                .arg_idx
                .and_then(|arg_idx| args.get(arg_idx))
                .map_or(span, |arg| arg.span);
            Err(Diagnostic::error(
                "fk::eval::function_failed",
                format!("`{function}` failed: {}", error.message),
            )
            .at(at, "here"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::model::Attr;
    use crate::config::parse_sources;
    use crate::diag::Diagnostics;

    /// A resource's (or provider block's) attributes as one map value, every failing attribute
    /// reported (the tests' way to evaluate a whole block at once).
    fn evaluate_attributes(
        attributes: &BTreeMap<String, Attr>,
        scope: &dyn Scope,
    ) -> Result<Value, Diagnostics> {
        let mut values = BTreeMap::new();
        let mut diagnostics = Diagnostics::default();
        for (name, attr) in attributes {
            match evaluate(&attr.value, scope) {
                Ok(value) => {
                    values.insert(name.clone(), value);
                }
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        if diagnostics.is_empty() {
            Ok(Value::Map(values))
        } else {
            Err(diagnostics)
        }
    }

    struct TestScope;

    impl Scope for TestScope {
        fn variable(&self, name: &str) -> Option<Value> {
            match name {
                "count" => Some(Value::Int(3)),
                "names" => Some(Value::List(vec![Value::str("a"), Value::str("b")])),
                "password" => Some(Value::str("hunter2").sensitive()),
                "later" => Some(Value::Unknown),
                "prefix" => Some(Value::str("fk")),
                _ => None,
            }
        }

        fn resource(&self, address: &Address) -> Option<Value> {
            (address.to_string() == "test_group.etcd").then(|| {
                Value::Map(BTreeMap::from([
                    ("name".to_string(), Value::str("etcd")),
                    ("ip".to_string(), Value::Unknown),
                    ("key".to_string(), Value::str("k3y").sensitive()),
                    (
                        "containers".to_string(),
                        Value::List(vec![Value::Map(BTreeMap::from([(
                            "image".to_string(),
                            Value::str("etcd:3.5"),
                        )]))]),
                    ),
                ]))
            })
        }
    }

    /// Parses `value = <text>` in an output and evaluates it.
    fn eval_text(value_toml: &str) -> Result<Value, Diagnostic> {
        let text = format!("[output.x]\nvalue = {value_toml}\n");
        let files = vec![
            (PathBuf::from("m/main.toml"), text),
            (PathBuf::from("m/ca.pem"), "CERT".to_string()),
        ];
        let (module, diagnostics) = parse_sources("m", &PathBuf::from("m"), files);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        evaluate(&module.outputs["x"].value, &TestScope)
    }

    #[test]
    fn pure_reference_keeps_the_referenced_type() {
        assert_eq!(eval_text(r#""${var.count}""#).unwrap(), Value::Int(3));
        assert_eq!(
            eval_text(r#""${var.names}""#)
                .unwrap()
                .as_list()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(eval_text(r#""n=${var.count}""#).unwrap(), Value::str("n=3"));
    }

    #[test]
    fn unknown_flows_through_steps_templates_and_calls() {
        assert_eq!(
            eval_text(r#""${test_group.etcd.ip}""#).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            eval_text(r#""${test_group.etcd.ip.deeper[0]}""#).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            eval_text(r#""http://${test_group.etcd.ip}:2379""#).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            eval_text(r#""${upper(var.later)}""#).unwrap(),
            Value::Unknown
        );
        let list = eval_text(r#"["a", "${var.later}"]"#).unwrap();
        assert_eq!(list, Value::List(vec![Value::str("a"), Value::Unknown]));
    }

    #[test]
    fn sensitive_marks_propagate_through_templates_and_functions() {
        let templated = eval_text(r#""user:${var.password}""#).unwrap();
        assert!(templated.is_sensitive());
        assert_eq!(templated.unmarked(), &Value::str("user:hunter2"));
        let encoded = eval_text(r#""${base64encode(var.password)}""#).unwrap();
        assert!(encoded.is_sensitive());
        assert_eq!(encoded.unmarked(), &Value::str("aHVudGVyMg=="));
        assert!(
            eval_text(r#""${test_group.etcd.key}""#)
                .unwrap()
                .is_sensitive()
        );
        assert!(
            !eval_text(r#""${test_group.etcd.name}""#)
                .unwrap()
                .is_sensitive()
        );
    }

    #[test]
    fn calls_functions_with_nested_arguments() {
        assert_eq!(
            eval_text(r#"'${join("-", var.names)}'"#).unwrap(),
            Value::str("a-b")
        );
        assert_eq!(
            eval_text(r#"'${replace(upper(var.prefix), "F", "x")}-${sha256("")}'"#)
                .unwrap()
                .as_str()
                .map(|text| text.starts_with("xK-e3b0c442")),
            Some(true)
        );
        assert_eq!(
            eval_text(r#""${file(\"ca.pem\")}""#).unwrap(),
            Value::str("CERT")
        );
        assert_eq!(
            eval_text(r#""${test_group.etcd.containers[0].image}""#).unwrap(),
            Value::str("etcd:3.5")
        );
    }

    #[test]
    fn double_dollar_is_a_literal_interpolation() {
        assert_eq!(
            eval_text(r#""$${HOME} and ${var.prefix}""#).unwrap(),
            Value::str("${HOME} and fk")
        );
        assert_eq!(eval_text(r#""$${x}""#).unwrap(), Value::str("${x}"));
    }

    #[test]
    fn missing_attribute_and_bad_index_are_diagnostics() {
        let error = eval_text(r#""${test_group.etcd.nmae}""#).unwrap_err();
        assert_eq!(error.code, "fk::eval::unsupported_attribute");
        assert!(
            error.help.iter().any(|help| help.contains("`name`")),
            "{error:?}"
        );
        let error = eval_text(r#""${test_group.etcd.containers[5].image}""#).unwrap_err();
        assert_eq!(error.code, "fk::eval::invalid_index");
        let error = eval_text(r#"'${base64decode("%%%")}'"#).unwrap_err();
        assert_eq!(error.code, "fk::eval::function_failed");
        let error = eval_text(r#""list: ${var.names}""#).unwrap_err();
        assert_eq!(error.code, "fk::eval::not_a_string");
    }

    #[test]
    fn evaluates_all_attributes_and_reports_every_failure() {
        let text = "[resource.data.a]\nx = \"${var.count}\"\ny = \"${var.nope}\"\nz = \"${test_group.etcd.nmae}\"\n";
        let files = vec![(PathBuf::from("m/main.toml"), text.to_string())];
        let (module, _) = parse_sources("m", &PathBuf::from("m"), files);
        let resource = &module.resources[&Address::new("data", "a")];
        let diagnostics = evaluate_attributes(&resource.attributes, &TestScope).unwrap_err();
        let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
        assert_eq!(
            codes,
            [
                "fk::eval::unknown_reference",
                "fk::eval::unsupported_attribute"
            ]
        );
        let mut only_good = resource.attributes.clone();
        only_good.retain(|name, _| name == "x");
        let value = evaluate_attributes(&only_good, &TestScope).unwrap();
        assert_eq!(value.get("x"), Some(&Value::Int(3)));
    }
}
