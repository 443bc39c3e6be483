//! Behaviour of the file store on a real file system: atomic snapshots, the journal, the
//! format version and permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Waker};

use crate::state::replay::{SnapshotBase, json_line};
use crate::state::{
    FileJournal, FileStore, Journal, JournalRecord, LockInfo, ResourceState, ResourceStatus,
    STATE_VERSION, State, StateError, StateStore,
};

fn group(name: &str, id: &str) -> ResourceState {
    ResourceState {
        resource_type: "azure_container_group".to_string(),
        name: name.to_string(),
        id: id.to_string(),
        status: ResourceStatus::Ready,
        attributes: serde_json::json!({ "name": name, "secure_env": { "TOKEN": "s3cret" } }),
        sensitive_paths: vec!["secure_env.TOKEN".to_string()],
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

fn state_with(serial: u64, names: &[&str]) -> State {
    let mut state = State::new("lineage-a");
    state.serial = serial;
    for name in names {
        let resource = group(name, &format!("id-{name}"));
        state
            .resources
            .insert(format!("azure_container_group.{name}"), resource);
    }
    state
}

fn store_in(dir: &tempfile::TempDir) -> FileStore {
    FileStore::new(dir.path().join("state").join("frankenetes.json"))
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn nothing_written_loads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(store_in(&dir).load().await.unwrap(), None);
}

#[tokio::test]
async fn persisted_state_loads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let state = state_with(4, &["etcd", "api"]);
    store.persist(&state).await.unwrap();
    assert_eq!(
        FileStore::new(store.path()).load().await.unwrap(),
        Some(state)
    );
    assert_eq!(store.describe(), store.path().display().to_string());
}

#[tokio::test]
async fn backup_holds_the_previous_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &["etcd"])).await.unwrap();
    assert!(!store.backup_path().exists());
    let first = std::fs::read(store.path()).unwrap();
    store
        .persist(&state_with(2, &["etcd", "api"]))
        .await
        .unwrap();
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), first);
    let second = std::fs::read(store.path()).unwrap();
    store.persist(&state_with(3, &["api"])).await.unwrap();
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), second);
}

#[tokio::test]
async fn every_state_file_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let lock = store.lock(LockInfo::new("apply")).await.unwrap();
    store.persist(&state_with(1, &["etcd"])).await.unwrap();
    let journal = store.journal().await.unwrap();
    journal.append(vec![put("api", "1")]).await.unwrap();
    // An open journal is reset by a persist, not removed.
    store
        .persist(&state_with(2, &["etcd", "api"]))
        .await
        .unwrap();
    for path in [
        store.path().to_path_buf(),
        store.backup_path(),
        store.journal_path(),
        store.lock_path(),
    ] {
        assert_eq!(mode_of(&path), 0o600, "{}", path.display());
    }
    drop(lock);
}

/// `open(O_CREAT, 0600)` keeps the mode of a file that already exists: a journal or a
/// lock file left world-readable (copied in, unpacked from an archive) must not stay so.
#[tokio::test]
async fn existing_world_readable_journal_and_lock_files_are_made_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &["etcd"])).await.unwrap();
    for path in [store.journal_path(), store.lock_path()] {
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = FileStore::new(store.path());
    let lock = store.lock(LockInfo::new("apply")).await.unwrap();
    let journal = store.journal().await.unwrap();
    journal.append(vec![put("api", "1")]).await.unwrap();
    assert_eq!(mode_of(&store.journal_path()), 0o600);
    assert_eq!(mode_of(&store.lock_path()), 0o600);
    drop(lock);
}

#[test]
fn write_private_makes_a_new_owner_only_file_whatever_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.kubeconfig");
    // An existing world-readable file, and the temp name an older fk used, left over.
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let leftover = dir.path().join("admin.tmp");
    std::fs::write(&leftover, b"").unwrap();
    std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();

    crate::state::write_private(&path, b"-----BEGIN PRIVATE KEY-----").unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"-----BEGIN PRIVATE KEY-----"
    );
    assert_eq!(
        std::fs::read(&leftover).unwrap(),
        b"",
        "the leftover was not written through"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temp file left behind: {names:?}");
}

#[tokio::test]
async fn load_replays_the_journal_and_moves_the_serial_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(5, &["etcd"])).await.unwrap();
    let journal = store.journal().await.unwrap();
    journal.append(vec![put("api", "id-api")]).await.unwrap();
    journal
        .append(vec![JournalRecord::Remove {
            address: "azure_container_group.etcd".to_string(),
        }])
        .await
        .unwrap();

    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(loaded.serial, 6);
    assert_eq!(loaded.lineage, "lineage-a");
    let addresses: Vec<_> = loaded.resources.keys().cloned().collect();
    assert_eq!(addresses, vec!["azure_container_group.api"]);
}

#[tokio::test]
async fn journal_without_snapshot_replays_onto_a_fresh_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store
        .journal()
        .await
        .unwrap()
        .append(vec![put("api", "id")])
        .await
        .unwrap();
    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(loaded.serial, 1);
    assert_eq!(loaded.resources.len(), 1);
}

#[tokio::test]
async fn load_ignores_a_torn_last_journal_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    store
        .journal()
        .await
        .unwrap()
        .append(vec![put("a", "1")])
        .await
        .unwrap();
    let torn = json_line(&put("b", "2")).unwrap();
    append_raw(&store.journal_path(), &torn[..torn.len() - 10]);

    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    let addresses: Vec<_> = loaded.resources.keys().cloned().collect();
    assert_eq!(addresses, vec!["azure_container_group.a"]);
}

#[tokio::test]
async fn appending_after_a_crash_drops_the_torn_line_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    store
        .journal()
        .await
        .unwrap()
        .append(vec![put("a", "1")])
        .await
        .unwrap();
    let torn = json_line(&put("b", "2")).unwrap();
    append_raw(&store.journal_path(), &torn[..torn.len() - 10]);

    let next_run = FileStore::new(store.path());
    assert_eq!(next_run.load().await.unwrap().unwrap().resources.len(), 1);
    next_run
        .journal()
        .await
        .unwrap()
        .append(vec![put("c", "3")])
        .await
        .unwrap();

    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    let addresses: Vec<_> = loaded.resources.keys().cloned().collect();
    assert_eq!(
        addresses,
        vec!["azure_container_group.a", "azure_container_group.c"]
    );
    assert_eq!(loaded.serial, 2);
}

#[tokio::test]
async fn an_opened_but_unused_journal_leaves_the_serial_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let state = state_with(3, &["a"]);
    store.persist(&state).await.unwrap();
    let _journal = store.journal().await.unwrap();
    assert!(store.journal_path().exists());
    assert_eq!(
        FileStore::new(store.path()).load().await.unwrap(),
        Some(state)
    );
}

#[tokio::test]
async fn load_reports_a_corrupt_journal_line_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    store
        .journal()
        .await
        .unwrap()
        .append(vec![put("a", "1")])
        .await
        .unwrap();
    append_raw(&store.journal_path(), b"{\"op\":\"pu\n");
    append_raw(&store.journal_path(), &json_line(&put("b", "2")).unwrap());

    let error = FileStore::new(store.path()).load().await.unwrap_err();
    match error {
        StateError::Corrupt { path, message } => {
            assert_eq!(path, store.journal_path());
            assert!(message.starts_with("line 3:"), "{message}");
        }
        other => panic!("expected corrupt, got {other}"),
    }
}

fn append_raw(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

#[tokio::test]
async fn persist_empties_the_journal_it_absorbed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    store
        .journal()
        .await
        .unwrap()
        .append(vec![put("a", "1")])
        .await
        .unwrap();
    let compacted = state_with(2, &["a"]);
    store.persist(&compacted).await.unwrap();
    assert!(!store.journal_path().exists());
    assert_eq!(
        FileStore::new(store.path()).load().await.unwrap(),
        Some(compacted)
    );
}

#[tokio::test]
async fn appends_after_a_persist_extend_the_new_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    let journal = store.journal().await.unwrap();
    journal.append(vec![put("a", "1")]).await.unwrap();
    store.persist(&state_with(2, &["a"])).await.unwrap();
    journal.append(vec![put("b", "2")]).await.unwrap();

    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(loaded.serial, 3);
    let addresses: Vec<_> = loaded.resources.keys().cloned().collect();
    assert_eq!(
        addresses,
        vec!["azure_container_group.a", "azure_container_group.b"]
    );
}

#[tokio::test]
async fn a_journal_left_by_a_crash_after_compaction_is_not_replayed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &["api"])).await.unwrap();
    // Depose is not idempotent: replaying it onto the compacted state would lose `api`.
    let records = vec![
        JournalRecord::Depose {
            address: "azure_container_group.api".to_string(),
        },
        put("api", "id-api-2"),
    ];
    store
        .journal()
        .await
        .unwrap()
        .append(records)
        .await
        .unwrap();
    let journal_before_compaction = std::fs::read(store.journal_path()).unwrap();
    let mut compacted = state_with(2, &["api"]);
    compacted.deposed.insert(
        "azure_container_group.api".to_string(),
        vec![group("api", "id-api")],
    );
    store.persist(&compacted).await.unwrap();
    // The crash: the snapshot was renamed, the journal not yet emptied.
    std::fs::write(store.journal_path(), journal_before_compaction).unwrap();

    assert_eq!(
        FileStore::new(store.path()).load().await.unwrap(),
        Some(compacted)
    );
}

#[tokio::test]
async fn a_journal_of_another_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    let mut newer = SnapshotBase::of_bytes(b"elsewhere", "lineage-a", 9).header();
    newer.lineage = Some("lineage-a".to_string());
    let mut bytes = json_line(&newer).unwrap();
    bytes.extend(json_line(&put("a", "1")).unwrap());
    std::fs::write(store.journal_path(), bytes).unwrap();

    let error = FileStore::new(store.path()).load().await.unwrap_err();
    assert!(
        matches!(&error, StateError::Corrupt { message, .. } if message.contains("serial 9")),
        "{error}"
    );
}

#[tokio::test]
async fn refuses_a_snapshot_of_a_newer_version_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
    let newer = format!(
        "{{\"version\": {}, \"serial\": 1, \"lineage\": \"x\", \"resources\": {{}}, \"future\": []}}",
        STATE_VERSION + 1
    );
    std::fs::write(store.path(), &newer).unwrap();

    let error = store.load().await.unwrap_err();
    assert!(
        matches!(error, StateError::VersionTooNew { found, supported, .. } if found == STATE_VERSION + 1 && supported == STATE_VERSION)
    );
    let error = FileStore::new(store.path())
        .persist(&state_with(2, &[]))
        .await
        .unwrap_err();
    assert!(matches!(error, StateError::VersionTooNew { .. }), "{error}");
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), newer);
}

#[tokio::test]
async fn reports_a_damaged_snapshot_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
    std::fs::write(store.path(), "{\"version\": 1, \"serial\": ").unwrap();
    let error = store.load().await.unwrap_err();
    assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
}

#[tokio::test]
async fn queued_appends_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    // The store writes the journal's header; a journal whose writer is not running yet
    // appends after it.
    drop(store.open_journal().await.unwrap());
    let journal_path = store.journal_path();
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal_path)
        .unwrap();
    let (journal, mut writer) = FileJournal::new(&journal_path, file, None);
    let n_appends = 50;
    let mut appends: Vec<_> = (0..n_appends)
        .map(|append_idx| journal.append(vec![put(&format!("g{append_idx}"), "id")]))
        .collect();
    // One poll queues each append (it sends before it first waits).
    let mut context = Context::from_waker(Waker::noop());
    for append in &mut appends {
        assert!(append.as_mut().poll(&mut context).is_pending());
    }
    let writing = std::thread::spawn(move || writer.run());
    for outcome in futures::future::join_all(appends).await {
        outcome.unwrap();
    }
    assert_eq!(journal.n_syncs(), 1);
    drop(journal);
    writing.join().unwrap();
    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(loaded.resources.len(), n_appends);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_many_tasks_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &[])).await.unwrap();
    let journal = store.open_journal().await.unwrap();
    let (n_tasks, n_per_task) = (10, 50);
    let mut tasks = Vec::new();
    for task_idx in 0..n_tasks {
        let journal = Arc::clone(&journal);
        tasks.push(tokio::spawn(async move {
            for record_idx in 0..n_per_task {
                let name = format!("t{task_idx}r{record_idx}");
                journal.append(vec![put(&name, "id")]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(journal.n_syncs() <= (n_tasks * n_per_task) as u64);
    let loaded = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(loaded.resources.len(), n_tasks * n_per_task);
}

#[tokio::test]
async fn one_store_shares_one_open_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let first = store.open_journal().await.unwrap();
    let second = store.open_journal().await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
}

// ---- state that refuses to vanish ----

fn missing_found(error: &StateError) -> &str {
    match error {
        StateError::Missing { found, .. } => found,
        other => panic!("expected Missing, got {other}"),
    }
}

#[tokio::test]
async fn a_backup_without_its_snapshot_is_never_taken_for_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(1, &["etcd"])).await.unwrap();
    store
        .persist(&state_with(2, &["etcd", "api"]))
        .await
        .unwrap();
    let backup = std::fs::read(store.backup_path()).unwrap();
    std::fs::remove_file(store.path()).unwrap();

    let store = FileStore::new(store.path());
    let error = store.load().await.unwrap_err();
    assert!(missing_found(&error).contains(".backup"), "{error}");
    assert!(missing_found(&error).contains("serial 1"), "{error}");
    let message = error.to_string();
    let mv = format!(
        "mv {} {}",
        store.backup_path().display(),
        store.path().display()
    );
    assert!(message.contains(&mv), "{message}");
    assert!(!store.path().exists(), "nothing written");
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), backup);

    // The printed command is the recovery.
    std::fs::rename(store.backup_path(), store.path()).unwrap();
    let restored = FileStore::new(store.path()).load().await.unwrap().unwrap();
    assert_eq!(restored, state_with(1, &["etcd"]));
}

#[tokio::test]
async fn a_journal_without_its_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let lock = store.lock(LockInfo::new("apply")).await.unwrap();
    store.persist(&state_with(3, &["etcd"])).await.unwrap();
    let journal = store.open_journal().await.unwrap();
    journal.append(vec![put("api", "id-api")]).await.unwrap();
    drop(journal);
    drop(lock);
    std::fs::remove_file(store.path()).unwrap();

    let error = FileStore::new(store.path()).load().await.unwrap_err();
    let found = missing_found(&error);
    assert!(
        found.contains(".journal") && found.contains("serial 3"),
        "{error}"
    );
    assert!(error.to_string().contains(".orphaned"), "{error}");
}

#[tokio::test]
async fn a_lock_left_by_a_dead_run_is_evidence_of_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
    let mut dead = LockInfo::new("apply");
    dead.pid = 999_999;
    std::fs::write(store.lock_path(), serde_json::to_vec(&dead).unwrap()).unwrap();

    // A reader that takes no lock sees the description nobody holds.
    let error = FileStore::new(store.path()).load().await.unwrap_err();
    assert!(missing_found(&error).contains("pid 999999"), "{error}");
    assert!(error.to_string().contains("rm -f"), "{error}");

    // A run that takes the lock over is told too.
    let store = FileStore::new(store.path());
    let lock = store.lock(LockInfo::new("apply")).await.unwrap();
    assert!(lock.taken_over().is_some());
    let error = store.load().await.unwrap_err();
    assert!(missing_found(&error).contains("pid 999999"), "{error}");
    drop(lock);
    // Releasing put the evidence back: the next run stops too, until someone removes it.
    let error = FileStore::new(store.path()).load().await.unwrap_err();
    assert!(missing_found(&error).contains("pid 999999"), "{error}");

    // A lock held by a live run (this one) is no evidence: its state is on its way.
    let fresh = tempfile::tempdir().unwrap();
    let store = store_in(&fresh);
    let _lock = store.lock(LockInfo::new("apply")).await.unwrap();
    assert_eq!(FileStore::new(store.path()).load().await.unwrap(), None);
}

#[tokio::test]
async fn a_journal_of_the_same_serial_but_other_bytes_is_refused_unless_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store.persist(&state_with(4, &["etcd"])).await.unwrap();
    let journal = store.open_journal().await.unwrap();
    journal.append(vec![put("api", "id-api")]).await.unwrap();
    drop(journal);
    // The snapshot replaced by hand with other content of the same serial and lineage.
    let mut edited = state_with(4, &["etcd"]);
    edited.outputs.insert(
        "x".into(),
        crate::state::OutputState {
            value: serde_json::json!(1),
            sensitive: false,
        },
    );
    std::fs::write(store.path(), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let error = FileStore::new(store.path()).load().await.unwrap_err();
    assert!(
        matches!(&error, StateError::Corrupt { message, .. } if message.contains("refusing to drop its records")),
        "{error}"
    );
    assert!(
        FileStore::new(store.path()).open_journal().await.is_err(),
        "nor is it emptied by the next apply"
    );

    // A header with no records loses nothing: it is set aside.
    let header = SnapshotBase::of_bytes(b"other", "lineage-a", 4).header();
    std::fs::write(store.journal_path(), json_line(&header).unwrap()).unwrap();
    assert_eq!(
        FileStore::new(store.path()).load().await.unwrap(),
        Some(edited)
    );
}
