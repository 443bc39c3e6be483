//! The virtual kubelet's start script (`modules/frankenetes/virtual-kubelet-run.sh`) the way
//! its container runs it: under busybox ash with only the applets virtual-kubelet.toml's
//! `tools` init container links, asking a DNS server on loopback (real DNS messages, read by
//! busybox's own `nslookup`) for the group's name, and starting a stand-in for the virtual
//! kubelet that records what it was given.
//!
//! What the script must give the real one: azure-aci v1.6.4 reads `VKUBELET_POD_IP` once, at
//! start, as the Node's only address (`cmd/virtual-kubelet/main.go`, `NewACIProvider`;
//! `pkg/provider/vk_node.go`, `InternalIP`) and as each pod's `status.hostIP`
//! (`pkg/provider/containergroup_to_pod.go`), which the apiserver refuses unless it is an IP
//! (kubernetes `pkg/apis/core/validation/validation.go`, the pod status's host IP checks; not
//! pinned). So the stand-in's address must be the IPv4 address the name has.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::shell::{busybox, called_commands, linked_applets, unlinked_commands};

const FQDN: &str = "frankenetes-virtual-kubelet.westeurope.azurecontainer.io";

fn script_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("modules/frankenetes/virtual-kubelet-run.sh"),
    )
    .unwrap()
}

fn applets() -> Vec<String> {
    linked_applets("virtual-kubelet.toml", "virtual_kubelet")
}

// ---- a DNS server on loopback -----------------------------------------------------------

/// Answers every A question with `answer` (NXDOMAIN while it is `None`), over UDP, in the
/// wire format of RFC 1035 section 4.1.
struct Dns {
    port: u16,
    answer: Arc<Mutex<Option<Ipv4Addr>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dns {
    fn start(answer: Option<Ipv4Addr>) -> Dns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let answer = Arc::new(Mutex::new(answer));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let answer = Arc::clone(&answer);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 512];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((length, from)) = socket.recv_from(&mut buffer) else {
                        continue;
                    };
                    let now = *answer.lock().unwrap();
                    if let Some(reply) = reply(&buffer[..length], now) {
                        let _ = socket.send_to(&reply, from);
                    }
                }
            })
        };
        Dns {
            port,
            answer,
            stop,
            thread: Some(thread),
        }
    }

    fn set(&self, answer: Option<Ipv4Addr>) {
        *self.answer.lock().unwrap() = answer;
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reply to one query: its id and question, then one A record for an A question when
/// there is an answer; NXDOMAIN when there is none.
fn reply(query: &[u8], answer: Option<Ipv4Addr>) -> Option<Vec<u8>> {
    // The question starts after the 12-byte header: labels up to a zero byte, type, class.
    let mut index = 12;
    while *query.get(index)? != 0 {
        index += 1 + usize::from(query[index]);
    }
    let end = index + 5;
    let question = query.get(12..end)?;
    let is_a = question[question.len() - 4..question.len() - 2] == [0, 1];
    let (rcode, record) = match answer {
        None => (3u16, None),
        Some(ip) => (0, is_a.then_some(ip)),
    };
    let mut reply = query[..2].to_vec();
    // QR, opcode 0, RD and RA set; QDCOUNT 1, ANCOUNT, NSCOUNT 0, ARCOUNT 0.
    reply.extend((0x8180u16 | rcode).to_be_bytes());
    reply.extend([0, 1, 0, u8::from(record.is_some()), 0, 0, 0, 0]);
    reply.extend(question);
    if let Some(ip) = record {
        // The name as a pointer to the question's (offset 12), type A, class IN, TTL 5 s.
        reply.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4]);
        reply.extend(ip.octets());
    }
    Some(reply)
}

// ---- the script, run -----------------------------------------------------------------------

/// A folder holding `tools/` (busybox and the linked applets only) and `virtual-kubelet`, a
/// stand-in that writes what it got to `kubelet.log`, records a SIGTERM and exits 0 on it,
/// or exits at once with `FAKE_EXIT` when that is set.
struct Group {
    root: tempfile::TempDir,
    /// The script's process group (its own), killed when the test ends however it ends.
    process_group: std::cell::Cell<Option<u32>>,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(group) = self.process_group.get() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Group {
    fn new() -> Group {
        let root = tempfile::tempdir().unwrap();
        let tools = root.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::copy(busybox(), tools.join("busybox")).unwrap();
        for applet in applets() {
            std::os::unix::fs::symlink("busybox", tools.join(&applet)).unwrap();
        }
        let log = root.path().join("kubelet.log");
        let kubelet = root.path().join("virtual-kubelet");
        std::fs::write(
            &kubelet,
            format!(
                "#!{sh}\n\
                 echo \"started address=$VKUBELET_POD_IP arguments=$*\" >>'{log}'\n\
                 if [ -n \"${{FAKE_EXIT:-}}\" ]; then exit \"$FAKE_EXIT\"; fi\n\
                 trap 'echo terminated >>\"{log}\"; exit 0' TERM\n\
                 while :; do sleep 1; done\n",
                sh = tools.join("sh").display(),
                log = log.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &kubelet,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Group {
            root,
            process_group: std::cell::Cell::new(None),
        }
    }

    fn kubelet(&self) -> PathBuf {
        self.root.path().join("virtual-kubelet")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("kubelet.log")).unwrap_or_default()
    }

    /// `/tools/sh -c <script> <kubelet> --nodename=fk-aci-linux --os=Linux` with the
    /// group's `PATH` and `env`.
    fn start(&self, dns: &Dns, env: &[(&str, &str)]) -> Child {
        let tools = self.root.path().join("tools");
        let mut command = Command::new(tools.join("sh"));
        command
            .arg("-c")
            .arg(script_text())
            .arg(self.kubelet())
            .args(["--nodename=fk-aci-linux", "--os=Linux"])
            .env_clear()
            .env("PATH", &tools)
            .env("NODE_FQDN", FQDN)
            .env("RESOLVER", dns.address())
            .stdout(Stdio::null())
            // A file, not a pipe: a child the script leaves behind cannot hold the test up.
            .stderr(std::fs::File::create(self.root.path().join("said.log")).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap();
        self.process_group.set(Some(child.id()));
        child
    }

    /// The script's exit status and what it wrote to stderr; kills it and fails if it has
    /// not ended within `limit`.
    fn finish(&self, mut child: Child, limit: Duration) -> (ExitStatus, String) {
        let ended = eventually(limit, || child.try_wait().unwrap().is_some());
        if !ended {
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        let said = std::fs::read_to_string(self.root.path().join("said.log")).unwrap();
        assert!(ended, "the script did not end within {limit:?}: {said}");
        (status, said)
    }
}

/// Waits (at most `limit`) until `condition` holds; false if it never did.
fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Sends the script SIGTERM (as a stop does) and checks that it passed it on: the kubelet
/// recorded it and the script ended with the kubelet's status, 0. What the script said.
fn stop(group: &Group, child: Child) -> String {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (status, said) = group.finish(child, LONG);
    assert_eq!(status.code(), Some(0), "{said}");
    assert!(group.log().contains("terminated"), "{}", group.log());
    said
}

/// A group whose name has `address`, its script started with `env`, and its kubelet up.
fn started(address: Ipv4Addr, env: &[(&str, &str)]) -> (Dns, Group, Child) {
    let dns = Dns::start(Some(address));
    let group = Group::new();
    let child = group.start(&dns, env);
    assert!(eventually(LONG, || group.log().contains("started")));
    (dns, group, child)
}

const LONG: Duration = Duration::from_secs(30);

#[test]
fn the_script_calls_only_linked_applets() {
    let script = script_text();
    let applets = applets();
    let (commands, _) = called_commands(&script);
    assert!(commands.contains("nslookup"), "{commands:?}");
    assert_eq!(
        unlinked_commands(&script, &applets, &[]),
        Vec::<String>::new(),
        "virtual-kubelet-run.sh calls commands the tools init container does not link"
    );
}

#[test]
fn the_kubelet_starts_with_the_address_its_name_has_and_stops_on_sigterm() {
    // `_dns` keeps the server answering until the end of the test.
    let (_dns, group, child) = started(Ipv4Addr::new(20, 61, 7, 9), &[("RECHECK_SECONDS", "1")]);
    assert_eq!(
        group.log().lines().next(),
        Some("started address=20.61.7.9 arguments=--nodename=fk-aci-linux --os=Linux")
    );
    // Rechecks that find the same address change nothing.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!group.log().contains("terminated"), "{}", group.log());

    let said = stop(&group, child);
    assert!(
        said.contains(&format!("node address 20.61.7.9 ({FQDN})")),
        "{said}"
    );
}

#[test]
fn the_kubelet_waits_for_its_name_and_never_starts_without_an_address() {
    // The name answers only after a while: the kubelet starts then, with it.
    let dns = Dns::start(None);
    let group = Group::new();
    let child = group.start(&dns, &[("RETRY_SECONDS", "1"), ("RECHECK_SECONDS", "1")]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(group.log(), "", "started before its name had an address");
    dns.set(Some(Ipv4Addr::new(20, 61, 7, 10)));
    assert!(eventually(LONG, || group.log().contains("started")));
    assert!(group.log().starts_with("started address=20.61.7.10 "));
    stop(&group, child);

    // The name never answers: the script gives up, non-zero, and says why.
    let dns = Dns::start(None);
    let group = Group::new();
    let child = group.start(
        &dns,
        &[("RETRY_SECONDS", "1"), ("RESOLVE_TIMEOUT_SECONDS", "2")],
    );
    let (status, said) = group.finish(child, LONG);
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("{FQDN} has no IPv4 address after 2s")),
        "{said}"
    );
    assert_eq!(group.log(), "", "started without an address");
}

#[test]
fn a_name_that_moves_stops_the_kubelet_so_that_aci_starts_it_again() {
    let (dns, group, child) = started(Ipv4Addr::new(20, 61, 7, 11), &[("RECHECK_SECONDS", "1")]);
    dns.set(Some(Ipv4Addr::new(20, 61, 8, 12)));
    let (status, said) = group.finish(child, LONG);
    assert_eq!(status.code(), Some(75), "{said}");
    assert!(group.log().contains("terminated"), "{}", group.log());
    assert!(
        said.contains(&format!("{FQDN} now has 20.61.8.12, not 20.61.7.11")),
        "{said}"
    );

    // A moment without an answer is not a move.
    let (dns, group, child) = started(Ipv4Addr::new(20, 61, 7, 13), &[("RECHECK_SECONDS", "1")]);
    dns.set(None);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!group.log().contains("terminated"), "{}", group.log());
    stop(&group, child);
}

#[test]
fn the_script_ends_with_the_kubelet_and_its_status() {
    // A recheck interval far longer than the test: the script must not wait for it.
    let dns = Dns::start(Some(Ipv4Addr::new(20, 61, 7, 14)));
    let group = Group::new();
    let child = group.start(&dns, &[("RECHECK_SECONDS", "3600"), ("FAKE_EXIT", "3")]);
    let (status, said) = group.finish(child, LONG);
    assert_eq!(status.code(), Some(3), "{said}");
    assert!(group.log().starts_with("started address=20.61.7.14 "));
}
