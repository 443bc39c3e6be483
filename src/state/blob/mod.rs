//! Team state in Azure Blob Storage: a snapshot blob, an append-blob journal and a lock
//! blob, fenced by finite, renewed leases and ETag-conditional writes (see [`store`] for
//! what is written when and [`lock`] for the lock's crash windows).
//!
//! Boundary: the Blob REST API over reqwest, nothing else; secrets come in through the
//! environment map the CLI passes and are never shown.
pub(crate) mod auth;
pub mod client;
pub(crate) mod journal;
pub(crate) mod lease;
pub mod lock;
pub use fk_shared_key as shared_key;
pub mod store;

pub use lock::{BlobLock, BlobNames};
pub use store::BlobStore;
