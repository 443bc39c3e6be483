//! The terminal as the engine's operations see it ([`Terminal`], an [`ops::Ui`]): notes and
//! warnings on stderr, the plan before the confirmation prompt, the prompt, and for a walk
//! Ctrl-C and SIGTERM handling and the progress display.

use std::io::{BufRead as _, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::addr::Address;
use crate::diag::{Diagnostics, SourceMap};
use crate::ops::{self, OpsError, WalkIo};
use crate::plan::{Mode, Plan};
use crate::provider::Action;
use crate::render;

use super::progress;
use super::{EXIT_INTERRUPTED, EXIT_TERMINATED};

/// The running command's terminal.
#[derive(Default)]
pub(crate) struct Terminal {
    /// `--auto-approve`: carry out a plan without asking.
    auto_approve: bool,
    walk: Mutex<Option<WalkHandles>>,
    /// The exit code of the first signal a walk received (0: none).
    interrupted: AtomicU8,
}

/// Kept while a walk runs.
struct WalkHandles {
    interrupts: JoinHandle<()>,
    display: JoinHandle<()>,
    first_signal: Arc<AtomicU8>,
}

impl Terminal {
    pub(crate) fn new(auto_approve: bool) -> Terminal {
        Terminal {
            auto_approve,
            ..Terminal::default()
        }
    }

    /// The exit code of an interrupted walk: 143 when SIGTERM came first, else 130.
    pub(crate) fn interrupted_code(&self) -> u8 {
        match self.interrupted.load(Ordering::SeqCst) {
            0 => EXIT_INTERRUPTED,
            code => code,
        }
    }
}

/// The plan on stdout, coloured on a terminal.
pub(crate) fn print_plan(plan: &Plan) {
    let stdout = console::Term::stdout();
    print!(
        "{}",
        render::plan_text(plan, stdout.is_term() && console::colors_enabled())
    );
    let _ = std::io::stdout().flush();
}

#[async_trait::async_trait]
impl ops::Ui for Terminal {
    fn say(&self, text: &str) {
        eprintln!("{text}");
    }

    fn warnings(&self, diagnostics: &Diagnostics, sources: &SourceMap) {
        eprint!("{}", diagnostics.render(sources));
    }

    fn show_plan(&self, plan: &Plan) {
        print_plan(plan);
    }

    fn confirm(&self, mode: Mode) -> Result<bool, OpsError> {
        if self.auto_approve {
            return Ok(true);
        }
        let question = match mode {
            Mode::Normal => "Do you want to perform these actions?",
            Mode::Destroy => "Do you really want to destroy all of these resources?",
        };
        eprint!("\n{question}\n  Only 'yes' will be accepted.\n\n  Enter a value: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|err| OpsError::new("", format!("cannot read the answer: {err}")))?;
        Ok(answer.trim() == "yes")
    }

    fn show_targets(&self, action: Action, targets: &[Address]) {
        let (verb, order) = match action {
            Action::Stop => ("stop", "dependents first"),
            Action::Start => ("start", "each ready before its dependents"),
        };
        println!("fk will {verb} {} resource(s), {order}:", targets.len());
        for address in targets {
            println!("  {address}");
        }
        println!();
    }

    /// Starts watching for Ctrl-C and starts the progress display.
    fn walk_started(&self) -> WalkIo {
        let (interrupt_tx, interrupt) = watch::channel(false);
        let first_signal = Arc::new(AtomicU8::new(0));
        let interrupts = tokio::spawn(watch_interrupts(interrupt_tx, Arc::clone(&first_signal)));
        let (events, events_rx) = mpsc::unbounded_channel();
        let display = progress::spawn(events_rx);
        if let Ok(mut walk) = self.walk.lock() {
            *walk = Some(WalkHandles {
                interrupts,
                display,
                first_signal,
            });
        }
        WalkIo { interrupt, events }
    }

    /// Stops watching for signals and lets the display print its last lines.
    async fn walk_finished(&self) {
        let handles = self.walk.lock().ok().and_then(|mut walk| walk.take());
        let Some(handles) = handles else { return };
        handles.interrupts.abort();
        let _ = handles.display.await;
        self.interrupted.store(
            handles.first_signal.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }
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
