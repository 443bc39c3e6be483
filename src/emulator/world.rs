//! The emulated cloud: every resource, pending operation and log line, kept in one JSON file
//! so successive commands see the same cloud.

use crate::error::EmulatorError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The newest world-file format this emulator writes.
const WORLD_VERSION: u32 = 1;
/// How long a finished operation can still be polled.
const OPERATION_RETENTION_MS: u64 = 3_600_000;
/// How many log entries the world keeps (oldest dropped first), so the file stays small.
const MAX_LOG_ENTRIES: usize = 2_000;

/// Everything the emulated cloud holds. Map keys are lowercase resource ids (ARM paths are
/// case-insensitive); each record keeps its canonical casing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct World {
    pub version: u32,
    pub resource_groups: BTreeMap<String, ResourceGroupRecord>,
    /// Keyed by lowercase account name: storage account names are global.
    pub storage_accounts: BTreeMap<String, StorageAccountRecord>,
    pub file_shares: BTreeMap<String, FileShareRecord>,
    pub container_groups: BTreeMap<String, ContainerGroupRecord>,
    pub identities: BTreeMap<String, IdentityRecord>,
    pub role_assignments: BTreeMap<String, RoleAssignmentRecord>,
    /// Files on shares (the data plane), keyed `<account lowercase>/<share>/<path>`.
    pub files: BTreeMap<String, FileRecord>,
    pub operations: BTreeMap<String, OperationRecord>,
    /// `"{subscription}/{namespace}"` (lowercase) → when registration was requested (ms).
    pub registrations: BTreeMap<String, u64>,
    pub log: Vec<LogEntry>,
    pub next_log_seq: u64,
    /// Lines a test injected into a container's log (`POST /_emulator/logs/{group}/{container}`),
    /// keyed by lowercase `"{group name}/{container name}"`.
    pub container_logs: BTreeMap<String, Vec<String>>,
    /// When this process started serving (ms since the Unix epoch): log times count from it.
    #[serde(skip)]
    pub log_epoch_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourceGroupRecord {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting_since_ms: Option<u64>,
}

/// A file on a share.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub content: Vec<u8>,
    pub last_modified_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StorageAccountRecord {
    pub id: String,
    pub resource_group_key: String,
    pub name: String,
    pub location: String,
    pub created_ms: u64,
    /// The PUT body as sent (its `properties` are echoed back).
    pub body: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdentityRecord {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
    pub client_id: String,
    pub principal_id: String,
    /// When it was made: its principal replicates some time after.
    pub created_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoleAssignmentRecord {
    pub id: String,
    pub name: String,
    /// The scope with a leading slash, as the request spelled it.
    pub scope: String,
    /// The role definition's GUID, lowercase.
    pub role_guid: String,
    pub principal_id: String,
    pub principal_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileShareRecord {
    pub id: String,
    pub account_key: String,
    pub name: String,
    pub properties: Value,
}

/// Why a container group's provisioning ends `Failed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum GroupFailure {
    /// An Azure Files volume names a share or key that does not exist.
    Mount { volume: String, message: String },
    /// The name is in the fault configuration's `fail_operations`.
    Injected { image: String },
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ContainerGroupRecord {
    pub id: String,
    pub resource_group_key: String,
    pub name: String,
    pub location: String,
    /// The last accepted PUT body, secrets included (GET strips them).
    pub body: Value,
    /// Start of the last provisioning operation (create, update, start, restart).
    pub operation_started_ms: u64,
    /// `create`, `update`, `start` or `restart`.
    pub operation_kind: String,
    /// The id of the last provisioning operation (its `Azure-AsyncOperation` resource).
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<GroupFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at_ms: Option<u64>,
    /// How many times the group was (re)deployed; changes the IP and previous states.
    pub generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The last phase written to the log, so transitions are logged once, in order.
    pub logged_phase: String,
    /// Containers that crash-loop since (ms), by name (`POST /_emulator/crash/...`); a
    /// redeploy, start or restart runs them afresh.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crashed: BTreeMap<String, u64>,
    /// What each init container printed in the group's last run, by name (see
    /// `file_data::run_init_containers`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub init_logs: BTreeMap<String, Vec<String>>,
    /// The init container whose last run exited non-zero, and its exit code: the group's
    /// containers never start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_failure: Option<InitFailure>,
}

/// An init container that exited non-zero.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct InitFailure {
    pub container: String,
    pub exit_code: i32,
}

/// Shows everything but the body, which holds secure values and storage keys.
impl std::fmt::Debug for ContainerGroupRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ContainerGroupRecord")
            .field("id", &self.id)
            .field("location", &self.location)
            .field("body", &"(sensitive value)")
            .field("operation_started_ms", &self.operation_started_ms)
            .field("operation_kind", &self.operation_kind)
            .field("failure", &self.failure)
            .field("stopped_at_ms", &self.stopped_at_ms)
            .field("generation", &self.generation)
            .field("fqdn", &self.fqdn)
            .finish_non_exhaustive()
    }
}

/// A long-running operation, polled through `Azure-AsyncOperation` or `Location`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OperationRecord {
    pub id: String,
    pub resource_id: String,
    /// `container_group`, `storage_account` or `resource_group_delete`.
    pub kind: String,
    pub started_ms: u64,
    pub finishes_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// One line of the request log, served at `GET /_emulator/log`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogEntry {
    Request {
        seq: u64,
        ms: u64,
        method: String,
        path: String,
        status: u16,
    },
    Event {
        seq: u64,
        ms: u64,
        resource: String,
        event: String,
    },
}

impl World {
    /// An empty world, or the one in `path` when that file exists.
    pub(crate) fn load(path: &Path) -> Result<World, EmulatorError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(World::default());
            }
            Err(source) => {
                return Err(EmulatorError::ReadWorld {
                    path: path.into(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|source| EmulatorError::ParseWorld {
            path: path.into(),
            source,
        })
    }

    /// Writes the world atomically (temp file, then rename), readable by its owner only,
    /// because it holds the secrets the cloud keeps (secure values, storage keys). `durable`
    /// also syncs the file to disk first (after changes to resources, not for a log line).
    pub(crate) fn save(&mut self, path: &Path, durable: bool) -> Result<(), EmulatorError> {
        self.version = WORLD_VERSION;
        let write_error = |source| EmulatorError::WriteWorld {
            path: path.into(),
            source,
        };
        let text = self
            .render_readable_json()
            .map_err(|error| write_error(std::io::Error::other(error)))?;
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        let temp_path = path.with_file_name(format!(
            ".{}.tmp",
            file_name.unwrap_or_else(|| "emulator-world.json".into())
        ));
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp_path).map_err(write_error)?;
        file.write_all(text.as_bytes()).map_err(write_error)?;
        if durable {
            file.sync_all().map_err(write_error)?;
        }
        std::fs::rename(&temp_path, path).map_err(write_error)
    }

    /// Logs a request before the `n_following` most recent entries (the events its own
    /// handling caused), renumbering those so `seq` follows the log's order.
    /// Pretty JSON with one log entry per line, so the file stays small and readable.
    fn render_readable_json(&mut self) -> Result<String, serde_json::Error> {
        let log = std::mem::take(&mut self.log);
        let text = serde_json::to_string_pretty(self);
        self.log = log;
        let lines: Vec<String> = self
            .log
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        let rendered_log = if lines.is_empty() {
            "[]".to_owned()
        } else {
            format!("[\n    {}\n  ]", lines.join(",\n    "))
        };
        Ok(text?.replacen(
            "\n  \"log\": []",
            &format!("\n  \"log\": {rendered_log}"),
            1,
        ))
    }

    pub(crate) fn log_request(
        &mut self,
        now_ms: u64,
        method: &str,
        path: &str,
        status: u16,
        n_following: usize,
    ) {
        let position = self.log.len().saturating_sub(n_following);
        let entry = LogEntry::Request {
            seq: 0,
            ms: now_ms.saturating_sub(self.log_epoch_ms),
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        };
        self.log.insert(position, entry);
        let mut next_seq = self.next_log_seq + 1 - n_following.min(self.log.len()) as u64;
        for entry in &mut self.log[position..] {
            let (LogEntry::Request { seq, .. } | LogEntry::Event { seq, .. }) = entry;
            *seq = next_seq;
            next_seq += 1;
        }
        self.next_log_seq = next_seq - 1;
        self.trim_log();
    }

    /// Logs a state change of `resource` observed at `now_ms` (ms since the Unix epoch).
    pub(crate) fn log_event(&mut self, now_ms: u64, resource: &str, event: &str) {
        let seq = self.take_seq();
        self.push_log(LogEntry::Event {
            seq,
            ms: now_ms.saturating_sub(self.log_epoch_ms),
            resource: resource.to_owned(),
            event: event.to_owned(),
        });
    }

    /// Forgets operations finished more than an hour ago, so the world stays small.
    pub(crate) fn forget_old_operations(&mut self, now_ms: u64) {
        self.operations.retain(|_, operation| {
            now_ms < operation.finishes_ms.saturating_add(OPERATION_RETENTION_MS)
        });
    }

    fn take_seq(&mut self) -> u64 {
        self.next_log_seq += 1;
        self.next_log_seq
    }

    fn push_log(&mut self, entry: LogEntry) {
        self.log.push(entry);
        self.trim_log();
    }

    fn trim_log(&mut self) {
        if self.log.len() > MAX_LOG_ENTRIES {
            let n_excess = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..n_excess);
        }
    }
}

/// Where a container group is in its life, computed from its timestamps (its resource
/// module renders it; the Files data plane's emulated sidecar asks whether it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupPhase {
    /// First half of the provisioning delay (`Pending`, or `Updating` for an update).
    Waiting,
    /// Second half: mounts, IP, image pull.
    Creating,
    Succeeded,
    Failed,
    Stopped,
}

impl GroupPhase {
    pub(crate) fn of(group: &ContainerGroupRecord, now_ms: u64, delay_ms: u64) -> GroupPhase {
        if group.stopped_at_ms.is_some() {
            return GroupPhase::Stopped;
        }
        let elapsed_ms = now_ms.saturating_sub(group.operation_started_ms);
        if elapsed_ms < delay_ms / 2 {
            GroupPhase::Waiting
        } else if elapsed_ms < delay_ms {
            GroupPhase::Creating
        } else if group.failure.is_some() {
            GroupPhase::Failed
        } else {
            GroupPhase::Succeeded
        }
    }

    pub(crate) fn in_progress(self) -> bool {
        matches!(self, GroupPhase::Waiting | GroupPhase::Creating)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_a_request_before_the_events_it_caused() {
        let mut world = World::default();
        world.log_event(1, "/g", "Succeeded");
        world.log_event(2, "/g", "Pending");
        world.log_request(3, "PUT", "/g", 201, 1);
        let order: Vec<(u64, String)> = world
            .log
            .iter()
            .map(|entry| match entry {
                LogEntry::Request { seq, method, .. } => (*seq, method.clone()),
                LogEntry::Event { seq, event, .. } => (*seq, event.clone()),
            })
            .collect();
        let expected = [(1, "Succeeded"), (2, "PUT"), (3, "Pending")];
        assert_eq!(order, expected.map(|(seq, label)| (seq, label.to_owned())));
        assert_eq!(world.next_log_seq, 3);
    }

    #[test]
    fn saves_readably_and_loads_the_same_world() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("nested/world.json");
        let mut world = World::default();
        world.log_event(5, "/subscriptions/s/resourceGroups/rg", "Created");
        world.log_request(6, "PUT", "/subscriptions/s/resourcegroups/rg", 201, 1);
        world.save(&path, true).expect("saved");
        let text = std::fs::read_to_string(&path).expect("written");
        assert_eq!(
            text.lines()
                .filter(|line| line.contains("\"kind\":"))
                .count(),
            2
        );
        let loaded = World::load(&path).expect("loaded");
        assert_eq!(loaded.log, world.log);
        assert_eq!(loaded.version, WORLD_VERSION);
        assert!(World::load(&folder.path().join("absent.json")).is_ok_and(|w| w.log.is_empty()));
    }
}
