//! What can go wrong reading, writing or locking a state.

use std::io;
use std::path::PathBuf;

use crate::state::lock_info::LockInfo;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another run holds the state. `holder` is boxed to keep every `Result` small.
    #[error(
        "state `{state}` is locked by `{who}` on `{host}` (pid {pid}) for `{operation}` since {since}\n\nhint: wait for that run to finish; if it is stuck, `fk force-unlock {id}`",
        who = holder.who,
        host = holder.host,
        pid = holder.pid,
        operation = holder.operation,
        since = holder.created,
        id = holder.id
    )]
    Locked {
        state: String,
        holder: Box<LockInfo>,
    },

    #[error("cannot {action} `{path}`: {source}", path = path.display())]
    Io {
        /// What fk was doing: "read", "write", "rename", ...
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// No snapshot, but evidence that there was one: fk refuses to start from empty (that
    /// would create everything again and, for Frankenetes, a new PKI that exists only in
    /// state).
    #[error(
        "state `{state}` is missing, but {found}; fk will not start from an empty state\n\nhint: {hint}"
    )]
    Missing {
        state: String,
        found: String,
        hint: String,
    },

    /// A sealed file that cannot be opened (no key, a wrong key, an altered file), or a
    /// seal that failed. Nothing was changed.
    #[error("cannot decrypt `{path}`: {message}\n\nhint: nothing was changed; FK_STATE_PASSPHRASE (or FK_STATE_PASSPHRASE_FILE) must hold the passphrase the state was written with, or FK_STATE_PASSPHRASE_FALLBACK while rotating", path = path.display())]
    Encryption { path: PathBuf, message: String },

    #[error("`{path}` is corrupt: {message}", path = path.display())]
    Corrupt { path: PathBuf, message: String },

    #[error(
        "`{path}` has format version {found}, but this fk reads up to version {supported}\n\nhint: use a newer fk; the file was left untouched",
        path = path.display()
    )]
    VersionTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "lock id `{given}` does not match the lock on state `{state}`, which is `{held}` (held by `{who}` on `{host}`, pid {pid})",
        who = holder.who,
        host = holder.host,
        pid = holder.pid
    )]
    LockMismatch {
        state: String,
        given: String,
        held: String,
        holder: Box<LockInfo>,
    },

    #[error("state `{state}` is not locked")]
    NotLocked { state: String },

    /// The journal refused an append because an earlier write failed part way; the state
    /// must be persisted (compacted) before more records can be journaled.
    #[error("journal `{path}` stopped after a failed write: {message}", path = path.display())]
    JournalFailed { path: PathBuf, message: String },

    /// The blob service answered a request with a status fk does not accept there. Callers
    /// decide on `status` (never on the message or the service's error code string).
    #[error("cannot {action} `{blob}`: HTTP {status}{code}", code = if code.is_empty() { String::new() } else { format!(" ({code})") })]
    Blob {
        action: &'static str,
        blob: String,
        status: u16,
        /// The service's `x-ms-error-code`, for people to read.
        code: String,
    },

    #[error("cannot reach `{blob}` to {action}: {message}")]
    BlobUnreachable {
        action: &'static str,
        blob: String,
        message: String,
    },

    /// This run's lease on a remote state ended (renewal refused, or broken by
    /// `fk force-unlock`): it must not write again.
    #[error(
        "the lease on state `{state}` was lost: {reason}; this run stops writing\n\nhint: the journal holds every operation recorded before the loss; the next run reads it"
    )]
    LeaseLost { state: String, reason: String },
}

impl StateError {
    /// The HTTP status of a blob service refusal (412 and 409 are the conditional-write
    /// and lease refusals).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            StateError::Blob { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        StateError::Corrupt {
            path: path.into(),
            message: message.into(),
        }
    }
}
