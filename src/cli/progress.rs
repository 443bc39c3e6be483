//! Apply progress on stderr: a live line per resource with its elapsed time on a terminal;
//! plain lines, with `Still creating... [10s elapsed]` every ten seconds, otherwise.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use crate::addr::Address;
use crate::apply::{ApplyEvent, Verb};

const STILL_EVERY: Duration = Duration::from_secs(10);

/// `12s`, `3m05s`.
pub fn format_elapsed(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

struct InFlight {
    verb: Verb,
    started: Instant,
    reported: u64,
    status: Option<String>,
    bar: Option<ProgressBar>,
}

pub fn spawn(events: UnboundedReceiver<ApplyEvent>) -> JoinHandle<()> {
    let interactive = console::Term::stderr().is_term();
    tokio::spawn(show(events, interactive))
}

async fn show(mut events: UnboundedReceiver<ApplyEvent>, interactive: bool) {
    let multi = MultiProgress::with_draw_target(if interactive {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut in_flight: BTreeMap<Address, InFlight> = BTreeMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let line = |multi: &MultiProgress, text: String| {
        if interactive {
            let _ = multi.println(text);
        } else {
            eprintln!("{text}");
        }
    };
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                match event {
                    ApplyEvent::Started { address, verb } => {
                        line(&multi, format!("{address}: {}...", verb.present()));
                        let bar = interactive.then(|| {
                            let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                            bar.set_message(format!("{address}: {}", verb.present()));
                            bar.enable_steady_tick(Duration::from_millis(120));
                            bar
                        });
                        in_flight.insert(address, InFlight { verb, started: Instant::now(), reported: 0, status: None, bar });
                    }
                    ApplyEvent::Status { address, text } => {
                        if let Some(flight) = in_flight.get_mut(&address)
                            && flight.status.as_deref() != Some(text.as_str()) {
                                if let Some(bar) = &flight.bar {
                                    bar.set_message(format!("{address}: {}: {text}", flight.verb.present()));
                                } else {
                                    eprintln!("{address}: {text}");
                                }
                                flight.status = Some(text);
                            }
                    }
                    ApplyEvent::Finished { address, verb, elapsed, id } => {
                        if let Some(InFlight { bar: Some(bar), .. }) = in_flight.remove(&address) {
                            bar.finish_and_clear();
                        }
                        let id = id.map(|id| format!(" [id={id}]")).unwrap_or_default();
                        line(&multi, format!("{address}: {} after {}{id}", verb.past(), format_elapsed(elapsed)));
                    }
                    ApplyEvent::Failed { address, verb, elapsed, message, details } => {
                        if let Some(InFlight { bar: Some(bar), .. }) = in_flight.remove(&address) {
                            bar.finish_and_clear();
                        }
                        let what = match verb {
                            Verb::Creating => "Creation",
                            Verb::Modifying => "Modification",
                            Verb::Destroying => "Destruction",
                            Verb::Stopping => "Stop",
                            Verb::Starting => "Start",
                        };
                        line(&multi, format!("{address}: {what} failed after {}: {message}", format_elapsed(elapsed)));
                        for detail in details {
                            line(&multi, format!("    {detail}"));
                        }
                    }
                    ApplyEvent::Skipped { address, reason } => {
                        line(&multi, format!("{address}: skipped: {reason}"));
                    }
                    ApplyEvent::Stopping { in_flight: n_running } => {
                        line(&multi, format!("Stopping: waiting for {n_running} operation(s) in flight"));
                    }
                }
            }
            _ = ticker.tick(), if !interactive => {
                for (address, flight) in in_flight.iter_mut() {
                    let elapsed = flight.started.elapsed();
                    let boundary = elapsed.as_secs() / STILL_EVERY.as_secs();
                    if boundary > flight.reported {
                        flight.reported = boundary;
                        let verb = flight.verb.present().to_lowercase();
                        eprintln!("{address}: Still {verb}... [{} elapsed]", format_elapsed(STILL_EVERY * boundary as u32));
                    }
                }
            }
        }
    }
    for (_, flight) in in_flight {
        if let Some(bar) = flight.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_like_terraform() {
        assert_eq!(format_elapsed(Duration::from_secs(9)), "9s");
        assert_eq!(format_elapsed(Duration::from_secs(65)), "1m05s");
    }
}
