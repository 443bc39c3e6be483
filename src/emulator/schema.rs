//! Validation of request bodies against an OpenAPI 2.0 (swagger) specification such as
//! `containerInstance.json`: local `$ref`s, `allOf`, `required`, `type`, `enum` (any string
//! when `x-ms-enum.modelAsString` is true), `additionalProperties`; `readOnly` properties are
//! ignored in requests and references to files that are not present accept anything.
//!
//! The one OpenAPI validator of the project: the emulator reads requests with it as the
//! service does ([`SpecValidator::validate`]), and fk's provider tests hold the bodies fk
//! sends to the letter of the spec with it ([`SpecValidator::validate_strictly`]).

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

/// How closely a value is held to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// As the service reads a request: read-only properties are ignored, an undeclared
    /// property is refused only under `additionalProperties: false`, an extensible enum takes
    /// any string and enum values match regardless of case.
    Service,
    /// To the letter: also every undeclared property, every read-only property sent and every
    /// enum value the spec does not list, spelled exactly.
    Letter,
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
    pub(crate) fn from_document(document: &Value) -> Option<SpecValidator> {
        let definitions = document.get("definitions")?.as_object()?.clone();
        Some(SpecValidator { definitions })
    }

    /// Every violation of `value` against the definition, as the service reads a request,
    /// in document order; empty when the value is valid or the definition is unknown.
    pub fn validate(&self, definition_name: &str, value: &Value) -> Vec<SchemaViolation> {
        self.validate_as(Strictness::Service, definition_name, value)
    }

    /// As [`validate`](Self::validate), and also every property the schema does not declare
    /// (where it does not leave the object open: `additionalProperties`, an untyped schema,
    /// or the `id`, `name`, `type`, `systemData` of a base defined in another file), every
    /// read-only property present, and every enum value the spec does not list, spelled
    /// exactly. For what a client sends: it should send only what the spec describes.
    pub fn validate_strictly(&self, definition_name: &str, value: &Value) -> Vec<SchemaViolation> {
        self.validate_as(Strictness::Letter, definition_name, value)
    }

    fn validate_as(
        &self,
        strictness: Strictness,
        definition_name: &str,
        value: &Value,
    ) -> Vec<SchemaViolation> {
        let mut violations = Vec::new();
        if let Some(schema) = self.definitions.get(definition_name) {
            let at = Position {
                path: "",
                depth: 0,
                whole: true,
            };
            self.check(strictness, schema, value, at, &mut violations);
        }
        violations
    }

    fn check(
        &self,
        strictness: Strictness,
        schema: &Value,
        value: &Value,
        at: Position<'_>,
        violations: &mut Vec<SchemaViolation>,
    ) {
        let Position { path, depth, whole } = at;
        if depth > MAX_DEPTH {
            return;
        }
        let Some(schema) = schema.as_object() else {
            return;
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.resolve(reference) {
                self.check(
                    strictness,
                    target,
                    value,
                    at.deeper(path, whole),
                    violations,
                );
            }
            return;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // A part describes some of the object's properties; only the whole knows them all.
            self.check(strictness, part, value, at.deeper(path, false), violations);
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
        self.check_enum(strictness, schema, value, path, violations);
        match value {
            Value::Object(members) => {
                self.check_object(strictness, schema, members, at, violations);
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (item_idx, item) in items.iter().enumerate() {
                        let item_path = format!("{path}[{item_idx}]");
                        let item_at = at.deeper(&item_path, true);
                        self.check(strictness, item_schema, item, item_at, violations);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_enum(
        &self,
        strictness: Strictness,
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
        let service = strictness == Strictness::Service;
        if service && model_as_string && value.is_string() {
            return;
        }
        let matches = allowed.iter().any(|candidate| match (candidate, value) {
            (Value::String(candidate), Value::String(given)) if service => {
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
        strictness: Strictness,
        schema: &Map<String, Value>,
        members: &Map<String, Value>,
        at: Position<'_>,
        violations: &mut Vec<SchemaViolation>,
    ) {
        let Position { path, depth, whole } = at;
        let letter = strictness == Strictness::Letter;
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
        let undeclared = self.undeclared_properties(schema, &known);
        for (member_name, member_value) in members {
            let member_path = join_path(path, member_name);
            let member_at = at.deeper(&member_path, true);
            if let Some(property_schema) = properties.and_then(|p| p.get(member_name)) {
                let read_only = is_read_only(property_schema)
                    || (letter && self.refers_to_read_only(property_schema));
                if letter && read_only {
                    violations.push(SchemaViolation {
                        path: member_path.clone(),
                        message: "read-only, must not be sent".to_owned(),
                    });
                }
                if letter || !read_only {
                    self.check(
                        strictness,
                        property_schema,
                        member_value,
                        member_at,
                        violations,
                    );
                }
                continue;
            }
            let is_known = known.iter().any(|name| name == member_name);
            match schema.get("additionalProperties") {
                Some(additional @ Value::Object(_)) => {
                    self.check(strictness, additional, member_value, member_at, violations);
                }
                Some(Value::Bool(false)) if !letter && !is_known => {
                    violations.push(unknown_property(member_path, member_name));
                }
                _ if letter && whole && !is_known && undeclared.refuses(member_name) => {
                    violations.push(unknown_property(member_path, member_name));
                }
                _ => {}
            }
        }
    }

    /// Which undeclared properties a schema refuses when read to the letter: none when it is
    /// open (`additionalProperties` not `false`, or no properties and no type at all), else
    /// all but those a base defined in another file brings.
    fn undeclared_properties(&self, schema: &Map<String, Value>, known: &[String]) -> Undeclared {
        let open = match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => false,
            Some(_) => true,
            None => known.is_empty() && !schema.contains_key("type"),
        };
        if open {
            return Undeclared::Accepted;
        }
        let foreign_base = schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|part| part.get("$ref").and_then(Value::as_str))
            .any(|reference| self.resolve(reference).is_none());
        if foreign_base {
            Undeclared::ResourceBaseOnly
        } else {
            Undeclared::Refused
        }
    }

    /// Whether a property's schema is a reference to a read-only definition.
    fn refers_to_read_only(&self, property_schema: &Value) -> bool {
        property_schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| self.resolve(reference))
            .is_some_and(is_read_only)
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

/// Where in the value a check is, and whether its schema describes the whole object there
/// (not one `allOf` part of it).
#[derive(Debug, Clone, Copy)]
struct Position<'p> {
    path: &'p str,
    depth: usize,
    whole: bool,
}

impl<'p> Position<'p> {
    fn deeper<'q>(self, path: &'q str, whole: bool) -> Position<'q> {
        Position {
            path,
            depth: self.depth + 1,
            whole,
        }
    }
}

/// Which properties an object schema does not declare but takes, read to the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undeclared {
    /// Any (an open object).
    Accepted,
    /// Only those of ARM's resource base, defined in another file.
    ResourceBaseOnly,
    Refused,
}

impl Undeclared {
    fn refuses(self, member_name: &str) -> bool {
        match self {
            Undeclared::Accepted => false,
            Undeclared::ResourceBaseOnly => {
                !["id", "name", "type", "systemData"].contains(&member_name)
            }
            Undeclared::Refused => true,
        }
    }
}

fn unknown_property(path: String, member_name: &str) -> SchemaViolation {
    SchemaViolation {
        path,
        message: format!("unknown property `{member_name}`"),
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

    #[test]
    fn to_the_letter_also_refuses_undeclared_read_only_and_unlisted_values() {
        let value = json!({ "name": "a", "size": 1, "id": "x", "mode": "Other", "kind": "small",
                            "location": "x", "extra": 1, "labels": { "k": "v" },
                            "parts": [{ "port": 1 }] });
        assert_eq!(paths(value.clone()), Vec::<String>::new());
        let violations = validator().validate_strictly("Thing", &value);
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.path.as_str(), v.message.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("id", "read-only, must not be sent"),
                ("mode", "\"Other\" is not one of \"A\", \"B\""),
                ("kind", "\"small\" is not one of \"Small\", \"Large\""),
                ("extra", "unknown property `extra`"),
            ]
        );
    }

    #[test]
    fn to_the_letter_allows_the_resource_base_of_another_file_and_open_objects() {
        let document = json!({ "definitions": {
            "Tracked": {
                "type": "object",
                "properties": { "location": { "type": "string" }, "anything": {} },
                "allOf": [{ "$ref": "../common/types.json#/definitions/Resource" }]
            }
        }});
        let validator = SpecValidator::from_document(&document).expect("definitions");
        let value = json!({ "location": "x", "id": "/s", "name": "n", "type": "t",
                            "anything": { "free": [1] }, "bogus": true });
        let paths: Vec<String> = validator
            .validate_strictly("Tracked", &value)
            .into_iter()
            .map(|v| v.path)
            .collect();
        assert_eq!(paths, vec!["bogus"]);
    }
}
