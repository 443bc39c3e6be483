//! Validation of request bodies against an OpenAPI 2.0 (swagger) specification such as
//! `containerInstance.json`: local `$ref`s, `allOf`, `required`, `type`, `enum` (any string
//! when `x-ms-enum.modelAsString` is true), `additionalProperties`; `readOnly` properties are
//! ignored in requests and references to files that are not present accept anything.

use serde_json::{Map, Value};
use std::path::Path;

pub mod described;

/// Deeper nesting than this is not followed (guards against reference cycles).
const MAX_DEPTH: usize = 64;

/// The `definitions` of one specification, ready to validate values against.
#[derive(Debug, Clone)]
pub struct SpecValidator {
    definitions: Map<String, Value>,
}

/// One way a value breaks the schema: where (`properties.containers[0].name`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    pub path: String,
    pub message: String,
}

/// Why a specification could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the specification `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the specification `{path}` is not JSON: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("the specification `{path}` has no `definitions` object")]
    NoDefinitions { path: String },
}

impl SpecValidator {
    pub fn load(path: &Path) -> Result<SpecValidator, SpecError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: display.clone(),
            source,
        })?;
        let document: Value = serde_json::from_str(&text).map_err(|source| SpecError::Parse {
            path: display.clone(),
            source,
        })?;
        SpecValidator::from_document(&document).ok_or(SpecError::NoDefinitions { path: display })
    }

    /// A validator over the `definitions` of an already parsed document.
    pub fn from_document(document: &Value) -> Option<SpecValidator> {
        let definitions = document.get("definitions")?.as_object()?.clone();
        Some(SpecValidator { definitions })
    }

    pub fn has_definition(&self, definition_name: &str) -> bool {
        self.definitions.contains_key(definition_name)
    }

    /// Every violation of `value` against the definition, in document order; empty when the
    /// value is valid or the definition is unknown.
    pub fn validate(&self, definition_name: &str, value: &Value) -> Vec<SchemaViolation> {
        let mut violations = Vec::new();
        if let Some(schema) = self.definitions.get(definition_name) {
            self.check(schema, value, "", 0, &mut violations);
        }
        violations
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        depth: usize,
        violations: &mut Vec<SchemaViolation>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(schema) = schema.as_object() else {
            return;
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.resolve(reference) {
                self.check(target, value, path, depth + 1, violations);
            }
            return;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(part, value, path, depth + 1, violations);
        }
        if let Some(expected) = schema.get("type").and_then(Value::as_str)
            && !type_matches(expected, value)
        {
            violations.push(SchemaViolation {
                path: display_path(path),
                message: format!("expected {expected}, found {}", type_name(value)),
            });
            return;
        }
        self.check_enum(schema, value, path, violations);
        match value {
            Value::Object(members) => self.check_object(schema, members, path, depth, violations),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (item_idx, item) in items.iter().enumerate() {
                        let item_path = format!("{path}[{item_idx}]");
                        self.check(item_schema, item, &item_path, depth + 1, violations);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_enum(
        &self,
        schema: &Map<String, Value>,
        value: &Value,
        path: &str,
        violations: &mut Vec<SchemaViolation>,
    ) {
        let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
            return;
        };
        let model_as_string = schema
            .get("x-ms-enum")
            .and_then(|extension| extension.get("modelAsString"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if model_as_string && value.is_string() {
            return;
        }
        let matches = allowed.iter().any(|candidate| match (candidate, value) {
            (Value::String(candidate), Value::String(given)) => {
                candidate.eq_ignore_ascii_case(given)
            }
            (candidate, given) => candidate == given,
        });
        if !matches {
            let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
            violations.push(SchemaViolation {
                path: display_path(path),
                message: format!("{value} is not one of {}", names.join(", ")),
            });
        }
    }

    fn check_object(
        &self,
        schema: &Map<String, Value>,
        members: &Map<String, Value>,
        path: &str,
        depth: usize,
        violations: &mut Vec<SchemaViolation>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(required) = required.as_str() else {
                continue;
            };
            let read_only = properties
                .and_then(|properties| properties.get(required))
                .is_some_and(is_read_only);
            if !read_only && !members.contains_key(required) {
                violations.push(SchemaViolation {
                    path: join_path(path, required),
                    message: format!("missing required property `{required}`"),
                });
            }
        }
        let known = self.known_property_names(schema, depth);
        for (member_name, member_value) in members {
            let member_path = join_path(path, member_name);
            if let Some(property_schema) = properties.and_then(|p| p.get(member_name)) {
                if !is_read_only(property_schema) {
                    self.check(
                        property_schema,
                        member_value,
                        &member_path,
                        depth + 1,
                        violations,
                    );
                }
                continue;
            }
            match schema.get("additionalProperties") {
                Some(Value::Bool(false)) if !known.iter().any(|name| name == member_name) => {
                    violations.push(SchemaViolation {
                        path: member_path,
                        message: format!("unknown property `{member_name}`"),
                    });
                }
                Some(additional @ Value::Object(_)) => {
                    self.check(
                        additional,
                        member_value,
                        &member_path,
                        depth + 1,
                        violations,
                    );
                }
                _ => {}
            }
        }
    }

    /// Property names declared by the schema and the local parts of its `allOf`.
    fn known_property_names(&self, schema: &Map<String, Value>, depth: usize) -> Vec<String> {
        let mut names: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        if depth > MAX_DEPTH {
            return names;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(reference) => self.resolve(reference),
                None => Some(part),
            };
            if let Some(part) = part.and_then(Value::as_object) {
                names.extend(self.known_property_names(part, depth + 1));
            }
        }
        names
    }

    /// The definition a local `#/definitions/X` reference names; `None` for other files.
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/definitions/")?;
        self.definitions.get(name)
    }
}

fn is_read_only(schema: &Value) -> bool {
    schema
        .get("readOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|n| n.fract() == 0.0)
        }
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join_path(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(body)".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> SpecValidator {
        let document = json!({ "definitions": {
            "Thing": {
                "type": "object",
                "required": ["name", "size"],
                "properties": {
                    "name": { "type": "string" },
                    "size": { "type": "integer" },
                    "id": { "type": "string", "readOnly": true },
                    "kind": { "$ref": "#/definitions/Kind" },
                    "mode": { "type": "string", "enum": ["A", "B"],
                              "x-ms-enum": { "modelAsString": true } },
                    "parts": { "type": "array", "items": { "$ref": "#/definitions/Part" } },
                    "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                    "external": { "$ref": "other.json#/definitions/Anything" }
                },
                "allOf": [{ "$ref": "#/definitions/Base" }]
            },
            "Base": { "properties": { "location": { "type": "string" } } },
            "Kind": { "type": "string", "enum": ["Small", "Large"],
                      "x-ms-enum": { "modelAsString": false } },
            "Part": { "type": "object", "required": ["port"],
                      "properties": { "port": { "type": "integer" } },
                      "additionalProperties": false }
        }});
        SpecValidator::from_document(&document).expect("definitions")
    }

    fn paths(value: Value) -> Vec<String> {
        validator()
            .validate("Thing", &value)
            .into_iter()
            .map(|v| v.path)
            .collect()
    }

    #[test]
    fn accepts_a_valid_value_with_model_as_string_enums_and_foreign_refs() {
        let value = json!({ "name": "a", "size": 2, "mode": "Other", "kind": "small",
                            "external": [1], "location": "x", "labels": { "k": "v" } });
        assert_eq!(paths(value), Vec::<String>::new());
    }

    #[test]
    fn names_missing_required_wrong_type_and_closed_enum() {
        let value = json!({ "size": "big", "kind": "Huge", "location": 3 });
        assert_eq!(paths(value), vec!["location", "name", "size", "kind"]);
    }

    #[test]
    fn checks_array_items_additional_properties_and_ignores_read_only() {
        let value = json!({ "name": "a", "size": 1, "id": 5,
                            "parts": [{ "port": 1 }, { "extra": true }],
                            "labels": { "k": 1 } });
        assert_eq!(
            paths(value),
            vec!["parts[1].port", "parts[1].extra", "labels.k"]
        );
    }
}
