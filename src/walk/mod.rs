//! The walk: the steps of an engine operation run over tokio, each as soon as what it waits
//! for is done, under a parallelism limit. Two clients share it: [`apply`] (`fk apply`,
//! `fk destroy`: the plan's operations) and [`lifecycle`] (`fk stop`, `fk start`: an action
//! on every group). Each gives the walk its steps and what to do in one; the walk does the
//! rest: scheduling ([`schedule`]), progress ([`ApplyEvent`]s), the journal-then-unblock step
//! ([`Walk::record`]) and the report ([`WalkReport`]) with typed outcomes
//! ([`OperationError`]).
//!
//! Invariants: every finished step is in the journal (durable) before anything that waits
//! for it starts; a remote create's intended identity is in the journal before the request
//! is sent; a failure skips only what waits for it; the first interrupt starts nothing new;
//! the walk never prints — it sends [`ApplyEvent`]s.

pub mod apply;
pub mod lifecycle;
mod schedule;
#[cfg(test)]
mod test_support;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::addr::Address;
use crate::diag::Diagnostics;
use crate::provider::{OpContext, ProviderError, Registry};
use crate::state::{Journal, JournalRecord, State, StateError};

/// What both clients hand the walk besides their own plan (the plan and module for
/// [`apply`], the action and graph for [`lifecycle`]).
pub(crate) struct WalkInput<'a> {
    pub(crate) registry: &'a Registry,
    /// The state to start from (the plan's refreshed prior state, or the stored state).
    pub(crate) state: State,
    pub(crate) journal: Arc<dyn Journal>,
    pub(crate) parallelism: usize,
    /// Becomes `true` on the first interrupt: finish what runs, start nothing new.
    pub(crate) interrupt: watch::Receiver<bool>,
    pub(crate) events: mpsc::UnboundedSender<ApplyEvent>,
}

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
        error: OperationError,
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
    /// `fk stop` (see [`lifecycle`]).
    Stopping,
    /// `fk start`.
    Starting,
}

impl Verb {
    pub(crate) fn present(self) -> &'static str {
        match self {
            Verb::Creating => "Creating",
            Verb::Modifying => "Modifying",
            Verb::Destroying => "Destroying",
            Verb::Stopping => "Stopping",
            Verb::Starting => "Starting",
        }
    }

    pub(crate) fn past(self) -> &'static str {
        match self {
            Verb::Creating => "Creation complete",
            Verb::Modifying => "Modifications complete",
            Verb::Destroying => "Destruction complete",
            Verb::Stopping => "Stop complete",
            Verb::Starting => "Start complete",
        }
    }
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed(OperationError),
    /// Something it waits for did not succeed (the reason names it).
    Skipped(String),
    /// An interrupt came before it could start.
    NotStarted,
}

/// Why a step (or the walk as a whole) did not succeed. `Display` is the one-line message
/// (never a secret); the provider's code and details are kept beside it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// The provider refused or failed the operation (or its plan at apply time).
    #[error("{message}")]
    Provider {
        /// The provider's stable code (`fk::azure::throttled`).
        code: String,
        message: String,
        /// Further lines: the service's events, inner errors.
        details: Vec<String>,
    },
    /// The journal refused a record: what the step did may be unrecorded, and nothing after
    /// it is trusted to the journal.
    #[error("recording state failed: {message}")]
    Journal { message: String },
    /// The module no longer evaluates for this resource with what is now known (the
    /// diagnostics are in the report).
    #[error("evaluating `{address}`: {}", .messages.join("; "))]
    Evaluation {
        address: Address,
        messages: Vec<String>,
    },
    /// What the walk was given disagrees with itself or with the provider.
    #[error(transparent)]
    Inconsistent(#[from] Inconsistency),
    /// The plan's operations cannot be ordered (a cycle of replacements); nothing ran.
    #[error("{message}")]
    Ordering { message: String },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    #[error("`{0}` is not in the module any more")]
    NotInModule(Address),
    #[error("`{0}` is not in state")]
    NotInState(Address),
    #[error("no provider for `{0}`")]
    NoProvider(String),
    #[error(
        "`{address}`: the provider planned `{path}` differently at apply time than in the plan; plan again"
    )]
    PlannedDifferently { address: Address, path: String },
}

impl OperationError {
    /// The stable code: the provider's own, or the walk's.
    pub(crate) fn code(&self) -> &str {
        match self {
            OperationError::Provider { code, .. } => code,
            OperationError::Journal { .. } => "fk::apply::journal",
            OperationError::Evaluation { .. } => "fk::apply::evaluation",
            OperationError::Inconsistent(_) => "fk::apply::inconsistent",
            OperationError::Ordering { .. } => "fk::apply::ordering",
        }
    }

    /// The further lines to show under the message.
    pub(crate) fn details(&self) -> &[String] {
        match self {
            OperationError::Provider { details, .. } => details,
            _ => &[],
        }
    }

    /// A provider's failure, its message prefixed with what the walk was doing
    /// (`planning `x``), code and details kept.
    fn provider(context: Option<&str>, err: &ProviderError) -> OperationError {
        OperationError::Provider {
            code: err.code.clone(),
            message: match context {
                Some(context) => format!("{context}: {}", err.message),
                None => err.message.clone(),
            },
            details: err.details.clone(),
        }
    }

    fn journal(err: &StateError) -> OperationError {
        OperationError::Journal {
            message: err.to_string(),
        }
    }
}

impl From<&ProviderError> for OperationError {
    fn from(err: &ProviderError) -> OperationError {
        OperationError::provider(None, err)
    }
}

/// A client's record of one step: where it ran and how it ended.
pub trait StepResult {
    fn outcome(&self) -> &Outcome;
}

impl StepResult for (Address, Outcome) {
    fn outcome(&self) -> &Outcome {
        &self.1
    }
}

/// What a walk returns, for both clients.
pub struct WalkReport<R> {
    /// The state after the walk (what the journal holds), ready to be compacted.
    pub state: State,
    /// One entry per step the client reports, in its planned order.
    pub results: Vec<R>,
    pub(crate) interrupted: bool,
    /// Evaluation problems met while walking (a reference that no longer resolves).
    pub(crate) diagnostics: Diagnostics,
    /// What failed the walk as a whole: the operations could not be ordered
    /// ([`OperationError::Ordering`]) or the journal refused a record
    /// ([`OperationError::Journal`]).
    pub(crate) error: Option<OperationError>,
}

impl<R: StepResult> WalkReport<R> {
    pub(crate) fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.results
            .iter()
            .filter(|result| wanted(result.outcome()))
            .count()
    }

    pub fn succeeded(&self) -> bool {
        self.error.is_none()
            && !self.interrupted
            && self
                .results
                .iter()
                .all(|result| *result.outcome() == Outcome::Succeeded)
    }
}

/// One walk in progress: the input and the state that the journal's records build.
struct Walk<'a> {
    input: &'a WalkInput<'a>,
    state: Mutex<State>,
}

impl<'a> Walk<'a> {
    fn new(input: &'a WalkInput<'a>) -> Walk<'a> {
        Walk {
            input,
            state: Mutex::new(input.state.clone()),
        }
    }

    /// Runs `tasks` as they become ready (see [`schedule::run`]); returns each one's outcome
    /// and whether an interrupt stopped the walk.
    async fn schedule<F, Fut>(
        &self,
        tasks: &[schedule::Task<'_>],
        execute: F,
    ) -> (Vec<Outcome>, bool)
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        schedule::run(
            tasks,
            self.input.parallelism,
            self.input.interrupt.clone(),
            &self.input.events,
            execute,
        )
        .await
    }

    /// The journal-then-unblock step: appends `records` to the journal (durable when it
    /// returns), then applies them to the walk's state. A step calls it before it returns,
    /// so the scheduler unblocks what waits for the step only once its records are durable.
    async fn record(&self, records: Vec<JournalRecord>) -> Result<(), OperationError> {
        self.input
            .journal
            .append(records.clone())
            .await
            .map_err(|err| OperationError::journal(&err))?;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for record in &records {
            record.apply_to(&mut state);
        }
        Ok(())
    }

    /// Runs one step with its progress events: `Started`, the step's own `Status` lines
    /// through the context it is given, then `Finished` or `Failed` with the time taken.
    async fn step<F, Fut>(&self, address: &Address, verb: Verb, operation: F) -> Outcome
    where
        F: FnOnce(OpContext) -> Fut,
        Fut: Future<Output = Result<Option<String>, OperationError>>,
    {
        let events = &self.input.events;
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
            Err(error) => {
                let _ = events.send(ApplyEvent::Failed {
                    address: address.clone(),
                    verb,
                    elapsed,
                    error: error.clone(),
                });
                Outcome::Failed(error)
            }
        }
    }

    /// The report: `error` if the walk as a whole failed, else the first journal failure
    /// of a step.
    fn finish<R: StepResult>(
        self,
        results: Vec<R>,
        interrupted: bool,
        diagnostics: Diagnostics,
        error: Option<OperationError>,
    ) -> WalkReport<R> {
        let error = error.or_else(|| {
            results.iter().find_map(|result| match result.outcome() {
                Outcome::Failed(error @ OperationError::Journal { .. }) => Some(error.clone()),
                _ => None,
            })
        });
        WalkReport {
            state: self
                .state
                .into_inner()
                .unwrap_or_else(|poison| poison.into_inner()),
            results,
            interrupted,
            diagnostics,
            error,
        }
    }
}
