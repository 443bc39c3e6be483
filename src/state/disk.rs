//! Durable, owner-only file operations the file store is built from.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::state::error::StateError;

/// Every file fk writes under `state/` is readable by its owner only (secrets live there).
pub(crate) const OWNER_ONLY: u32 = 0o600;

/// Creates the folder holding `path` (owner-only when fk creates it).
pub(crate) fn create_parent(path: &Path) -> Result<(), StateError> {
    let parent = parent_of(path);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&parent)
        .map_err(|source| StateError::io("create the folder", parent, source))
}

/// The folder holding `path`; `.` for a bare file name.
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name: `x.json` + `.lock` → `x.json.lock`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads a whole file; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::io("read", path, source)),
    }
}

pub(crate) fn remove_optional(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StateError::io("remove", path, source)),
    }
}

/// Opens (creating owner-only) a file for appending. A file that already exists is made
/// owner-only too: `mode` applies only to a file the open creates, and a journal left
/// world-readable (copied, restored from an archive) must not stay so.
pub(crate) fn open_append(path: &Path) -> Result<File, StateError> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(OWNER_ONLY)
        .open(path)
        .map_err(|source| StateError::io("open", path, source))?;
    restrict(&file, path)?;
    Ok(file)
}

/// Makes an open file owner-only, whatever mode it had.
pub(crate) fn restrict(file: &File, path: &Path) -> Result<(), StateError> {
    file.set_permissions(fs::Permissions::from_mode(OWNER_ONLY))
        .map_err(|source| StateError::io("restrict", path, source))
}

/// Writes `bytes` as a new owner-only file at `path`, replacing whatever is there (for a
/// saved plan or a kubeconfig, outside the state folder). The bytes go to a temp file with
/// an unpredictable name beside `path`, created with `O_EXCL` and mode 0600, then renamed
/// over `path`: the result is always a new inode with mode 0600, never an old file's mode,
/// and a leftover or planted temp file is never written through.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = parent_of(path);
    fs::create_dir_all(&parent)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let temp = parent.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(&temp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    File::open(&parent).and_then(|handle| handle.sync_all())
}

/// Replaces `path` with `bytes` atomically: a reader sees the old file or the new one.
/// Writes an owner-only temp file beside it, syncs it, keeps the old file as `backup`
/// (a hard link, so no copy), renames the temp over `path` and syncs the folder.
pub(crate) fn replace_atomically(
    path: &Path,
    backup: &Path,
    bytes: &[u8],
) -> Result<(), StateError> {
    replace_keeping(path, Some(backup), bytes)
}

/// [`replace_atomically`], keeping the old file as `backup` only when one is named (the
/// caller wrote the backup itself).
pub(crate) fn replace_keeping(
    path: &Path,
    backup: Option<&Path>,
    bytes: &[u8],
) -> Result<(), StateError> {
    create_parent(path)?;
    let temp = sibling(path, ".tmp");
    remove_optional(&temp)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(&temp)
        .map_err(|source| StateError::io("create", &temp, source))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| StateError::io("write", &temp, source))?;
    drop(file);
    if let Some(backup) = backup {
        keep_backup(path, backup)?;
    }
    fs::rename(&temp, path).map_err(|source| StateError::io("rename into", path, source))?;
    sync_dir(&parent_of(path))
}

/// Makes `backup` the current content of `path`, when there is one, without a moment in
/// which neither the old backup nor the new one exists.
fn keep_backup(path: &Path, backup: &Path) -> Result<(), StateError> {
    if !path.exists() {
        return Ok(());
    }
    let backup_temp = sibling(backup, ".tmp");
    remove_optional(&backup_temp)?;
    if fs::hard_link(path, &backup_temp).is_err() {
        // A file system without hard links: copy instead.
        fs::copy(path, &backup_temp)
            .map_err(|source| StateError::io("copy into", &backup_temp, source))?;
    }
    fs::set_permissions(&backup_temp, fs::Permissions::from_mode(OWNER_ONLY))
        .map_err(|source| StateError::io("restrict", &backup_temp, source))?;
    fs::rename(&backup_temp, backup).map_err(|source| StateError::io("rename into", backup, source))
}

/// Makes renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| StateError::io("sync the folder", dir, source))
}

/// Whether `file` is still the file at `path` (a lock file can be removed and recreated
/// between someone's open and their lock).
pub(crate) fn is_same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}
