//! The traits every state store implements: the local file today, Azure Blob next.

use std::sync::Arc;

use async_trait::async_trait;

use crate::state::error::StateError;
use crate::state::lock_info::LockInfo;
use crate::state::model::{JournalRecord, State};

/// Where one module's state lives.
///
/// The contract, for every store:
/// - `load` returns the last persisted snapshot with every journaled record since replayed
///   on top (see [`crate::state::replay`]); `None` when nothing was ever written, in which
///   case the caller starts from [`State::fresh`].
/// - `persist` replaces the snapshot atomically (a reader sees the old or the new one, never
///   a mix), keeps the previous one as a backup, and only then empties the journal. It
///   writes the state as given, serial included; the caller bumps the serial.
/// - `journal` hands out the append-only log for an apply; records appended to it are part
///   of the next `load` until the next `persist`. The state passed to `persist` must
///   include every record appended before it, and no append may run while a persist does
///   (the apply walk compacts once it is quiescent): the persist empties the journal.
/// - Before a request with a remote side effect is sent, its `Begin` record (with the
///   intended identity) must have been appended, so a crash leaves a `Pending` resource that
///   the next refresh adopts or forgets, never an orphan.
/// - A lock is finite: a holder that dies loses it (a file lock dies with its process, a
///   blob lease expires).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Names the store in messages: `state/frankenetes.json`.
    fn describe(&self) -> String;

    async fn load(&self) -> Result<Option<State>, StateError>;

    async fn persist(&self, state: &State) -> Result<(), StateError>;

    /// Takes the lock at once or fails with [`StateError::Locked`] naming the holder.
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn StateLock>, StateError>;

    /// Removes the lock whose id is `id`; refuses when the lock held has another id.
    async fn force_unlock(&self, id: &str) -> Result<(), StateError>;

    async fn journal(&self) -> Result<Arc<dyn Journal>, StateError>;
}

/// The apply journal: what finished (or is about to be sent) since the last snapshot.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Resolves once the records are durable. Concurrent callers share one sync (group
    /// commit). The cost does not depend on the size of the state.
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError>;
}

/// A held state lock. Dropping it releases it (best effort); `release` reports failures.
#[async_trait]
pub trait StateLock: Send + Sync + std::fmt::Debug {
    fn info(&self) -> &LockInfo;

    /// The description of an earlier holder that died without releasing, when this lock
    /// took its place; the CLI warns that the last run was interrupted.
    fn taken_over(&self) -> Option<&LockInfo> {
        None
    }

    async fn release(self: Box<Self>) -> Result<(), StateError>;
}
