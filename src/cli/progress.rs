//! Apply progress on stderr: a live line per resource with its elapsed time on a terminal;
//! plain lines, with `Still creating... [10s elapsed]` every ten seconds, otherwise.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use crate::addr::Address;
use crate::walk::{ApplyEvent, OperationError, Verb};

const STILL_EVERY: Duration = Duration::from_secs(10);

/// `12s`, `3m05s`.
pub(crate) fn format_elapsed(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// What a failed step prints: one line with the message, then its details indented. A
/// provider's failure names its code the way refresh does (`error[fk::azure::conflict]: ...`).
pub(crate) fn failure_lines(
    address: &Address,
    verb: Verb,
    elapsed: Duration,
    error: &OperationError,
) -> Vec<String> {
    let what = match verb {
        Verb::Creating => "Creation",
        Verb::Modifying => "Modification",
        Verb::Destroying => "Destruction",
        Verb::Stopping => "Stop",
        Verb::Starting => "Start",
    };
    let message = match error {
        OperationError::Provider { code, message, .. } => format!("error[{code}]: {message}"),
        _ => error.to_string(),
    };
    let mut lines = vec![format!(
        "{address}: {what} failed after {}: {message}",
        format_elapsed(elapsed)
    )];
    lines.extend(error.details().iter().map(|detail| format!("    {detail}")));
    lines
}

struct InFlight {
    verb: Verb,
    started: Instant,
    reported: u64,
    status: Option<String>,
    bar: Option<ProgressBar>,
}

pub(crate) fn spawn(events: UnboundedReceiver<ApplyEvent>) -> JoinHandle<()> {
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
                    ApplyEvent::Failed { address, verb, elapsed, error } => {
                        if let Some(InFlight { bar: Some(bar), .. }) = in_flight.remove(&address) {
                            bar.finish_and_clear();
                        }
                        for text in failure_lines(&address, verb, elapsed, &error) {
                            line(&multi, text);
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

/// At most one retry line per this interval; the others are counted into the next line.
const RETRY_LINE_EVERY: Duration = Duration::from_secs(2);

/// Says on stderr that a request is retried ("throttled by Azure (429), retrying GET
/// .../containerGroups/fk-etcd in 2s"), without flooding: one line per
/// [`RETRY_LINE_EVERY`], the retries in between counted into it.
pub(crate) fn retry_printer() -> crate::provider::azure::client::RetryObserver {
    let limiter = std::sync::Mutex::new(RetryLines::default());
    std::sync::Arc::new(move |notice| {
        let line = limiter
            .lock()
            .ok()
            .and_then(|mut lines| lines.offer(notice, Instant::now()));
        if let Some(line) = line {
            eprintln!("{line}");
        }
    })
}

/// The rate limit of retry lines.
#[derive(Default)]
pub(crate) struct RetryLines {
    last: Option<Instant>,
    held: usize,
}

impl RetryLines {
    /// The line to print for `notice` at `now`, or `None` when it is only counted.
    pub(crate) fn offer(
        &mut self,
        notice: &crate::provider::azure::retry::RetryNotice,
        now: Instant,
    ) -> Option<String> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < RETRY_LINE_EVERY)
        {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        let held = std::mem::take(&mut self.held);
        let more = match held {
            0 => String::new(),
            1 => " (and 1 more request retried)".into(),
            n => format!(" (and {n} more requests retried)"),
        };
        let delay = notice.delay.as_secs_f64();
        let delay = if delay >= 1.0 || delay == 0.0 {
            format!("{}s", delay.round() as u64)
        } else {
            format!("{delay:.1}s")
        };
        Some(format!(
            "{}, retrying {} in {delay}{more}",
            notice.reason, notice.request
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_lines_say_why_and_when_without_flooding() {
        let notice = crate::provider::azure::retry::RetryNotice {
            attempt: 1,
            delay: Duration::from_secs(2),
            reason: "throttled by Azure (429)".into(),
            request: "GET /subscriptions/s/resourceGroups/fk".into(),
        };
        let mut lines = RetryLines::default();
        let start = Instant::now();
        assert_eq!(
            lines.offer(&notice, start).as_deref(),
            Some("throttled by Azure (429), retrying GET /subscriptions/s/resourceGroups/fk in 2s")
        );
        for ms in [100, 500, 1_900] {
            assert_eq!(
                lines.offer(&notice, start + Duration::from_millis(ms)),
                None
            );
        }
        let next = lines.offer(&notice, start + Duration::from_secs(3));
        assert!(
            next.as_deref()
                .is_some_and(|line| line.ends_with("in 2s (and 3 more requests retried)")),
            "{next:?}"
        );
    }

    #[test]
    fn a_provider_failure_names_its_code_as_refresh_does() {
        let address = Address::new("azure_container_group", "etcd");
        let error = OperationError::Provider {
            code: "fk::azure::conflict".into(),
            message: "PUT containerGroups/fk-etcd: 409 Conflict".into(),
            details: vec!["FailedMount: share not found".into()],
        };
        assert_eq!(
            failure_lines(&address, Verb::Creating, Duration::from_secs(65), &error),
            [
                "azure_container_group.etcd: Creation failed after 1m05s: error[fk::azure::conflict]: PUT containerGroups/fk-etcd: 409 Conflict",
                "    FailedMount: share not found",
            ]
        );
        let journal = OperationError::Journal {
            message: "disk full".into(),
        };
        assert_eq!(
            failure_lines(&address, Verb::Stopping, Duration::from_secs(2), &journal),
            ["azure_container_group.etcd: Stop failed after 2s: recording state failed: disk full"]
        );
    }

    #[test]
    fn elapsed_reads_like_terraform() {
        assert_eq!(format_elapsed(Duration::from_secs(9)), "9s");
        assert_eq!(format_elapsed(Duration::from_secs(65)), "1m05s");
    }
}
