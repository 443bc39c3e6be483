//! The local journal: JSON lines appended by one writer thread with group commit.
//!
//! `append` serialises its records (cost: the records, never the state), queues them and
//! waits. The writer thread takes everything queued, writes it with one `write`, makes it
//! durable with one `fdatasync` and wakes every waiter: callers that arrive while a sync is
//! running share the next one. After a failed write the journal refuses further appends
//! (a torn line must stay the last line) until the next persist resets it.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::state::crypt::StateKeys;
use crate::state::error::StateError;
use crate::state::model::JournalRecord;
use crate::state::replay::{JournalHeader, json_line, record_lines};
use crate::state::store::Journal;

/// What the writer reports to a waiter when a write fails (an `io::Error` is not `Clone`).
type WriteOutcome = Result<(), (io::ErrorKind, String)>;

enum WriterCommand {
    Append {
        lines: Vec<u8>,
        done: oneshot::Sender<WriteOutcome>,
    },
    /// Empties the file and starts it again with a new header (after a persist).
    Reset {
        header: Vec<u8>,
        done: oneshot::Sender<WriteOutcome>,
    },
}

pub struct FileJournal {
    path: PathBuf,
    /// Seals each record line when state encryption is on.
    keys: Option<Arc<StateKeys>>,
    commands: mpsc::UnboundedSender<WriterCommand>,
    #[cfg(test)]
    n_syncs: Arc<AtomicU64>,
}

impl FileJournal {
    /// Starts the writer on an open, append-mode file whose header is already durable.
    pub(crate) fn start(
        path: &Path,
        file: File,
        keys: Option<Arc<StateKeys>>,
    ) -> Result<FileJournal, StateError> {
        let (journal, mut writer) = FileJournal::new(path, file, keys);
        std::thread::Builder::new()
            .name("fk-journal".to_string())
            .spawn(move || writer.run())
            .map_err(|source| StateError::io("start the writer of", path, source))?;
        Ok(journal)
    }

    /// The journal and its writer, not yet running: appends queue until the writer runs,
    /// which then takes everything queued as one batch.
    pub(crate) fn new(
        path: &Path,
        file: File,
        keys: Option<Arc<StateKeys>>,
    ) -> (FileJournal, JournalWriter) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let n_syncs = Arc::new(AtomicU64::new(0));
        let writer = JournalWriter {
            file,
            receiver,
            n_syncs: Arc::clone(&n_syncs),
            failure: None,
        };
        let journal = FileJournal {
            path: path.to_path_buf(),
            keys,
            commands,
            #[cfg(test)]
            n_syncs,
        };
        (journal, writer)
    }

    /// How many syncs made records durable so far (headers not counted).
    #[cfg(test)]
    pub(crate) fn n_syncs(&self) -> u64 {
        self.n_syncs.load(Ordering::Relaxed)
    }

    /// Empties the journal and writes `header` as its first line, after everything queued
    /// before it.
    pub(crate) async fn reset(&self, header: &JournalHeader) -> Result<(), StateError> {
        let header = json_line(header)
            .map_err(|error| StateError::corrupt(&self.path, error.to_string()))?;
        let (done, outcome) = oneshot::channel();
        self.send(WriterCommand::Reset { header, done }, outcome)
            .await
    }

    async fn send(
        &self,
        command: WriterCommand,
        outcome: oneshot::Receiver<WriteOutcome>,
    ) -> Result<(), StateError> {
        let stopped = || StateError::JournalFailed {
            path: self.path.clone(),
            message: "the writer stopped".to_string(),
        };
        self.commands.send(command).map_err(|_| stopped())?;
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, message))) => Err(StateError::io(
                "append to",
                &self.path,
                io::Error::new(kind, message),
            )),
            Err(_) => Err(stopped()),
        }
    }
}

#[async_trait]
impl Journal for FileJournal {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let lines = record_lines(&records, self.keys.as_deref(), &self.path)?;
        let (done, outcome) = oneshot::channel();
        self.send(WriterCommand::Append { lines, done }, outcome)
            .await
    }
}

/// The writer's side of a [`FileJournal`]: owns the file, runs on its own thread.
pub(crate) struct JournalWriter {
    file: File,
    receiver: mpsc::UnboundedReceiver<WriterCommand>,
    n_syncs: Arc<AtomicU64>,
    /// Set by a failed write; every later append gets it until a reset.
    failure: Option<(io::ErrorKind, String)>,
}

impl JournalWriter {
    /// Runs until every `FileJournal` handle is gone.
    pub(crate) fn run(&mut self) {
        while let Some(first) = self.receiver.blocking_recv() {
            let mut commands = vec![first];
            while let Ok(command) = self.receiver.try_recv() {
                commands.push(command);
            }
            self.execute(commands);
        }
    }

    /// Group commit: consecutive appends become one write and one sync; a reset flushes
    /// what came before it first.
    fn execute(&mut self, commands: Vec<WriterCommand>) {
        let mut batch = Vec::new();
        let mut waiters = Vec::new();
        for command in commands {
            match command {
                WriterCommand::Append { lines, done } => {
                    batch.extend_from_slice(&lines);
                    waiters.push(done);
                }
                WriterCommand::Reset { header, done } => {
                    self.commit(&batch, std::mem::take(&mut waiters));
                    batch.clear();
                    let outcome = self.restart(&header);
                    let _ = done.send(outcome);
                }
            }
        }
        self.commit(&batch, waiters);
    }

    fn commit(&mut self, batch: &[u8], waiters: Vec<oneshot::Sender<WriteOutcome>>) {
        if waiters.is_empty() {
            return;
        }
        let outcome = match &self.failure {
            Some(failure) => Err(failure.clone()),
            None => {
                let written = self
                    .file
                    .write_all(batch)
                    .and_then(|()| self.file.sync_data());
                self.n_syncs.fetch_add(1, Ordering::Relaxed);
                written.map_err(|error| {
                    let failure = (error.kind(), error.to_string());
                    self.failure = Some(failure.clone());
                    failure
                })
            }
        };
        for waiter in waiters {
            // A waiter that gave up (its task was cancelled) needs no answer.
            let _ = waiter.send(outcome.clone());
        }
    }

    fn restart(&mut self, header: &[u8]) -> WriteOutcome {
        // The file is in append mode: after truncation, writes land at the start.
        let restarted = self
            .file
            .set_len(0)
            .and_then(|()| self.file.write_all(header))
            .and_then(|()| self.file.sync_data());
        match restarted {
            Ok(()) => {
                self.failure = None;
                Ok(())
            }
            Err(error) => {
                let failure = (error.kind(), error.to_string());
                self.failure = Some(failure.clone());
                Err(failure)
            }
        }
    }
}
