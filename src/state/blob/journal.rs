//! The remote journal: an append blob `<state>.journal` of JSON lines, the same format as
//! the local journal (a header naming the snapshot it extends, then one record per line).
//!
//! Group commit: `append` queues its lines and then takes the writer; whoever holds the
//! writer sends everything queued so far as one Append Block (atomic: all of it or none),
//! carrying the lease and the ETag it last saw, and wakes every waiter. A run that lost its
//! lease, or whose journal someone else rewrote, is refused by the service (412). After a
//! refused or failed append the journal refuses further appends until the next persist
//! resets it, like the local one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::state::blob::client::{BlobClient, Conditions};
use crate::state::blob::lease::LeaseHandle;
use crate::state::crypt::StateKeys;
use crate::state::error::StateError;
use crate::state::model::JournalRecord;
use crate::state::replay::{JournalHeader, json_line, record_lines};
use crate::state::store::Journal;

type Waiter = oneshot::Sender<Result<(), String>>;

/// What the writer knows of the blob.
#[derive(Debug, Default)]
struct Cursor {
    etag: Option<String>,
    /// Why appends are refused until the next reset.
    failure: Option<String>,
    n_appends: u64,
}

pub(crate) struct BlobJournal {
    client: BlobClient,
    blob: String,
    lease: Mutex<Option<Arc<LeaseHandle>>>,
    queue: Mutex<Vec<(Vec<u8>, Waiter)>>,
    cursor: tokio::sync::Mutex<Cursor>,
    /// Seals each record line when state encryption is on.
    keys: Option<Arc<StateKeys>>,
}

impl BlobJournal {
    pub(crate) fn new(client: BlobClient, blob: &str, keys: Option<Arc<StateKeys>>) -> BlobJournal {
        BlobJournal {
            client,
            blob: blob.to_string(),
            lease: Mutex::new(None),
            queue: Mutex::new(Vec::new()),
            cursor: tokio::sync::Mutex::new(Cursor::default()),
            keys,
        }
    }

    pub(crate) fn set_lease(&self, lease: Option<Arc<LeaseHandle>>) {
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = lease;
    }

    /// The ETag the next write must match (as read by the store's load).
    pub(crate) async fn set_etag(&self, etag: Option<String>) {
        self.cursor.lock().await.etag = etag;
    }

    /// How many Append Block calls made records durable so far.
    pub(crate) async fn n_appends(&self) -> u64 {
        self.cursor.lock().await.n_appends
    }

    fn lease(&self) -> Result<Arc<LeaseHandle>, StateError> {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let lease = lease.ok_or_else(|| StateError::NotLocked {
            state: self.client.describe(&self.blob),
        })?;
        lease.check(&self.client.describe(&self.blob))?;
        Ok(lease)
    }

    /// Empties the journal and starts it with `header` (after a persist, or to begin a
    /// journal for a snapshot). Two calls: a crash between them leaves an empty journal,
    /// which extends nothing.
    pub(crate) async fn reset(&self, header: &JournalHeader) -> Result<(), StateError> {
        let lease = self.lease()?;
        let line = json_line(header).map_err(|error| self.failed(error.to_string()))?;
        let mut cursor = self.cursor.lock().await;
        let conditions = Conditions {
            lease_id: Some(&lease.id),
            if_match: cursor.etag.as_deref(),
            if_none_match_any: cursor.etag.is_none(),
        };
        let emptied = self.client.put_append_blob(&self.blob, conditions).await?;
        if !emptied.is_success() {
            return Err(emptied.refused("empty the journal", &self.blob));
        }
        cursor.etag = emptied.etag;
        cursor.failure = None;
        self.append_locked(&mut cursor, &lease, line).await
    }

    async fn append_locked(
        &self,
        cursor: &mut Cursor,
        lease: &LeaseHandle,
        bytes: Vec<u8>,
    ) -> Result<(), StateError> {
        let conditions = Conditions {
            lease_id: Some(&lease.id),
            if_match: cursor.etag.as_deref(),
            if_none_match_any: false,
        };
        let appended = self
            .client
            .append_block(&self.blob, bytes, conditions)
            .await;
        let error = match appended {
            Ok(response) if response.is_success() => {
                cursor.etag = response.etag;
                cursor.n_appends += 1;
                return Ok(());
            }
            Ok(response) => response.refused("append to", &self.blob),
            Err(error) => error,
        };
        cursor.failure = Some(error.to_string());
        Err(error)
    }

    fn failed(&self, message: String) -> StateError {
        StateError::JournalFailed {
            path: PathBuf::from(self.client.describe(&self.blob)),
            message,
        }
    }
}

#[async_trait]
impl Journal for BlobJournal {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError> {
        let lines = record_lines(
            &records,
            self.keys.as_deref(),
            Path::new(&self.client.describe(&self.blob)),
        )?;
        let (done, finished) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((lines, done));
        {
            let mut cursor = self.cursor.lock().await;
            let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let (bytes, waiters): (Vec<Vec<u8>>, Vec<Waiter>) = batch.into_iter().unzip();
                let outcome = match (&cursor.failure, self.lease()) {
                    (Some(failure), _) => Err(failure.clone()),
                    (None, Err(error)) => Err(error.to_string()),
                    (None, Ok(lease)) => self
                        .append_locked(&mut cursor, &lease, bytes.concat())
                        .await
                        .map_err(|error| error.to_string()),
                };
                for waiter in waiters {
                    let _ = waiter.send(outcome.clone());
                }
            }
        }
        match finished.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(self.failed(message)),
            Err(_) => Err(self.failed("the journal writer went away".to_string())),
        }
    }
}
