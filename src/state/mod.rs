//! State: the model, the stores that keep it, the apply journal and the lock.
//!
//! Invariants: a snapshot is replaced atomically and its predecessor kept as a backup; a
//! journal record is durable when `append` returns, at a cost independent of the state's
//! size; a reader never silently rewrites a state of a newer format; every file is
//! owner-only. Boundary: this module does IO on its own files only and never prints.
pub mod blob;
pub(crate) mod crypt;
mod disk;
pub(crate) mod error;
pub(crate) mod file_journal;
pub(crate) mod file_lock;
pub(crate) mod file_store;
pub(crate) mod lock_info;
pub(crate) mod model;
pub mod replay;
pub mod store;

pub use blob::BlobStore;
pub use crypt::StateKeys;
pub use disk::write_private;
pub use error::StateError;
pub use file_journal::FileJournal;
pub use file_lock::FileLock;
pub use file_store::FileStore;
pub use lock_info::LockInfo;
pub use model::*;
pub use replay::replay;
pub use store::{Journal, StateLock, StateStore};
