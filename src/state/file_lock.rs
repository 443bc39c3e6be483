//! The local lock: `<state>.lock` holds the holder's [`LockInfo`]; exclusivity comes from
//! `flock` on that file, held as long as the [`FileLock`] lives. The kernel drops it when
//! the holder's process ends however it ends, so a crashed run never blocks the next one;
//! the next one sees the description left behind and reports it as taken over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::state::disk::{self, OWNER_ONLY};
use crate::state::error::StateError;
use crate::state::lock_info::LockInfo;
use crate::state::store::StateLock;

/// A lock file can vanish between our open and our lock (its holder released it); then we
/// try again, this many times.
const MAX_LOCK_ATTEMPTS: usize = 8;

/// Reading a holder's description can race with it being written; retry this many times.
const MAX_HOLDER_READS: usize = 100;

#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    /// Holds the flock; `None` once released.
    file: Option<File>,
    info: LockInfo,
    taken_over: Option<LockInfo>,
    /// Set by the store when the taken-over description is the only evidence that a state
    /// existed: releasing then puts it back instead of removing the file, so every later
    /// run stops too until someone looks (see `FileStore::load`).
    keep_taken_over: Arc<AtomicBool>,
}

impl FileLock {
    /// Takes the lock at `path` at once, or fails with `Locked` naming the holder.
    pub(crate) fn acquire(
        path: &Path,
        state: &str,
        info: LockInfo,
    ) -> Result<FileLock, StateError> {
        disk::create_parent(path)?;
        for _ in 0..MAX_LOCK_ATTEMPTS {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(OWNER_ONLY)
                .open(path)
                .map_err(|source| StateError::io("open", path, source))?;
            disk::restrict(&file, path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StateError::Locked {
                        state: state.to_string(),
                        holder: Box::new(read_holder(&mut file)),
                    });
                }
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(StateError::io("lock", path, source));
                }
            }
            if !disk::is_same_file(&file, path) {
                // Released and removed by its holder after our open: that inode is dead.
                continue;
            }
            let previous = read_lock_info(&mut file);
            let description = serde_json::to_vec_pretty(&info)
                .map_err(|error| StateError::corrupt(path, error.to_string()))?;
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(&description))
                .and_then(|()| file.sync_data())
                .map_err(|source| StateError::io("write", path, source))?;
            return Ok(FileLock {
                path: path.to_path_buf(),
                file: Some(file),
                info,
                taken_over: previous,
                keep_taken_over: Arc::default(),
            });
        }
        Err(StateError::io(
            "lock",
            path,
            std::io::Error::other("the lock file kept being replaced"),
        ))
    }

    /// Removes the lock file if it still describes the lock `id`.
    pub(crate) fn force_unlock(path: &Path, state: &str, id: &str) -> Result<(), StateError> {
        let Some(bytes) = disk::read_optional(path)? else {
            return Err(StateError::NotLocked {
                state: state.to_string(),
            });
        };
        let held: LockInfo = serde_json::from_slice(&bytes)
            .map_err(|error| StateError::corrupt(path, error.to_string()))?;
        if held.id != id {
            return Err(StateError::LockMismatch {
                state: state.to_string(),
                given: id.to_string(),
                held: held.id.clone(),
                holder: Box::new(held),
            });
        }
        disk::remove_optional(path)?;
        disk::sync_dir(&disk::parent_of(path))
    }

    /// The description in a lock file that nobody holds: left by a run that died. `None`
    /// when there is no such file, or when someone (this process included) holds it.
    pub(crate) fn left_behind(path: &Path) -> Option<LockInfo> {
        let mut file = File::open(path).ok()?;
        file.try_lock_shared().ok()?;
        read_lock_info(&mut file)
    }

    /// The flag that makes releasing put the taken-over description back.
    pub(crate) fn keep_taken_over_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.keep_taken_over)
    }

    fn unlock(&mut self) -> Result<(), StateError> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        if let Some(previous) = self
            .taken_over
            .as_ref()
            .filter(|_| self.keep_taken_over.load(Ordering::Relaxed))
            && disk::is_same_file(&file, &self.path)
        {
            let description = serde_json::to_vec_pretty(previous)
                .map_err(|error| StateError::corrupt(&self.path, error.to_string()))?;
            return file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(&description))
                .and_then(|()| file.sync_data())
                .map_err(|source| StateError::io("write", &self.path, source));
        }
        // Remove first, then let go: whoever opens the path afterwards creates a new file.
        // After a force-unlock the path may be someone else's lock: leave that alone.
        let removed = if disk::is_same_file(&file, &self.path) {
            disk::remove_optional(&self.path)
        } else {
            Ok(())
        };
        drop(file);
        removed
    }
}

#[async_trait]
impl StateLock for FileLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn taken_over(&self) -> Option<&LockInfo> {
        self.taken_over.as_ref()
    }

    async fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.unlock()
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

fn read_lock_info(file: &mut File) -> Option<LockInfo> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The holder's description; it may be mid-write when we look, so look again a few times.
fn read_holder(file: &mut File) -> LockInfo {
    for _ in 0..MAX_HOLDER_READS {
        if file.rewind().is_err() {
            break;
        }
        if let Some(info) = read_lock_info(file) {
            return info;
        }
        std::thread::yield_now();
    }
    LockInfo::unknown()
}

#[cfg(test)]
#[path = "file_lock_tests.rs"]
mod tests;
