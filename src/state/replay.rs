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

use crate::state::crypt::{self, StateKeys};
use crate::state::error::StateError;
use crate::state::model::{JournalRecord, State};

/// The journal format this build writes.
pub(crate) const JOURNAL_VERSION: u32 = 1;

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
pub(crate) struct JournalHeader {
    pub(crate) fk_journal: u32,
    /// The snapshot's lineage and serial, `None`/0 when there was no snapshot.
    pub(crate) lineage: Option<String>,
    pub(crate) serial: u64,
    /// SHA-256 (hex) of the snapshot file's bytes, `None` when there was no snapshot.
    pub(crate) snapshot_sha256: Option<String>,
}

/// What is known of the snapshot on disk; a journal extends exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct SnapshotBase {
    pub(crate) lineage: Option<String>,
    pub(crate) serial: u64,
    pub(crate) sha256: Option<String>,
}

impl SnapshotBase {
    pub(crate) fn of_bytes(bytes: &[u8], lineage: &str, serial: u64) -> SnapshotBase {
        SnapshotBase {
            lineage: Some(lineage.to_string()),
            serial,
            sha256: Some(sha256_hex(bytes)),
        }
    }

    pub(crate) fn header(&self) -> JournalHeader {
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
pub(crate) enum JournalFit {
    /// Its records apply to this snapshot.
    Extends,
    /// It was compacted into this (or a later) snapshot, and the crash came before it was
    /// emptied: ignore it.
    Stale,
    /// It belongs to another history (a snapshot restored by hand, another lineage).
    Foreign,
}

/// Stale only when provably so: the snapshot is of the same history and of a later serial
/// (every persist that absorbs a journal moves the serial on). A journal naming a snapshot
/// of the same serial but other bytes is foreign: the snapshot was replaced by hand, and
/// the records may be all that is left of what happened after it.
pub(crate) fn fit(header: &JournalHeader, base: &SnapshotBase) -> JournalFit {
    if header.snapshot_sha256 == base.sha256 {
        return JournalFit::Extends;
    }
    let same_history = header.lineage.is_none() || header.lineage == base.lineage;
    if same_history && base.sha256.is_some() && header.serial < base.serial {
        JournalFit::Stale
    } else {
        JournalFit::Foreign
    }
}

/// A parsed journal: its header (absent when the file is empty or only a torn header) and
/// its complete records.
#[derive(Debug, Default)]
pub(crate) struct ParsedJournal {
    pub(crate) header: Option<JournalHeader>,
    pub(crate) records: Vec<JournalRecord>,
}

/// Parses a journal; record lines sealed with [`StateKeys`] are opened with `keys` (the
/// header is never sealed: it holds only the snapshot's lineage, serial and hash).
pub(crate) fn parse_journal(
    path: &Path,
    bytes: &[u8],
    keys: Option<&StateKeys>,
) -> Result<ParsedJournal, StateError> {
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
        let opened;
        let line = if crypt::is_sealed(line) {
            opened = crypt::decode(keys, line, path)?;
            opened.as_slice()
        } else {
            line
        };
        let record: JournalRecord = serde_json::from_slice(line)
            .map_err(|error| StateError::corrupt(path, format!("line {line_number}: {error}")))?;
        parsed.records.push(record);
    }
    Ok(parsed)
}

pub(crate) fn parse_header(path: &Path, line: &[u8]) -> Result<JournalHeader, StateError> {
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

/// The journal lines of `records`, each sealed when there are keys.
pub(crate) fn record_lines(
    records: &[JournalRecord],
    keys: Option<&StateKeys>,
    path: &Path,
) -> Result<Vec<u8>, StateError> {
    let mut lines = Vec::new();
    for record in records {
        let json = serde_json::to_vec(record)
            .map_err(|error| StateError::corrupt(path, error.to_string()))?;
        lines.extend(crypt::encode(keys, json, path)?);
        lines.push(b'\n');
    }
    Ok(lines)
}

/// One JSON line, newline included.
pub(crate) fn json_line(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    Ok(line)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{OutputState, ResourceState, ResourceStatus};

    fn group(name: &str, id: &str) -> ResourceState {
        ResourceState {
            resource_type: "azure_container_group".to_string(),
            name: name.to_string(),
            id: id.to_string(),
            status: ResourceStatus::Ready,
            attributes: serde_json::json!({ "name": name }),
            sensitive_paths: Vec::new(),
            dependencies: Vec::new(),
            create_before_destroy: false,
            stopped: false,
        }
    }

    fn put(name: &str, id: &str) -> JournalRecord {
        JournalRecord::Put {
            address: format!("azure_container_group.{name}"),
            resource: group(name, id),
        }
    }

    #[test]
    fn replays_every_kind_of_record_in_order() {
        let mut snapshot = State::new("lineage-a");
        snapshot.serial = 7;
        snapshot.resources.insert(
            "azure_container_group.old".to_string(),
            group("old", "id-old"),
        );
        let records = vec![
            JournalRecord::Begin {
                address: "azure_container_group.etcd".to_string(),
                resource: group("etcd", "id-etcd"),
            },
            put("api", "id-api-1"),
            JournalRecord::Depose {
                address: "azure_container_group.api".to_string(),
            },
            put("api", "id-api-2"),
            JournalRecord::Remove {
                address: "azure_container_group.old".to_string(),
            },
            JournalRecord::Output {
                name: "url".to_string(),
                output: Some(OutputState {
                    value: serde_json::json!("https://x"),
                    sensitive: false,
                }),
            },
        ];
        let state = replay(Some(snapshot), records.into_iter());

        assert_eq!(state.serial, 8);
        assert_eq!(state.lineage, "lineage-a");
        let etcd = &state.resources["azure_container_group.etcd"];
        assert_eq!(etcd.status, ResourceStatus::Pending);
        assert_eq!(etcd.id, "id-etcd");
        assert_eq!(state.resources["azure_container_group.api"].id, "id-api-2");
        assert!(!state.resources.contains_key("azure_container_group.old"));
        let deposed = &state.deposed["azure_container_group.api"];
        assert_eq!(deposed.len(), 1);
        assert_eq!(deposed[0].id, "id-api-1");
        assert_eq!(state.outputs["url"].value, serde_json::json!("https://x"));

        let cleaned = replay(
            Some(state),
            vec![
                JournalRecord::RemoveDeposed {
                    address: "azure_container_group.api".to_string(),
                    id: "id-api-1".to_string(),
                },
                JournalRecord::Output {
                    name: "url".to_string(),
                    output: None,
                },
            ]
            .into_iter(),
        );
        assert!(cleaned.deposed.is_empty());
        assert!(cleaned.outputs.is_empty());
        assert_eq!(cleaned.serial, 9);
    }

    #[test]
    fn replay_without_records_keeps_the_serial() {
        let mut snapshot = State::new("lineage-a");
        snapshot.serial = 3;
        let state = replay(Some(snapshot.clone()), std::iter::empty());
        assert_eq!(state, snapshot);
    }

    #[test]
    fn replay_without_snapshot_starts_a_fresh_lineage() {
        let state = replay(None, vec![put("api", "id-api")].into_iter());
        assert_eq!(state.serial, 1);
        assert!(uuid::Uuid::parse_str(&state.lineage).is_ok());
        assert_eq!(state.resources.len(), 1);
    }

    fn journal_bytes(records: &[JournalRecord]) -> Vec<u8> {
        let mut bytes = json_line(&SnapshotBase::default().header()).unwrap();
        for record in records {
            bytes.extend(json_line(record).unwrap());
        }
        bytes
    }

    #[test]
    fn ignores_a_torn_last_line() {
        let mut bytes = journal_bytes(&[put("a", "1"), put("b", "2")]);
        let torn = json_line(&put("c", "3")).unwrap();
        bytes.extend_from_slice(&torn[..torn.len() / 2]);
        let parsed = parse_journal(Path::new("j"), &bytes, None).unwrap();
        assert_eq!(parsed.records, vec![put("a", "1"), put("b", "2")]);
    }

    #[test]
    fn reports_a_corrupt_line_in_the_middle_with_its_number() {
        let mut bytes = journal_bytes(&[put("a", "1")]);
        bytes.extend_from_slice(b"{\"op\":\"put\",\"addr\n");
        bytes.extend(json_line(&put("b", "2")).unwrap());
        let error = parse_journal(Path::new("j"), &bytes, None).unwrap_err();
        assert!(
            matches!(&error, StateError::Corrupt { message, .. } if message.starts_with("line 3:")),
            "{error}"
        );
    }

    #[test]
    fn a_torn_header_is_an_empty_journal() {
        let header = json_line(&SnapshotBase::default().header()).unwrap();
        let parsed = parse_journal(Path::new("j"), &header[..5], None).unwrap();
        assert!(parsed.header.is_none() && parsed.records.is_empty());
    }

    #[test]
    fn refuses_a_journal_of_a_newer_format() {
        let mut header = SnapshotBase::default().header();
        header.fk_journal = JOURNAL_VERSION + 1;
        let bytes = json_line(&header).unwrap();
        let error = parse_journal(Path::new("j"), &bytes, None).unwrap_err();
        assert!(
            matches!(error, StateError::VersionTooNew { found, .. } if found == JOURNAL_VERSION + 1)
        );
    }

    #[test]
    fn a_journal_fits_its_own_snapshot_only() {
        let base = SnapshotBase::of_bytes(b"snapshot 5", "lineage-a", 5);
        assert_eq!(fit(&base.header(), &base), JournalFit::Extends);

        let older = SnapshotBase::of_bytes(b"snapshot 4", "lineage-a", 4);
        assert_eq!(fit(&older.header(), &base), JournalFit::Stale);
        assert_eq!(
            fit(&SnapshotBase::default().header(), &base),
            JournalFit::Stale
        );

        // Same lineage and serial, other bytes: not provably stale.
        let edited = SnapshotBase::of_bytes(b"snapshot 5, edited", "lineage-a", 5);
        assert_eq!(fit(&edited.header(), &base), JournalFit::Foreign);
        let newer = SnapshotBase::of_bytes(b"snapshot 6", "lineage-a", 6);
        assert_eq!(fit(&newer.header(), &base), JournalFit::Foreign);
        let other_lineage = SnapshotBase::of_bytes(b"other", "lineage-b", 2);
        assert_eq!(fit(&other_lineage.header(), &base), JournalFit::Foreign);
        assert_eq!(
            fit(&base.header(), &SnapshotBase::default()),
            JournalFit::Foreign
        );
    }
}
