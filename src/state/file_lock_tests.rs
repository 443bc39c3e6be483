//! Behaviour of the local lock: contention, release, takeover after a crash, force-unlock.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::state::{FileStore, LockInfo, StateError, StateStore};

fn store_in(dir: &tempfile::TempDir) -> FileStore {
    FileStore::new(dir.path().join("state").join("frankenetes.json"))
}

fn holder_of(error: StateError) -> LockInfo {
    match error {
        StateError::Locked { holder, .. } => *holder,
        other => panic!("expected locked, got {other}"),
    }
}

#[tokio::test]
async fn second_locker_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let first = store_in(&dir);
    let held = first.lock(LockInfo::new("apply")).await.unwrap();
    assert!(held.taken_over().is_none());

    let error = store_in(&dir)
        .lock(LockInfo::new("plan"))
        .await
        .unwrap_err();
    let message = error.to_string();
    let holder = holder_of(error);
    assert_eq!(&holder, held.info());
    for part in [
        format!("`{}`", holder.who),
        format!("`{}`", holder.host),
        format!("pid {}", holder.pid),
        "`apply`".to_string(),
        holder.created.clone(),
        format!(
            "hint: wait for that run to finish; if it is stuck, `fk force-unlock {}`",
            holder.id
        ),
    ] {
        assert!(message.contains(&part), "{part:?} missing from {message:?}");
    }
}

#[tokio::test]
async fn one_store_cannot_lock_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let _held = store.lock(LockInfo::new("apply")).await.unwrap();
    let error = store.lock(LockInfo::new("apply")).await.unwrap_err();
    assert!(matches!(error, StateError::Locked { .. }), "{error}");
}

#[tokio::test]
async fn releasing_removes_the_lock_file_and_frees_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let held = store.lock(LockInfo::new("apply")).await.unwrap();
    assert!(store.lock_path().exists());
    held.release().await.unwrap();
    assert!(!store.lock_path().exists());

    let again = store.lock(LockInfo::new("apply")).await.unwrap();
    assert!(again.taken_over().is_none());
    drop(again);
    assert!(!store.lock_path().exists());
    store.lock(LockInfo::new("destroy")).await.unwrap();
}

#[tokio::test]
async fn an_abandoned_lock_file_is_taken_over_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let abandoned = LockInfo::new("apply");
    std::fs::create_dir_all(store.lock_path().parent().unwrap()).unwrap();
    std::fs::write(store.lock_path(), serde_json::to_vec(&abandoned).unwrap()).unwrap();

    let held = store.lock(LockInfo::new("plan")).await.unwrap();
    assert_eq!(held.taken_over(), Some(&abandoned));
    let on_disk: LockInfo =
        serde_json::from_slice(&std::fs::read(store.lock_path()).unwrap()).unwrap();
    assert_eq!(&on_disk, held.info());
}

const HOLDER_PATH_VARIABLE: &str = "FK_TEST_LOCK_HOLDER_PATH";
const HOLDING_MARKER: &str = "fk-test: holding the lock";

/// The child half of the test below: take the lock, say so, wait to be killed.
async fn hold_lock_until_killed(path: &str) {
    let store = FileStore::new(path);
    let _held = store.lock(LockInfo::new("apply")).await.unwrap();
    // On its own line: libtest may have printed the test's name without a newline.
    println!("\n{HOLDING_MARKER}");
    // Not a wait for timing: the parent kills this process; the bound only stops an
    // orphan from living forever if the parent dies first.
    std::thread::sleep(std::time::Duration::from_secs(120));
    std::process::exit(1);
}

#[tokio::test]
async fn lock_of_a_killed_holder_is_free_and_reported_as_taken_over() {
    if let Ok(path) = std::env::var(HOLDER_PATH_VARIABLE) {
        return hold_lock_until_killed(&path).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let test_name = format!(
        "{}::lock_of_a_killed_holder_is_free_and_reported_as_taken_over",
        module_path!().trim_start_matches("fk::")
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
        .env(HOLDER_PATH_VARIABLE, store.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let held = lines.any(|line| line.is_ok_and(|line| line.contains(HOLDING_MARKER)));
    assert!(held, "the child never took the lock");

    let holder = holder_of(store.lock(LockInfo::new("plan")).await.unwrap_err());
    assert_eq!(holder.pid, child.id());

    child.kill().unwrap(); // SIGKILL: no destructor runs, the lock file stays
    child.wait().unwrap();
    assert!(store.lock_path().exists());

    let taken = store.lock(LockInfo::new("plan")).await.unwrap();
    assert_eq!(taken.taken_over(), Some(&holder));
}

#[tokio::test]
async fn force_unlock_with_a_wrong_id_is_refused_naming_the_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let held = store.lock(LockInfo::new("apply")).await.unwrap();
    let error = store.force_unlock("not-the-id").await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, StateError::LockMismatch { held: real, .. } if real == &held.info().id),
        "{error}"
    );
    assert!(message.contains(&held.info().id), "{message}");
    assert!(store.lock_path().exists());
}

#[tokio::test]
async fn force_unlock_with_the_right_id_frees_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let held = store.lock(LockInfo::new("apply")).await.unwrap();
    let id = held.info().id.clone();
    store.force_unlock(&id).await.unwrap();
    assert!(!store.lock_path().exists());

    let next = store_in(&dir).lock(LockInfo::new("plan")).await.unwrap();
    // The old holder letting go later must not remove the new holder's lock.
    drop(held);
    assert!(store.lock_path().exists());
    let error = store.lock(LockInfo::new("plan")).await.unwrap_err();
    assert_eq!(holder_of(error), *next.info());
}

#[tokio::test]
async fn force_unlock_of_an_unlocked_state_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let error = store_in(&dir).force_unlock("any").await.unwrap_err();
    assert!(matches!(error, StateError::NotLocked { .. }), "{error}");
    assert!(error.to_string().ends_with("is not locked"), "{error}");
}
