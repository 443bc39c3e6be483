//! The walk's first client, `fk apply` and `fk destroy`: [`order::build`] turns the plan
//! into operations, and [`run`] walks them (see [`crate::walk`] for the scheduling, the
//! events, the journal-then-unblock step and the invariants). An apply re-evaluates its
//! resource with what is now known, checks the provider's plan against the saved one, and
//! journals a remote create's intended identity before sending it.

pub(crate) mod order;

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::addr::Address;
use crate::config::Module;
use crate::config::eval::evaluate;
use crate::diag::Diagnostics;
use crate::plan::diff::{PlanScope, evaluate_resource, set_path};
use crate::plan::{Action, Plan, ResourceChange};
use crate::provider::OpContext;
use crate::state::{JournalRecord, OutputState, ResourceState, ResourceStatus};
use crate::value::{Path, PathSeg, Value, path_to_string};
use order::{Op, OpKind};

// Still at their first home, `crate::apply`, for the callers that name them there.
pub use super::{ApplyEvent, Outcome, Verb};
use super::{Inconsistency, OperationError, StepResult, Walk, WalkInput, WalkReport, schedule};

pub(crate) struct ApplyInput<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) module: &'a Module,
    /// What every walk needs; its state is the plan's refreshed prior state (or the stored
    /// state for a saved plan).
    pub(crate) walk: WalkInput<'a>,
}

#[derive(Clone, Debug)]
pub struct OpResult {
    pub address: Address,
    /// The planned action of the change this operation belongs to.
    pub(crate) action: Action,
    pub(crate) kind: OpKind,
    pub outcome: Outcome,
}

impl StepResult for OpResult {
    fn outcome(&self) -> &Outcome {
        &self.outcome
    }
}

pub type ApplyReport = WalkReport<OpResult>;

/// An apply in progress: the walk, and what evaluating the module needs.
struct ApplyWalk<'a> {
    input: &'a ApplyInput<'a>,
    walk: Walk<'a>,
    /// Current values of every resource, for evaluating references.
    values: Mutex<BTreeMap<Address, Value>>,
    diagnostics: Mutex<Diagnostics>,
}

pub(crate) async fn run(input: ApplyInput<'_>) -> ApplyReport {
    let ops = match order::build(input.plan) {
        Ok(ops) => ops,
        Err(message) => {
            let error = OperationError::Ordering { message };
            return Walk::new(&input.walk).finish(
                Vec::new(),
                false,
                Diagnostics::default(),
                Some(error),
            );
        }
    };
    let values = input
        .walk
        .state
        .resources
        .values()
        .map(|resource| (resource.address(), resource.value()))
        .collect();
    let apply = ApplyWalk {
        walk: Walk::new(&input.walk),
        values: Mutex::new(values),
        diagnostics: Mutex::new(Diagnostics::default()),
        input: &input,
    };
    let tasks: Vec<schedule::Task<'_>> = ops
        .iter()
        .map(|op| schedule::Task {
            address: &input.plan.changes[op.change_idx].address,
            n_waits: op.waits_for.len(),
            unblocks: &op.unblocks,
            reports_skip: true,
        })
        .collect();
    let (outcomes, interrupted) = apply
        .walk
        .schedule(&tasks, |op_idx| apply.execute(&ops[op_idx]))
        .await;
    let outputs_error = if interrupted {
        None
    } else {
        apply.record_outputs().await.err()
    };
    let results = ops
        .iter()
        .zip(outcomes)
        .map(|(op, outcome)| OpResult {
            address: input.plan.changes[op.change_idx].address.clone(),
            action: input.plan.changes[op.change_idx].action,
            kind: op.kind,
            outcome,
        })
        .collect::<Vec<_>>();
    let diagnostics = apply
        .diagnostics
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    apply
        .walk
        .finish(results, interrupted, diagnostics, outputs_error)
}

impl ApplyWalk<'_> {
    async fn execute(&self, op: &Op) -> Outcome {
        let change = &self.input.plan.changes[op.change_idx];
        let verb = match (op.kind, change.action) {
            (OpKind::Destroy, _) => Verb::Destroying,
            (OpKind::Apply, Action::Update) => Verb::Modifying,
            (OpKind::Apply, _) => Verb::Creating,
        };
        self.walk
            .step(&change.address, verb, |ctx| async move {
                match op.kind {
                    OpKind::Apply => self.apply_one(&ctx, change).await,
                    OpKind::Destroy => self.destroy_one(&ctx, change).await,
                }
            })
            .await
    }

    fn set_value(&self, address: &Address, value: Option<Value>) {
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match value {
            Some(value) => values.insert(address.clone(), value),
            None => values.remove(address),
        };
    }

    /// Create or update: evaluate the module with what is now known, re-plan, check the
    /// result against the saved plan, journal, call the provider, journal.
    async fn apply_one(
        &self,
        ctx: &OpContext,
        change: &ResourceChange,
    ) -> Result<Option<String>, OperationError> {
        let address = &change.address;
        let resource = self
            .input
            .module
            .resources
            .get(address)
            .ok_or_else(|| Inconsistency::NotInModule(address.clone()))?;
        let registry = self.input.walk.registry;
        let (Some(schema), Some(provider)) = (
            registry.schema(&address.resource_type),
            registry.provider(&address.resource_type),
        ) else {
            return Err(Inconsistency::NoProvider(address.resource_type.clone()).into());
        };
        let config = {
            // Held only while evaluating (no await inside): a clone per operation would make
            // an apply quadratic in the number of resources.
            let values = self
                .values
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            let scope = PlanScope {
                variables: &self.input.plan.variables,
                resources: &values,
            };
            let mut diagnostics = Diagnostics::default();
            let config = evaluate_resource(resource, &scope, &mut diagnostics);
            if diagnostics.has_errors() {
                let messages: Vec<String> = diagnostics
                    .iter()
                    .map(|diag| diag.message.clone())
                    .collect();
                self.diagnostics
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .extend(diagnostics);
                return Err(OperationError::Evaluation {
                    address: address.clone(),
                    messages,
                });
            }
            config
        };
        let is_update = change.action == Action::Update;
        let prior = if is_update {
            change.before.clone()
        } else {
            None
        };
        let final_plan = provider
            .plan(schema, prior.as_ref(), &config)
            .map_err(|err| {
                OperationError::provider(Some(&format!("planning `{address}`")), &err)
            })?;
        let mut planned = final_plan.planned;
        if let Some(prior) = &prior {
            for (path, _) in &resource.lifecycle.ignore_changes {
                if let Some(kept) = prior.get_path(path) {
                    set_path(&mut planned, path, kept);
                }
            }
        }
        if let Some(expected) = &change.after
            && let Some(path) = first_inconsistency(expected, &planned)
        {
            return Err(Inconsistency::PlannedDifferently {
                address: address.clone(),
                path,
            }
            .into());
        }
        let key = address.to_string();
        let resource_type = &address.resource_type;
        if is_update {
            let id = change.prior_id.clone().unwrap_or_default();
            let prior = change.before.clone().unwrap_or_default();
            let new_value = provider
                .update(ctx, resource_type, &id, &prior, &planned)
                .await
                .map_err(|err| OperationError::from(&err))?;
            self.record_done(change, &id, new_value).await?;
            return Ok(Some(id));
        }

        // A create, or the create half of a replacement.
        let id = provider.intended_id(resource_type, &planned);
        let mut pending = resource_state(change, &id, &planned);
        let mut before_send = Vec::new();
        if change.action == Action::CreateThenDelete {
            before_send.push(JournalRecord::Depose {
                address: key.clone(),
            });
        }
        if schema.remote {
            before_send.push(JournalRecord::Begin {
                address: key.clone(),
                resource: pending.clone(),
            });
        }
        if !before_send.is_empty() {
            self.walk.record(before_send).await?;
        }
        match provider.create(ctx, resource_type, &id, &planned).await {
            Ok(new_value) => {
                self.record_done(change, &id, new_value).await?;
                Ok(Some(id))
            }
            Err(err) => {
                if schema.remote {
                    // The object may exist half made: the next plan replaces it.
                    pending.status = ResourceStatus::Tainted;
                    self.walk
                        .record(vec![JournalRecord::Put {
                            address: key,
                            resource: pending,
                        }])
                        .await?;
                }
                Err(OperationError::from(&err))
            }
        }
    }

    /// Journals the object `change` now has (`id`, `value`), then makes its value known to
    /// what is evaluated next.
    async fn record_done(
        &self,
        change: &ResourceChange,
        id: &str,
        value: Value,
    ) -> Result<(), OperationError> {
        self.walk
            .record(vec![JournalRecord::Put {
                address: change.address.to_string(),
                resource: resource_state(change, id, &value),
            }])
            .await?;
        self.set_value(&change.address, Some(value));
        Ok(())
    }

    async fn destroy_one(
        &self,
        ctx: &OpContext,
        change: &ResourceChange,
    ) -> Result<Option<String>, OperationError> {
        let address = &change.address;
        let Some(provider) = self.input.walk.registry.provider(&address.resource_type) else {
            return Err(Inconsistency::NoProvider(address.resource_type.clone()).into());
        };
        let id = change.prior_id.clone().unwrap_or_default();
        let before = change.before.clone().unwrap_or_default();
        provider
            .delete(ctx, &address.resource_type, &id, &before)
            .await
            .map_err(|err| OperationError::from(&err))?;
        let record = if change.deposed || change.action == Action::CreateThenDelete {
            JournalRecord::RemoveDeposed {
                address: address.to_string(),
                id: id.clone(),
            }
        } else {
            JournalRecord::Remove {
                address: address.to_string(),
            }
        };
        self.walk.record(vec![record]).await?;
        if change.action == Action::Delete && !change.deposed {
            self.set_value(address, None);
        }
        Ok(Some(id))
    }

    async fn record_outputs(&self) -> Result<(), OperationError> {
        let values = self
            .values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        let scope = PlanScope {
            variables: &self.input.plan.variables,
            resources: &values,
        };
        let mut records = Vec::new();
        for output_change in &self.input.plan.output_changes {
            let declared = self
                .input
                .module
                .outputs
                .get(&output_change.name)
                .filter(|_| output_change.after.is_some());
            let output = match declared {
                Some(output) => match evaluate(&output.value, &scope) {
                    Ok(value) if value.is_wholly_known() => Some(OutputState {
                        value: value.to_json(),
                        sensitive: output.sensitive || value.contains_sensitive(),
                    }),
                    _ => continue,
                },
                None => None,
            };
            records.push(JournalRecord::Output {
                name: output_change.name.clone(),
                output,
            });
        }
        if records.is_empty() {
            return Ok(());
        }
        self.walk.record(records).await
    }
}

/// The state of `change`'s object `id` with `value`, its dependencies and lifecycle.
fn resource_state(change: &ResourceChange, id: &str, value: &Value) -> ResourceState {
    let mut record = ResourceState::from_value(&change.address, id, value);
    record.dependencies = change
        .dependencies
        .iter()
        .map(ToString::to_string)
        .collect();
    record.create_before_destroy = change.create_before_destroy;
    record
}

/// The first path where `actual` contradicts a known value of `expected`.
fn first_inconsistency(expected: &Value, actual: &Value) -> Option<String> {
    fn walk(expected: &Value, actual: &Value, at: &mut Path) -> Option<String> {
        match (expected.unmarked(), actual.unmarked()) {
            (Value::Unknown, _) => None,
            (Value::Map(left), Value::Map(right)) => {
                for (key, item) in left {
                    at.push(PathSeg::Key(key.clone()));
                    let found = walk(item, right.get(key).unwrap_or(&Value::Null), at);
                    at.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            (Value::List(left), Value::List(right)) if left.len() == right.len() => {
                for (idx, (l, r)) in left.iter().zip(right).enumerate() {
                    at.push(PathSeg::Index(idx));
                    let found = walk(l, r, at);
                    at.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            (left, right) => {
                (!left.same_data(right) && left.is_wholly_known()).then(|| path_to_string(at))
            }
        }
    }
    walk(expected, actual, &mut Vec::new())
}

#[cfg(test)]
mod tests;
