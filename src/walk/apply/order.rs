//! The execution graph of a plan: which operation waits for which.
//!
//! Every change becomes one or two operations: an *apply* (create or update) and a *destroy*
//! (delete of the old object). Edges, with `X ← Y` meaning X waits for Y:
//! - apply(X) ← apply(D) for each dependency D of X in the module;
//! - destroy(X) ← destroy(Y) for each Y that depends on X (dependents go first);
//! - delete-then-create: apply(X) ← destroy(X);
//! - create-before-destroy: destroy(X) ← apply(X), and destroy(X) ← apply(Y) for each Y
//!   that depends on X (dependents move to the new object first);
//! - destroy(X) ← apply(Y) for each Y that depended on X in state but no longer does.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::Address;
use crate::plan::{Action, Plan};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OpKind {
    Apply,
    Destroy,
}

#[derive(Clone, Debug)]
pub(crate) struct Op {
    /// Index into `plan.changes`.
    pub(crate) change_idx: usize,
    pub(crate) kind: OpKind,
    /// Operations this one waits for.
    pub(crate) waits_for: Vec<usize>,
    /// Operations that wait for this one.
    pub(crate) unblocks: Vec<usize>,
}

/// The operations of a plan with their ordering. `Err` names a cycle (an impossible mix of
/// create_before_destroy and delete-first replacements).
pub(crate) fn build(plan: &Plan) -> Result<Vec<Op>, String> {
    let mut ops: Vec<Op> = Vec::new();
    let mut apply_op: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut destroy_op: BTreeMap<&Address, usize> = BTreeMap::new();
    for (change_idx, change) in plan.changes.iter().enumerate() {
        let kinds: &[OpKind] = match change.action {
            Action::NoOp => &[],
            Action::Create | Action::Update => &[OpKind::Apply],
            Action::Delete => &[OpKind::Destroy],
            Action::DeleteThenCreate | Action::CreateThenDelete => {
                &[OpKind::Apply, OpKind::Destroy]
            }
        };
        for kind in kinds {
            let op_idx = ops.len();
            ops.push(Op {
                change_idx,
                kind: *kind,
                waits_for: Vec::new(),
                unblocks: Vec::new(),
            });
            match kind {
                OpKind::Apply => apply_op.insert(&change.address, op_idx),
                // Several deposed objects may share an address; the first destroy stands
                // for ordering.
                OpKind::Destroy => {
                    destroy_op.entry(&change.address).or_insert(op_idx);
                    None
                }
            };
        }
    }

    // Who depends on whom, in the module and in state.
    let mut config_dependents: BTreeMap<&Address, BTreeSet<&Address>> = BTreeMap::new();
    let mut state_dependents: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for change in &plan.changes {
        if change.action != Action::Delete {
            for dependency in &change.dependencies {
                config_dependents
                    .entry(dependency)
                    .or_default()
                    .insert(&change.address);
            }
        }
    }
    for resource in plan.prior_state.resources.values() {
        for dependency in &resource.dependencies {
            if let Some(dependency) = Address::parse(dependency) {
                state_dependents
                    .entry(dependency)
                    .or_default()
                    .insert(resource.address());
            }
        }
    }

    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new(); // (waits, for)
    for (op_idx, op) in ops.iter().enumerate() {
        let change = &plan.changes[op.change_idx];
        let address = &change.address;
        match op.kind {
            OpKind::Apply => {
                if change.action != Action::Delete {
                    for dependency in &change.dependencies {
                        if let Some(&other) = apply_op.get(dependency) {
                            edges.insert((op_idx, other));
                        }
                    }
                }
                if change.action == Action::DeleteThenCreate
                    && let Some(&other) = destroy_op.get(address)
                {
                    edges.insert((op_idx, other));
                }
            }
            OpKind::Destroy => {
                let in_config = config_dependents.get(address);
                let in_state = state_dependents.get(address);
                let all_dependents: BTreeSet<&Address> = in_config
                    .into_iter()
                    .flatten()
                    .copied()
                    .chain(in_state.into_iter().flatten())
                    .collect();
                for dependent in &all_dependents {
                    if let Some(&other) = destroy_op.get(*dependent)
                        && other != op_idx
                    {
                        edges.insert((op_idx, other));
                    }
                }
                let cbd = change.action == Action::CreateThenDelete || change.deposed;
                if cbd {
                    if let Some(&other) = apply_op.get(address) {
                        edges.insert((op_idx, other));
                    }
                    for dependent in in_config.into_iter().flatten() {
                        if let Some(&other) = apply_op.get(*dependent) {
                            edges.insert((op_idx, other));
                        }
                    }
                }
                for dependent in in_state.into_iter().flatten() {
                    let still_depends = in_config.is_some_and(|set| set.contains(dependent));
                    if !still_depends && let Some(&other) = apply_op.get(dependent) {
                        edges.insert((op_idx, other));
                    }
                }
            }
        }
    }
    for (waiting, waited) in edges {
        ops[waiting].waits_for.push(waited);
        ops[waited].unblocks.push(waiting);
    }
    check_acyclic(plan, &ops)?;
    Ok(ops)
}

fn check_acyclic(plan: &Plan, ops: &[Op]) -> Result<(), String> {
    let mut remaining: Vec<usize> = ops.iter().map(|op| op.waits_for.len()).collect();
    let mut ready: Vec<usize> = (0..ops.len()).filter(|idx| remaining[*idx] == 0).collect();
    let mut n_done = 0;
    while let Some(op_idx) = ready.pop() {
        n_done += 1;
        for &next in &ops[op_idx].unblocks {
            remaining[next] -= 1;
            if remaining[next] == 0 {
                ready.push(next);
            }
        }
    }
    if n_done == ops.len() {
        return Ok(());
    }
    let stuck: BTreeSet<String> = (0..ops.len())
        .filter(|idx| remaining[*idx] > 0)
        .map(|idx| plan.changes[ops[idx].change_idx].address.to_string())
        .collect();
    Err(format!(
        "the replacements of {} cannot be ordered: a resource replaced with \
         create_before_destroy depends on one replaced delete-first; set \
         create_before_destroy on its dependencies too",
        stuck
            .into_iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
