//! Resource schemas: what a resource type accepts, computes, hides and replaces on.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::value::{Path, PathSeg, Value};

/// The type of an attribute. `Object` is a nested block with its own attributes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Int,
    /// Integer or float.
    Number,
    Bool,
    List(Box<Type>),
    /// A table with free keys, all of one type.
    Map(Box<Type>),
    Object(Vec<Attribute>),
    Any,
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }

    pub fn map(of: Type) -> Type {
        Type::Map(Box::new(of))
    }

    /// `string`, `list of string`, `table`, ... for diagnostics.
    pub(crate) fn describe(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Int => "integer".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(of) => format!("list of {}", of.describe()),
            Type::Map(of) => format!("table of {}", of.describe()),
            Type::Object(_) => "table".into(),
            Type::Any => "any value".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Required,
    Optional,
    /// Set by the provider only; configuring it is an error.
    Computed,
    /// Configurable; when unset the provider computes it.
    OptionalComputed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribute {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) ty: Type,
    pub(crate) presence: Presence,
    /// Never displayed; redacted per attribute in plans and output.
    pub(crate) sensitive: bool,
    /// A change to it replaces the resource. `force_new_reason` says why, in the plan.
    pub(crate) force_new: bool,
    pub(crate) force_new_reason: Option<String>,
    /// Written to the service but never read back (ACI secure env values): never compared
    /// with what refresh returns.
    pub(crate) write_only: bool,
    pub(crate) description: String,
}

impl Attribute {
    fn new(name: &str, ty: Type, presence: Presence) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            presence,
            sensitive: false,
            force_new: false,
            force_new_reason: None,
            write_only: false,
            description: String::new(),
        }
    }

    pub fn required(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Presence::Required)
    }

    pub fn optional(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Presence::Optional)
    }

    pub fn computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Presence::Computed)
    }

    pub(crate) fn optional_computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Presence::OptionalComputed)
    }

    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }

    pub fn force_new(mut self, reason: &str) -> Attribute {
        self.force_new = true;
        self.force_new_reason = Some(reason.to_string());
        self
    }

    pub(crate) fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }

    pub(crate) fn describe(mut self, text: &str) -> Attribute {
        self.description = text.to_string();
        self
    }

    /// Why a change of this attribute replaces the resource, as the plan says it.
    pub(crate) fn replace_reason(&self) -> String {
        self.force_new_reason
            .clone()
            .unwrap_or_else(|| format!("`{}` cannot change in place", self.name))
    }

    pub(crate) fn is_configurable(&self) -> bool {
        self.presence != Presence::Computed
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceSchema {
    pub type_name: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
    /// Creating it has a side effect outside fk (a cloud object). The engine records the
    /// intended identity durably before such a create is sent.
    pub remote: bool,
}

impl ResourceSchema {
    pub(crate) fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|attr| attr.name == name)
    }

    /// The generic plan of a resource: configured values win, computed values are kept from
    /// the prior state or become unknown, and a changed force-new attribute replaces.
    /// Providers call this and refine the result.
    pub(crate) fn propose(&self, prior: Option<&Value>, config: &Value) -> PlannedChange {
        let mut requires_replace = Vec::new();
        if let Some(prior) = prior {
            for attr in self.attributes.iter().filter(|attr| attr.force_new) {
                let Some(configured) = config.get(&attr.name) else {
                    continue;
                };
                if attr.presence == Presence::OptionalComputed && configured.is_null() {
                    continue;
                }
                let before = prior.get(&attr.name).cloned().unwrap_or_default();
                let changed = !configured.is_wholly_known() || !configured.same_data(&before);
                if changed && !(attr.write_only && before.is_null()) {
                    requires_replace.push(ReplaceCause {
                        path: vec![PathSeg::Key(attr.name.clone())],
                        reason: attr.replace_reason(),
                    });
                }
            }
        }
        let replacing = !requires_replace.is_empty();
        let mut planned = BTreeMap::new();
        for attr in &self.attributes {
            let configured = config.get(&attr.name).filter(|value| !value.is_null());
            let value = match (configured, attr.presence) {
                (Some(value), _) if attr.is_configurable() => value.clone(),
                (_, Presence::Computed | Presence::OptionalComputed) => match prior {
                    Some(prior) if !replacing => {
                        prior.get(&attr.name).cloned().unwrap_or(Value::Unknown)
                    }
                    _ => Value::Unknown,
                },
                _ => Value::Null,
            };
            let value = if attr.sensitive {
                value.sensitive()
            } else {
                value
            };
            planned.insert(attr.name.clone(), value);
        }
        PlannedChange {
            planned: Value::Map(planned),
            requires_replace,
            notes: Vec::new(),
            delete_before_create: None,
        }
    }
}

/// The force-new attributes among `attributes` whose values differ between the objects
/// `before` and `after` (found at `at`), in schema order, each with its reason. A missing
/// value is null; a value not yet wholly known counts as changed.
pub(crate) fn force_new_changes(
    attributes: &[Attribute],
    at: &[PathSeg],
    before: &Value,
    after: &Value,
) -> Vec<ReplaceCause> {
    let null = Value::Null;
    attributes
        .iter()
        .filter(|attr| attr.force_new)
        .filter(|attr| {
            let old = before.get(&attr.name).unwrap_or(&null);
            let new = after.get(&attr.name).unwrap_or(&null);
            !new.is_wholly_known() || !old.same_data(new)
        })
        .map(|attr| {
            let mut path = at.to_vec();
            path.push(PathSeg::Key(attr.name.clone()));
            ReplaceCause {
                path,
                reason: attr.replace_reason(),
            }
        })
        .collect()
}

/// Why a replacement is needed: the attribute that forces it and the rule behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplaceCause {
    pub(crate) path: Path,
    pub(crate) reason: String,
}

/// A provider's answer to "what will this resource look like after apply?".
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedChange {
    /// The whole planned state; unknown parts are [`Value::Unknown`].
    pub planned: Value,
    /// Non-empty when the change cannot be made in place.
    pub requires_replace: Vec<ReplaceCause>,
    /// Consequences a user should see in the plan ("restarts every container in the group").
    pub notes: Vec<String>,
    /// Set when a replacement must delete the old object before creating the new one even
    /// under `create_before_destroy` (a DNS label kept by the replacement); says why.
    pub(crate) delete_before_create: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> ResourceSchema {
        ResourceSchema {
            type_name: "thing".into(),
            description: String::new(),
            attributes: vec![
                Attribute::required("name", Type::String).force_new("names are immutable"),
                Attribute::optional("size", Type::Int),
                Attribute::computed("ip", Type::String),
                Attribute::computed("key", Type::String).sensitive(),
            ],
            remote: true,
        }
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn create_makes_computed_unknown_and_marks_sensitive() {
        let planned = schema().propose(None, &map(&[("name", Value::str("a"))]));
        assert_eq!(planned.planned.get("ip"), Some(&Value::Unknown));
        assert!(planned.planned.get("key").unwrap().is_sensitive());
        assert!(planned.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_computed_and_replace_forgets_them() {
        let prior = map(&[
            ("name", Value::str("a")),
            ("size", Value::Int(1)),
            ("ip", Value::str("1.2.3.4")),
            ("key", Value::str("k")),
        ]);
        let update = schema().propose(
            Some(&prior),
            &map(&[("name", Value::str("a")), ("size", Value::Int(2))]),
        );
        assert!(update.requires_replace.is_empty());
        assert_eq!(update.planned.get("ip"), Some(&Value::str("1.2.3.4")));
        let replace = schema().propose(Some(&prior), &map(&[("name", Value::str("b"))]));
        assert_eq!(replace.requires_replace.len(), 1);
        assert_eq!(replace.requires_replace[0].reason, "names are immutable");
        assert_eq!(replace.planned.get("ip"), Some(&Value::Unknown));
    }

    #[test]
    fn force_new_changes_name_each_changed_attribute_at_its_path_with_its_reason() {
        let mut zone = Attribute::optional("zone", Type::String);
        zone.force_new = true;
        let attributes = vec![
            Attribute::required("name", Type::String).force_new("names are immutable"),
            zone,
            Attribute::optional("size", Type::Int),
        ];
        let at = [PathSeg::Key("items".into()), PathSeg::Index(2)];
        let before = map(&[("name", Value::str("a")), ("size", Value::Int(1))]);
        let same = force_new_changes(&attributes, &at, &before, &before);
        assert_eq!(same, Vec::new());
        let resized = map(&[("name", Value::str("a")), ("size", Value::Int(2))]);
        assert_eq!(
            force_new_changes(&attributes, &at, &before, &resized),
            Vec::new()
        );
        let after = map(&[("name", Value::Unknown), ("zone", Value::str("1"))]);
        let causes: Vec<(String, String)> = force_new_changes(&attributes, &at, &before, &after)
            .into_iter()
            .map(|cause| (crate::value::path_to_string(&cause.path), cause.reason))
            .collect();
        assert_eq!(
            causes,
            [
                (
                    "items[2].name".to_string(),
                    "names are immutable".to_string()
                ),
                (
                    "items[2].zone".to_string(),
                    "`zone` cannot change in place".to_string()
                ),
            ]
        );
    }
}
