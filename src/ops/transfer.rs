//! `fk state push` and `fk state pull`: move a state between a local file and the module's
//! backend, never onto another lineage and never back in serial.

use std::path::Path;
use std::time::Duration;

use crate::config;
use crate::state::{State, StateError, StateStore};

use super::{Context, OpsError, Ui, lock, store_of_dir};

/// What moving `from` onto `onto` would do.
#[derive(Debug, PartialEq, Eq)]
pub enum Transfer {
    /// `onto` is empty or older: write `from`.
    Write,
    /// Both are the same state already.
    Nothing,
}

/// Refuses a move onto another lineage, onto a newer serial, or onto a different state with
/// the same serial.
pub(crate) fn check_transfer(
    from: &State,
    onto: Option<&State>,
    onto_name: &str,
) -> Result<Transfer, String> {
    let Some(onto) = onto else {
        return Ok(Transfer::Write);
    };
    if onto.lineage != from.lineage {
        return Err(format!(
            "`{onto_name}` holds another state (lineage `{}`, this one is `{}`); refusing to replace it",
            onto.lineage, from.lineage
        ));
    }
    if onto.serial > from.serial {
        return Err(format!(
            "`{onto_name}` is newer (serial {}, this one is {}); refusing to go back",
            onto.serial, from.serial
        ));
    }
    if onto.serial == from.serial {
        return if onto == from {
            Ok(Transfer::Nothing)
        } else {
            Err(format!(
                "`{onto_name}` has the same serial {} with different content; refusing to guess which is right",
                onto.serial
            ))
        };
    }
    Ok(Transfer::Write)
}

/// A state moved (or found already there).
#[derive(Debug)]
pub struct Moved {
    pub(crate) transfer: Transfer,
    pub(crate) serial: u64,
    pub(crate) lineage: String,
    /// Where it went: the backend's description, or the local file.
    pub(crate) onto: String,
}

/// Pushes the state in the local `file` to the backend of the module in `module`, under the
/// backend's lock. A missing remote state (a backup or journal says there was one) is
/// reported and replaced: pushing a copy is how it is put back.
pub async fn push(
    module: &Path,
    file: &Path,
    lock_timeout: Duration,
    context: &Context,
    ui: &dyn Ui,
) -> Result<Moved, OpsError> {
    let (parsed, _) = config::parse(module);
    if parsed.backend.is_none() {
        return Err(OpsError::new(
            "fk::state::no_backend",
            format!(
                "the module `{}` has no `[backend.azure_blob]`: there is nowhere to push to",
                module.display()
            ),
        )
        .help("add the backend block first (see the README), then push"));
    }
    let local_store = context.file_store(file)?;
    let local = load_from(&local_store).await?.ok_or_else(|| {
        OpsError::new(
            "fk::state::push",
            format!("`{}` holds no state", file.display()),
        )
    })?;
    let remote_store = store_of_dir(module, None, context)?;
    let held = lock(remote_store.as_ref(), "state push", lock_timeout, ui).await?;
    let remote = match remote_store.load().await {
        Err(err @ StateError::Missing { .. }) => {
            ui.say(&format!(
                "note: {err}\n\nnote: pushing `{}` in its place",
                file.display()
            ));
            None
        }
        loaded => loaded.map_err(|err| OpsError::new("fk::state::load", err.to_string()))?,
    };
    let onto = remote_store.describe();
    let outcome = match check_transfer(&local, remote.as_ref(), &onto) {
        Ok(Transfer::Nothing) => Ok(Transfer::Nothing),
        Ok(Transfer::Write) => match remote_store.persist(&local).await {
            Ok(()) => Ok(Transfer::Write),
            Err(err) => Err(OpsError::new("fk::state::push", err.to_string())),
        },
        Err(message) => Err(OpsError::new("fk::state::push", message)),
    };
    if let Err(err) = held.release().await {
        ui.say(&format!(
            "warning: the lock was not released cleanly ({err}); it expires by itself"
        ));
    }
    Ok(Moved {
        transfer: outcome?,
        serial: local.serial,
        lineage: local.lineage,
        onto,
    })
}

/// What `fk state pull` did.
#[derive(Debug)]
pub enum Pulled {
    /// No file was named: the backend's state, for the caller to print.
    State(Box<State>),
    Moved(Moved),
}

/// Pulls the backend's state of the module in `module` into the local `file`.
pub async fn pull(
    module: &Path,
    file: Option<&Path>,
    context: &Context,
) -> Result<Pulled, OpsError> {
    let remote_store = store_of_dir(module, None, context)?;
    let remote = load_from(remote_store.as_ref()).await?.ok_or_else(|| {
        OpsError::new(
            "fk::state::pull",
            format!("`{}` holds no state yet", remote_store.describe()),
        )
    })?;
    let Some(file) = file else {
        return Ok(Pulled::State(Box::new(remote)));
    };
    let local_store = context.file_store(file)?;
    let local = load_from(&local_store).await?;
    let onto = file.display().to_string();
    let transfer = match check_transfer(&remote, local.as_ref(), &onto) {
        Ok(Transfer::Write) => {
            local_store
                .persist(&remote)
                .await
                .map_err(|err| OpsError::new("fk::state::pull", err.to_string()))?;
            Transfer::Write
        }
        Ok(Transfer::Nothing) => Transfer::Nothing,
        Err(message) => return Err(OpsError::new("fk::state::pull", message)),
    };
    Ok(Pulled::Moved(Moved {
        transfer,
        serial: remote.serial,
        lineage: remote.lineage,
        onto,
    }))
}

async fn load_from(store: &dyn StateStore) -> Result<Option<State>, OpsError> {
    store
        .load()
        .await
        .map_err(|err| OpsError::new("fk::state::load", err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(lineage: &str, serial: u64) -> State {
        let mut state = State::new(lineage);
        state.serial = serial;
        state
    }

    #[test]
    fn transfer_refuses_another_lineage_an_older_serial_and_a_same_serial_conflict() {
        let local = state("a", 3);
        assert_eq!(check_transfer(&local, None, "r"), Ok(Transfer::Write));
        assert_eq!(
            check_transfer(&local, Some(&state("a", 2)), "r"),
            Ok(Transfer::Write)
        );
        assert_eq!(
            check_transfer(&local, Some(&state("a", 3)), "r"),
            Ok(Transfer::Nothing)
        );
        let other = check_transfer(&local, Some(&state("b", 1)), "r").unwrap_err();
        assert!(other.contains("lineage `b`"), "{other}");
        let newer = check_transfer(&local, Some(&state("a", 4)), "r").unwrap_err();
        assert!(newer.contains("newer (serial 4"), "{newer}");
        let mut changed = state("a", 3);
        changed.outputs.insert(
            "x".into(),
            crate::state::OutputState {
                value: serde_json::json!(1),
                sensitive: false,
            },
        );
        let conflict = check_transfer(&local, Some(&changed), "r").unwrap_err();
        assert!(conflict.contains("same serial 3"), "{conflict}");
    }
}
