//! What a walk (apply, destroy, stop, start) needs from the terminal and the store: the
//! journal, Ctrl-C and SIGTERM handling, the progress display, and the compaction at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::provider::Registry;
use crate::state::{Journal, State, StateStore};
use crate::walk::{ApplyEvent, WalkInput};

use super::progress;
use super::{EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED};

/// Handed to the engine's walk.
pub struct WalkIo {
    pub journal: Arc<dyn Journal>,
    pub interrupt: watch::Receiver<bool>,
    pub events: mpsc::UnboundedSender<ApplyEvent>,
}

impl WalkIo {
    /// The walk's input: these handles with the registry, the state to start from and the
    /// parallelism.
    pub fn input(self, registry: &Registry, state: State, parallelism: usize) -> WalkInput<'_> {
        WalkInput {
            registry,
            state,
            journal: self.journal,
            parallelism,
            interrupt: self.interrupt,
            events: self.events,
        }
    }
}

/// Kept by the command until the walk returns.
pub struct WalkHandles {
    interrupts: JoinHandle<()>,
    display: JoinHandle<()>,
    /// The exit code of the first signal received (0: none yet).
    first_signal: Arc<AtomicU8>,
}

/// Opens the journal, starts watching for Ctrl-C and starts the progress display.
pub async fn open(store: &dyn StateStore) -> Result<(WalkIo, WalkHandles), u8> {
    let journal = store.journal().await.map_err(|err| {
        eprintln!("error[fk::state::journal]: {err}");
        EXIT_ERROR
    })?;
    let (interrupt_tx, interrupt) = watch::channel(false);
    let first_signal = Arc::new(AtomicU8::new(0));
    let interrupts = tokio::spawn(watch_interrupts(interrupt_tx, Arc::clone(&first_signal)));
    let (events, events_rx) = mpsc::unbounded_channel();
    let display = progress::spawn(events_rx);
    Ok((
        WalkIo {
            journal,
            interrupt,
            events,
        },
        WalkHandles {
            interrupts,
            display,
            first_signal,
        },
    ))
}

impl WalkHandles {
    /// Stops watching for signals and lets the display print its last lines. Returns the
    /// exit code of an interrupted walk: 143 when SIGTERM came first, else 130.
    pub async fn finish(self) -> u8 {
        self.interrupts.abort();
        let _ = self.display.await;
        match self.first_signal.load(Ordering::SeqCst) {
            0 => EXIT_INTERRUPTED,
            code => code,
        }
    }
}

/// Compacts the walk's state into the store; on failure says that the journal still holds
/// every finished operation.
pub async fn persist(store: &dyn StateStore, state: &State) -> Result<(), u8> {
    store.persist(state).await.map_err(|err| {
        eprintln!(
            "error[fk::state::persist]: {err}\n  = help: the journal beside the state file still holds every finished operation; the next run reads it"
        );
        EXIT_ERROR
    })
}

/// The first SIGINT (Ctrl-C) or SIGTERM (what CI runners and `timeout` send) starts
/// nothing new and lets what runs finish; a second signal of either kind stops at once.
async fn watch_interrupts(interrupt: watch::Sender<bool>, first_signal: Arc<AtomicU8>) {
    let mut signals = Signals::new();
    let Some(code) = signals.next().await else {
        return;
    };
    first_signal.store(code, Ordering::SeqCst);
    let _ = interrupt.send(true);
    let what = if code == EXIT_TERMINATED {
        "SIGTERM"
    } else {
        "Interrupt"
    };
    eprintln!(
        "\n{what} received: starting nothing new, waiting for the operations in flight to finish.\nPress Ctrl-C again (or send SIGTERM again) to stop at once (the state stays consistent: every finished operation is already recorded)."
    );
    if let Some(code) = signals.next().await {
        eprintln!(
            "\nStopping now. Interrupted creates are recorded and will be adopted by the next run."
        );
        std::process::exit(i32::from(code));
    }
}

/// SIGINT and SIGTERM as one stream of exit codes (130, 143).
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    /// The exit code of the next signal; `None` when signals cannot be watched.
    async fn next(&mut self) -> Option<u8> {
        #[cfg(unix)]
        if let Some(terminate) = self.terminate.as_mut() {
            return tokio::select! {
                interrupted = tokio::signal::ctrl_c() => interrupted.ok().map(|()| EXIT_INTERRUPTED),
                _ = terminate.recv() => Some(EXIT_TERMINATED),
            };
        }
        tokio::signal::ctrl_c()
            .await
            .ok()
            .map(|()| EXIT_INTERRUPTED)
    }
}
