//! The engine's operations as a library API: load a workspace, plan, apply (from a module or
//! a saved plan), destroy, stop and start, move a state to or from its backend.
//!
//! ops owns the order of the phases and the state rules between them: the state lock and its
//! waiting policy, refreshing before planning (always when creates were interrupted), lineage
//! pinning before a first apply, the saved plan's staleness checks, the serial bump and the
//! compaction after a walk, what refresh learned being saved when nothing changes, and where a
//! module's state lives. Every operation returns [`OpsError`] on failure: a stable code, a
//! message and an optional help line, or the module's diagnostics. *Boundary:* ops never
//! prints, never reads the environment and knows nothing of clap: what it needs is passed in
//! ([`Context`] for the environment, plain options for the flags), and what must reach the
//! user while an operation runs (notes, the plan before the confirmation prompt, the prompt
//! itself, the walk's progress) goes through the [`Ui`] the caller implements.

mod apply;
mod error;
mod lifecycle;
mod lock;
mod plan;
#[cfg(test)]
mod tests;
mod transfer;
mod workspace;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

use crate::addr::Address;
use crate::apply::ApplyEvent;
use crate::diag::{Diagnostics, SourceMap};
use crate::plan::{Mode, Plan};
use crate::provider::Action;
use crate::provider::azure::client::RetryObserver;
use crate::state::{FileStore, StateKeys};

pub use apply::{Applied, WalkDone, apply, apply_plan, load_saved};
pub use error::{Failure, OpsError};
pub use lifecycle::{Acted, act};
pub use lock::lock;
pub use plan::{PlanOptions, SavedPlan, plan, read_saved_plan, save_plan};
pub use transfer::{Moved, Pulled, Transfer, pull, push};
pub use workspace::{
    Checks, ProviderFlags, VarSources, Workspace, azure_provider, load, load_with, module_name,
    state_path, store, store_of_dir,
};

/// What an operation needs to tell or ask the user while it runs. The CLI writes to the
/// terminal; tests stay quiet and say yes.
#[async_trait]
pub trait Ui: Send + Sync {
    /// A note or warning line (`note: ...`, `warning: ...`, the lock's waiting line).
    fn say(&self, text: &str);

    /// Diagnostics without an error among them (warnings), quoted with the module's sources.
    fn warnings(&self, diagnostics: &Diagnostics, sources: &SourceMap);

    /// The plan an apply or destroy is about to carry out, before [`Ui::confirm`].
    fn show_plan(&self, plan: &Plan);

    /// Whether to carry out the plan just shown; `false` cancels (nothing is changed).
    fn confirm(&self, mode: Mode) -> Result<bool, OpsError>;

    /// The resources a stop or start acts on, in the order it acts.
    fn show_targets(&self, action: Action, targets: &[Address]);

    /// A walk starts: where its progress events go and what interrupts it.
    fn walk_started(&self) -> WalkIo;

    /// The walk returned and dropped its event sender: wait until its events are shown.
    async fn walk_finished(&self);
}

/// Handed to a walk by the [`Ui`].
pub struct WalkIo {
    /// Becomes `true` on the first interrupt: finish what runs, start nothing new.
    pub interrupt: watch::Receiver<bool>,
    pub events: mpsc::UnboundedSender<ApplyEvent>,
}

/// What the process around an operation provides: its environment (read once by the caller:
/// `FK_VAR_*`, Azure's credentials, the blob backend's key, the state passphrase) and how the
/// Azure provider reports its retries.
pub struct Context {
    env: BTreeMap<String, String>,
    retry_observer: Option<Arc<dyn Fn() -> RetryObserver + Send + Sync>>,
    /// Derived once per context, so every store and saved plan of a run shares one set of
    /// keys (and one Argon2 derivation per salt).
    keys: OnceLock<Result<Option<Arc<StateKeys>>, String>>,
}

impl Context {
    pub fn new(env: impl IntoIterator<Item = (String, String)>) -> Context {
        Context {
            env: env.into_iter().collect(),
            retry_observer: None,
            keys: OnceLock::new(),
        }
    }

    /// Each Azure provider built gets an observer from `make` for its retries.
    pub(crate) fn with_retry_observer(
        mut self,
        make: impl Fn() -> RetryObserver + Send + Sync + 'static,
    ) -> Context {
        self.retry_observer = Some(Arc::new(make));
        self
    }

    pub(crate) fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// The state encryption keys the environment names (`FK_STATE_PASSPHRASE`, ...); `None`
    /// when encryption is off. A bad setting is reported when first needed, before anything
    /// is read.
    pub(crate) fn state_keys(&self) -> Result<Option<Arc<StateKeys>>, OpsError> {
        let keys = self
            .keys
            .get_or_init(|| StateKeys::from_env(&self.env).map(|keys| keys.map(Arc::new)));
        match keys {
            Ok(keys) => Ok(keys.clone()),
            Err(message) => Err(OpsError::new("fk::state::encryption", message.clone())),
        }
    }

    /// A local state file, sealed when encryption is on.
    pub(crate) fn file_store(&self, path: impl Into<PathBuf>) -> Result<FileStore, OpsError> {
        Ok(FileStore::new(path).with_keys(self.state_keys()?))
    }

    fn retry_observer(&self) -> Option<RetryObserver> {
        self.retry_observer.as_ref().map(|make| make())
    }
}
