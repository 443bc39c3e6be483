//! The Frankenetes module against Kubernetes' own rules (v1.36, etcd 3.6): each test reads
//! what the module hands the components (the commands of its container groups, the files in
//! their secret volumes, the policies it writes) and fails when the module breaks a rule.
//! The rules and their upstream sources are cited at each test.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Value;

fn module_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("modules/frankenetes")
}

fn module_file(name: &str) -> String {
    std::fs::read_to_string(module_dir().join(name)).unwrap()
}

/// A container group of the module as written: its containers' commands and environment,
/// and the file names of its secret volumes.
#[derive(Debug, Default)]
struct Group {
    commands: BTreeMap<String, Vec<String>>,
    env: BTreeMap<String, String>,
    secret_files: Vec<String>,
}

impl Group {
    fn command(&self, container: &str) -> &[String] {
        self.commands
            .get(container)
            .unwrap_or_else(|| panic!("no container {container}: {:?}", self.commands.keys()))
    }

    fn flag<'a>(&'a self, container: &str, name: &str) -> Option<&'a str> {
        self.command(container).iter().find_map(|arg| {
            arg.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }

    fn every_arg(&self) -> impl Iterator<Item = &String> {
        self.commands.values().flatten()
    }
}

/// Every `azure_container_group` of every `.toml` file of the module.
fn groups() -> BTreeMap<String, Group> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(module_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("toml") {
            continue;
        }
        let parsed: Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(declared) = parsed
            .get("resource")
            .and_then(|resource| resource.get("azure_container_group"))
            .and_then(Value::as_table)
        else {
            continue;
        };
        for (name, body) in declared {
            let mut group = Group::default();
            for key in ["containers", "init_containers"] {
                for container in body
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let container_name = container["name"].as_str().unwrap().to_string();
                    let command = container
                        .get("command")
                        .and_then(Value::as_array)
                        .map(|args| {
                            args.iter()
                                .map(|arg| arg.as_str().unwrap().to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    group.commands.insert(container_name, command);
                    for (env_name, value) in container
                        .get("env")
                        .and_then(Value::as_table)
                        .into_iter()
                        .flatten()
                    {
                        group
                            .env
                            .insert(env_name.clone(), value.as_str().unwrap_or("").to_string());
                    }
                }
            }
            for volume in body
                .get("volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(secret) = volume.get("secret").and_then(Value::as_table) {
                    group.secret_files.extend(secret.keys().cloned());
                }
            }
            found.insert(name.clone(), group);
        }
    }
    found
}

/// etcd 3.6 deprecates `--snapshot-count` (removed in 3.7: etcd `server/etcdmain/config.go`,
/// `deprecatedFlags`, tag v3.6.0); kubeadm sets `--watch-progress-notify-interval=5s`
/// (kubernetes `cmd/kubeadm/app/phases/etcd/local.go`).
#[test]
fn etcd_gets_no_deprecated_flag_and_kubeadms_progress_notifications() {
    let groups = groups();
    let etcd = &groups["etcd"];
    let deprecated = ["--snapshot-count"];
    for arg in etcd.every_arg() {
        for flag in deprecated {
            assert!(!arg.starts_with(flag), "deprecated etcd flag {arg}");
        }
    }
    assert_eq!(
        etcd.flag("etcd", "--watch-progress-notify-interval"),
        Some("5s")
    );
}

/// `--profiling` defaults to true in the three (k8s.io/component-base v0.36.1
/// `config/options/options.go` for controller-manager and scheduler, k8s.io/apiserver
/// `pkg/server/options/feature.go`); the CIS benchmark wants it off.
#[test]
fn profiling_is_off_in_apiserver_controller_manager_and_scheduler() {
    let groups = groups();
    for (group, container) in [
        ("apiserver", "kube-apiserver"),
        ("controller_manager", "kube-controller-manager"),
        ("scheduler", "kube-scheduler"),
    ] {
        assert_eq!(
            groups[group].flag(container, "--profiling"),
            Some("false"),
            "{group}"
        );
    }
}

/// Every `/pki/...` file a flag names is in the group's secret volume (mounted at /pki), so
/// no component starts with a flag pointing at nothing.
#[test]
fn every_file_a_flag_names_is_in_the_groups_secret_volume() {
    for (name, group) in groups() {
        for arg in group.every_arg() {
            let Some((_, value)) = arg.split_once('=') else {
                continue;
            };
            if let Some(file) = value.strip_prefix("/pki/") {
                assert!(
                    group.secret_files.iter().any(|known| known == file),
                    "{name}: {arg} names a file its secret volume lacks ({:?})",
                    group.secret_files
                );
            }
        }
    }
}

/// The controller-manager signs CSRs only with `--cluster-signing-cert-file` and
/// `--cluster-signing-key-file` (kubernetes `cmd/kube-controller-manager/app/certificates.go`).
#[test]
fn controller_manager_can_sign_certificate_requests() {
    let groups = groups();
    let manager = &groups["controller_manager"];
    assert_eq!(
        manager.flag("kube-controller-manager", "--cluster-signing-cert-file"),
        Some("/pki/ca.crt")
    );
    assert_eq!(
        manager.flag("kube-controller-manager", "--cluster-signing-key-file"),
        Some("/pki/ca.key")
    );
}

/// Aggregated APIs need the front-proxy settings (k8s.io/apiserver v0.36.1
/// `pkg/server/options/authentication.go`, RequestHeaderAuthenticationOptions, and
/// kube-aggregator's proxy client): a CA of its own and a client certificate from it.
#[test]
fn apiserver_has_a_front_proxy_for_aggregated_apis() {
    let groups = groups();
    let apiserver = &groups["apiserver"];
    for flag in [
        "--requestheader-client-ca-file",
        "--requestheader-allowed-names",
        "--requestheader-username-headers",
        "--requestheader-group-headers",
        "--requestheader-extra-headers-prefix",
        "--proxy-client-cert-file",
        "--proxy-client-key-file",
    ] {
        assert!(apiserver.flag("kube-apiserver", flag).is_some(), "{flag}");
    }
    let pki = module_file("pki.toml");
    assert!(pki.contains("[resource.tls_self_signed_ca.front_proxy]"));
    assert!(pki.contains("common_name = \"front-proxy-client\""));
    // The allowed name is the client certificate's CN.
    assert_eq!(
        apiserver.flag("kube-apiserver", "--requestheader-allowed-names"),
        Some("front-proxy-client")
    );
}

/// secretbox (Kubernetes' docs prefer it to aescbc) and the key placeholder exactly once,
/// so the module writes the key into the file once.
#[test]
fn encryption_uses_secretbox_and_names_the_key_once() {
    let config = module_file("encryption-config.yaml");
    assert_eq!(config.matches("@KEY@").count(), 1, "{config}");
    let providers = config.split("providers:").nth(1).expect("a providers list");
    let first = providers
        .lines()
        .find_map(|line| line.trim().strip_prefix("- "))
        .expect("a first provider");
    assert_eq!(first, "secretbox:", "secretbox writes: {config}");
    assert!(!config.contains("aescbc"), "{config}");
}

/// `--audit-log-path` alone records nothing: without `--audit-policy-file` the apiserver
/// logs "No audit policy file provided" (k8s.io/apiserver v0.36.1
/// `pkg/server/options/audit.go`).
#[test]
fn an_audit_log_comes_with_a_policy() {
    let groups = groups();
    let apiserver = &groups["apiserver"];
    if apiserver
        .flag("kube-apiserver", "--audit-log-path")
        .is_some()
    {
        assert!(
            apiserver
                .flag("kube-apiserver", "--audit-policy-file")
                .is_some(),
            "--audit-log-path without --audit-policy-file records nothing"
        );
    }
}
