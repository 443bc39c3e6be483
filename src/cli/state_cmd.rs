//! `fk state push` and `fk state pull`: move a state between a local file and the module's
//! backend, never onto another lineage and never back in serial.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config;
use crate::state::{FileStore, State, StateError, StateKeys, StateStore};

use super::args::StateArgs;
use super::load;
use super::plan::lock;
use super::{EXIT_ERROR, EXIT_OK};

/// The state encryption keys the environment names (`FK_STATE_PASSPHRASE`, ...); `None`
/// when encryption is off. A bad setting is reported here, before anything is read.
/// Read once per process, so every store and saved plan of a run shares one set of keys
/// (and one Argon2 derivation per salt).
pub fn state_keys() -> Result<Option<Arc<StateKeys>>, u8> {
    static KEYS: std::sync::OnceLock<Result<Option<Arc<StateKeys>>, String>> =
        std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        StateKeys::from_env(&env).map(|keys| keys.map(Arc::new))
    });
    match keys {
        Ok(keys) => Ok(keys.clone()),
        Err(message) => {
            eprintln!("error[fk::state::encryption]: {message}");
            Err(EXIT_ERROR)
        }
    }
}

/// A local state file, sealed when encryption is on.
pub fn file_store(path: impl Into<std::path::PathBuf>) -> Result<FileStore, u8> {
    Ok(FileStore::new(path).with_keys(state_keys()?))
}

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
pub fn check_transfer(
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

pub async fn push(module: &Path, file: &Path, lock_timeout: Duration) -> u8 {
    match push_state(module, file, lock_timeout).await {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

async fn push_state(module: &Path, file: &Path, lock_timeout: Duration) -> Result<(), u8> {
    let (parsed, _) = config::parse(module);
    if parsed.backend.is_none() {
        eprintln!(
            "error[fk::state::no_backend]: the module `{}` has no `[backend.azure_blob]`: there is nowhere to push to\n  = help: add the backend block first (see the README), then push",
            module.display()
        );
        return Err(EXIT_ERROR);
    }
    let local_store = file_store(file)?;
    let local = load_from(&local_store).await?.ok_or_else(|| {
        eprintln!(
            "error[fk::state::push]: `{}` holds no state",
            file.display()
        );
        EXIT_ERROR
    })?;
    let remote_store = load::store_of_dir(module, &StateArgs { state: None })?;
    let held = lock(remote_store.as_ref(), "state push", lock_timeout).await?;
    // Pushing a copy is how a missing remote state is put back: what would stop a run from
    // starting empty is reported, and the push goes on.
    let remote = match remote_store.load().await {
        Err(err @ StateError::Missing { .. }) => {
            eprintln!(
                "note: {err}\n\nnote: pushing `{}` in its place",
                file.display()
            );
            None
        }
        loaded => loaded.map_err(|err| {
            eprintln!("error[fk::state::load]: {err}");
            EXIT_ERROR
        })?,
    };
    let outcome = match check_transfer(&local, remote.as_ref(), &remote_store.describe()) {
        Ok(Transfer::Nothing) => {
            println!(
                "`{}` already holds this state (serial {}).",
                remote_store.describe(),
                local.serial
            );
            Ok(())
        }
        Ok(Transfer::Write) => match remote_store.persist(&local).await {
            Ok(()) => {
                println!(
                    "Pushed serial {} of lineage `{}` to `{}`.",
                    local.serial,
                    local.lineage,
                    remote_store.describe()
                );
                Ok(())
            }
            Err(err) => {
                eprintln!("error[fk::state::push]: {err}");
                Err(EXIT_ERROR)
            }
        },
        Err(message) => {
            eprintln!("error[fk::state::push]: {message}");
            Err(EXIT_ERROR)
        }
    };
    if let Err(err) = held.release().await {
        eprintln!("warning: the lock was not released cleanly ({err}); it expires by itself");
    }
    outcome
}

pub async fn pull(module: &Path, file: Option<&Path>) -> u8 {
    match pull_state(module, file).await {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

async fn pull_state(module: &Path, file: Option<&Path>) -> Result<(), u8> {
    let remote_store = load::store_of_dir(module, &StateArgs { state: None })?;
    let remote = load_from(remote_store.as_ref()).await?.ok_or_else(|| {
        eprintln!(
            "error[fk::state::pull]: `{}` holds no state yet",
            remote_store.describe()
        );
        EXIT_ERROR
    })?;
    let Some(file) = file else {
        let text = serde_json::to_string_pretty(&remote).unwrap_or_default();
        println!("{text}");
        return Ok(());
    };
    let local_store = file_store(file)?;
    let local = load_from(&local_store).await?;
    match check_transfer(&remote, local.as_ref(), &file.display().to_string()) {
        Ok(Transfer::Nothing) => {
            println!(
                "`{}` already holds this state (serial {}).",
                file.display(),
                remote.serial
            );
            Ok(())
        }
        Ok(Transfer::Write) => {
            local_store.persist(&remote).await.map_err(|err| {
                eprintln!("error[fk::state::pull]: {err}");
                EXIT_ERROR
            })?;
            println!(
                "Pulled serial {} of lineage `{}` into `{}`.",
                remote.serial,
                remote.lineage,
                file.display()
            );
            Ok(())
        }
        Err(message) => {
            eprintln!("error[fk::state::pull]: {message}");
            Err(EXIT_ERROR)
        }
    }
}

async fn load_from(store: &dyn StateStore) -> Result<Option<State>, u8> {
    store.load().await.map_err(|err| {
        eprintln!("error[fk::state::load]: {err}");
        EXIT_ERROR
    })
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
