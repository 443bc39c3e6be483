//! The apply walk: run a plan's operations over tokio, each as soon as what it waits for is
//! done, under a parallelism limit.
//!
//! Invariants: every finished operation is in the journal (durable) before anything that
//! waits for it starts; a remote create's intended identity is in the journal before the
//! request is sent; a failure skips only what waits for it; the engine never prints — it
//! sends [`ApplyEvent`]s.

pub mod order;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::addr::Address;
use crate::config::Module;
use crate::config::eval::evaluate;
use crate::diag::Diagnostics;
use crate::plan::diff::{PlanScope, evaluate_resource, set_path};
use crate::plan::{Action, Plan, ResourceChange};
use crate::provider::{OpContext, Registry};
use crate::state::{Journal, JournalRecord, OutputState, ResourceState, ResourceStatus, State};
use crate::value::{Path, PathSeg, Value, path_to_string};
use order::{Op, OpKind};

/// What the walk tells whoever shows progress.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyEvent {
    Started {
        address: Address,
        verb: Verb,
    },
    Status {
        address: Address,
        text: String,
    },
    Finished {
        address: Address,
        verb: Verb,
        elapsed: Duration,
        id: Option<String>,
    },
    Failed {
        address: Address,
        verb: Verb,
        elapsed: Duration,
        message: String,
        details: Vec<String>,
    },
    Skipped {
        address: Address,
        reason: String,
    },
    /// The first interrupt arrived: nothing new starts.
    Stopping {
        in_flight: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Creating,
    Modifying,
    Destroying,
    /// `fk stop` (see [`crate::lifecycle`]).
    Stopping,
    /// `fk start`.
    Starting,
}

impl Verb {
    pub fn present(self) -> &'static str {
        match self {
            Verb::Creating => "Creating",
            Verb::Modifying => "Modifying",
            Verb::Destroying => "Destroying",
            Verb::Stopping => "Stopping",
            Verb::Starting => "Starting",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            Verb::Creating => "Creation complete",
            Verb::Modifying => "Modifications complete",
            Verb::Destroying => "Destruction complete",
            Verb::Stopping => "Stop complete",
            Verb::Starting => "Start complete",
        }
    }
}

pub struct ApplyInput<'a> {
    pub plan: &'a Plan,
    pub module: &'a Module,
    pub registry: &'a Registry,
    /// The state to start from (the plan's refreshed prior state, or the stored state).
    pub state: State,
    pub journal: Arc<dyn Journal>,
    pub parallelism: usize,
    /// Becomes `true` on the first interrupt: finish what runs, start nothing new.
    pub interrupt: watch::Receiver<bool>,
    pub events: mpsc::UnboundedSender<ApplyEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed(String),
    Skipped(String),
    NotStarted,
}

#[derive(Clone, Debug)]
pub struct OpResult {
    pub address: Address,
    /// The planned action of the change this operation belongs to.
    pub action: Action,
    pub kind: OpKind,
    pub outcome: Outcome,
}

pub struct ApplyReport {
    /// The state after the walk (what the journal holds), ready to be compacted.
    pub state: State,
    pub results: Vec<OpResult>,
    pub interrupted: bool,
    /// Evaluation problems met while applying (a reference that no longer resolves).
    pub diagnostics: Diagnostics,
    pub journal_error: Option<String>,
}

impl ApplyReport {
    pub fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.results
            .iter()
            .filter(|result| wanted(&result.outcome))
            .count()
    }

    pub fn succeeded(&self) -> bool {
        self.journal_error.is_none()
            && !self.interrupted
            && self
                .results
                .iter()
                .all(|result| result.outcome == Outcome::Succeeded)
    }
}

/// Shared by the running operations.
struct Walk<'a> {
    input: &'a ApplyInput<'a>,
    state: Mutex<State>,
    /// Current values of every resource, for evaluating references.
    values: Mutex<BTreeMap<Address, Value>>,
    diagnostics: Mutex<Diagnostics>,
}

pub async fn run(input: ApplyInput<'_>) -> ApplyReport {
    let ops = match order::build(input.plan) {
        Ok(ops) => ops,
        Err(message) => {
            return ApplyReport {
                state: input.state.clone(),
                results: Vec::new(),
                interrupted: false,
                diagnostics: Diagnostics::default(),
                journal_error: Some(message),
            };
        }
    };
    let values = input
        .state
        .resources
        .values()
        .map(|resource| (resource.address(), resource.value()))
        .collect();
    let walk = Walk {
        state: Mutex::new(input.state.clone()),
        values: Mutex::new(values),
        diagnostics: Mutex::new(Diagnostics::default()),
        input: &input,
    };
    let (outcomes, interrupted) = schedule(&walk, &ops).await;
    let mut journal_error = None;
    if !interrupted && let Err(err) = walk.record_outputs().await {
        journal_error = Some(err);
    }
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
    if journal_error.is_none() {
        journal_error = results.iter().find_map(|result| match &result.outcome {
            Outcome::Failed(message) if message.starts_with(JOURNAL_FAILURE) => {
                Some(message.clone())
            }
            _ => None,
        });
    }
    let state = walk
        .state
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    let diagnostics = walk
        .diagnostics
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    ApplyReport {
        state,
        results,
        interrupted,
        diagnostics,
        journal_error,
    }
}

const JOURNAL_FAILURE: &str = "recording state failed";

/// What an operation returns: the object's identity, or a message and the service's details.
pub type OperationResult = Result<Option<String>, (String, Vec<String>)>;

/// Runs one operation with its progress events: `Started`, the operation's own `Status`
/// lines through the context it is given, then `Finished` or `Failed` with the time taken.
/// Shared by the apply walk and `fk stop` / `fk start`.
pub async fn report_operation<F, Fut>(
    events: &mpsc::UnboundedSender<ApplyEvent>,
    address: &Address,
    verb: Verb,
    operation: F,
) -> Outcome
where
    F: FnOnce(OpContext) -> Fut,
    Fut: std::future::Future<Output = OperationResult>,
{
    let _ = events.send(ApplyEvent::Started {
        address: address.clone(),
        verb,
    });
    let started = Instant::now();
    let status_events = events.clone();
    let status_address = address.clone();
    let ctx = OpContext {
        address: address.clone(),
        progress: Arc::new(move |text: &str| {
            let _ = status_events.send(ApplyEvent::Status {
                address: status_address.clone(),
                text: text.to_string(),
            });
        }),
    };
    let result = operation(ctx).await;
    let elapsed = started.elapsed();
    match result {
        Ok(id) => {
            let _ = events.send(ApplyEvent::Finished {
                address: address.clone(),
                verb,
                elapsed,
                id,
            });
            Outcome::Succeeded
        }
        Err((message, details)) => {
            let _ = events.send(ApplyEvent::Failed {
                address: address.clone(),
                verb,
                elapsed,
                message: message.clone(),
                details,
            });
            Outcome::Failed(message)
        }
    }
}

/// Starts every operation whose waits are over, at most `parallelism` at once.
async fn schedule(walk: &Walk<'_>, ops: &[Op]) -> (Vec<Outcome>, bool) {
    let tasks: Vec<schedule::Task<'_>> = ops
        .iter()
        .map(|op| schedule::Task {
            address: &walk.input.plan.changes[op.change_idx].address,
            n_waits: op.waits_for.len(),
            unblocks: &op.unblocks,
            reports_skip: true,
        })
        .collect();
    schedule::run(
        &tasks,
        walk.input.parallelism,
        walk.input.interrupt.clone(),
        &walk.input.events,
        |op_idx| walk.execute(&ops[op_idx]),
    )
    .await
}

impl Walk<'_> {
    async fn execute(&self, op: &Op) -> Outcome {
        let change = &self.input.plan.changes[op.change_idx];
        let verb = match (op.kind, change.action) {
            (OpKind::Destroy, _) => Verb::Destroying,
            (OpKind::Apply, Action::Update) => Verb::Modifying,
            (OpKind::Apply, _) => Verb::Creating,
        };
        report_operation(
            &self.input.events,
            &change.address,
            verb,
            |ctx| async move {
                match op.kind {
                    OpKind::Apply => self.apply_one(&ctx, change).await,
                    OpKind::Destroy => self.destroy_one(&ctx, change).await,
                }
            },
        )
        .await
    }

    async fn record(&self, records: Vec<JournalRecord>) -> Result<(), (String, Vec<String>)> {
        self.input
            .journal
            .append(records.clone())
            .await
            .map_err(|err| (format!("{JOURNAL_FAILURE}: {err}"), Vec::new()))?;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for record in &records {
            record.apply_to(&mut state);
        }
        Ok(())
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
    ) -> Result<Option<String>, (String, Vec<String>)> {
        let address = &change.address;
        let failure = |message: String| (message, Vec::new());
        let resource = self
            .input
            .module
            .resources
            .get(address)
            .ok_or_else(|| failure(format!("`{address}` is not in the module any more")))?;
        let registry = self.input.registry;
        let (Some(schema), Some(provider)) = (
            registry.schema(&address.resource_type),
            registry.provider(&address.resource_type),
        ) else {
            return Err(failure(format!(
                "no provider for `{}`",
                address.resource_type
            )));
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
                return Err(failure(format!(
                    "evaluating `{address}`: {}",
                    messages.join("; ")
                )));
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
            .map_err(|err| (format!("planning `{address}`: {err}"), err.details.clone()))?;
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
            return Err(failure(format!(
                "`{address}`: the provider planned `{path}` differently at apply time than \
                     in the plan; plan again"
            )));
        }
        let dependencies: Vec<String> = change
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect();
        let key = address.to_string();
        let resource_type = &address.resource_type;
        if is_update {
            let id = change.prior_id.clone().unwrap_or_default();
            let prior = change.before.clone().unwrap_or_default();
            let new_value = provider
                .update(ctx, resource_type, &id, &prior, &planned)
                .await
                .map_err(|err| (err.message.clone(), err.details.clone()))?;
            let mut record = ResourceState::from_value(address, &id, &new_value);
            record.dependencies = dependencies;
            record.create_before_destroy = change.create_before_destroy;
            self.record(vec![JournalRecord::Put {
                address: key,
                resource: record,
            }])
            .await?;
            self.set_value(address, Some(new_value));
            return Ok(Some(id));
        }

        // A create, or the create half of a replacement.
        let id = provider.intended_id(resource_type, &planned);
        let mut pending = ResourceState::from_value(address, &id, &planned);
        pending.dependencies = dependencies;
        pending.create_before_destroy = change.create_before_destroy;
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
            self.record(before_send).await?;
        }
        match provider.create(ctx, resource_type, &id, &planned).await {
            Ok(new_value) => {
                let mut record = ResourceState::from_value(address, &id, &new_value);
                record.dependencies = pending.dependencies;
                record.create_before_destroy = pending.create_before_destroy;
                self.record(vec![JournalRecord::Put {
                    address: key,
                    resource: record,
                }])
                .await?;
                self.set_value(address, Some(new_value));
                Ok(Some(id))
            }
            Err(err) => {
                if schema.remote {
                    // The object may exist half made: the next plan replaces it.
                    pending.status = ResourceStatus::Tainted;
                    self.record(vec![JournalRecord::Put {
                        address: key,
                        resource: pending,
                    }])
                    .await?;
                }
                Err((err.message.clone(), err.details.clone()))
            }
        }
    }

    async fn destroy_one(
        &self,
        ctx: &OpContext,
        change: &ResourceChange,
    ) -> Result<Option<String>, (String, Vec<String>)> {
        let address = &change.address;
        let Some(provider) = self.input.registry.provider(&address.resource_type) else {
            return Err((
                format!("no provider for `{}`", address.resource_type),
                Vec::new(),
            ));
        };
        let id = change.prior_id.clone().unwrap_or_default();
        let before = change.before.clone().unwrap_or_default();
        provider
            .delete(ctx, &address.resource_type, &id, &before)
            .await
            .map_err(|err| (err.message.clone(), err.details.clone()))?;
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
        self.record(vec![record]).await?;
        if change.action == Action::Delete && !change.deposed {
            self.set_value(address, None);
        }
        Ok(Some(id))
    }

    async fn record_outputs(&self) -> Result<(), String> {
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
        self.record(records).await.map_err(|(message, _)| message)
    }
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
