//! The state lock: who may change a state, and how long to wait for it.

use std::time::Duration;

use tokio::time::Instant;

use crate::state::{LockInfo, StateError, StateLock, StateStore};

use super::{OpsError, Ui};

/// Takes the state lock for `operation`, saying who held it when it was taken over. While
/// another run holds it, tries again every second until `timeout` has passed (0: fail at
/// once), having said once that it waits.
pub async fn lock(
    store: &dyn StateStore,
    operation: &str,
    timeout: Duration,
    ui: &dyn Ui,
) -> Result<Box<dyn StateLock>, OpsError> {
    let started = Instant::now();
    let mut said_waiting = false;
    loop {
        let err = match store.lock(LockInfo::new(operation)).await {
            Ok(lock) => {
                if let Some(previous) = lock.taken_over() {
                    ui.say(&format!(
                        "warning: the previous run (`{}` by `{}` on `{}`, pid {}, since {}) ended without releasing the state lock; fk took it over",
                        previous.operation,
                        previous.who,
                        previous.host,
                        previous.pid,
                        previous.created
                    ));
                }
                return Ok(lock);
            }
            Err(err) => err,
        };
        let locked = matches!(err, StateError::Locked { .. });
        if locked && started.elapsed() < timeout {
            if !said_waiting {
                ui.say(&format!(
                    "{err}\n\nWaiting up to {}s for the lock...",
                    timeout.as_secs()
                ));
                said_waiting = true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let code = if locked { "locked" } else { "lock" };
        return Err(OpsError::new(format!("fk::state::{code}"), err.to_string()));
    }
}
