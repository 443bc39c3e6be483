//! The real binary, as a user runs it: exit codes, saved plans, locks, interrupts, and a run
//! killed with SIGKILL in the middle of an apply.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fk::provider::fake::FakeWorld;
use fk::state::State;

fn fk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fk"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("fk runs")
}

fn spawn_fk(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fk"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
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

/// A workspace: `m/` holds the module, the fake cloud lives in `state/world.json` (the fake
/// writes nowhere but the state folder), state in `state/m.json`.
struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Workspace {
    fn new(module: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("m")).unwrap();
        std::fs::write(root.join("m/main.toml"), module).unwrap();
        Workspace { _dir: dir, root }
    }

    fn write(&self, module: &str) {
        std::fs::write(self.root.join("m/main.toml"), module).unwrap();
    }

    fn world(&self) -> FakeWorld {
        std::fs::read(self.root.join("state/world.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn state(&self) -> State {
        let bytes = std::fs::read(self.root.join("state/m.json")).expect("state file");
        serde_json::from_slice(&bytes).expect("state parses")
    }

    fn journal_lines(&self) -> usize {
        std::fs::read_to_string(self.root.join("state/m.json.journal"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }
}

/// `n` fake things in chains of three, each taking `latency_ms`.
fn slow_module(n: usize, latency_ms: u64) -> String {
    let mut text =
        format!("[provider.fake]\nworld = \"world.json\"\nlatency_ms = {latency_ms}\n\n");
    for idx in 0..n {
        text.push_str(&format!(
            "[resource.fake_thing.t{idx}]\nname = \"t{idx}\"\n"
        ));
        if idx % 3 != 0 {
            text.push_str(&format!(
                "tags = {{ after = \"${{fake_thing.t{}.ip}}\" }}\n",
                idx - 1
            ));
        }
        text.push('\n');
    }
    text
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes() {
    let workspace = Workspace::new(&slow_module(3, 0));
    let plan = fk(&workspace.root, &["plan", "m", "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        text(&plan).contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{}",
        text(&plan)
    );
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let again = fk(&workspace.root, &["plan", "m", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("No changes."), "{}", text(&again));
}

#[test]
fn apply_without_yes_changes_nothing() {
    let workspace = Workspace::new(&slow_module(2, 0));
    let apply = fk(&workspace.root, &["apply", "m"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(workspace.world().objects.is_empty());
}

#[test]
fn saved_plan_applies_exactly_and_is_refused_once_stale() {
    let workspace = Workspace::new(&slow_module(2, 0));
    let plan = fk(&workspace.root, &["plan", "m", "-out", "p.fkplan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let apply = fk(&workspace.root, &["apply", "p.fkplan"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(workspace.world().objects.len(), 2);

    // The same saved plan again: the state moved since it was made.
    let stale = fk(&workspace.root, &["apply", "p.fkplan"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale));
    assert!(text(&stale).contains("state moved"), "{}", text(&stale));

    // A plan saved, then the module edited: refused.
    let plan = fk(&workspace.root, &["plan", "m", "-out", "q.fkplan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    workspace.write(&slow_module(3, 0));
    let changed = fk(&workspace.root, &["apply", "q.fkplan"]);
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed));
    assert!(
        text(&changed).contains("changed since this plan was made"),
        "{}",
        text(&changed)
    );
    assert_eq!(
        workspace.world().objects.len(),
        2,
        "nothing applied from a stale plan"
    );
}

#[test]
fn killed_mid_apply_the_next_apply_converges_with_nothing_lost_or_duplicated() {
    let n_things = 12;
    let workspace = Workspace::new(&slow_module(n_things, 400));
    let mut child = spawn_fk(
        &workspace.root,
        &["apply", "m", "-auto-approve", "-parallelism", "3"],
    );
    // Kill once a few operations are journaled, in the middle of the walk.
    let deadline = Instant::now() + Duration::from_secs(60);
    while workspace.journal_lines() < 5 {
        assert!(Instant::now() < deadline, "the apply never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let created_before = workspace.world().objects.len();
    assert!(
        created_before < n_things,
        "the kill came too late to test anything"
    );

    // The state still loads: a plan works and shows the rest still to do.
    let plan = fk(&workspace.root, &["plan", "m", "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));

    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let world = workspace.world();
    assert_eq!(world.objects.len(), n_things, "every object exists");
    assert_eq!(
        world.n_creates as usize, n_things,
        "no object was created twice: {:?}",
        world.log
    );
    assert_eq!(workspace.state().resources.len(), n_things);
    let again = fk(&workspace.root, &["plan", "m", "-detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

/// Starts an apply of nine slow resources two at a time, sends `signal` once the first create
/// has begun, and waits for fk to exit.
fn signal_a_running_apply(signal: &str) -> (Workspace, std::process::Output) {
    let workspace = Workspace::new(&slow_module(9, 600));
    let child = spawn_fk(
        &workspace.root,
        &["apply", "m", "-auto-approve", "-parallelism", "2"],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while workspace.world().n_creates == 0 {
        assert!(Instant::now() < deadline, "the apply never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    (workspace, output)
}

#[test]
fn first_interrupt_lets_in_flight_work_finish_and_records_it() {
    let (workspace, output) = signal_a_running_apply("-INT");
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(
        text(&output).contains("Interrupt received"),
        "{}",
        text(&output)
    );
    // Everything that was started finished and is in state; nothing else was started.
    let world = workspace.world();
    let state = workspace.state();
    assert!(
        world.objects.len() < 9,
        "the interrupt came too late: {:?}",
        world.log
    );
    assert_eq!(
        state.resources.len(),
        world.objects.len(),
        "state records every object created"
    );
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(workspace.world().n_creates, 9);
}

#[test]
fn a_second_run_is_refused_while_the_state_is_locked() {
    let workspace = Workspace::new(&slow_module(3, 1500));
    let mut child = spawn_fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !workspace.root.join("state/m.json.lock").exists() {
        assert!(Instant::now() < deadline, "no lock file appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = fk(&workspace.root, &["plan", "m"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let message = text(&second);
    assert!(message.contains("locked"), "{message}");
    assert!(
        message.contains("apply"),
        "the holder's operation is named: {message}"
    );
    assert!(message.contains("force-unlock"), "{message}");
}

/// `plan -out` onto an existing world-readable file: the saved plan holds the state and
/// every variable, so the file must end owner-only, not keep the old file's 0644.
#[test]
fn saved_plan_over_a_world_readable_file_ends_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let workspace = Workspace::new(&slow_module(1, 0));
    let out = workspace.root.join("p.fkplan");
    std::fs::write(&out, b"old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let plan = fk(&workspace.root, &["plan", "m", "-out", "p.fkplan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let apply = fk(&workspace.root, &["apply", "p.fkplan"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
}

/// The state file gone, its backup beside it: every command stops, names the backup and
/// prints the `mv` that puts it back; nothing is created again and the backup is intact.
#[test]
fn a_missing_state_with_a_backup_stops_every_run_and_says_how_to_restore() {
    let workspace = Workspace::new(&slow_module(2, 0));
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // A second apply (an update in place) makes the backup the first apply's state.
    let tagged =
        slow_module(2, 0).replace("name = \"t0\"\n", "name = \"t0\"\ntags = { v = \"2\" }\n");
    workspace.write(&tagged);
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let state = workspace.root.join("state/m.json");
    let backup = workspace.root.join("state/m.json.backup");
    std::fs::remove_file(&state).unwrap();
    let before = std::fs::read(&backup).unwrap();
    let n_creates = workspace.world().n_creates;

    for args in [
        &["plan", "m"][..],
        &["apply", "m", "-auto-approve"][..],
        &["show", "m"][..],
    ] {
        let refused = fk(&workspace.root, args);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&refused)
        );
        let message = text(&refused);
        assert!(
            message.contains("mv state/m.json.backup state/m.json"),
            "{args:?}: {message}"
        );
        assert!(!message.contains("Plan: "), "{message}");
    }
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        before,
        "the backup is intact"
    );
    assert!(!state.exists());
    assert_eq!(workspace.world().n_creates, n_creates, "nothing created");

    let restore = Command::new("mv")
        .args(["state/m.json.backup", "state/m.json"])
        .current_dir(&workspace.root)
        .status()
        .unwrap();
    assert!(restore.success());
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(workspace.world().objects.len(), 2);
    assert_eq!(
        workspace.world().n_creates,
        2,
        "no object was created twice"
    );
}

// ---- state encryption ----

const PASSPHRASE: &str = "a passphrase of some length";
const NEW_PASSPHRASE: &str = "the next passphrase, rotated in";

fn fk_with(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fk"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("fk runs")
}

/// Every file under `root` but the module and the fake cloud, with its bytes.
fn written_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext != "toml")
                && !path.ends_with("m/world.json")
            {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

fn n_private_keys(files: &[(PathBuf, Vec<u8>)]) -> usize {
    files
        .iter()
        .map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .matches("PRIVATE KEY")
                .count()
        })
        .sum()
}

/// A private key (in state only) and fake things.
fn keyed_module(n: usize, latency_ms: u64) -> String {
    format!(
        "{}[resource.tls_private_key.k]\n\n[output.key]\nvalue = \"${{tls_private_key.k.private_key_pem}}\"\nsensitive = true\n",
        slow_module(n, latency_ms)
    )
}

#[test]
fn encrypted_state_plans_applies_and_destroys_with_no_key_in_any_file() {
    // Without encryption the key is in the state in plain text: the check below can fail.
    let plain = Workspace::new(&keyed_module(2, 0));
    let apply = fk(&plain.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(n_private_keys(&written_files(&plain.root)) > 0);

    let workspace = Workspace::new(&keyed_module(2, 0));
    let key = [("FK_STATE_PASSPHRASE", PASSPHRASE)];
    let plan = fk_with(&workspace.root, &["plan", "m", "-out", "p.fkplan"], &key);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let unsealed = fk(&workspace.root, &["apply", "p.fkplan"]);
    assert_eq!(unsealed.status.code(), Some(1), "{}", text(&unsealed));
    assert!(
        text(&unsealed).contains("cannot decrypt `p.fkplan`"),
        "{}",
        text(&unsealed)
    );
    assert!(workspace.world().objects.is_empty());
    let apply = fk_with(&workspace.root, &["apply", "p.fkplan"], &key);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // A change, so a backup and a journal exist too.
    workspace.write(&keyed_module(3, 0));
    let apply = fk_with(&workspace.root, &["apply", "m", "-auto-approve"], &key);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let again = fk_with(&workspace.root, &["plan", "m", "-detailed-exitcode"], &key);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let show = fk_with(&workspace.root, &["show", "m"], &key);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));

    let files = written_files(&workspace.root);
    let names: Vec<String> = files
        .iter()
        .map(|(path, _)| {
            path.strip_prefix(&workspace.root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    for expected in ["state/m.json", "state/m.json.backup", "p.fkplan"] {
        assert!(names.contains(&expected.to_string()), "{names:?}");
    }
    assert_eq!(n_private_keys(&files), 0, "{names:?}");
    for (path, bytes) in &files {
        // The lock names its holder only; `world.json` is the fake cloud's own file (the test
        // provider keeps it in `state/`), not one of fk's.
        if !path.ends_with("m.json.lock") && !path.ends_with("world.json") {
            assert!(
                bytes.starts_with(b"{\"fk_sealed\":") || path.ends_with("m.json.journal"),
                "{} is not sealed",
                path.display()
            );
        }
    }

    let destroy = fk_with(&workspace.root, &["destroy", "m", "-auto-approve"], &key);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    assert!(workspace.world().objects.is_empty());
    assert_eq!(n_private_keys(&written_files(&workspace.root)), 0);
}

#[test]
fn a_wrong_or_missing_passphrase_changes_nothing_and_rotation_uses_the_fallback() {
    let workspace = Workspace::new(&keyed_module(2, 0));
    // A plaintext state migrates on the next write.
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(workspace.state().resources.len() == 3);
    let key = [("FK_STATE_PASSPHRASE", PASSPHRASE)];
    workspace.write(&keyed_module(3, 0));
    let apply = fk_with(&workspace.root, &["apply", "m", "-auto-approve"], &key);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let before = written_files(&workspace.root);
    assert_eq!(n_private_keys(&before), 0, "the backup was sealed too");
    let state = std::fs::read(workspace.root.join("state/m.json")).unwrap();
    assert!(state.starts_with(b"{\"fk_sealed\":"), "migrated on write");
    let n_creates = workspace.world().n_creates;

    workspace.write(&keyed_module(4, 0));
    for envs in [
        &[][..],
        &[(
            "FK_STATE_PASSPHRASE",
            "not the passphrase it was written with",
        )][..],
    ] {
        for args in [
            &["plan", "m"][..],
            &["apply", "m", "-auto-approve"][..],
            &["destroy", "m", "-auto-approve"][..],
        ] {
            let refused = fk_with(&workspace.root, args, envs);
            assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
            let message = text(&refused);
            assert!(
                message.contains("cannot decrypt `state/m.json`"),
                "{message}"
            );
            assert!(!message.contains(PASSPHRASE), "{message}");
        }
    }
    assert_eq!(written_files(&workspace.root), before, "nothing changed");
    assert_eq!(workspace.world().n_creates, n_creates);

    // Rotation: the new passphrase writes, the old one (fallback) still opens.
    let rotating = [
        ("FK_STATE_PASSPHRASE", NEW_PASSPHRASE),
        ("FK_STATE_PASSPHRASE_FALLBACK", PASSPHRASE),
    ];
    let apply = fk_with(&workspace.root, &["apply", "m", "-auto-approve"], &rotating);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let new_only = [("FK_STATE_PASSPHRASE", NEW_PASSPHRASE)];
    let plan = fk_with(
        &workspace.root,
        &["plan", "m", "-detailed-exitcode"],
        &new_only,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let old_only = fk_with(&workspace.root, &["plan", "m"], &key);
    assert_eq!(old_only.status.code(), Some(1), "{}", text(&old_only));
}

#[test]
fn killed_mid_apply_with_encryption_the_next_apply_converges() {
    let n_things = 9;
    let workspace = Workspace::new(&keyed_module(n_things, 400));
    let key = [("FK_STATE_PASSPHRASE", PASSPHRASE)];
    let mut child = Command::new(env!("CARGO_BIN_EXE_fk"))
        .args(["apply", "m", "-auto-approve", "-parallelism", "3"])
        .current_dir(&workspace.root)
        .env("NO_COLOR", "1")
        .envs(key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while workspace.journal_lines() < 5 {
        assert!(Instant::now() < deadline, "the apply never got going");
        assert!(child.try_wait().unwrap().is_none(), "apply ended too soon");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    assert!(
        workspace.world().objects.len() < n_things,
        "killed too late"
    );
    let journal = std::fs::read_to_string(workspace.root.join("state/m.json.journal")).unwrap();
    assert!(
        journal
            .lines()
            .skip(1)
            .all(|line| line.starts_with("{\"fk_sealed\":")),
        "every record is sealed"
    );

    let apply = fk_with(&workspace.root, &["apply", "m", "-auto-approve"], &key);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let world = workspace.world();
    assert_eq!(world.objects.len(), n_things);
    assert_eq!(world.n_creates as usize, n_things, "{:?}", world.log);
    assert_eq!(n_private_keys(&written_files(&workspace.root)), 0);
}

/// Eight independent mistakes in three files, with the built-in types.
fn write_eight_mistakes(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("variables.toml"),
        "[variable.region]\ndescription = \"where\"\n\n[variable.zones]\ndefault = [\"1\", \"2\"]\n\n\
         [variable.replicas]\ndefault = nan\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.toml"),
        "[resource.data.a]\ninput = \"${var.regoin}\"\n\n[resource.tls_private_key.ca]\n\
         algorithm = \"DSA\"\n\n[resource.data.b]\nimput = 1\n\n[resource.data.hash]\n\
         input = '${upper(\"a\", \"b\")}'\n\n[resource.data.zone]\ninput = \"${var.zones[5]}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("outputs.toml"),
        "[output.key]\nvalue = \"${tls_private_key.ca.private_key_pem}\"\n\n[output.region]\n\
         value = \"${var.region}\"\n",
    )
    .unwrap();
}

/// The `error[...]` headers and `-->` places of a run's diagnostics.
fn diagnostics_of(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("error[") || line.trim_start().starts_with("-->"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn validate_and_plan_report_every_mistake_at_once_and_alike() {
    let dir = tempfile::tempdir().unwrap();
    write_eight_mistakes(&dir.path().join("m"));
    let validated = fk(dir.path(), &["validate", "m"]);
    assert_eq!(validated.status.code(), Some(1), "{}", text(&validated));
    let found = diagnostics_of(&validated);
    let places: Vec<&str> = found
        .iter()
        .filter_map(|line| line.trim_start().strip_prefix("--> "))
        .collect();
    assert_eq!(
        places,
        [
            "m/main.toml:2:12",
            "m/main.toml:5:13",
            "m/main.toml:8:1",
            "m/main.toml:11:12",
            "m/main.toml:14:12",
            "m/outputs.toml:2:12",
            "m/variables.toml:1:1",
            "m/variables.toml:8:11",
        ],
        "{}",
        text(&validated)
    );
    assert!(text(&validated).contains("8 errors: nothing was changed"));
    let planned = fk(dir.path(), &["plan", "m", "--refresh=false"]);
    assert_eq!(planned.status.code(), Some(1));
    assert_eq!(diagnostics_of(&planned), found);
    assert!(!dir.path().join("state").exists(), "nothing was written");
}

#[test]
fn validate_takes_variables_as_plan_does_and_refuses_nan() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("main.toml"),
        "[variable.region]\ntype = \"string\"\n\n[variable.cpu]\ntype = \"number\"\ndefault = 1\n\n\
         [resource.data.a]\ninput = \"${var.region}-${var.cpu}\"\n",
    )
    .unwrap();
    let missing = fk(dir.path(), &["validate", "m"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("-var region=..."),
        "{}",
        text(&missing)
    );
    let given = fk(dir.path(), &["validate", "m", "-var", "region=eu"]);
    assert_eq!(given.status.code(), Some(0), "{}", text(&given));
    std::fs::write(dir.path().join("vars.toml"), "region = \"eu\"\n").unwrap();
    let from_file = fk(dir.path(), &["validate", "m", "--var-file", "vars.toml"]);
    assert_eq!(from_file.status.code(), Some(0), "{}", text(&from_file));
    let from_env = Command::new(env!("CARGO_BIN_EXE_fk"))
        .args(["validate", "m"])
        .current_dir(dir.path())
        .env("FK_VAR_region", "eu")
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{}", text(&from_env));
    for bad in ["cpu=nan", "cpu=inf", "cpu=-infinity"] {
        let refused = fk(
            dir.path(),
            &["validate", "m", "-var", "region=eu", "-var", bad],
        );
        assert_eq!(refused.status.code(), Some(1), "{bad}");
        assert!(
            text(&refused).contains("expects a finite number"),
            "{}",
            text(&refused)
        );
    }
    std::fs::write(dir.path().join("nan.toml"), "region = \"eu\"\ncpu = nan\n").unwrap();
    let refused = fk(dir.path(), &["validate", "m", "--var-file", "nan.toml"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("nan.toml:2:7"),
        "at its position: {}",
        text(&refused)
    );
}

/// SIGTERM (what CI runners and `timeout` send) acts as the first Ctrl-C: nothing new
/// starts, what runs finishes and is recorded, the summary prints, and the exit code is 143.
#[test]
fn sigterm_lets_in_flight_work_finish_prints_the_summary_and_exits_143() {
    let (workspace, output) = signal_a_running_apply("-TERM");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(143), "{said}");
    assert!(said.contains("SIGTERM received"), "{said}");
    assert!(said.contains("Apply interrupted: "), "the summary: {said}");
    assert!(said.contains("not started"), "{said}");
    let world = workspace.world();
    assert!(world.objects.len() < 9, "too late: {:?}", world.log);
    assert_eq!(workspace.state().resources.len(), world.objects.len());
    let apply = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(workspace.world().n_creates, 9);
}

/// A second signal, of either kind, stops at once, without waiting for what is in flight.
#[test]
fn a_second_sigterm_stops_at_once() {
    use std::io::{BufRead, BufReader, Read};
    let workspace = Workspace::new(&slow_module(4, 60_000));
    let mut child = spawn_fk(
        &workspace.root,
        &["apply", "m", "-auto-approve", "-parallelism", "2"],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while workspace.world().log.is_empty() {
        assert!(Instant::now() < deadline, "the apply never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let term = || {
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
    };
    term();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("SIGTERM received") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }
    term();
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen}");
    // Had the second signal been ignored, the minute-long creates would have finished and
    // the summary been printed.
    assert!(seen.contains("Stopping now"), "{seen}");
    assert!(!seen.contains("Apply interrupted"), "{seen}");
}

/// The fake test provider writes its world only inside the state folder: a world file
/// anywhere else is refused before anything is written.
#[test]
fn the_fake_world_stays_in_the_state_folder() {
    let workspace = Workspace::new(
        "[provider.fake]\nworld = \"../victim\"\n\n[resource.fake_thing.a]\nname = \"a\"\n",
    );
    std::fs::write(workspace.root.join("victim"), "precious").unwrap();
    let applied = fk(&workspace.root, &["apply", "m", "-auto-approve"]);
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
    assert!(
        text(&applied).contains("fk::fake::world"),
        "{}",
        text(&applied)
    );
    assert!(
        text(&applied).contains("m/main.toml:2:9"),
        "{}",
        text(&applied)
    );
    let victim = std::fs::read_to_string(workspace.root.join("victim")).unwrap();
    assert_eq!(victim, "precious");
}

/// A variable without a value is reported once, where it is declared; a provider block that
/// uses it is not reported again as naming an undeclared variable.
#[test]
fn a_missing_variable_used_by_a_provider_block_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("main.toml"),
        "[variable.sub]\ntype = \"string\"\n\n[provider.azure]\nsubscription_id = \"${var.sub}\"\n\n\
         [resource.azure_resource_group.rg]\nname = \"rg\"\nlocation = \"westeurope\"\n",
    )
    .unwrap();
    let output = fk(dir.path(), &["validate", "m"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        diagnostics_of(&output),
        [
            "error[fk::config::missing_variable]: variable `sub` has no value",
            "  --> m/main.toml:1:1"
        ],
        "{}",
        text(&output)
    );
}
