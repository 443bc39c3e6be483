//! What a walk (apply, destroy, stop, start) needs from the terminal and the store: the
//! journal, Ctrl-C handling, the progress display, and the compaction at the end.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::apply::ApplyEvent;
use crate::state::{Journal, State, StateStore};

use super::progress;
use super::{EXIT_ERROR, EXIT_INTERRUPTED};

/// Handed to the engine's walk.
pub struct WalkIo {
    pub journal: Arc<dyn Journal>,
    pub interrupt: watch::Receiver<bool>,
    pub events: mpsc::UnboundedSender<ApplyEvent>,
}

/// Kept by the command until the walk returns.
pub struct WalkHandles {
    interrupts: JoinHandle<()>,
    display: JoinHandle<()>,
}

/// Opens the journal, starts watching for Ctrl-C and starts the progress display.
pub async fn open(store: &dyn StateStore) -> Result<(WalkIo, WalkHandles), u8> {
    let journal = store.journal().await.map_err(|err| {
        eprintln!("error[fk::state::journal]: {err}");
        EXIT_ERROR
    })?;
    let (interrupt_tx, interrupt) = watch::channel(false);
    let interrupts = tokio::spawn(watch_interrupts(interrupt_tx));
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
        },
    ))
}

impl WalkHandles {
    /// Stops watching for Ctrl-C and lets the display print its last lines.
    pub async fn finish(self) {
        self.interrupts.abort();
        let _ = self.display.await;
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

async fn watch_interrupts(interrupt: watch::Sender<bool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    let _ = interrupt.send(true);
    eprintln!(
        "\nInterrupt received: starting nothing new, waiting for the operations in flight to finish.\nPress Ctrl-C again to stop at once (the state stays consistent: every finished operation is already recorded)."
    );
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!(
            "\nStopping now. Interrupted creates are recorded and will be adopted by the next run."
        );
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    }
}
