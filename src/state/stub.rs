//! TEMPORARY stand-in for the state branch's store (replaced at merge).
use std::path::PathBuf;
use std::sync::Arc;

use super::{JournalRecord, State};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state is locked by {}", holder.who)]
    Locked { holder: LockInfo },
    #[error("{0}")]
    Other(String),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub created: String,
    pub version: String,
}

impl LockInfo {
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.into(),
            who: String::new(),
            host: String::new(),
            pid: std::process::id(),
            created: String::new(),
            version: String::new(),
        }
    }
}

pub trait StateLock: Send + Sync {
    fn info(&self) -> &LockInfo;
}

#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError>;
}

#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    fn describe(&self) -> String;
    async fn load(&self) -> Result<Option<State>, StateError>;
    async fn persist(&self, state: &State) -> Result<(), StateError>;
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn StateLock>, StateError>;
    async fn force_unlock(&self, id: &str) -> Result<(), StateError>;
    async fn journal(&self) -> Result<Arc<dyn Journal>, StateError>;
}

pub struct FileStore {
    pub path: PathBuf,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into() }
    }
}

struct NoLock(LockInfo);
impl StateLock for NoLock {
    fn info(&self) -> &LockInfo {
        &self.0
    }
}

struct FileJournal {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

#[async_trait::async_trait]
impl Journal for FileJournal {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError> {
        use std::io::Write;
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StateError::Other("poisoned".into()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|err| StateError::Other(err.to_string()))?;
        let mut text = String::new();
        for record in records {
            text.push_str(
                &serde_json::to_string(&record)
                    .map_err(|err| StateError::Other(err.to_string()))?,
            );
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .map_err(|err| StateError::Other(err.to_string()))?;
        file.sync_data()
            .map_err(|err| StateError::Other(err.to_string()))
    }
}

#[async_trait::async_trait]
impl StateStore for FileStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    async fn load(&self) -> Result<Option<State>, StateError> {
        let snapshot: Option<State> = match std::fs::read(&self.path) {
            Ok(bytes) => Some(
                serde_json::from_slice(&bytes).map_err(|err| StateError::Other(err.to_string()))?,
            ),
            Err(_) => None,
        };
        let journal =
            std::fs::read_to_string(self.path.with_extension("json.journal")).unwrap_or_default();
        if journal.trim().is_empty() {
            return Ok(snapshot);
        }
        let mut state = snapshot.unwrap_or_else(State::fresh);
        for line in journal.lines() {
            if let Ok(record) = serde_json::from_str::<JournalRecord>(line) {
                record.apply_to(&mut state);
            }
        }
        state.serial += 1;
        Ok(Some(state))
    }
    async fn persist(&self, state: &State) -> Result<(), StateError> {
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let bytes =
            serde_json::to_vec_pretty(state).map_err(|err| StateError::Other(err.to_string()))?;
        let temp = self.path.with_extension("json.tmp");
        std::fs::write(&temp, bytes).map_err(|err| StateError::Other(err.to_string()))?;
        std::fs::rename(&temp, &self.path).map_err(|err| StateError::Other(err.to_string()))?;
        let _ = std::fs::remove_file(self.path.with_extension("json.journal"));
        Ok(())
    }
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        Ok(Box::new(NoLock(info)))
    }
    async fn force_unlock(&self, _id: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn journal(&self) -> Result<Arc<dyn Journal>, StateError> {
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        Ok(Arc::new(FileJournal {
            path: self.path.with_extension("json.journal"),
            lock: std::sync::Mutex::new(()),
        }))
    }
}
