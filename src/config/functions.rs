//! The built-in functions callable inside `${...}`: a small, documented set.
//!
//! Every function takes and returns plain values; marks (unknown, sensitive) are handled by
//! the evaluator around the call, so the bodies here never see them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use crate::value::Value;

/// A function's name and its parameters (for messages and the language page).
pub(crate) struct FunctionSpec {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [&'static str],
}

pub(crate) const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "base64decode",
        params: &["text"],
    },
    FunctionSpec {
        name: "base64encode",
        params: &["text"],
    },
    FunctionSpec {
        name: "file",
        params: &["path"],
    },
    FunctionSpec {
        name: "join",
        params: &["separator", "list"],
    },
    FunctionSpec {
        name: "lower",
        params: &["text"],
    },
    FunctionSpec {
        name: "replace",
        params: &["text", "from", "to"],
    },
    FunctionSpec {
        name: "sha256",
        params: &["text"],
    },
    FunctionSpec {
        name: "upper",
        params: &["text"],
    },
];

pub(crate) fn spec(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|function| function.name == name)
}

pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|function| function.name)
}

/// A function call that failed: which argument (when one is to blame) and why.
#[derive(Debug, PartialEq)]
pub(crate) struct CallError {
    pub(crate) arg_idx: Option<usize>,
    pub(crate) message: String,
}

impl CallError {
    fn at(arg_idx: usize, message: impl Into<String>) -> CallError {
        CallError {
            arg_idx: Some(arg_idx),
            message: message.into(),
        }
    }
}

/// Calls `name` on plain, wholly known values.
pub(crate) fn call(name: &str, args: &[Value]) -> Result<Value, CallError> {
    let Some(function) = spec(name) else {
        return Err(CallError {
            arg_idx: None,
            message: format!("unknown function `{name}`"),
        });
    };
    if args.len() != function.params.len() {
        return Err(CallError {
            arg_idx: None,
            message: format!(
                "`{name}` takes {} argument(s) ({}), got {}",
                function.params.len(),
                function.params.join(", "),
                args.len()
            ),
        });
    }
    match name {
        "base64encode" => Ok(Value::String(BASE64.encode(text_arg(args, 0)?))),
        "base64decode" => {
            let bytes = BASE64
                .decode(text_arg(args, 0)?.trim())
                .map_err(|err| CallError::at(0, format!("not valid base64: {err}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| CallError::at(0, "the decoded bytes are not UTF-8 text"))
        }
        "join" => {
            let separator = text_arg(args, 0)?;
            let Some(items) = args[1].as_list() else {
                return Err(CallError::at(
                    1,
                    format!("expected a list, found {}", args[1].type_name()),
                ));
            };
            let texts = items
                .iter()
                .map(|item| {
                    item.to_interpolated().ok_or_else(|| {
                        CallError::at(1, format!("cannot join a {}", item.type_name()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::String(texts.join(&separator)))
        }
        "lower" => Ok(Value::String(text_arg(args, 0)?.to_lowercase())),
        "upper" => Ok(Value::String(text_arg(args, 0)?.to_uppercase())),
        "replace" => {
            let text = text_arg(args, 0)?;
            let from = text_arg(args, 1)?;
            let to = text_arg(args, 2)?;
            if from.is_empty() {
                return Err(CallError::at(1, "the text to replace is empty"));
            }
            Ok(Value::String(text.replace(&from, &to)))
        }
        "sha256" => {
            let digest = Sha256::digest(text_arg(args, 0)?.as_bytes());
            Ok(Value::String(hex(&digest)))
        }
        _ => Err(CallError {
            arg_idx: None,
            message: format!("`{name}` is resolved when the module is read, not evaluated"),
        }),
    }
}

fn text_arg(args: &[Value], arg_idx: usize) -> Result<String, CallError> {
    args[arg_idx].to_interpolated().ok_or_else(|| {
        CallError::at(
            arg_idx,
            format!("expected a string, found {}", args[arg_idx].type_name()),
        )
    })
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(texts: &[&str]) -> Vec<Value> {
        texts.iter().map(|text| Value::str(*text)).collect()
    }

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        let encoded = call("base64encode", &strings(&["hello"])).unwrap();
        assert_eq!(encoded, Value::str("aGVsbG8="));
        assert_eq!(
            call("base64decode", &[encoded]).unwrap(),
            Value::str("hello")
        );
        let error = call("base64decode", &strings(&["!!"])).unwrap_err();
        assert_eq!(error.arg_idx, Some(0));
    }

    #[test]
    fn join_replace_case_and_sha256() {
        let list = Value::List(vec![Value::str("a"), Value::Int(1), Value::Bool(true)]);
        assert_eq!(
            call("join", &[Value::str(","), list]).unwrap(),
            Value::str("a,1,true")
        );
        assert_eq!(
            call("replace", &strings(&["a-b-c", "-", "+"])).unwrap(),
            Value::str("a+b+c")
        );
        assert_eq!(call("upper", &strings(&["aB"])).unwrap(), Value::str("AB"));
        assert_eq!(call("lower", &strings(&["aB"])).unwrap(), Value::str("ab"));
        assert_eq!(
            call("sha256", &strings(&["abc"])).unwrap(),
            Value::str("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn wrong_arity_and_wrong_types_are_errors() {
        assert_eq!(call("upper", &[]).unwrap_err().arg_idx, None);
        let error = call("join", &strings(&[",", "not a list"])).unwrap_err();
        assert_eq!(error.arg_idx, Some(1));
        let error = call("upper", &[Value::List(vec![])]).unwrap_err();
        assert!(error.message.contains("expected a string"), "{error:?}");
    }
}
