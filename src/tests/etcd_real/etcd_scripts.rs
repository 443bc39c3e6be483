//! The module's etcd scripts the way the group runs them: under busybox ash with only the
//! applets the `tools` init container links (and etcd's binaries) on `PATH`, against local
//! folders standing in for the emptyDir and the share.
//!
//! Every command the scripts call is also checked statically against the list in etcd.toml
//! ([`scripts_call_only_linked_applets_and_etcd_tools`], `support::shell` says why).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Etcd, etcd_bin_dir, read_module_file, run, snapshot_names, stderr};
use crate::support::free_port;
use crate::support::shell::{busybox, called_commands, linked_applets, unlinked_commands};

/// etcd's binaries, which the etcd image has beside the linked applets.
const ETCD_TOOLS: [&str; 3] = ["etcd", "etcdctl", "etcdutl"];

/// The applets etcd.toml's `tools` init container links.
fn etcd_applets() -> Vec<String> {
    linked_applets("etcd.toml", "etcd")
}

/// A `PATH` like the group's (`/usr/local/bin:/tools`): etcd's three binaries, then busybox
/// with the linked applets only. `with_etcdutl = false` leaves etcdutl out.
pub(crate) fn group_path(root: &Path, with_etcdutl: bool) -> String {
    let etcd_bin = etcd_bin_dir();
    let local = root.join("usr-local-bin");
    let tools = root.join("tools");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::create_dir_all(&tools).unwrap();
    for tool in ["etcd", "etcdctl", "etcdutl"] {
        if tool == "etcdutl" && !with_etcdutl {
            continue;
        }
        let link = local.join(tool);
        if !link.exists() {
            std::os::unix::fs::symlink(etcd_bin.join(tool), link).unwrap();
        }
    }
    let busybox_copy = tools.join("busybox");
    if !busybox_copy.exists() {
        std::fs::copy(busybox(), &busybox_copy).unwrap();
    }
    for applet in etcd_applets() {
        let link = tools.join(&applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
    }
    format!("{}:{}", local.display(), tools.display())
}

/// A script run as its container runs it: `/tools/sh -c <script>` with the group's `PATH`.
fn script(name: &str, path: &str, env: &[(&str, &Path)], extra: &[(&str, &str)]) -> Command {
    let sh = path
        .split(':')
        .map(|dir| Path::new(dir).join("sh"))
        .find(|sh| sh.exists())
        .unwrap();
    let mut command = Command::new(sh);
    command
        .arg("-c")
        .arg(read_module_file(name))
        .env_clear()
        .env("PATH", path);
    for (key, value) in env {
        command.env(key, value);
    }
    for (key, value) in extra {
        command.env(key, value);
    }
    command
}

// ---- the static check -------------------------------------------------------------------
#[test]
fn scripts_call_only_linked_applets_and_etcd_tools() {
    let applets = etcd_applets();
    for name in ["etcd-restore.sh", "etcd-run.sh", "etcd-backup.sh"] {
        let script = read_module_file(name);
        let (commands, _) = called_commands(&script);
        // The check sees the commands (it can fail): each script calls some applets.
        assert!(
            commands.iter().any(|command| applets.contains(command)),
            "{name}: {commands:?}"
        );
        assert_eq!(
            unlinked_commands(&script, &applets, &ETCD_TOOLS),
            Vec::<String>::new(),
            "{name} calls commands the tools init container does not link"
        );
    }
}

#[test]
fn the_static_check_finds_an_unlinked_applet_and_ignores_words_in_strings() {
    let applets: Vec<String> = ["cat", "grep"].map(str::to_owned).to_vec();
    let script = "set -eu\n# head in a comment\nf() { echo \"head $(wc -c <x | cut -d' ' -f1) tail\"; }\n\
                  x=$(cat a | head -n 1) && f\nif ! grep -q y \"$x\"; then sort z; fi\n\
                  case \"$x\" in '' | *[!0-9]*) exit 1 ;; esac\nn=$((x + 1))\n";
    assert_eq!(
        unlinked_commands(script, &applets, &[]),
        vec!["cut", "head", "sort", "wc"],
    );
}

// ---- restore ----------------------------------------------------------------------------

/// Two real snapshots of a real etcd, older (`/registry/a` only) and newer (`a` and `b`),
/// taken through etcdctl the way the sidecar takes them.
struct Snapshots {
    older: Vec<u8>,
    newer: Vec<u8>,
}

fn take_real_snapshots(root: &Path) -> Snapshots {
    let etcd = Etcd {
        bin: etcd_bin_dir(),
        root: root.to_path_buf(),
        client_port: free_port(),
        peer_port: free_port(),
    };
    let _running = etcd.start();
    let put = etcd.etcdctl(Some("client"), &["put", "/registry/a", "older"]);
    assert!(put.status.success(), "{}", stderr(&put));
    let older = root.join("older.db");
    let saved = etcd.etcdctl(
        Some("backup"),
        &["snapshot", "save", &older.to_string_lossy()],
    );
    assert!(saved.status.success(), "{}", stderr(&saved));
    let put = etcd.etcdctl(Some("client"), &["put", "/registry/b", "newer"]);
    assert!(put.status.success(), "{}", stderr(&put));
    let newer = root.join("newer.db");
    let saved = etcd.etcdctl(
        Some("backup"),
        &["snapshot", "save", &newer.to_string_lossy()],
    );
    assert!(saved.status.success(), "{}", stderr(&saved));
    Snapshots {
        older: std::fs::read(older).unwrap(),
        newer: std::fs::read(newer).unwrap(),
    }
}

const OLDER: &str = "snapshot-20260101T000000Z.db";
const NEWER: &str = "snapshot-20260102T000000Z.db";

struct RestoreRun {
    output: Output,
    data: PathBuf,
    wal: PathBuf,
}

impl RestoreRun {
    fn said(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            stderr(&self.output)
        )
    }
}

fn restore(root: &Path, share: &Path, path: &str) -> RestoreRun {
    restore_with_peer(root, share, path, 2380)
}

fn restore_with_peer(root: &Path, share: &Path, path: &str, peer_port: u16) -> RestoreRun {
    let data = root.join("etcd/data");
    let wal = root.join("etcd/wal");
    let output = run(&mut script(
        "etcd-restore.sh",
        path,
        &[
            ("SNAPSHOT_DIR", share),
            ("DATA_DIR", &data),
            ("WAL_DIR", &wal),
            ("WORK_DIR", &root.join("etcd/restore")),
        ],
        &[("PEER_URL", &format!("https://127.0.0.1:{peer_port}"))],
    ));
    RestoreRun { output, data, wal }
}

/// No half-restored folder or copy is left behind.
fn assert_tidy(root: &Path) {
    let etcd = root.join("etcd");
    for leftover in ["data.restoring", "wal.restoring", "restore/restore.db"] {
        assert!(!etcd.join(leftover).exists(), "{leftover} left behind");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_falls_back_past_a_damaged_newest_snapshot_and_fails_when_none_restores() {
    let root = tempfile::tempdir().unwrap();
    let pki_source = root.path().join("source");
    std::fs::create_dir_all(&pki_source).unwrap();
    super::write_pki(&super::applied_pki().await, &pki_source.join("pki"));
    let snapshots = take_real_snapshots(&pki_source);
    // The damages seen on real shares; each passes `etcdutl snapshot status`.
    let len = snapshots.newer.len();
    let mut flipped = snapshots.newer.clone();
    flipped[len / 2] ^= 0x40;
    let damaged: [(&str, Vec<u8>); 3] = [
        ("truncated", {
            let mut bytes = snapshots.newer[..len - 32 - 4096].to_vec();
            bytes.extend_from_slice(&snapshots.newer[len - 32..]);
            bytes
        }),
        ("flipped byte", flipped),
        ("cut trailer", snapshots.newer[..len - 32].to_vec()),
    ];
    let peer_port = free_port();
    for (damage, bytes) in &damaged {
        let case = root.path().join(damage.replace(' ', "-"));
        let share = case.join("share");
        std::fs::create_dir_all(&share).unwrap();
        std::fs::write(share.join(OLDER), &snapshots.older).unwrap();
        std::fs::write(share.join(NEWER), bytes).unwrap();
        let path = group_path(&case, true);
        let restored = restore_with_peer(&case, &share, &path, peer_port);
        let said = restored.said();
        assert!(restored.output.status.success(), "{damage}: {said}");
        // The reason is etcdutl's own: the hash does not match, or there is none.
        let reason = said
            .lines()
            .find_map(|line| line.split_once(&format!("skipped {NEWER}: ")))
            .map(|(_, reason)| reason.to_owned())
            .unwrap_or_else(|| panic!("{damage}: {said}"));
        eprintln!("{damage}: skipped with: {reason}");
        assert!(
            reason.contains("sha256") || reason.contains("hash"),
            "{damage}: {reason}"
        );
        assert!(
            said.contains(&format!("restored {OLDER}")),
            "{damage}: {said}"
        );
        assert!(restored.data.join("member").is_dir(), "{damage}");
        assert!(restored.wal.is_dir(), "{damage}");
        assert_tidy(&case);
    }

    // etcd started on the fallback holds the older snapshot's data, not the newer's.
    let case = root.path().join("truncated");
    let restored_etcd = Etcd {
        bin: etcd_bin_dir(),
        root: case.clone(),
        client_port: free_port(),
        peer_port,
    };
    std::fs::rename(pki_source.join("pki"), case.join("pki")).unwrap();
    {
        let _running = restored_etcd.start();
        let got = restored_etcd.etcdctl(
            Some("client"),
            &["get", "/registry/a", "--print-value-only"],
        );
        assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "older");
        let got = restored_etcd.etcdctl(
            Some("client"),
            &["get", "/registry/b", "--print-value-only"],
        );
        assert!(got.status.success(), "{}", stderr(&got));
        assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "");
    }

    // Nothing restores: the init container fails, says why, and leaves no data for etcd.
    let case = root.path().join("nothing-restores");
    let share = case.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join(OLDER), &damaged[1].1).unwrap();
    std::fs::write(share.join(NEWER), &damaged[2].1).unwrap();
    let path = group_path(&case, true);
    let refused = restore(&case, &share, &path);
    let said = refused.said();
    assert!(!refused.output.status.success(), "{said}");
    assert!(said.contains("none restores"), "{said}");
    assert!(
        said.contains(&format!("skipped {NEWER}")) && said.contains(&format!("skipped {OLDER}")),
        "{said}"
    );
    assert!(said.contains("start-empty"), "the way out is named: {said}");
    assert!(!refused.data.exists());
    assert_tidy(&case);

    // The one explicit step: a `start-empty` file on the share.
    std::fs::write(share.join("start-empty"), "").unwrap();
    let allowed = restore(&case, &share, &path);
    let said = allowed.said();
    assert!(allowed.output.status.success(), "{said}");
    assert!(said.contains("NEW, EMPTY cluster"), "{said}");
    assert!(
        !allowed.data.exists(),
        "etcd creates its own data directory"
    );

    // Without etcdutl nothing can be checked: a failure, not "no snapshot".
    let case = root.path().join("no-etcdutl");
    let share = case.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join(OLDER), &snapshots.older).unwrap();
    let without = restore(&case, &share, &group_path(&case, false));
    assert!(!without.output.status.success(), "{}", without.said());
    assert!(
        without.said().contains("etcdutl is not on PATH"),
        "{}",
        without.said()
    );
}

#[test]
fn restore_tells_an_empty_share_from_a_missing_one_and_keeps_a_kept_data_volume() {
    let root = tempfile::tempdir().unwrap();
    let path = group_path(root.path(), true);

    // An empty share (odd files do not count): a new cluster.
    let share = root.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join(".snapshot-20260101T000000Z.db.tmp"), "partial").unwrap();
    std::fs::write(share.join("notes.txt"), "x").unwrap();
    let fresh = restore(root.path(), &share, &path);
    assert!(fresh.output.status.success(), "{}", fresh.said());
    assert!(
        fresh.said().contains("no snapshot on the share"),
        "{}",
        fresh.said()
    );

    // No share mounted at all: a failure.
    let missing = restore(root.path(), &root.path().join("not-mounted"), &path);
    assert!(!missing.output.status.success(), "{}", missing.said());
    assert!(missing.said().contains("not mounted"), "{}", missing.said());

    // A data volume that survived (a restart of etcd's container): left alone, even when the
    // share holds only damaged snapshots.
    std::fs::write(share.join(OLDER), "damaged").unwrap();
    std::fs::create_dir_all(fresh.data.join("member/snap")).unwrap();
    std::fs::write(fresh.data.join("member/snap/db"), "kept").unwrap();
    let kept = restore(root.path(), &share, &path);
    assert!(kept.output.status.success(), "{}", kept.said());
    assert!(
        kept.said().contains("already holds a member"),
        "{}",
        kept.said()
    );
    assert_eq!(
        std::fs::read_to_string(fresh.data.join("member/snap/db")).unwrap(),
        "kept"
    );
}

// ---- backup -----------------------------------------------------------------------------

/// A sidecar that does not outlive a failed test.
struct KilledOnDrop(Option<std::process::Child>);

impl KilledOnDrop {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines a child prints, read on a thread so that waiting for one is bounded.
fn line_reader(stdout: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Reads lines until one contains `expected` (at most a minute); returns everything read.
fn read_until(lines: &mpsc::Receiver<String>, expected: &str) -> String {
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !said.contains(expected) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                said.push_str(&line);
                said.push('\n');
            }
            Err(_) => panic!("no `{expected}` from the sidecar:\n{said}"),
        }
    }
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_removes_partial_copies_keeps_the_newest_and_answers_a_snapshot_request() {
    let root = tempfile::tempdir().unwrap();
    super::write_pki(&super::applied_pki().await, &root.path().join("pki"));
    let etcd = Etcd {
        bin: etcd_bin_dir(),
        root: root.path().to_path_buf(),
        client_port: free_port(),
        peer_port: free_port(),
    };
    let mut running = etcd.start();
    let put = etcd.etcdctl(Some("client"), &["put", "/registry/requested", "yes"]);
    assert!(put.status.success(), "{}", stderr(&put));

    let share = root.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let partial = share.join(".snapshot-20260101T000000Z.db.tmp");
    std::fs::write(&partial, "cut short").unwrap();
    for day in 1..=3 {
        std::fs::write(
            share.join(format!("snapshot-2026010{day}T000000Z.db")),
            "old",
        )
        .unwrap();
    }
    std::fs::write(share.join("start-empty"), "").unwrap();
    let path = group_path(root.path(), true);
    let pki = root.path().join("pki");
    let endpoint = etcd.endpoint();
    let backup_env = |kept: &'static str| {
        let mut command = script(
            "etcd-backup.sh",
            &path,
            &[
                ("SNAPSHOT_DIR", &share),
                ("WORK_DIR", &root.path().join("etcd/backup")),
                ("STOP_MARKER", &etcd.stop_marker()),
                ("ETCDCTL_CACERT", &pki.join("ca.crt")),
                ("ETCDCTL_CERT", &pki.join("backup.crt")),
                ("ETCDCTL_KEY", &pki.join("backup.key")),
            ],
            &[
                ("ETCDCTL_ENDPOINTS", &endpoint),
                ("SNAPSHOT_INTERVAL", "1h"),
                ("SNAPSHOTS_KEPT", kept),
                ("SNAPSHOT_TIMEOUT_SECONDS", "20"),
                ("POLL_SECONDS", "1"),
            ],
        );
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    };

    // Keeping no snapshot would delete each right after shipping it: refused.
    let mut refused = KilledOnDrop(Some(backup_env("0").spawn().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while refused.child().try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "SNAPSHOTS_KEPT=0 was not refused"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused = refused.0.take().unwrap().wait_with_output().unwrap();
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("SNAPSHOTS_KEPT must be a whole number >= 1"));

    let mut backup = KilledOnDrop(Some(backup_env("2").spawn().unwrap()));
    let said = line_reader(backup.child().stdout.take().unwrap());
    let started = read_until(&said, "a snapshot every 1h");
    assert!(started.contains("cut short"), "{started}");
    assert!(!partial.exists());

    // fk's request: an id in the request file; the answer names the snapshot it shipped.
    std::fs::write(share.join("snapshot-request"), "0f1e-2d3c").unwrap();
    let answered = read_until(&said, "answered 0f1e-2d3c");
    let answer = std::fs::read_to_string(share.join("snapshot-answer")).unwrap();
    let mut answer_lines = answer.lines();
    assert_eq!(answer_lines.next(), Some("0f1e-2d3c"), "{answered}");
    let shipped = answer_lines
        .next()
        .and_then(|line| line.strip_prefix("ok "))
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();
    // Retention: the shipped one and the newest old one; the marker of an empty start is gone
    // once the new cluster has a snapshot.
    let names: Vec<String> = snapshot_names(&share)
        .into_iter()
        .filter(|name| name.starts_with("snapshot-2"))
        .collect();
    assert_eq!(
        names,
        vec!["snapshot-20260103T000000Z.db".to_owned(), shipped.clone()]
    );
    assert!(!share.join("start-empty").exists());
    // A request already answered is not answered again.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        snapshot_names(&share)
            .iter()
            .filter(|name| name.starts_with("snapshot-2"))
            .count(),
        2
    );

    // The requested snapshot restores and holds what was written before the request.
    super::send_sigterm(backup.child());
    let stopped = backup.0.take().unwrap().wait_with_output().unwrap();
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    let _ = running.child.kill();
    let _ = running.child.wait();
    let only_requested = root.path().join("only-requested");
    std::fs::create_dir_all(&only_requested).unwrap();
    std::fs::copy(share.join(&shipped), only_requested.join(&shipped)).unwrap();
    let restored = restore(&root.path().join("restored"), &only_requested, &path);
    assert!(restored.output.status.success(), "{}", restored.said());
    assert!(restored.said().contains(&format!("restored {shipped}")));
}
