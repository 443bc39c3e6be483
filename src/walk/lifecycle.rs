//! `fk stop` and `fk start` as one engine operation: a lifecycle action on every resource
//! whose provider supports it, walked over the dependency graph.
//!
//! Stop runs dependents first (the kube components before the apiserver, the apiserver
//! before etcd), so etcd stops last, when nothing writes to it any more: the etcd group's
//! snapshot sidecar takes the final snapshot when ACI stops the group (its containers get
//! SIGTERM). Start runs dependencies first; the provider returns only once a group is ready,
//! so each group is running before its dependents start. A group whose start fails is
//! stopped again (ACI keeps retrying a failed group until it is stopped) and stays stopped in
//! state, so the next `fk start` retries it.
//!
//! The walk's second client (see [`crate::walk`] for the scheduling, the events, the
//! journal-then-unblock step and the invariants). Resources without the action
//! (certificates, storage) are passed through at once, so the order between groups holds
//! across them.

use std::collections::BTreeMap;

use crate::addr::Address;
use crate::diag::Diagnostics;
use crate::graph::DependencyGraph;
use crate::provider::{Action, OpContext, Registry};
use crate::state::{JournalRecord, ResourceState, State};

use super::{Inconsistency, OperationError, Outcome, Verb, Walk, WalkInput, WalkReport, schedule};

pub(crate) struct LifecycleInput<'a> {
    pub(crate) action: Action,
    /// The module's graph with the state's orphans (`graph::build(module, Some(state))`).
    pub(crate) graph: &'a DependencyGraph,
    /// What every walk needs; its state is the stored state.
    pub(crate) walk: WalkInput<'a>,
}

/// One result per resource the action applies to, in the order they were planned.
pub(crate) type LifecycleReport = WalkReport<(Address, Outcome)>;

/// The resources `action` applies to, in the order it runs them one at a time: stop in
/// reverse dependency order, start in dependency order. Already stopped (or running)
/// resources are left out.
pub(crate) fn targets(
    action: Action,
    graph: &DependencyGraph,
    registry: &Registry,
    state: &State,
) -> Vec<Address> {
    let mut order = graph.topological_order();
    if action == Action::Stop {
        order.reverse();
    }
    order
        .into_iter()
        .filter(|address| is_target(action, address, registry, state))
        .collect()
}

fn is_target(action: Action, address: &Address, registry: &Registry, state: &State) -> bool {
    let supported = registry
        .provider(&address.resource_type)
        .is_some_and(|provider| provider.actions(&address.resource_type).contains(&action));
    let Some(record) = state.resource(address).filter(|_| supported) else {
        return false;
    };
    match action {
        Action::Stop => !record.is_stopped(),
        Action::Start => record.is_stopped(),
    }
}

/// One node of the walk: what it waits for and whether it acts or only passes through.
struct Node {
    address: Address,
    acts: bool,
    waits_for: usize,
    unblocks: Vec<usize>,
}

fn nodes(input: &LifecycleInput<'_>) -> Vec<Node> {
    let order = input.graph.topological_order();
    let position: BTreeMap<&Address, usize> = order
        .iter()
        .enumerate()
        .map(|(idx, address)| (address, idx))
        .collect();
    let mut nodes: Vec<Node> = order
        .iter()
        .map(|address| Node {
            address: address.clone(),
            acts: is_target(
                input.action,
                address,
                input.walk.registry,
                &input.walk.state,
            ),
            waits_for: 0,
            unblocks: Vec::new(),
        })
        .collect();
    for (idx, address) in order.iter().enumerate() {
        for dependency in input.graph.dependencies(address) {
            let Some(&dependency_idx) = position.get(&dependency) else {
                continue;
            };
            // Start: a node waits for its dependencies; stop: for its dependents.
            let (first, then) = match input.action {
                Action::Start => (dependency_idx, idx),
                Action::Stop => (idx, dependency_idx),
            };
            nodes[first].unblocks.push(then);
            nodes[then].waits_for += 1;
        }
    }
    nodes
}

pub(crate) async fn run(input: LifecycleInput<'_>) -> LifecycleReport {
    let nodes = nodes(&input);
    let walk = Walk::new(&input.walk);
    let tasks: Vec<schedule::Task<'_>> = nodes
        .iter()
        .map(|node| schedule::Task {
            address: &node.address,
            n_waits: node.waits_for,
            unblocks: &node.unblocks,
            reports_skip: node.acts,
        })
        .collect();
    let (outcomes, interrupted) = walk
        .schedule(&tasks, |idx| {
            let (input, walk, node) = (&input, &walk, &nodes[idx]);
            async move {
                if !node.acts {
                    return Outcome::Succeeded;
                }
                act_one(input, walk, &node.address).await
            }
        })
        .await;
    let results = nodes
        .iter()
        .zip(outcomes)
        .filter(|(node, _)| node.acts)
        .map(|(node, outcome)| (node.address.clone(), outcome))
        .collect();
    walk.finish(results, interrupted, Diagnostics::default(), None)
}

/// Calls the provider, then journals the new state with `stopped` set or cleared.
async fn act_one(input: &LifecycleInput<'_>, walk: &Walk<'_>, address: &Address) -> Outcome {
    let verb = match input.action {
        Action::Stop => Verb::Stopping,
        Action::Start => Verb::Starting,
    };
    walk.step(address, verb, |ctx| async move {
        act_and_record(input, walk, &ctx).await.map(Some)
    })
    .await
}

async fn act_and_record(
    input: &LifecycleInput<'_>,
    walk: &Walk<'_>,
    ctx: &OpContext,
) -> Result<String, OperationError> {
    let address = &ctx.address;
    let (Some(provider), Some(prior)) = (
        input.walk.registry.provider(&address.resource_type),
        input.walk.state.resource(address),
    ) else {
        return Err(Inconsistency::NotInState(address.clone()).into());
    };
    let prior_value = prior.value();
    let acted = provider
        .act(
            ctx,
            &address.resource_type,
            &prior.id,
            &prior_value,
            input.action,
        )
        .await;
    let new_value = match acted {
        Ok(new_value) => new_value.unwrap_or(prior_value),
        Err(mut err) if input.action == Action::Start => {
            // A group whose start failed keeps retrying (and billing) until it is stopped
            // explicitly (ACI): stop it again; it stays stopped in state, so the next
            // `fk start` retries it.
            let stopped_again = provider
                .act(
                    ctx,
                    &address.resource_type,
                    &prior.id,
                    &prior_value,
                    Action::Stop,
                )
                .await;
            err.details.push(match stopped_again {
                Ok(_) => {
                    "stopped again, so it does not keep retrying; `fk start` retries it".to_string()
                }
                Err(stop_err) => format!("stopping it again failed too: {stop_err}"),
            });
            return Err(OperationError::from(&err));
        }
        Err(err) => return Err(OperationError::from(&err)),
    };
    let mut record = ResourceState::from_value(address, &prior.id, &new_value);
    record.status = prior.status;
    record.dependencies = prior.dependencies.clone();
    record.create_before_destroy = prior.create_before_destroy;
    record.stopped = input.action == Action::Stop;
    walk.record(vec![JournalRecord::Put {
        address: address.to_string(),
        resource: record,
    }])
    .await?;
    Ok(prior.id.clone())
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
