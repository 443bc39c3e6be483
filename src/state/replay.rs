//! The journal file format and its replay onto a snapshot. Pure: no IO.
//!
//! A journal is JSON lines. The first line is a [`JournalHeader`] naming the snapshot the
//! journal extends (by SHA-256 of its bytes, with its lineage and serial for messages);
//! every further line is one [`JournalRecord`]. Records are only ever appended, each batch
//! with one write, so a crash can leave at most one torn line, the last, without its
//! newline: replay ignores it. Any other line that does not parse is corruption.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::error::StateError;
use crate::state::model::{JournalRecord, State};

/// The journal format this build writes.
pub const JOURNAL_VERSION: u32 = 1;

/// Applies journal records to a snapshot (or to a fresh state when there is none).
///
/// When at least one record is applied the serial moves on by one: the result differs from
/// every persisted snapshot. Without a snapshot the lineage is fresh and random; callers
/// that need it stable across a crash persist the fresh state before journaling.
pub fn replay(snapshot: Option<State>, records: impl Iterator<Item = JournalRecord>) -> State {
    let mut state = snapshot.unwrap_or_else(State::fresh);
    let mut n_applied = 0usize;
    for record in records {
        record.apply_to(&mut state);
        n_applied += 1;
    }
    if n_applied > 0 {
        state.serial += 1;
    }
    state
}

/// The first line of a journal: which snapshot the records apply to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub fk_journal: u32,
    /// The snapshot's lineage and serial, `None`/0 when there was no snapshot.
    pub lineage: Option<String>,
    pub serial: u64,
    /// SHA-256 (hex) of the snapshot file's bytes, `None` when there was no snapshot.
    pub snapshot_sha256: Option<String>,
}

/// What is known of the snapshot on disk; a journal extends exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SnapshotBase {
    pub lineage: Option<String>,
    pub serial: u64,
    pub sha256: Option<String>,
}

impl SnapshotBase {
    pub fn of_bytes(bytes: &[u8], lineage: &str, serial: u64) -> SnapshotBase {
        SnapshotBase {
            lineage: Some(lineage.to_string()),
            serial,
            sha256: Some(sha256_hex(bytes)),
        }
    }

    pub fn header(&self) -> JournalHeader {
        JournalHeader {
            fk_journal: JOURNAL_VERSION,
            lineage: self.lineage.clone(),
            serial: self.serial,
            snapshot_sha256: self.sha256.clone(),
        }
    }
}

/// How a journal relates to the snapshot beside it.
#[derive(Debug, PartialEq, Eq)]
pub enum JournalFit {
    /// Its records apply to this snapshot.
    Extends,
    /// It was compacted into this (or a later) snapshot, and the crash came before it was
    /// emptied: ignore it.
    Stale,
    /// It belongs to another history (a snapshot restored by hand, another lineage).
    Foreign,
}

pub fn fit(header: &JournalHeader, base: &SnapshotBase) -> JournalFit {
    if header.snapshot_sha256 == base.sha256 {
        return JournalFit::Extends;
    }
    let same_history = header.lineage.is_none() || header.lineage == base.lineage;
    if same_history && base.sha256.is_some() && header.serial <= base.serial {
        JournalFit::Stale
    } else {
        JournalFit::Foreign
    }
}

/// A parsed journal: its header (absent when the file is empty or only a torn header) and
/// its complete records.
#[derive(Debug, Default)]
pub struct ParsedJournal {
    pub header: Option<JournalHeader>,
    pub records: Vec<JournalRecord>,
}

pub fn parse_journal(path: &Path, bytes: &[u8]) -> Result<ParsedJournal, StateError> {
    let mut parsed = ParsedJournal::default();
    // Everything after the last newline is a torn write: never acknowledged, ignored.
    let complete = match bytes.iter().rposition(|&byte| byte == b'\n') {
        Some(last_newline) => &bytes[..=last_newline],
        None => return Ok(parsed),
    };
    for (line_idx, line) in complete.split(|&byte| byte == b'\n').enumerate() {
        let line_number = line_idx + 1;
        if line.is_empty() {
            // The split leaves one empty piece after the final newline.
            continue;
        }
        if line_idx == 0 {
            let header = parse_header(path, line)?;
            parsed.header = Some(header);
            continue;
        }
        let record: JournalRecord = serde_json::from_slice(line)
            .map_err(|error| StateError::corrupt(path, format!("line {line_number}: {error}")))?;
        parsed.records.push(record);
    }
    Ok(parsed)
}

pub fn parse_header(path: &Path, line: &[u8]) -> Result<JournalHeader, StateError> {
    let header: JournalHeader = serde_json::from_slice(line)
        .map_err(|error| StateError::corrupt(path, format!("line 1 (the header): {error}")))?;
    if header.fk_journal > JOURNAL_VERSION {
        return Err(StateError::VersionTooNew {
            path: path.to_path_buf(),
            found: header.fk_journal,
            supported: JOURNAL_VERSION,
        });
    }
    Ok(header)
}

/// One JSON line, newline included.
pub fn json_line(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    Ok(line)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
