//! The diff: module + refreshed state → [`Plan`]. Pure: no IO, no clock, no environment.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::Address;
use crate::config::eval::{Scope, evaluate};
use crate::config::{Module, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::DependencyGraph;
use crate::plan::model::{
    Action, Cause, Drift, Mode, OutputChange, PLAN_FORMAT_VERSION, Plan, ResourceChange,
};
use crate::provider::{PlannedChange, Registry};
use crate::state::{ResourceState, ResourceStatus, State};
use crate::value::{PathSeg, Value};

/// Everything a plan is made from.
pub(crate) struct PlanInput<'a> {
    pub(crate) module: &'a Module,
    pub(crate) variables: &'a BTreeMap<String, Value>,
    /// The refreshed state.
    pub(crate) state: &'a State,
    /// The lineage and serial of the stored state (before refresh).
    pub(crate) stored: Option<(String, u64)>,
    pub(crate) registry: &'a Registry,
    pub(crate) graph: &'a DependencyGraph,
    pub(crate) mode: Mode,
    pub(crate) targets: &'a [Address],
    pub(crate) replace: &'a [Address],
    pub(crate) drift: Vec<Drift>,
}

/// Values of resources as far as planning knows them, for evaluating references.
pub(crate) struct PlanScope<'a> {
    pub(crate) variables: &'a BTreeMap<String, Value>,
    pub(crate) resources: &'a BTreeMap<Address, Value>,
}

impl Scope for PlanScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.variables.get(name).cloned()
    }

    fn resource(&self, address: &Address) -> Option<Value> {
        Some(
            self.resources
                .get(address)
                .cloned()
                .unwrap_or(Value::Unknown),
        )
    }
}

/// Evaluates a resource's attributes into one map; problems go to `diagnostics` and the
/// attribute becomes unknown.
pub(crate) fn evaluate_resource(
    resource: &Resource,
    scope: &dyn Scope,
    diagnostics: &mut Diagnostics,
) -> Value {
    let mut config = BTreeMap::new();
    for (key, attr) in &resource.attributes {
        let value = match evaluate(&attr.value, scope) {
            Ok(value) => value,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                Value::Unknown
            }
        };
        config.insert(key.clone(), value);
    }
    Value::Map(config)
}

/// Makes the plan. Diagnostics with errors mean the plan must not be applied.
pub(crate) fn diff(input: PlanInput<'_>) -> (Plan, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let order = input.graph.topological_order();
    let selected: Option<BTreeSet<Address>> = if input.targets.is_empty() {
        None
    } else if input.mode == Mode::Destroy {
        Some(with_descendants(input.graph, input.targets))
    } else {
        Some(input.graph.with_ancestors(input.targets))
    };
    let is_selected = |address: &Address| selected.as_ref().is_none_or(|set| set.contains(address));

    let mut values: BTreeMap<Address, Value> = BTreeMap::new();
    let mut changes: Vec<ResourceChange> = Vec::new();

    let mut warnings = Vec::new();
    if input.mode == Mode::Destroy {
        // A destroy keeps what `prevent_destroy` protects, and everything that protected
        // resource depends on (its resource group, say); it says so, pointing at the setting.
        let protected: Vec<Address> = input
            .module
            .resources
            .values()
            .filter(|resource| {
                resource.lifecycle.prevent_destroy
                    && input.state.resource(&resource.address).is_some()
            })
            .map(|resource| resource.address.clone())
            .collect();
        let kept = input.graph.with_ancestors(&protected);
        for address in &protected {
            let resource = &input.module.resources[address];
            let mut diagnostic = Diagnostic::warning(
                "fk::plan::prevent_destroy",
                format!("`{address}` is kept: it has `prevent_destroy` set"),
            );
            if let Some(span) = resource.lifecycle.prevent_destroy_span {
                diagnostic = diagnostic.at(
                    span,
                    "this keeps it (and what it depends on) through a destroy",
                );
            }
            diagnostics
                .push(diagnostic.help("remove `prevent_destroy` first if it really should go"));
            let dependencies: Vec<String> = kept
                .iter()
                .filter(|kept_address| {
                    *kept_address != address && input.state.resource(kept_address).is_some()
                })
                .filter(|kept_address| {
                    input
                        .graph
                        .with_ancestors(std::slice::from_ref(address))
                        .contains(*kept_address)
                })
                .map(|kept_address| format!("`{kept_address}`"))
                .collect();
            warnings.push(if dependencies.is_empty() {
                format!("`{address}` is kept: it has `prevent_destroy` set")
            } else {
                format!(
                    "`{address}` is kept: it has `prevent_destroy` set; so is what it depends on: {}",
                    dependencies.join(", ")
                )
            });
        }
        for address in order.iter().rev() {
            let Some(prior) = input.state.resource(address) else {
                continue;
            };
            if !is_selected(address) || kept.contains(address) {
                continue;
            }
            let mut change = delete_change(address, prior, "destroy", false);
            change.action_reason = None;
            changes.push(change);
        }
    } else {
        for address in &order {
            let prior = input.state.resource(address);
            let Some(resource) = input.module.resources.get(address) else {
                if let Some(prior) = prior.filter(|_| is_selected(address)) {
                    changes.push(delete_change(
                        address,
                        prior,
                        "no longer in the module",
                        false,
                    ));
                }
                continue;
            };
            if !is_selected(address) {
                values.insert(
                    address.clone(),
                    prior.map_or(Value::Unknown, ResourceState::value),
                );
                continue;
            }
            let scope = PlanScope {
                variables: input.variables,
                resources: &values,
            };
            let config = evaluate_resource(resource, &scope, &mut diagnostics);
            // The provider's checks again, now that variables are known: a value a variable
            // gives is refused at that variable, before the provider plans anything.
            let refused = recheck(&input, resource, &config);
            if !refused.is_empty() {
                diagnostics.extend(refused);
                values.insert(address.clone(), Value::Unknown);
                continue;
            }
            match plan_resource(&input, resource, prior, &config) {
                Ok((change, planned)) => {
                    values.insert(address.clone(), planned);
                    if let Some(change) = change {
                        if change.action == Action::Delete || change.action.is_replace() {
                            check_prevent_destroy(
                                input.module,
                                address,
                                &change_verb(&change),
                                &mut diagnostics,
                            );
                        }
                        changes.push(change);
                    }
                }
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    values.insert(address.clone(), Value::Unknown);
                }
            }
        }
        // Objects set aside by an interrupted create_before_destroy are deleted.
        for (address, objects) in &input.state.deposed {
            let Some(address) = Address::parse(address) else {
                continue;
            };
            if !is_selected(&address) {
                continue;
            }
            for object in objects {
                changes.push(delete_change(
                    &address,
                    object,
                    "deposed by an earlier replacement",
                    true,
                ));
            }
        }
    }

    let output_changes = if input.mode == Mode::Destroy {
        destroy_outputs(input.state)
    } else {
        plan_outputs(&input, &values, &mut diagnostics)
    };

    let n_stopped = input
        .state
        .resources
        .values()
        .filter(|record| record.is_stopped())
        .count();
    if n_stopped > 0 && input.mode == Mode::Normal {
        warnings.push(format!(
            "the cluster is stopped: {n_stopped} resource(s) stopped (no compute billing); `fk start` resumes them; an apply that changes a stopped container \
             group redeploys it, which starts it"
        ));
    }
    if !input.targets.is_empty() {
        warnings.push(
            "resource targeting is in effect: this plan may not include every change the \
             module needs; run a plan without --target to see them"
                .to_string(),
        );
    }
    let cost = super::cost::estimate(input.registry, input.state, &changes);
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        mode: input.mode,
        module_name: input.module.name.clone(),
        module_digest: input.module.digest.clone(),
        state_lineage: input.stored.as_ref().map(|(lineage, _)| lineage.clone()),
        state_serial: input.stored.as_ref().map(|(_, serial)| *serial),
        changes,
        output_changes,
        drift: input.drift,
        targets: input.targets.to_vec(),
        variables: input.variables.clone(),
        prior_state: input.state.clone(),
        warnings,
        cost,
    };
    (plan, diagnostics)
}

fn change_verb(change: &ResourceChange) -> String {
    if change.action == Action::Delete {
        "delete".into()
    } else {
        let causes: Vec<String> = change
            .replace_causes
            .iter()
            .map(|cause| format!("`{}`", cause.path_text()))
            .collect();
        if causes.is_empty() {
            "replace".into()
        } else {
            format!("replace (forced by {})", causes.join(", "))
        }
    }
}

fn with_descendants(graph: &DependencyGraph, targets: &[Address]) -> BTreeSet<Address> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<Address> = targets.to_vec();
    while let Some(address) = stack.pop() {
        if seen.insert(address.clone()) {
            stack.extend(graph.dependents(&address));
        }
    }
    seen
}

fn check_prevent_destroy(
    module: &Module,
    address: &Address,
    verb: &str,
    diagnostics: &mut Diagnostics,
) {
    let Some(resource) = module.resources.get(address) else {
        return;
    };
    if !resource.lifecycle.prevent_destroy {
        return;
    }
    let mut diagnostic = Diagnostic::error(
        "fk::plan::prevent_destroy",
        format!("`{address}` has `prevent_destroy` set, but this plan would {verb} it"),
    );
    diagnostic = match resource.lifecycle.prevent_destroy_span {
        Some(span) => diagnostic.at(span, "destroying this resource is prevented here"),
        None => diagnostic.at(resource.span, "declared here"),
    };
    diagnostics.push(diagnostic.help(
        "if destroying it is really intended, remove `prevent_destroy` first; otherwise change \
         the module so the plan keeps it",
    ));
}

fn delete_change(
    address: &Address,
    prior: &ResourceState,
    reason: &str,
    deposed: bool,
) -> ResourceChange {
    ResourceChange {
        address: address.clone(),
        action: Action::Delete,
        action_reason: Some(reason.to_string()),
        replace_causes: Vec::new(),
        notes: Vec::new(),
        prior_id: Some(prior.id.clone()),
        before: Some(prior.value()),
        after: None,
        dependencies: prior
            .dependencies
            .iter()
            .filter_map(|dep| Address::parse(dep))
            .collect(),
        create_before_destroy: false,
        deposed,
    }
}

/// What the resource's provider refuses in its configuration as planned (variables known,
/// values of resources planned so far).
fn recheck(input: &PlanInput<'_>, resource: &Resource, config: &Value) -> Vec<Diagnostic> {
    let type_name = &resource.address.resource_type;
    let Some(provider) = input.registry.provider(type_name) else {
        return Vec::new();
    };
    let problems = provider.validate(type_name, config);
    if problems.is_empty() {
        return Vec::new();
    }
    crate::validate::provider_diagnostics(input.module, resource, problems, Some(input.variables))
}

/// Plans one declared resource: `(None, planned)` when nothing changes.
fn plan_resource(
    input: &PlanInput<'_>,
    resource: &Resource,
    prior: Option<&ResourceState>,
    config: &Value,
) -> Result<(Option<ResourceChange>, Value), Diagnostic> {
    let address = &resource.address;
    let (Some(schema), Some(provider)) = (
        input.registry.schema(&address.resource_type),
        input.registry.provider(&address.resource_type),
    ) else {
        return Err(Diagnostic::error(
            "fk::plan::unknown_resource_type",
            format!(
                "no provider knows the resource type `{}`",
                address.resource_type
            ),
        )
        .at(resource.type_span, "unknown type"));
    };
    let prior_value = prior.map(ResourceState::value);
    let proposal = provider
        .plan(schema, prior_value.as_ref(), config)
        .map_err(|err| {
            Diagnostic::error("fk::plan::provider", format!("planning `{address}`: {err}"))
                .at(resource.span, "while planning this resource")
        })?;
    let PlannedChange {
        mut planned,
        mut requires_replace,
        notes,
        delete_before_create,
    } = proposal;

    if let Some(prior_value) = &prior_value {
        for (path, _) in &resource.lifecycle.ignore_changes {
            if let Some(kept) = prior_value.get_path(path) {
                set_path(&mut planned, path, kept);
            }
            requires_replace.retain(|cause| !cause.path.starts_with(path));
        }
    }

    let dependencies = input.graph.dependencies(address);
    let mut change = ResourceChange {
        address: address.clone(),
        action: Action::NoOp,
        action_reason: None,
        replace_causes: requires_replace
            .iter()
            .map(|cause| Cause {
                path: cause.path.clone(),
                reason: cause.reason.clone(),
            })
            .collect(),
        notes,
        prior_id: prior.map(|prior| prior.id.clone()),
        before: prior_value.clone(),
        after: Some(planned.clone()),
        dependencies,
        create_before_destroy: resource.lifecycle.create_before_destroy,
        deposed: false,
    };
    let replace_action =
        if resource.lifecycle.create_before_destroy && delete_before_create.is_none() {
            Action::CreateThenDelete
        } else {
            Action::DeleteThenCreate
        };
    if let (Some(reason), true) = (
        &delete_before_create,
        resource.lifecycle.create_before_destroy,
    ) {
        change.notes.push(format!(
            "deletes before it creates despite create_before_destroy: {reason}"
        ));
    }

    let Some(prior) = prior else {
        change.action = Action::Create;
        if input
            .drift
            .iter()
            .any(|drift| &drift.address == address && drift.changed_paths.is_none())
        {
            change.action_reason = Some("deleted outside fk".into());
        }
        return Ok((Some(change), planned));
    };
    let prior_value = prior_value.unwrap_or_default();
    if prior.status == ResourceStatus::Tainted {
        change.action = replace_action;
        change.action_reason = Some("tainted: an earlier create or update failed part way".into());
    } else if input.replace.contains(address) {
        change.action = replace_action;
        change.action_reason = Some("requested with --replace".into());
    } else if !change.replace_causes.is_empty() {
        change.action = replace_action;
    } else if !planned.same_data(&prior_value) {
        change.action = Action::Update;
    }
    if change.action.is_replace() {
        // A new object: what the provider computes is unknown again, unless the replacement
        // was planned from scratch.
        let fresh = provider
            .plan(schema, None, config)
            .map(|fresh| fresh.planned)
            .unwrap_or(planned.clone());
        change.after = Some(fresh.clone());
        planned = fresh;
    }
    if change.action == Action::NoOp {
        return Ok((None, prior_value));
    }
    Ok((Some(change), planned))
}

pub(crate) fn set_path(value: &mut Value, path: &[PathSeg], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *value = new;
        return;
    };
    match (value, first) {
        (Value::Sensitive(inner), _) => set_path(inner, path, new),
        (Value::Map(map), PathSeg::Key(key)) => {
            if rest.is_empty() {
                map.insert(key.clone(), new);
            } else if let Some(child) = map.get_mut(key) {
                set_path(child, rest, new);
            }
        }
        (Value::List(items), PathSeg::Index(idx)) => {
            if let Some(child) = items.get_mut(*idx) {
                set_path(child, rest, new);
            }
        }
        _ => {}
    }
}

fn plan_outputs(
    input: &PlanInput<'_>,
    values: &BTreeMap<Address, Value>,
    diagnostics: &mut Diagnostics,
) -> Vec<OutputChange> {
    let scope = PlanScope {
        variables: input.variables,
        resources: values,
    };
    let mut changes = Vec::new();
    for (name, output) in &input.module.outputs {
        let after = match evaluate(&output.value, &scope) {
            Ok(value) => value,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                Value::Unknown
            }
        };
        if !output.sensitive && after.contains_sensitive() {
            diagnostics.push(
                Diagnostic::error(
                    "fk::plan::sensitive_output",
                    format!("output `{name}` would show a secret"),
                )
                .at(
                    output.value.span,
                    "this value is, or contains, a sensitive value",
                )
                .help("mark the output `sensitive = true`: fk then records it but never prints it"),
            );
        }
        let after = if output.sensitive {
            after.sensitive()
        } else {
            after
        };
        let before = input.state.outputs.get(name).map(|stored| {
            let value = Value::from_json(&stored.value);
            if stored.sensitive {
                value.sensitive()
            } else {
                value
            }
        });
        changes.push(OutputChange {
            name: name.clone(),
            before,
            after: Some(after),
            sensitive: output.sensitive,
        });
    }
    for (name, stored) in &input.state.outputs {
        if !input.module.outputs.contains_key(name) {
            changes.push(OutputChange {
                name: name.clone(),
                before: Some(Value::from_json(&stored.value)),
                after: None,
                sensitive: stored.sensitive,
            });
        }
    }
    changes
}

fn destroy_outputs(state: &State) -> Vec<OutputChange> {
    state
        .outputs
        .iter()
        .map(|(name, stored)| OutputChange {
            name: name.clone(),
            before: Some(Value::from_json(&stored.value)),
            after: None,
            sensitive: stored.sensitive,
        })
        .collect()
}
