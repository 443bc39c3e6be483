//! The scheduler shared by the apply walk and `fk stop` / `fk start`: a task starts as soon
//! as every task it waits for has succeeded, at most `parallelism` at once; a failure skips
//! exactly what waits on it, transitively; the first interrupt starts nothing new.

use std::collections::VecDeque;
use std::future::Future;

use futures::StreamExt as _;
use tokio::sync::{mpsc, watch};

use crate::addr::Address;

use super::{ApplyEvent, Outcome};

/// One task to schedule, by index into the caller's list.
pub(crate) struct Task<'a> {
    pub(crate) address: &'a Address,
    /// How many tasks this one waits for.
    pub(crate) n_waits: usize,
    /// The tasks that wait for this one.
    pub(crate) unblocks: &'a [usize],
    /// Whether a skip of this task is reported as an event (tasks that do nothing are not).
    pub(crate) reports_skip: bool,
}

/// Runs the tasks; returns each one's outcome and whether an interrupt stopped the walk.
pub(crate) async fn run<F, Fut>(
    tasks: &[Task<'_>],
    parallelism: usize,
    mut interrupt: watch::Receiver<bool>,
    events: &mpsc::UnboundedSender<ApplyEvent>,
    execute: F,
) -> (Vec<Outcome>, bool)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut outcomes = vec![Outcome::NotStarted; tasks.len()];
    let mut remaining: Vec<usize> = tasks.iter().map(|task| task.n_waits).collect();
    let mut ready: VecDeque<usize> = (0..tasks.len())
        .filter(|idx| remaining[*idx] == 0)
        .collect();
    let mut interrupted = *interrupt.borrow();
    let parallelism = parallelism.max(1);
    let mut running = futures::stream::FuturesUnordered::new();
    loop {
        while !interrupted && running.len() < parallelism {
            let Some(task_idx) = ready.pop_front() else {
                break;
            };
            let started = execute(task_idx);
            running.push(async move { (task_idx, started.await) });
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            finished = running.next() => {
                let Some((task_idx, outcome)) = finished else { break };
                let failed = outcome != Outcome::Succeeded;
                outcomes[task_idx] = outcome;
                if failed {
                    skip_waiting(tasks, task_idx, &mut outcomes, events);
                }
                for &next in tasks[task_idx].unblocks {
                    remaining[next] -= 1;
                    if remaining[next] == 0 && outcomes[next] == Outcome::NotStarted {
                        ready.push_back(next);
                    }
                }
            }
            changed = interrupt.changed(), if !interrupted => {
                if changed.is_ok() && *interrupt.borrow() {
                    interrupted = true;
                    let _ = events.send(ApplyEvent::Stopping { in_flight: running.len() });
                }
            }
        }
    }
    (outcomes, interrupted)
}

/// Marks everything that waits on `failed_idx`, transitively, as skipped.
fn skip_waiting(
    tasks: &[Task<'_>],
    failed_idx: usize,
    outcomes: &mut [Outcome],
    events: &mpsc::UnboundedSender<ApplyEvent>,
) {
    let reason = format!("`{}` did not succeed", tasks[failed_idx].address);
    let mut stack: Vec<usize> = tasks[failed_idx].unblocks.to_vec();
    while let Some(task_idx) = stack.pop() {
        if outcomes[task_idx] != Outcome::NotStarted {
            continue;
        }
        outcomes[task_idx] = Outcome::Skipped(reason.clone());
        if tasks[task_idx].reports_skip {
            let _ = events.send(ApplyEvent::Skipped {
                address: tasks[task_idx].address.clone(),
                reason: reason.clone(),
            });
        }
        stack.extend(tasks[task_idx].unblocks.iter().copied());
    }
}
