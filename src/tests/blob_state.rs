//! Team state in Azure Blob Storage, against Azurite: the lock and its lease, fenced and
//! conditional writes, the journal across a crash, push/pull, and whole runs of the real
//! binary (two applies at once, a holder killed with SIGKILL, apply and destroy).
//! Outcomes are decided on HTTP status codes, never on error strings.

use crate::support::azurite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use azurite::{ACCOUNT, ACCOUNT_KEY, Azurite};
use fk::state::blob::client::Conditions;
use fk::state::{
    BlobStore, JournalRecord, LockInfo, ResourceState, ResourceStatus, State, StateError,
    StateStore,
};
use fk::value::Value;

fn backend(azurite: &Azurite, container: &str, lease_seconds: i64) -> BlobStore {
    let values: BTreeMap<String, Value> = [
        ("account", Value::String(ACCOUNT.into())),
        ("container", Value::String(container.into())),
        ("endpoint", Value::String(azurite.endpoint())),
        ("auth", Value::String("shared_key".into())),
        ("lease_seconds", Value::Int(lease_seconds)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect();
    let env = BTreeMap::from([("FK_BLOB_ACCOUNT_KEY".to_string(), ACCOUNT_KEY.to_string())]);
    BlobStore::from_backend(&values, &env, "m").expect("a valid backend")
}

fn thing(name: &str) -> JournalRecord {
    JournalRecord::Put {
        address: format!("fake_thing.{name}"),
        resource: ResourceState {
            resource_type: "fake_thing".into(),
            name: name.into(),
            id: format!("id-{name}"),
            status: ResourceStatus::Ready,
            attributes: serde_json::json!({ "name": name }),
            sensitive_paths: Vec::new(),
            dependencies: Vec::new(),
            create_before_destroy: false,
            stopped: false,
        },
    }
}

fn state_with_serial(lineage: &str, serial: u64) -> State {
    let mut state = State::new(lineage);
    state.serial = serial;
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_lock_fails_at_once_naming_the_holder() {
    let azurite = Azurite::start();
    let first = backend(&azurite, "locks", 15);
    let second = backend(&azurite, "locks", 15);
    let held = first
        .lock(LockInfo::new("apply"))
        .await
        .expect("first lock");

    let refused = second.lock(LockInfo::new("apply")).await.unwrap_err();
    match &refused {
        StateError::Locked { holder, .. } => {
            assert_eq!(holder.id, held.info().id);
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.operation, "apply");
            assert_eq!(holder.created, held.info().created);
        }
        other => panic!("expected Locked, got {other}"),
    }
    let message = refused.to_string();
    assert!(
        message.contains(&format!("fk force-unlock {}", held.info().id)),
        "{message}"
    );

    held.release().await.expect("release");
    let next = second
        .lock(LockInfo::new("plan"))
        .await
        .expect("free after release");
    assert!(
        next.taken_over().is_none(),
        "a released lock leaves nothing to take over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_frees_the_lock_and_fences_the_old_writer() {
    let azurite = Azurite::start();
    let holder = backend(&azurite, "force", 60);
    let rescuer = backend(&azurite, "force", 60);
    let held = holder.lock(LockInfo::new("apply")).await.unwrap();
    holder.load().await.unwrap();
    holder
        .persist(&state_with_serial("lineage-a", 1))
        .await
        .unwrap();

    let wrong = rescuer.force_unlock("not-the-id").await.unwrap_err();
    assert!(matches!(wrong, StateError::LockMismatch { .. }), "{wrong}");
    rescuer
        .force_unlock(&held.info().id)
        .await
        .expect("force-unlock");

    // The lease is broken and nobody holds another: the old writer is refused.
    let refused = holder
        .persist(&state_with_serial("lineage-a", 2))
        .await
        .unwrap_err();
    assert_eq!(refused.http_status(), Some(412), "{refused}");

    let _rescued = rescuer
        .lock(LockInfo::new("apply"))
        .await
        .expect("free after force-unlock");
    // Now another run holds a new lease: still refused, state and journal alike.
    let refused = holder
        .persist(&state_with_serial("lineage-a", 2))
        .await
        .unwrap_err();
    assert_eq!(refused.http_status(), Some(412), "{refused}");
    let journal = holder.journal().await.unwrap();
    assert!(journal.append(vec![thing("late")]).await.is_err());

    let current = rescuer.load().await.unwrap().expect("state");
    assert_eq!(current.serial, 1);
    assert!(
        current.resources.is_empty(),
        "the fenced writer changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_with_a_stale_etag_is_refused() {
    let azurite = Azurite::start();
    let stale = backend(&azurite, "etag", 15);
    let fresh = backend(&azurite, "etag", 15);
    let lock = stale.lock(LockInfo::new("apply")).await.unwrap();
    stale.load().await.unwrap();
    stale
        .persist(&state_with_serial("lineage-a", 1))
        .await
        .unwrap();
    lock.release().await.unwrap();

    let lock = fresh.lock(LockInfo::new("apply")).await.unwrap();
    fresh.load().await.unwrap();
    fresh
        .persist(&state_with_serial("lineage-a", 2))
        .await
        .unwrap();
    lock.release().await.unwrap();

    // The stale writer holds the lock again but never read serial 2.
    let _lock = stale.lock(LockInfo::new("apply")).await.unwrap();
    let refused = stale
        .persist(&state_with_serial("lineage-a", 3))
        .await
        .unwrap_err();
    assert_eq!(refused.http_status(), Some(412), "{refused}");
    assert_eq!(stale.load().await.unwrap().unwrap().serial, 2);
    // Having read it, the same write goes through.
    stale
        .persist(&state_with_serial("lineage-a", 3))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_and_serial_are_checked_on_every_write() {
    let azurite = Azurite::start();
    let store = backend(&azurite, "history", 15);
    let _lock = store.lock(LockInfo::new("apply")).await.unwrap();
    store.load().await.unwrap();
    store
        .persist(&state_with_serial("lineage-a", 5))
        .await
        .unwrap();
    let other = store
        .persist(&state_with_serial("lineage-b", 6))
        .await
        .unwrap_err();
    assert!(matches!(other, StateError::Corrupt { .. }), "{other}");
    let older = store
        .persist(&state_with_serial("lineage-a", 4))
        .await
        .unwrap_err();
    assert!(matches!(older, StateError::Corrupt { .. }), "{older}");
    assert_eq!(store.load().await.unwrap().unwrap().serial, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_records_survive_a_crash_and_a_torn_tail_is_ignored() {
    let azurite = Azurite::start();
    let crashed = backend(&azurite, "journal", 15);
    let lock = crashed.lock(LockInfo::new("apply")).await.unwrap();
    crashed.load().await.unwrap();
    crashed
        .persist(&state_with_serial("lineage-a", 1))
        .await
        .unwrap();
    let journal = crashed.journal().await.unwrap();
    let appends: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|name| {
            let journal = journal.clone();
            tokio::spawn(async move { journal.append(vec![thing(name)]).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap().expect("append");
    }
    assert!(
        crashed.n_journal_appends().await >= 2,
        "the header and at least one batch"
    );
    // A record cut short (never acknowledged) at the end of the journal.
    let torn = crashed
        .client()
        .append_block(
            &crashed.names().journal,
            b"{\"op\":\"put\",\"addr".to_vec(),
            Conditions {
                lease_id: Some(&lock.info().id),
                ..Conditions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(torn.status, 201);
    drop(lock); // the run ends without persisting

    let next = backend(&azurite, "journal", 15);
    let _lock = next.lock(LockInfo::new("apply")).await.unwrap();
    let state = next.load().await.unwrap().expect("state");
    let names: Vec<&str> = state.resources.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "fake_thing.a",
            "fake_thing.b",
            "fake_thing.c",
            "fake_thing.d"
        ]
    );
    assert_eq!(state.serial, 2, "replay bumps the serial once");
    assert_eq!(state.lineage, "lineage-a");
}

/// The snapshot blob deleted while its journal remains: the next run stops and names the
/// journal instead of starting from an empty state; the journal is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_without_its_snapshot_blob_is_never_taken_for_no_state() {
    let azurite = Azurite::start();
    let first = backend(&azurite, "vanish", 15);
    let lock = first.lock(LockInfo::new("apply")).await.unwrap();
    first.load().await.unwrap();
    first
        .persist(&state_with_serial("lineage-a", 3))
        .await
        .unwrap();
    let journal = first.journal().await.unwrap();
    journal.append(vec![thing("a")]).await.unwrap();
    lock.release().await.unwrap();
    let deleted = first
        .client()
        .delete_blob(&first.names().state, Conditions::default())
        .await
        .unwrap();
    assert!(deleted.is_success(), "HTTP {}", deleted.status);
    let journal_before = first
        .client()
        .get_blob(&first.names().journal)
        .await
        .unwrap()
        .body;

    let next = backend(&azurite, "vanish", 15);
    let lock = next.lock(LockInfo::new("apply")).await.unwrap();
    let refused = next.load().await.unwrap_err();
    match &refused {
        StateError::Missing { found, .. } => {
            assert!(
                found.contains("m.json.journal") && found.contains("serial 3"),
                "{refused}"
            )
        }
        other => panic!("expected Missing, got {other}"),
    }
    lock.release().await.unwrap();
    let journal_after = next
        .client()
        .get_blob(&next.names().journal)
        .await
        .unwrap()
        .body;
    assert_eq!(journal_after, journal_before, "the journal is untouched");
}

/// A run that died holding the lock of a state that is now missing: the run that takes the
/// lock over stops instead of starting from empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lock_over_a_missing_state_is_never_taken_for_no_state() {
    let azurite = Azurite::start();
    // A run that died right after writing its lock description (before any lease): it
    // counts as alive for the grace period, then as dead.
    let dead = backend(&azurite, "dead", 15);
    let created = dead.client().create_container().await.unwrap();
    assert!(created.is_success(), "HTTP {}", created.status);
    let description = LockInfo::new("apply");
    let dead_id = description.id.clone();
    let written = dead
        .client()
        .put_block_blob(
            &dead.names().lock,
            serde_json::to_vec(&description).unwrap(),
            Conditions::default(),
        )
        .await
        .unwrap();
    assert!(written.is_success(), "HTTP {}", written.status);

    let next = backend(&azurite, "dead", 15);
    let deadline = Instant::now() + Duration::from_secs(90);
    let lock = loop {
        match next.lock(LockInfo::new("apply")).await {
            Ok(lock) => break lock,
            Err(StateError::Locked { .. }) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
        assert!(
            Instant::now() < deadline,
            "the dead holder's lease never ended"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        lock.taken_over().map(|info| info.id.clone()),
        Some(dead_id.clone())
    );
    let refused = next.load().await.unwrap_err();
    assert!(
        matches!(&refused, StateError::Missing { found, .. } if found.contains("ended without releasing")),
        "{refused}"
    );
    lock.release().await.unwrap();
    // Released, the evidence is back: the next run is stopped too, until force-unlock.
    let left: LockInfo = serde_json::from_slice(
        &next
            .client()
            .get_blob(&next.names().lock)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(left.id, dead_id);
    fk::state::blob::BlobLock::force_unlock(next.client(), next.names(), &dead_id)
        .await
        .expect("force-unlock clears it");
    let cleared = next.client().get_blob(&next.names().lock).await.unwrap();
    assert_eq!(cleared.status, 404);
}

// ---- the real binary ----

fn fk(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("fk runs")
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fk"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FK_BLOB_ACCOUNT_KEY", ACCOUNT_KEY)
        .stdin(Stdio::null());
    command
}

fn spawn_fk(dir: &Path, args: &[&str]) -> Child {
    command(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fk starts")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `m/` with `n` fake things taking `latency_ms` each, state in Azurite's `container`.
fn workspace(
    azurite: &Azurite,
    container: &str,
    n: usize,
    latency_ms: u64,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("m")).unwrap();
    let mut module = format!(
        "[backend.azure_blob]\naccount = \"{ACCOUNT}\"\ncontainer = \"{container}\"\nendpoint = \"{}\"\nauth = \"shared_key\"\nlease_seconds = 15\n\n[provider.fake]\nworld = \"world.json\"\nlatency_ms = {latency_ms}\n\n",
        azurite.endpoint()
    );
    for idx in 0..n {
        module.push_str(&format!(
            "[resource.fake_thing.t{idx}]\nname = \"t{idx}\"\n\n"
        ));
    }
    module.push_str("[resource.data.greeting]\ninput = \"hello\"\n\n[output.greeting]\nvalue = \"${data.greeting.output}\"\n");
    std::fs::write(root.join("m/main.toml"), module).unwrap();
    (dir, root)
}

/// Polls (bounded) until the module's lock blob names a holder.
async fn wait_for_holder(store: &BlobStore) -> LockInfo {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = store.client().get_blob(&store.names().lock).await.unwrap();
        if read.status == 200
            && let Ok(info) = serde_json::from_slice::<LockInfo>(&read.body)
        {
            let leased = store
                .client()
                .get_properties(&store.names().state)
                .await
                .unwrap();
            if leased.header("x-ms-lease-state") == Some("leased") {
                return info;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no run took the lock within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_and_destroy_keep_their_state_in_blob_storage() {
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "e2e", 3, 0);
    let apply = fk(&root, &["apply", "m", "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(
        !root.join("state/m.json").exists(),
        "no local state with a backend"
    );

    let store = backend(&azurite, "e2e", 15);
    let state = store.load().await.unwrap().expect("state in the blob");
    assert_eq!(state.resources.len(), 4, "{:?}", state.resources.keys());
    let lock = store
        .client()
        .get_properties(&store.names().lock)
        .await
        .unwrap();
    assert_eq!(lock.status, 404, "the lock is released at the end");

    let again = fk(&root, &["plan", "m", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    let destroy = fk(&root, &["destroy", "m", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let state = store.load().await.unwrap().expect("state in the blob");
    assert!(state.resources.is_empty(), "{:?}", state.resources.keys());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_one_fails_fast_naming_the_holder_then_a_killed_holder_expires() {
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "race", 3, 60_000);
    let mut first = spawn_fk(&root, &["apply", "m", "--auto-approve"]);
    let store = backend(&azurite, "race", 15);
    let holder = wait_for_holder(&store).await;
    assert_eq!(holder.pid, first.id());

    let second = fk(&root, &["apply", "m", "--auto-approve"]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let message = text(&second);
    assert!(message.contains("error[fk::state::locked]"), "{message}");
    assert!(
        message.contains(&format!("pid {}", first.id())),
        "{message}"
    );
    assert!(message.contains(&holder.id), "{message}");

    first.kill().unwrap(); // SIGKILL: no release, the lease must run out by itself
    first.wait().unwrap();
    let killed_at = Instant::now();
    let deadline = killed_at + Duration::from_secs(90);
    let taken = loop {
        match store.lock(LockInfo::new("apply")).await {
            Ok(lock) => break lock,
            Err(StateError::Locked { .. }) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
        assert!(
            Instant::now() < deadline,
            "the dead holder's lock never expired"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("the lock was free {:?} after the kill", killed_at.elapsed());
    let previous = taken.taken_over().expect("the dead holder is named");
    assert_eq!(previous.id, holder.id);
    taken.release().await.unwrap();

    let after = fk(&root, &["plan", "m"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_by_module_frees_a_lock_left_behind() {
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "unlock", 1, 0);
    let store = backend(&azurite, "unlock", 60);
    let held = store.lock(LockInfo::new("apply")).await.unwrap();
    let id = held.info().id.clone();
    std::mem::forget(held); // as if the run died: a 60 s lease stays behind

    let refused = fk(&root, &["plan", "m"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let unlock = fk(&root, &["force-unlock", &id, "m"]);
    assert_eq!(unlock.status.code(), Some(0), "{}", text(&unlock));
    let plan = fk(&root, &["plan", "m"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_round_trip_and_refuse_other_histories() {
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "move", 2, 0);
    // Apply locally first (`--state` keeps it in a file), then move it to the account.
    let local = fk(
        &root,
        &["apply", "m", "--auto-approve", "--state", "state/m.json"],
    );
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    let pushed = fk(&root, &["state", "push", "m", "state/m.json"]);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));

    let plan = fk(&root, &["plan", "m", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the pushed state is the module's: {}",
        text(&plan)
    );

    let pulled = fk(&root, &["state", "pull", "m", "pulled.json"]);
    assert_eq!(pulled.status.code(), Some(0), "{}", text(&pulled));
    let original: State =
        serde_json::from_slice(&std::fs::read(root.join("state/m.json")).unwrap()).unwrap();
    let round_trip: State =
        serde_json::from_slice(&std::fs::read(root.join("pulled.json")).unwrap()).unwrap();
    assert_eq!(round_trip, original);

    let again = fk(&root, &["state", "push", "m", "state/m.json"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "pushing the same state is a no-op: {}",
        text(&again)
    );

    let mut foreign = original.clone();
    foreign.lineage = "another-history".into();
    foreign.serial += 10;
    std::fs::write(
        root.join("foreign.json"),
        serde_json::to_vec(&foreign).unwrap(),
    )
    .unwrap();
    let refused = fk(&root, &["state", "push", "m", "foreign.json"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));

    let mut older = original;
    older.serial -= 1;
    std::fs::write(root.join("older.json"), serde_json::to_vec(&older).unwrap()).unwrap();
    let refused = fk(&root, &["state", "push", "m", "older.json"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewal_is_refused_stops_writing_on_its_own() {
    let azurite = Azurite::start();
    let holder = backend(&azurite, "renewal", 15);
    let rescuer = backend(&azurite, "renewal", 15);
    let held = holder.lock(LockInfo::new("apply")).await.unwrap();
    holder.load().await.unwrap();
    rescuer.force_unlock(&held.info().id).await.unwrap();
    // The renewal runs every 5 s with a 15 s lease; until it notices, the service refuses.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match holder.persist(&state_with_serial("lineage-a", 1)).await {
            Err(StateError::LeaseLost { .. }) => break,
            Err(refused) => assert_eq!(refused.http_status(), Some(412), "{refused}"),
            Ok(()) => panic!("a writer whose lease was broken wrote"),
        }
        assert!(
            Instant::now() < deadline,
            "the renewal never noticed the broken lease"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_waits_for_the_holder_to_finish() {
    use std::io::BufRead as _;
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "wait", 1, 0);
    let store = backend(&azurite, "wait", 15);
    let held = store.lock(LockInfo::new("apply")).await.unwrap();

    let mut waiting = command(&root, &["plan", "m", "--lock-timeout", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = waiting.stderr.take().unwrap();
    let (said_waiting_tx, said_waiting) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("Waiting up to 60s") {
                let _ = said_waiting_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    said_waiting
        .recv_timeout(Duration::from_secs(60))
        .expect("the second run says it waits");
    held.release().await.unwrap();
    let status = waiting.wait().unwrap();
    let lines = reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
}

/// An account SAS (service version 2019-02-02 string-to-sign) for the development account:
/// blob service, every resource type, read/write/delete/list/add/create for an hour.
fn account_sas() -> String {
    use base64::Engine as _;
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let start = (now - time::Duration::minutes(5)).format(&format).unwrap();
    let expiry = (now + time::Duration::hours(1)).format(&format).unwrap();
    let (permissions, services, resource_types, version) = ("rwdlac", "b", "sco", "2019-02-02");
    let to_sign = format!(
        "{ACCOUNT}\n{permissions}\n{services}\n{resource_types}\n{start}\n{expiry}\n\nhttp\n{version}\n"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(ACCOUNT_KEY)
        .unwrap();
    let signature = fk::state::blob::shared_key::sign(&key, &to_sign);
    let encoded: String = signature
        .bytes()
        .map(|byte| match byte {
            b'+' => "%2B".to_string(),
            b'/' => "%2F".to_string(),
            b'=' => "%3D".to_string(),
            other => (other as char).to_string(),
        })
        .collect();
    format!(
        "sv={version}&ss={services}&srt={resource_types}&sp={permissions}&st={start}&se={expiry}&spr=http&sig={encoded}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sas_token_authorizes_the_whole_cycle_and_a_wrong_one_is_refused() {
    let azurite = Azurite::start();
    let values: BTreeMap<String, Value> = [
        ("account", ACCOUNT.to_string()),
        ("container", "sas".to_string()),
        ("endpoint", azurite.endpoint()),
        ("auth", "sas".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), Value::String(value)))
    .collect();
    let env = BTreeMap::from([("FK_BLOB_SAS".to_string(), format!("?{}", account_sas()))]);
    let store = BlobStore::from_backend(&values, &env, "m").unwrap();
    let lock = store
        .lock(LockInfo::new("apply"))
        .await
        .expect("lock with a SAS");
    store.load().await.unwrap();
    store
        .persist(&state_with_serial("lineage-a", 1))
        .await
        .unwrap();
    store
        .journal()
        .await
        .unwrap()
        .append(vec![thing("a")])
        .await
        .unwrap();
    lock.release().await.unwrap();
    let state = store.load().await.unwrap().expect("state");
    assert_eq!(state.resources.len(), 1);

    let forged = BTreeMap::from([(
        "FK_BLOB_SAS".to_string(),
        account_sas().replace("sp=rwdlac", "sp=rwdlacx"),
    )]);
    let refused = BlobStore::from_backend(&values, &forged, "m").unwrap();
    let error = refused.load().await.unwrap_err();
    assert_eq!(error.http_status(), Some(403), "{error}");
}

// ---- state encryption on Azure Blob ----

const PASSPHRASE: &str = "a passphrase of some length";

fn sealed_fk(dir: &Path, args: &[&str]) -> Output {
    command(dir, args)
        .env("FK_STATE_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("fk runs")
}

/// Every blob of the module's state (snapshot, journal, lock), as stored.
async fn stored_blobs(store: &BlobStore) -> Vec<(String, Vec<u8>)> {
    let names = store.names().clone();
    let mut blobs = Vec::new();
    for name in [names.state, names.journal, names.lock] {
        let read = store.client().get_blob(&name).await.unwrap();
        if read.status == 200 {
            blobs.push((name, read.body));
        }
    }
    blobs
}

fn n_private_keys<'a>(contents: impl IntoIterator<Item = &'a [u8]>) -> usize {
    contents
        .into_iter()
        .map(|bytes| {
            String::from_utf8_lossy(bytes)
                .matches("PRIVATE KEY")
                .count()
        })
        .sum()
}

fn add_a_private_key(root: &Path) {
    let path = root.join("m/main.toml");
    let mut module = std::fs::read_to_string(&path).unwrap();
    module.push_str("\n[resource.tls_private_key.k]\n");
    std::fs::write(path, module).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_blob_state_applies_survives_a_kill_moves_and_destroys_sealed() {
    let azurite = Azurite::start();
    let (_dir, root) = workspace(&azurite, "sealed", 6, 300);
    add_a_private_key(&root);
    let store = backend(&azurite, "sealed", 15);

    // SIGKILL in the middle of the first apply: the journal's records are sealed.
    let mut child = command(
        &root,
        &["apply", "m", "--auto-approve", "-parallelism", "2"],
    )
    .env("FK_STATE_PASSPHRASE", PASSPHRASE)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let journal = store
            .client()
            .get_blob(&store.names().journal)
            .await
            .unwrap();
        if journal.status == 200 && journal.body.split(|&b| b == b'\n').count() > 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the apply never got going");
        assert!(child.try_wait().unwrap().is_none(), "apply ended too soon");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let journal = store
        .client()
        .get_blob(&store.names().journal)
        .await
        .unwrap()
        .body;
    let journal = String::from_utf8(journal).unwrap();
    assert!(
        journal
            .lines()
            .skip(1)
            .all(|line| line.starts_with("{\"fk_sealed\":")),
        "{journal}"
    );
    let blobs = stored_blobs(&store).await;
    assert_eq!(n_private_keys(blobs.iter().map(|(_, b)| b.as_slice())), 0);

    // Without the passphrase: refused, nothing changed (the dead run's lease expires first).
    let deadline = Instant::now() + Duration::from_secs(90);
    let refused = loop {
        let refused = fk(&root, &["plan", "m"]);
        if !text(&refused).contains("is locked by") {
            break refused;
        }
        assert!(
            Instant::now() < deadline,
            "the dead run's lock never expired"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("cannot decrypt"),
        "{}",
        text(&refused)
    );

    let apply = sealed_fk(&root, &["apply", "m", "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let plan = sealed_fk(&root, &["plan", "m", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // Pull into a local file and push it back: sealed on both sides.
    let pulled = sealed_fk(&root, &["state", "pull", "m", "pulled.json"]);
    assert_eq!(pulled.status.code(), Some(0), "{}", text(&pulled));
    let local = std::fs::read(root.join("pulled.json")).unwrap();
    assert!(local.starts_with(b"{\"fk_sealed\":"));
    let pushed = sealed_fk(&root, &["state", "push", "m", "pulled.json"]);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    assert!(
        text(&pushed).contains("already holds this state"),
        "{}",
        text(&pushed)
    );

    let blobs = stored_blobs(&store).await;
    assert!(
        blobs[0].1.starts_with(b"{\"fk_sealed\":"),
        "the snapshot is sealed"
    );
    let everything = blobs
        .iter()
        .map(|(_, b)| b.as_slice())
        .chain([local.as_slice()]);
    assert_eq!(n_private_keys(everything), 0);

    let destroy = sealed_fk(&root, &["destroy", "m", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let sealed_store = backend(&azurite, "sealed", 15).with_keys(Some(std::sync::Arc::new(
        fk::state::StateKeys::from_passphrases(PASSPHRASE, None),
    )));
    let state = sealed_store.load().await.unwrap().expect("state");
    assert!(state.resources.is_empty(), "{:?}", state.resources.keys());
}
