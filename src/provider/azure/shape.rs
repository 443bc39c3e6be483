//! Small conversions shared by the resource types: reading planned values, tags, ARM ids.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::value::Value;

/// A string attribute of a planned value; "" when absent or not a string.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A string from a JSON pointer, as a value (`Null` when absent).
pub(crate) fn json_text(json: &Json, pointer: &str) -> Value {
    json.pointer(pointer)
        .and_then(Json::as_str)
        .map_or(Value::Null, Value::str)
}

/// `tags` as ARM wants them: an object of strings (`{}` when unset).
pub(crate) fn tags_to_json(value: &Value) -> Json {
    let tags = value
        .get("tags")
        .and_then(Value::as_map)
        .map(|tags| {
            tags.iter()
                .map(|(key, tag)| {
                    let tag = tag.to_interpolated().unwrap_or_default();
                    (key.clone(), Json::String(tag))
                })
                .collect()
        })
        .unwrap_or_default();
    Json::Object(tags)
}

/// Tags from a body; no tags and `{}` are both `Null`, so neither diffs against unset.
pub(crate) fn tags_from_json(body: &Json) -> Value {
    match body.get("tags").and_then(Json::as_object) {
        Some(tags) if !tags.is_empty() => Value::Map(
            tags.iter()
                .map(|(key, tag)| {
                    let tag = tag.as_str().map_or(Value::Null, Value::str);
                    (key.clone(), tag)
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// An empty list or table counts as unset, so a server's `[]` never diffs against nothing.
pub(crate) fn null_if_empty(value: Value) -> Value {
    match value.unmarked() {
        Value::List(items) if items.is_empty() => Value::Null,
        Value::Map(map) if map.is_empty() => Value::Null,
        _ => value,
    }
}

/// The segment after `/<key>/` in an ARM id, matched case-insensitively.
pub(crate) fn id_segment<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = id.split('/');
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case(key) {
            return parts.next().filter(|next| !next.is_empty());
        }
    }
    None
}

/// `path?api-version=V`.
pub(crate) fn with_version(path: &str, api_version: &str) -> String {
    format!("{path}?api-version={api_version}")
}

/// Builds a map value from pairs.
pub(crate) fn map(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// `fields` with its `location` spelled as ARM answers it (`West Europe` → `westeurope`).
pub(crate) fn normalise_location_in(fields: &mut BTreeMap<String, Value>) {
    if let Some(location) = fields.get("location").and_then(Value::as_str) {
        let location = super::cloud::normalise_location(location);
        fields.insert("location".into(), Value::str(location));
    }
}

/// The `location` of an ARM body, spelled as fk plans it; `Null` when absent.
pub(crate) fn location_from_json(body: &Json) -> Value {
    body.get("location")
        .and_then(Json::as_str)
        .map_or(Value::Null, |location| {
            Value::str(super::cloud::normalise_location(location))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_segments_case_insensitively() {
        let id =
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/acct";
        assert_eq!(id_segment(id, "resourceGroups"), Some("rg"));
        assert_eq!(id_segment(id, "storageAccounts"), Some("acct"));
        assert_eq!(id_segment(id, "shares"), None);
    }

    #[test]
    fn empty_tags_and_lists_are_unset() {
        assert_eq!(
            tags_from_json(&serde_json::json!({"tags": {}})),
            Value::Null
        );
        assert_eq!(null_if_empty(Value::List(Vec::new())), Value::Null);
        let tags = tags_from_json(&serde_json::json!({"tags": {"a": "b"}}));
        assert_eq!(tags.get("a"), Some(&Value::str("b")));
    }
}
