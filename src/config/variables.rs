//! Variable values: defaults, `FK_VAR_*`, `--var-file`, `-var`; later inputs win.

// Conversions fail with the diagnostic they report; errors are rare and cold.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::config::lowering::Lowering;
use crate::config::model::{Module, VarType, Variable};
use crate::diag::{Diagnostic, Diagnostics, SourceMap, Span, nearest};
use crate::value::Value;

/// One value given for a variable, from outside the module.
#[derive(Clone, Debug)]
pub struct VarInput {
    pub name: String,
    pub value: VarText,
    pub origin: VarOrigin,
}

#[derive(Clone, Debug)]
pub enum VarText {
    /// Text from `-var` or the environment, converted by the variable's type.
    Raw(String),
    /// A typed value from a var file, with its place there.
    Value(Value, Option<Span>),
}

/// Where an input came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarOrigin {
    /// `FK_VAR_<name>`.
    Env,
    /// `--var-file <path>`.
    File(PathBuf),
    /// `-var name=value`.
    Cli,
}

impl fmt::Display for VarOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarOrigin::Env => f.write_str("the environment"),
            VarOrigin::File(path) => write!(f, "var file `{}`", path.display()),
            VarOrigin::Cli => f.write_str("`-var`"),
        }
    }
}

/// Every variable's value: inputs applied in order (later wins) over defaults. Sensitive
/// variables come back as [`Value::Sensitive`].
pub fn resolve(module: &Module, inputs: &[VarInput]) -> (BTreeMap<String, Value>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let mut given: BTreeMap<&str, (Value, &VarInput)> = BTreeMap::new();
    for input in inputs {
        let Some(variable) = module.variables.get(&input.name) else {
            diagnostics.push(unknown_variable(module, input));
            continue;
        };
        match convert(variable, input) {
            Ok(value) => {
                given.insert(variable.name.as_str(), (value, input));
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let mut values = BTreeMap::new();
    for (name, variable) in &module.variables {
        let from_input = given.remove(name.as_str());
        if let Some(diagnostic) = below_minimum(variable, from_input.as_ref()) {
            diagnostics.push(diagnostic);
            continue;
        }
        let value = match from_input
            .map(|(value, _)| value)
            .or_else(|| variable.default.clone())
        {
            Some(value) => value,
            None => {
                diagnostics.push(
                    Diagnostic::error(
                        "fk::config::missing_variable",
                        format!("variable `{name}` has no value"),
                    )
                    .at(variable.span, "declared here without a default")
                    .help(format!(
                        "give it with `-var {name}=...`, a var file, or `FK_VAR_{name}`"
                    )),
                );
                continue;
            }
        };
        let value = if variable.sensitive {
            value.sensitive()
        } else {
            value
        };
        values.insert(name.clone(), value);
    }
    (values, diagnostics)
}

/// `fk::config::variable_below_minimum` when the value (given, else the default) is a number
/// under the variable's `minimum`.
fn below_minimum(variable: &Variable, given: Option<&(Value, &VarInput)>) -> Option<Diagnostic> {
    let (minimum, minimum_span) = variable.minimum?;
    let (value, origin, value_span) = match given {
        Some((value, input)) => {
            let span = match &input.value {
                VarText::Value(_, span) => *span,
                VarText::Raw(_) => None,
            };
            (value, input.origin.to_string(), span)
        }
        None => (
            variable.default.as_ref()?,
            "its default".to_owned(),
            variable.default_span,
        ),
    };
    let number = value.unmarked().as_f64()?;
    if number >= minimum {
        return None;
    }
    let mut diagnostic = Diagnostic::error(
        "fk::config::variable_below_minimum",
        format!(
            "variable `{}` is {number}, from {origin}, below its minimum {minimum}",
            variable.name
        ),
    );
    if let Some(span) = value_span {
        diagnostic = diagnostic.at(span, format!("below {minimum}"));
        diagnostic = diagnostic.also(minimum_span, "the minimum is declared here");
    } else {
        diagnostic = diagnostic.at(minimum_span, format!("{number} is below this minimum"));
    }
    Some(diagnostic.help(format!(
        "give `{}` a value of at least {minimum}",
        variable.name
    )))
}

fn unknown_variable(module: &Module, input: &VarInput) -> Diagnostic {
    let message = format!(
        "{} sets variable `{}`, which the module does not declare",
        input.origin, input.name
    );
    let mut diagnostic = if input.origin == VarOrigin::Env {
        Diagnostic::warning("fk::config::unknown_variable", message)
    } else {
        Diagnostic::error("fk::config::unknown_variable", message)
    };
    if let VarText::Value(_, Some(span)) = &input.value {
        diagnostic = diagnostic.at(*span, "not a variable of this module");
    }
    match nearest(&input.name, module.variables.keys().map(String::as_str)) {
        Some(near) => diagnostic.help(format!("did you mean `{near}`?")),
        None => diagnostic,
    }
}

fn convert(variable: &Variable, input: &VarInput) -> Result<Value, Diagnostic> {
    let (value, span) = match &input.value {
        VarText::Raw(text) => (convert_raw(variable, text, &input.origin)?, None),
        VarText::Value(value, span) => (value.clone(), *span),
    };
    if variable.var_type.accepts(&value) {
        return Ok(value);
    }
    let mut diagnostic = Diagnostic::error(
        "fk::config::invalid_variable_value",
        format!(
            "variable `{}` is a {}, but {} gives a {}",
            variable.name,
            variable.var_type.name(),
            input.origin,
            value.type_name()
        ),
    );
    if let Some(span) = span {
        diagnostic = diagnostic.at(span, format!("expected a {}", variable.var_type.name()));
    }
    Err(diagnostic.also(variable.span, "declared here"))
}

/// `-var` and environment text: numbers and bools parsed, lists and tables read as TOML.
fn convert_raw(variable: &Variable, text: &str, origin: &VarOrigin) -> Result<Value, Diagnostic> {
    let invalid = |expected: &str| {
        Diagnostic::error(
            "fk::config::invalid_variable_value",
            format!(
                "variable `{}` expects {expected}, but {origin} gives `{}`",
                variable.name,
                if variable.sensitive {
                    "(sensitive value)"
                } else {
                    text
                }
            ),
        )
        .also(variable.span, "declared here")
    };
    match variable.var_type {
        VarType::String | VarType::Any => Ok(Value::str(text)),
        VarType::Number => text
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .ok()
            .or_else(|| {
                // NaN and the infinities parse as floats but are no number a module can use.
                let float = text.trim().parse::<f64>().ok()?;
                float.is_finite().then_some(Value::Float(float))
            })
            .ok_or_else(|| invalid("a finite number")),
        VarType::Bool => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid("`true` or `false`")),
        },
        VarType::List | VarType::Table => {
            let expected = if variable.var_type == VarType::List {
                "a TOML list like `[\"a\", \"b\"]`"
            } else {
                "a TOML table like `{ a = 1 }`"
            };
            let Ok(parsed) = DeValue::parse(text) else {
                return Err(invalid(expected));
            };
            let mut scratch = Diagnostics::default();
            let mut no_files = |_: &str| Err(String::new());
            let mut cx = Lowering::new(
                crate::diag::FileId(u32::MAX),
                text,
                &mut scratch,
                &mut no_files,
            );
            let value = cx.literal(&parsed);
            if scratch.has_errors() {
                return Err(invalid(expected));
            }
            Ok(value)
        }
    }
}

/// Reads a var file (`name = value` lines, TOML) into inputs; the file joins `sources` so
/// diagnostics can quote it.
pub fn parse_var_file(
    path: &Path,
    text: &str,
    sources: &mut SourceMap,
) -> (Vec<VarInput>, Diagnostics) {
    let file = sources.add(path, text);
    let mut diagnostics = Diagnostics::default();
    let (document, errors) = DeTable::parse_recoverable(text);
    for error in &errors {
        diagnostics.push(crate::config::syntax_error(file, error));
    }
    let mut no_files = |_: &str| Err(String::new());
    let mut cx = Lowering::new(file, text, &mut diagnostics, &mut no_files);
    let inputs = document
        .get_ref()
        .iter()
        .map(|(key, value)| VarInput {
            name: key.get_ref().to_string(),
            value: VarText::Value(cx.literal(value), Some(cx.span(value.span()))),
            origin: VarOrigin::File(path.to_path_buf()),
        })
        .collect();
    (inputs, diagnostics)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::parse_sources;

    fn module() -> Module {
        let text = r#"
[variable.prefix]
default = "fk"

[variable.replicas]
type = "number"

[variable.debug]
type = "bool"
default = false

[variable.zones]
type = "list"
default = ["1"]

[variable.labels]
type = "table"
default = {}

[variable.password]
sensitive = true
default = "changeme"
"#;
        let files = vec![(PathBuf::from("m/main.toml"), text.to_string())];
        let (module, diagnostics) = parse_sources("m", &PathBuf::from("m"), files);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        module
    }

    fn raw(name: &str, text: &str, origin: VarOrigin) -> VarInput {
        VarInput {
            name: name.to_string(),
            value: VarText::Raw(text.to_string()),
            origin,
        }
    }

    #[test]
    fn later_inputs_win_over_earlier_ones_and_defaults() {
        let module = module();
        let inputs = [
            raw("prefix", "from-env", VarOrigin::Env),
            raw("replicas", "1", VarOrigin::Env),
            raw("prefix", "from-file", VarOrigin::File("a.toml".into())),
            raw("prefix", "from-flag", VarOrigin::Cli),
        ];
        let (values, diagnostics) = resolve(&module, &inputs);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(values["prefix"], Value::str("from-flag"));
        assert_eq!(values["replicas"], Value::Int(1));
        assert_eq!(
            values["debug"],
            Value::Bool(false),
            "defaults fill the rest"
        );
    }

    #[test]
    fn raw_text_converts_by_the_declared_type() {
        let module = module();
        let inputs = [
            raw("replicas", "2.5", VarOrigin::Cli),
            raw("debug", "true", VarOrigin::Cli),
            raw("zones", r#"["1", "2"]"#, VarOrigin::Cli),
            raw("labels", "{ team = \"k8s\" }", VarOrigin::Cli),
            raw("prefix", "42", VarOrigin::Cli),
        ];
        let (values, diagnostics) = resolve(&module, &inputs);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(values["replicas"], Value::Float(2.5));
        assert_eq!(values["debug"], Value::Bool(true));
        assert_eq!(values["zones"].as_list().map(Vec::len), Some(2));
        assert_eq!(values["labels"].get("team"), Some(&Value::str("k8s")));
        assert_eq!(values["prefix"], Value::str("42"), "a string stays text");
    }

    #[test]
    fn bad_text_for_a_typed_variable_is_a_diagnostic() {
        let module = module();
        let inputs = [
            raw("replicas", "many", VarOrigin::Cli),
            raw("debug", "yes", VarOrigin::Cli),
            raw("zones", "[1,", VarOrigin::Cli),
        ];
        let (_, diagnostics) = resolve(&module, &inputs);
        let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
        assert_eq!(
            codes,
            [
                "fk::config::invalid_variable_value",
                "fk::config::invalid_variable_value",
                "fk::config::invalid_variable_value",
                "fk::config::missing_variable",
            ],
            "replicas has no default, so it is also missing"
        );
    }

    #[test]
    fn unknown_name_suggests_the_nearest_and_env_only_warns() {
        let module = module();
        let inputs = [
            raw("prefx", "x", VarOrigin::Cli),
            raw("unrelated_thing", "x", VarOrigin::Env),
            raw("replicas", "1", VarOrigin::Cli),
        ];
        let (_, diagnostics) = resolve(&module, &inputs);
        let typo = &diagnostics.0[0];
        assert_eq!(typo.code, "fk::config::unknown_variable");
        assert!(typo.is_error());
        assert_eq!(typo.help, ["did you mean `prefix`?"]);
        assert!(
            !diagnostics.0[1].is_error(),
            "FK_VAR_* for another module is a warning"
        );
        assert_eq!(diagnostics.n_errors(), 1);
    }

    #[test]
    fn missing_value_points_at_the_declaration() {
        let module = module();
        let (values, diagnostics) = resolve(&module, &[]);
        assert!(!values.contains_key("replicas"));
        let missing = &diagnostics.0[0];
        assert_eq!(missing.code, "fk::config::missing_variable");
        let span = missing.primary.as_ref().map(|label| label.span);
        assert_eq!(span, Some(module.variables["replicas"].span));
    }

    #[test]
    fn sensitive_variables_come_back_marked() {
        let module = module();
        let inputs = [
            raw("password", "hunter2", VarOrigin::Cli),
            raw("replicas", "1", VarOrigin::Cli),
        ];
        let (values, _) = resolve(&module, &inputs);
        assert!(values["password"].is_sensitive());
        assert_eq!(values["password"].unmarked(), &Value::str("hunter2"));
    }

    #[test]
    fn var_file_values_are_typed_and_checked_at_their_span() {
        let mut module = module();
        let text = "replicas = 3\ndebug = \"no\"\nzones = [\"2\", \"3\"]\n";
        let (inputs, diagnostics) =
            parse_var_file(Path::new("prod.toml"), text, &mut module.sources);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(inputs.len(), 3);
        let (values, diagnostics) = resolve(&module, &inputs);
        assert_eq!(values["replicas"], Value::Int(3));
        assert_eq!(values["zones"].as_list().map(Vec::len), Some(2));
        let rendered = diagnostics.render(&module.sources);
        assert!(rendered.contains("--> prod.toml:2:9"), "{rendered}");
        assert!(
            rendered.contains("variable `debug` is a bool"),
            "{rendered}"
        );
    }

    #[test]
    fn var_file_syntax_errors_are_reported() {
        let mut sources = SourceMap::default();
        let (_, diagnostics) = parse_var_file(Path::new("bad.toml"), "a = \n", &mut sources);
        assert_eq!(diagnostics.0[0].code, "fk::config::syntax");
    }

    #[test]
    fn a_number_below_its_minimum_is_refused_wherever_it_comes_from() {
        let text = "[variable.kept]\ndefault = 5\nminimum = 2\n\n[variable.low]\ndefault = 0\nminimum = 1\n\n[variable.named]\ndefault = \"x\"\nminimum = 1\n";
        let files = vec![(PathBuf::from("m/main.toml"), text.to_string())];
        let (module, diagnostics) = parse_sources("m", &PathBuf::from("m"), files);
        let rendered = diagnostics.render(&module.sources);
        assert!(
            rendered.contains("`minimum` applies to number variables; `named` is a string")
                && rendered.contains("main.toml:11:11"),
            "{rendered}"
        );

        // The default of `low` is below; `kept` is fine until `-var` sets it to 1.
        let (values, diagnostics) = resolve(&module, &[]);
        let rendered = diagnostics.render(&module.sources);
        assert!(
            rendered.contains(
                "error[fk::config::variable_below_minimum]: variable `low` is 0, from its \
                 default, below its minimum 1"
            ) && rendered.contains("main.toml:6:11"),
            "{rendered}"
        );
        assert_eq!(diagnostics.0.len(), 1, "{rendered}");
        assert_eq!(values["kept"], Value::Int(5));
        assert!(!values.contains_key("low"));
        let (_, diagnostics) = resolve(&module, &[raw("kept", "1", VarOrigin::Cli)]);
        let rendered = diagnostics.render(&module.sources);
        assert!(
            rendered.contains("variable `kept` is 1, from `-var`, below its minimum 2")
                && rendered.contains("main.toml:3:11")
                && rendered.contains("give `kept` a value of at least 2"),
            "{rendered}"
        );
        let (values, diagnostics) = resolve(&module, &[raw("kept", "2", VarOrigin::Cli)]);
        assert!(
            diagnostics
                .0
                .iter()
                .all(|diag| !diag.message.contains("`kept`"))
        );
        assert_eq!(values["kept"], Value::Int(2));
    }
}
