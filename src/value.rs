//! The dynamic value every attribute, variable and output holds.
//!
//! Two marks ride along inside the tree: [`Value::Unknown`] (known only after apply) and
//! [`Value::Sensitive`] (a secret: never displayed, never logged). Marks flow through
//! references and interpolation, so a string built from a secret is itself a secret.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Known only after apply.
    Unknown,
    /// A secret. Rendering shows `(sensitive value)`; state keeps the plaintext and the path.
    Sensitive(Box<Value>),
}

/// One step of a path into a value: `containers[0].env.DB_PASSWORD`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(untagged)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

pub(crate) type Path = Vec<PathSeg>;

/// `containers[0].image` for a path. A key that is not a plain name (letters, digits, `_`,
/// `-`) is quoted: `tags["fk.io/cluster"]`, so the text always parses back to the same path.
pub fn path_to_string(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(key) if is_plain_key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            PathSeg::Key(key) => {
                out.push('[');
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(']');
            }
            PathSeg::Index(idx) => {
                out.push('[');
                out.push_str(&idx.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses what [`path_to_string`] writes back into a path; malformed text yields the steps
/// read up to the problem.
pub(crate) fn path_from_string(text: &str) -> Path {
    let mut path = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            if inner.starts_with('"') {
                // A quoted key: a JSON string up to its closing quote.
                let mut stream = serde_json::Deserializer::from_str(inner).into_iter::<String>();
                let Some(Ok(key)) = stream.next() else { break };
                let consumed = stream.byte_offset();
                let Some(after) = inner[consumed..].strip_prefix(']') else {
                    break;
                };
                path.push(PathSeg::Key(key));
                rest = after;
            } else {
                let Some(close) = inner.find(']') else { break };
                let Ok(idx) = inner[..close].parse() else {
                    break;
                };
                path.push(PathSeg::Index(idx));
                rest = &inner[close + 1..];
            }
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            if end == 0 {
                break;
            }
            path.push(PathSeg::Key(rest_trimmed[..end].to_string()));
            rest = &rest_trimmed[end..];
        }
    }
    path
}

impl Value {
    pub fn str(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            Value::Unknown => Value::Sensitive(Box::new(Value::Unknown)),
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// The value with its top-level sensitive mark removed (inner marks stay).
    pub fn unmarked(&self) -> &Value {
        match self {
            Value::Sensitive(inner) => inner.unmarked(),
            other => other,
        }
    }

    pub(crate) fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True when the value or anything inside it is marked sensitive.
    pub(crate) fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(map) => map.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self.unmarked(), Value::Unknown)
    }

    /// True when nothing inside is unknown.
    pub(crate) fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(map) => map.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.unmarked(), Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self.unmarked() {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.unmarked() {
            Value::Int(number) => Some(*number as f64),
            Value::Float(number) => Some(*number),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self.unmarked() {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmarked() {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    pub(crate) fn as_map_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Map(map) => Some(map),
            Value::Sensitive(inner) => inner.as_map_mut(),
            _ => None,
        }
    }

    /// Map lookup; `None` when this is not a map or the key is absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|map| map.get(key))
    }

    /// Follows a path; a sensitive step marks the result sensitive.
    pub(crate) fn get_path(&self, path: &[PathSeg]) -> Option<Value> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self.clone());
        };
        match self {
            Value::Sensitive(inner) => inner.get_path(path).map(Value::sensitive),
            Value::Unknown => Some(Value::Unknown),
            Value::Map(map) => match first {
                PathSeg::Key(key) => map.get(key)?.get_path(rest),
                PathSeg::Index(_) => None,
            },
            Value::List(items) => match first {
                PathSeg::Index(idx) => items.get(*idx)?.get_path(rest),
                PathSeg::Key(_) => None,
            },
            _ => None,
        }
    }

    /// A short name of the value's type for diagnostics: `string`, `list`, ...
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "table",
            Value::Unknown => "unknown",
            Value::Sensitive(inner) => inner.type_name(),
        }
    }

    /// Plain JSON without marks. Unknown becomes null (callers keep unknowns out of state).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null | Value::Unknown => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Int(number) => Json::from(*number),
            Value::Float(number) => serde_json::Number::from_f64(*number)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::String(text) => Json::String(text.clone()),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => Json::Object(
                map.iter()
                    .map(|(key, value)| (key.clone(), value.to_json()))
                    .collect(),
            ),
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(number) => match number.as_i64() {
                Some(int) => Value::Int(int),
                None => Value::Float(number.as_f64().unwrap_or(0.0)),
            },
            Json::String(text) => Value::String(text.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => Value::Map(
                map.iter()
                    .map(|(key, value)| (key.clone(), Value::from_json(value)))
                    .collect(),
            ),
        }
    }

    /// Every path that carries a sensitive mark (outermost marks only).
    pub(crate) fn sensitive_paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_sensitive(&mut Vec::new(), &mut out);
        out
    }

    fn collect_sensitive(&self, at: &mut Path, out: &mut Vec<Path>) {
        match self {
            Value::Sensitive(_) => out.push(at.clone()),
            Value::List(items) => {
                for (idx, item) in items.iter().enumerate() {
                    at.push(PathSeg::Index(idx));
                    item.collect_sensitive(at, out);
                    at.pop();
                }
            }
            Value::Map(map) => {
                for (key, item) in map {
                    at.push(PathSeg::Key(key.clone()));
                    item.collect_sensitive(at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }

    /// Marks the value at `path` sensitive; a path that does not exist is ignored.
    pub(crate) fn mark_sensitive_at(&mut self, path: &[PathSeg]) {
        let Some((first, rest)) = path.split_first() else {
            let taken = std::mem::take(self);
            *self = taken.sensitive();
            return;
        };
        match (self, first) {
            (Value::Sensitive(inner), _) => inner.mark_sensitive_at(path),
            (Value::Map(map), PathSeg::Key(key)) => {
                if let Some(child) = map.get_mut(key) {
                    child.mark_sensitive_at(rest);
                }
            }
            (Value::List(items), PathSeg::Index(idx)) => {
                if let Some(child) = items.get_mut(*idx) {
                    child.mark_sensitive_at(rest);
                }
            }
            _ => {}
        }
    }

    /// The same tree with every sensitive mark removed.
    pub(crate) fn strip_marks(&self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.strip_marks(),
            Value::List(items) => Value::List(items.iter().map(Value::strip_marks).collect()),
            Value::Map(map) => Value::Map(
                map.iter()
                    .map(|(key, value)| (key.clone(), value.strip_marks()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Equality that ignores sensitive marks.
    pub fn same_data(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Sensitive(inner), other) | (other, Value::Sensitive(inner)) => {
                inner.same_data(other)
            }
            (Value::List(left), Value::List(right)) => {
                left.len() == right.len() && left.iter().zip(right).all(|(l, r)| l.same_data(r))
            }
            (Value::Map(left), Value::Map(right)) => {
                left.len() == right.len()
                    && left
                        .iter()
                        .zip(right)
                        .all(|((lk, lv), (rk, rv))| lk == rk && lv.same_data(rv))
            }
            (Value::Int(left), Value::Float(right)) | (Value::Float(right), Value::Int(left)) => {
                (*left as f64) == *right
            }
            (left, right) => left == right,
        }
    }

    /// Text for interpolation into a string; `None` for lists, maps, unknowns.
    pub(crate) fn to_interpolated(&self) -> Option<String> {
        match self.unmarked() {
            Value::Null => Some(String::new()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Int(number) => Some(number.to_string()),
            Value::Float(number) => Some(number.to_string()),
            Value::String(text) => Some(text.clone()),
            _ => None,
        }
    }
}

/// Display never shows a secret: it prints `(sensitive value)` in its place.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(flag) => write!(f, "{flag}"),
            Value::Int(number) => write!(f, "{number}"),
            Value::Float(number) => write!(f, "{number}"),
            Value::String(text) => write!(f, "{text:?}"),
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
            Value::List(items) => {
                f.write_str("[")?;
                for (idx, item) in items.iter().enumerate() {
                    if idx > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (idx, (key, item)) in map.iter().enumerate() {
                    if idx > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key} = {item}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// The paths (as text) at which two values differ, leaves only, sorted. Sensitive marks are
/// ignored; a path whose value is a secret is still named, never its value.
pub(crate) fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_changes(before, after, &mut Vec::new(), &mut out);
    out
}

fn walk_changes(before: &Value, after: &Value, at: &mut Path, out: &mut Vec<String>) {
    match (before.unmarked(), after.unmarked()) {
        (Value::Map(left), Value::Map(right)) => {
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            for key in keys {
                at.push(PathSeg::Key(key.clone()));
                let null = Value::Null;
                walk_changes(
                    left.get(key).unwrap_or(&null),
                    right.get(key).unwrap_or(&null),
                    at,
                    out,
                );
                at.pop();
            }
        }
        (Value::List(left), Value::List(right)) if left.len() == right.len() => {
            for (idx, (l, r)) in left.iter().zip(right).enumerate() {
                at.push(PathSeg::Index(idx));
                walk_changes(l, r, at, out);
                at.pop();
            }
        }
        (left, right) => {
            if !left.same_data(right) {
                out.push(path_to_string(at));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_paths_round_trip_through_json() {
        let mut value = Value::Map(BTreeMap::from([
            ("name".to_string(), Value::str("etcd")),
            (
                "env".to_string(),
                Value::List(vec![Value::Map(BTreeMap::from([(
                    "secure".to_string(),
                    Value::str("hunter2").sensitive(),
                )]))]),
            ),
        ]));
        let paths = value.sensitive_paths();
        assert_eq!(paths.len(), 1);
        assert_eq!(path_to_string(&paths[0]), "env[0].secure");
        let mut reloaded = Value::from_json(&value.to_json());
        assert!(!reloaded.contains_sensitive());
        for path in &paths {
            reloaded.mark_sensitive_at(path);
        }
        assert_eq!(reloaded, value);
        value.mark_sensitive_at(&path_from_string("env[0].secure"));
        assert_eq!(reloaded, value, "marking twice does not nest");
    }

    #[test]
    fn display_redacts_secrets() {
        let value = Value::List(vec![Value::str("a"), Value::str("hunter2").sensitive()]);
        let shown = value.to_string();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("(sensitive value)"));
    }

    #[test]
    fn path_text_round_trips() {
        for text in [
            "a",
            "a.b",
            "containers[0].image",
            "a[1][2].b",
            r#"tags["fk.io/cluster"].x"#,
        ] {
            assert_eq!(path_to_string(&path_from_string(text)), text);
        }
        let odd = vec![
            PathSeg::Key("secure_env".into()),
            PathSeg::Key("A.B[0]\"c\"".into()),
            PathSeg::Index(3),
        ];
        assert_eq!(path_from_string(&path_to_string(&odd)), odd);
    }
}
