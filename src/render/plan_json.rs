//! `fk plan --json`: a versioned, documented, machine-readable plan. Secrets never appear:
//! a sensitive value is `null` with `true` at its place in `before_sensitive` /
//! `after_sensitive`; an unknown value is `null` with `true` in `after_unknown`.
//!
//! Shape (format_version "1.0"):
//! ```text
//! { "format_version", "mode": "normal"|"destroy", "module": {name, digest},
//!   "prior_state": {lineage, serial} | null,
//!   "resource_changes": [ { "address", "type", "name",
//!        "change": { "actions": ["create"] | ["update"] | ["delete","create"] | ["create","delete"] | ["delete"],
//!                    "before", "after", "after_unknown", "before_sensitive", "after_sensitive",
//!                    "replace_paths": [[..path..]], "replace_reasons": ["..."] },
//!        "action_reason", "notes": [..], "deposed": bool } ],
//!   "output_changes": { name: { "actions", "before", "after", "after_unknown", "sensitive" } },
//!   "resource_drift": [ { "address", "deleted": bool, "changed_paths": [..] } ],
//!   "summary": { "add", "change", "destroy" }, "targets": [..], "warnings": [..],
//!   "cost": { "after_per_hour", "before_per_hour", "currency",
//!             "basis": [ { "address", "before_per_hour", "after_per_hour", "basis" } ],
//!             "unknown": [address..], "source": [".."] } }
//! ```
//!
//! `cost` is present only when a provider prices a resource of the plan (the Azure provider
//! prices `azure_container_group`). Amounts are per hour in `currency`, rounded to a
//! millionth; `before_per_hour` is the refreshed state's, `after_per_hour` the plan's once
//! applied, without the resources listed in `unknown` (a size known only after apply); a
//! resource's `before_per_hour` / `after_per_hour` is `null` on a side where it does not
//! exist (or its cost is unknown); a stopped container group costs `0`.

use serde_json::{Map, Value as Json, json};

use crate::plan::{Action, Plan, PlanCost};
use crate::value::Value;

pub fn plan_json(plan: &Plan) -> Json {
    let resource_changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|change| {
            json!({
                "address": change.address.to_string(),
                "type": change.address.resource_type,
                "name": change.address.name,
                "change": {
                    "actions": change.action.json_actions(),
                    "before": change.before.as_ref().map_or(Json::Null, redacted),
                    "after": change.after.as_ref().map_or(Json::Null, redacted),
                    "after_unknown": change.after.as_ref().map_or(Json::Bool(false), unknown_marks),
                    "before_sensitive": change.before.as_ref().map_or(Json::Bool(false), sensitive_marks),
                    "after_sensitive": change.after.as_ref().map_or(Json::Bool(false), sensitive_marks),
                    "replace_paths": change.replace_causes.iter().map(|cause| json!(cause.path)).collect::<Vec<_>>(),
                    "replace_reasons": change.replace_causes.iter().map(|cause| cause.reason.clone()).collect::<Vec<_>>(),
                },
                "action_reason": change.action_reason,
                "notes": change.notes,
                "deposed": change.deposed,
            })
        })
        .collect();
    let mut output_changes = Map::new();
    for output in &plan.output_changes {
        let actions = match (&output.before, &output.after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(before), Some(after)) if !before.same_data(after) => Action::Update,
            _ => Action::NoOp,
        };
        let hide = |value: &Value| {
            if output.sensitive {
                Json::Null
            } else {
                redacted(value)
            }
        };
        output_changes.insert(
            output.name.clone(),
            json!({
                "actions": actions.json_actions(),
                "before": output.before.as_ref().map_or(Json::Null, hide),
                "after": output.after.as_ref().map_or(Json::Null, hide),
                "after_unknown": output.after.as_ref().is_some_and(|value| !value.is_wholly_known()),
                "sensitive": output.sensitive,
            }),
        );
    }
    let drift: Vec<Json> = plan
        .drift
        .iter()
        .map(|drift| {
            json!({
                "address": drift.address.to_string(),
                "deleted": drift.changed_paths.is_none(),
                "changed_paths": drift.changed_paths.clone().unwrap_or_default(),
            })
        })
        .collect();
    let mut document = json!({
        "format_version": plan.format_version,
        "mode": plan.mode,
        "module": { "name": plan.module_name, "digest": plan.module_digest },
        "prior_state": plan.state_lineage.as_ref().map(|lineage| json!({
            "lineage": lineage,
            "serial": plan.state_serial,
        })),
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "resource_drift": drift,
        "summary": { "add": plan.n_add(), "change": plan.n_change(), "destroy": plan.n_destroy() },
        "targets": plan.targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "warnings": plan.warnings,
    });
    if let (Some(cost), Some(fields)) = (&plan.cost, document.as_object_mut()) {
        fields.insert("cost".to_string(), cost_json(cost));
    }
    document
}

fn cost_json(cost: &PlanCost) -> Json {
    let basis: Vec<Json> = cost
        .resources
        .iter()
        .map(|resource| {
            json!({
                "address": resource.address.to_string(),
                "before_per_hour": resource.before_per_hour,
                "after_per_hour": resource.after_per_hour,
                "basis": resource.basis,
            })
        })
        .collect();
    json!({
        "after_per_hour": cost.after_per_hour,
        "before_per_hour": cost.before_per_hour,
        "currency": cost.currency,
        "basis": basis,
        "unknown": cost.unknown.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "source": cost.sources,
    })
}

/// The value as JSON with secrets and unknowns as `null`.
fn redacted(value: &Value) -> Json {
    match value {
        Value::Sensitive(_) | Value::Unknown => Json::Null,
        Value::List(items) => Json::Array(items.iter().map(redacted).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), redacted(item)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// A tree of the same shape with `true` where the value is a secret, `false` where the
/// whole subtree has none.
fn sensitive_marks(value: &Value) -> Json {
    marks(value, &|value| value.is_sensitive())
}

fn unknown_marks(value: &Value) -> Json {
    marks(value, &|value| matches!(value, Value::Unknown))
}

fn marks(value: &Value, hit: &dyn Fn(&Value) -> bool) -> Json {
    if hit(value) {
        return Json::Bool(true);
    }
    match value.unmarked() {
        Value::List(items) if items.iter().any(|item| has(item, hit)) => {
            Json::Array(items.iter().map(|item| marks(item, hit)).collect())
        }
        Value::Map(map) if map.values().any(|item| has(item, hit)) => Json::Object(
            map.iter()
                .filter(|(_, item)| has(item, hit))
                .map(|(key, item)| (key.clone(), marks(item, hit)))
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}

fn has(value: &Value, hit: &dyn Fn(&Value) -> bool) -> bool {
    hit(value)
        || match value.unmarked() {
            Value::List(items) => items.iter().any(|item| has(item, hit)),
            Value::Map(map) => map.values().any(|item| has(item, hit)),
            _ => false,
        }
}
