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

    /// Whether `container` is given `name`, as `name=value` or alone.
    fn has_flag(&self, container: &str, name: &str) -> bool {
        self.flag(container, name).is_some()
            || self.command(container).iter().any(|arg| arg == name)
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
/// `config/options/options.go` for the controller-manager, k8s.io/apiserver
/// `pkg/server/options/feature.go`; the scheduler's `enableProfiling` defaults to true, kubernetes
/// `pkg/scheduler/apis/config/v1/defaults.go`, not pinned); the CIS benchmark wants it off.
/// The scheduler takes it from its configuration file (see the next test).
#[test]
fn profiling_is_off_in_apiserver_controller_manager_and_scheduler() {
    let groups = groups();
    for (group, container) in [
        ("apiserver", "kube-apiserver"),
        ("controller_manager", "kube-controller-manager"),
    ] {
        assert_eq!(
            groups[group].flag(container, "--profiling"),
            Some("false"),
            "{group}"
        );
    }
    let config = scheduler_config();
    assert_eq!(
        config.get("enableProfiling").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        config.get("enableContentionProfiling").map(String::as_str),
        Some("false")
    );
}

/// Flags the 2018 Frankenetes gave the apiserver and controller-manager that are gone or
/// deprecated in v1.36: insecure serving (`--insecure-port`, `--insecure-bind-address`,
/// removed in 1.24, kubernetes/kubernetes#95856; the controller-manager's `--address`/`--port`
/// with it), `--admission-control` (deprecated in 1.10 for `--enable-admission-plugins`,
/// #64165), `--kubelet-https` (deprecated in 1.19, always HTTPS), `--apiserver-count` (the
/// master-count reconciler, #108062), `--enable-swagger-ui` and
/// `--experimental-encryption-provider-config` (no longer in the flag set), and `--master`,
/// whose 2018 target was the insecure port.
#[test]
fn apiserver_and_controller_manager_get_no_flag_removed_since_2018() {
    let groups = groups();
    for (group, container, gone) in [
        (
            "apiserver",
            "kube-apiserver",
            &[
                "--insecure-port",
                "--insecure-bind-address",
                "--admission-control",
                "--kubelet-https",
                "--apiserver-count",
                "--enable-swagger-ui",
                "--experimental-encryption-provider-config",
            ][..],
        ),
        (
            "controller_manager",
            "kube-controller-manager",
            &["--address", "--port", "--master"][..],
        ),
        ("scheduler", "kube-scheduler", &["--master"][..]),
    ] {
        for flag in gone {
            assert!(!groups[group].has_flag(container, flag), "{group}: {flag}");
        }
    }
}

/// The top-level `key: value` lines of the scheduler's configuration file, nested keys joined
/// with dots (`clientConnection.kubeconfig`); checks that `--config` names that file.
fn scheduler_config() -> BTreeMap<String, String> {
    let groups = groups();
    assert_eq!(
        groups["scheduler"].flag("kube-scheduler", "--config"),
        Some("/pki/config.yaml")
    );
    let module = module_file("scheduler.toml");
    assert!(
        module.contains(r#""config.yaml" = '${base64encode(file("scheduler-config.yaml"))}'"#),
        "the secret volume carries scheduler-config.yaml as config.yaml"
    );
    let mut values = BTreeMap::new();
    let mut parent = String::new();
    for line in module_file("scheduler-config.yaml").lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if line.starts_with(' ') {
            values.insert(format!("{parent}.{key}"), value.to_string());
        } else if value.is_empty() {
            parent = key.to_string();
        } else {
            values.insert(key.to_string(), value.to_string());
        }
    }
    values
}

/// kube-scheduler lists `--kubeconfig`, `--profiling`, `--contention-profiling`, the
/// `--kube-api-*` flags, `--lock-object-*` and `--pod-max-in-unschedulable-pods-duration` as
/// deprecated (kubernetes `cmd/kube-scheduler/app/options/deprecated.go`, "DEPRECATED: ...
/// ignored if a config file is specified in --config"; not pinned); their settings belong in
/// a KubeSchedulerConfiguration (`kubescheduler.config.k8s.io/v1`, GA since 1.25) given with
/// `--config`, whose client kubeconfig must be a file the group carries.
#[test]
fn the_scheduler_is_configured_by_file_with_no_deprecated_flag() {
    let groups = groups();
    let scheduler = &groups["scheduler"];
    for deprecated in [
        "--kubeconfig",
        "--profiling",
        "--contention-profiling",
        "--kube-api-content-type",
        "--kube-api-qps",
        "--kube-api-burst",
        "--lock-object-namespace",
        "--lock-object-name",
        "--pod-max-in-unschedulable-pods-duration",
        "--address",
        "--port",
    ] {
        assert!(
            !scheduler.has_flag("kube-scheduler", deprecated),
            "{deprecated} is deprecated"
        );
    }
    let config = scheduler_config();
    assert_eq!(
        config.get("apiVersion").map(String::as_str),
        Some("kubescheduler.config.k8s.io/v1")
    );
    assert_eq!(
        config.get("kind").map(String::as_str),
        Some("KubeSchedulerConfiguration")
    );
    let kubeconfig = config
        .get("clientConnection.kubeconfig")
        .expect("the configuration names the scheduler's kubeconfig");
    let file = kubeconfig.strip_prefix("/pki/").unwrap();
    assert!(
        scheduler.secret_files.iter().any(|known| known == file),
        "{kubeconfig} is not in the secret volume: {:?}",
        scheduler.secret_files
    );
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

/// The EncryptionConfiguration the module hands the apiserver, as its secret volume holds it:
/// the module's own expression for `encryption-config.yaml` in `apiserver.toml`, evaluated
/// by fk with a 32-byte key standing for `random_key.encryption` (the module asks for 32
/// bytes), then base64-decoded.
fn generated_encryption_config(key: &str) -> String {
    use base64::Engine as _;
    use fk::addr::Address;
    use fk::config::eval::{Scope, evaluate};
    use fk::value::Value as FkValue;

    struct WithKey(String);
    impl Scope for WithKey {
        fn variable(&self, _name: &str) -> Option<FkValue> {
            Some(FkValue::Unknown)
        }
        fn resource(&self, address: &Address) -> Option<FkValue> {
            Some(if address.to_string() == "random_key.encryption" {
                FkValue::Map(BTreeMap::from([(
                    "base64".to_string(),
                    FkValue::str(&self.0),
                )]))
            } else {
                FkValue::Unknown
            })
        }
    }

    let (module, diagnostics) = fk::config::parse(&module_dir());
    assert!(
        !diagnostics.has_errors(),
        "{}",
        diagnostics.render(&module.sources)
    );
    let apiserver = &module.resources[&Address::parse("azure_container_group.apiserver").unwrap()];
    let volumes = evaluate(&apiserver.attributes["volumes"].value, &WithKey(key.into())).unwrap();
    let encoded = volumes
        .as_list()
        .unwrap()
        .iter()
        .find_map(|volume| volume.get("secret")?.get("encryption-config.yaml").cloned())
        .expect("a secret volume holds encryption-config.yaml");
    let encoded = encoded
        .unmarked()
        .as_str()
        .expect("known once the key is")
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// The providers of the only resources entry, in order: each provider's name and its keys'
/// `(name, secret)`. Written for the shape of this file (block lists, two-space indents).
fn encryption_providers(config: &str) -> Vec<(String, Vec<(String, String)>)> {
    let providers = config.split("providers:").nth(1).expect("a providers list");
    let mut found: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut key_name = None;
    for line in providers.lines() {
        let trimmed = line.trim();
        if line.starts_with("      - ") {
            let name = trimmed.trim_start_matches("- ").trim_end_matches(" {}");
            found.push((name.trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some(name) = trimmed.strip_prefix("- name: ") {
            key_name = Some(name.to_string());
        } else if let Some(secret) = trimmed.strip_prefix("secret: ") {
            let name = key_name.take().expect("a key has its name first");
            let provider = found.last_mut().expect("a key belongs to a provider");
            provider
                .1
                .push((name, secret.trim_matches('"').to_string()));
        }
    }
    found
}

/// Writes with secretbox, still reads aescbc, identity last; the key once per provider and
/// nowhere else. Kubernetes (k8s.io/apiserver v0.36.1):
/// - `pkg/server/options/encryptionconfig/config.go` (`prefixTransformers`): the first
///   provider encrypts, all of them decrypt; a value carries the prefix
///   `k8s:enc:aescbc:v1:<key name>:` or `k8s:enc:secretbox:v1:<key name>:`, so the aescbc
///   reader must keep the key *name* the module used with aescbc before (`fk-1`, module
///   commit 2966bd0) as well as its key (`random_key.encryption`, 32 bytes since then);
/// - `pkg/apis/apiserver/validation/validation_encryption.go` (`aesKeySizes` = 16, 24, 32;
///   `secretBoxKeySizes` = 32; `validateKey`: name required, secret base64): the same 32-byte
///   key is valid for both; `validateSingleProvider`: one provider per list element.
///
/// Kubernetes' "Encrypting Confidential Data at Rest" puts `identity` last when encryption is
/// on (first would write plaintext; kubernetes/website
/// `content/en/docs/tasks/administer-cluster/encrypt-data.md`).
#[test]
fn encryption_writes_secretbox_reads_aescbc_and_writes_the_key_once_per_provider() {
    use base64::Engine as _;
    assert!(
        module_file("pki.toml").contains("[resource.random_key.encryption]\nbytes = 32\n"),
        "the key is 32 bytes"
    );
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let config = generated_encryption_config(&key);
    assert_eq!(config.matches(&key).count(), 2, "{config}");
    assert!(!config.contains("@KEY@"), "{config}");
    let providers = encryption_providers(&config);
    let names: Vec<&str> = providers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["secretbox", "aescbc", "identity"], "{config}");
    let fk_1 = vec![("fk-1".to_string(), key.clone())];
    assert_eq!(
        providers[0].1, fk_1,
        "secretbox writes under fk-1: {config}"
    );
    assert_eq!(
        providers[1].1, fk_1,
        "aescbc reads what fk-1 wrote: {config}"
    );
    assert!(providers[2].1.is_empty(), "{config}");
    // The sizes the apiserver accepts for each.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&key)
        .unwrap()
        .len();
    assert_eq!(decoded, 32, "secretBoxKeySizes");
    assert!([16, 24, 32].contains(&decoded), "aesKeySizes");
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

/// One ABAC line: (resource, namespace, apiGroup, readonly).
type AbacLine = (String, String, String, bool);

/// The policy lines as the apiserver reads them (`--authorization-policy-file`, one JSON
/// object a line: kubernetes `pkg/auth/authorizer/abac/abac.go`, `NewFromFile`).
fn policy_lines() -> Vec<(serde_json::Value, AbacLine)> {
    module_file("virtual-kubelet-policy.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let policy: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                policy["apiVersion"],
                "abac.authorization.kubernetes.io/v1beta1"
            );
            assert_eq!(policy["kind"], "Policy");
            let spec = &policy["spec"];
            let text = |key: &str| {
                spec[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{key} in {line}"))
                    .to_string()
            };
            let parsed = (
                text("resource"),
                text("namespace"),
                text("apiGroup"),
                spec["readonly"].as_bool().unwrap_or(false),
            );
            (policy, parsed)
        })
        .collect()
}

/// The table of IDENTITY.md: `| need | `resource` | `namespace` | `apiGroup` | `readonly` |`.
fn documented_lines() -> Vec<AbacLine> {
    let text = module_file("IDENTITY.md");
    text.lines()
        .filter_map(|row| {
            let cells: Vec<&str> = row
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if cells.len() != 5 || !cells[1].starts_with('`') {
                return None;
            }
            let plain = |cell: &str| cell.trim_matches('`').to_string();
            Some((
                plain(cells[1]),
                plain(cells[2]),
                plain(cells[3]),
                plain(cells[4]) == "true",
            ))
        })
        .collect()
}

/// The virtual kubelet's rights are exactly the table beside the module: a line added,
/// widened (a wildcard, write instead of read) or dropped fails here. A `"resource": "*"`
/// line would grant read of every object, every Secret included (kubernetes-rules §2).
#[test]
fn virtual_kubelet_policy_is_exactly_the_documented_table() {
    let lines = policy_lines();
    let documented = documented_lines();
    assert_eq!(documented.len(), 9, "IDENTITY.md table: {documented:?}");
    for (policy, (resource, namespace, api_group, readonly)) in &lines {
        let spec = &policy["spec"];
        assert_eq!(spec["group"], "fk:virtual-kubelet", "{policy}");
        assert!(spec.get("user").is_none(), "{policy}");
        assert_ne!(resource, "*", "a wildcard resource: {policy}");
        assert_ne!(api_group, "*", "a wildcard API group: {policy}");
        assert!(spec.get("nonResourcePath").is_none(), "{policy}");
        if resource == "secrets" {
            assert!(
                *readonly,
                "the virtual kubelet never writes Secrets: {policy}"
            );
        }
        assert!(namespace == "*" || !namespace.is_empty());
    }
    let mut granted: Vec<AbacLine> = lines.into_iter().map(|(_, line)| line).collect();
    let mut expected = documented;
    granted.sort();
    expected.sort();
    assert_eq!(
        granted, expected,
        "the policy is not the table of IDENTITY.md"
    );
}

/// The policy file is used: ABAC is in the authorization modes and the file is given
/// (the one needs the other: kubernetes `pkg/kubeapiserver/authorizer/config.go`).
#[test]
fn abac_policy_is_loaded_with_abac_mode() {
    let groups = groups();
    let apiserver = &groups["apiserver"];
    let modes = apiserver
        .flag("kube-apiserver", "--authorization-mode")
        .unwrap();
    assert!(modes.split(',').any(|mode| mode == "ABAC"), "{modes}");
    assert_eq!(
        apiserver.flag("kube-apiserver", "--authorization-policy-file"),
        Some("/pki/virtual-kubelet-policy.jsonl")
    );
}

/// A `system:node:<name>` certificate is a node only with the group `system:nodes`
/// (kubernetes `pkg/auth/nodeidentifier/default.go`); the virtual kubelet's certificate is
/// deliberately not a node identity (IDENTITY.md), so NodeRestriction does not refuse the
/// label azure-aci sets on its Node.
#[test]
fn node_certificates_carry_system_nodes_and_the_virtual_kubelet_is_no_node() {
    let pki: Value = toml::from_str(&module_file("pki.toml")).unwrap();
    let certs = pki["resource"]["tls_cert"].as_table().unwrap();
    for (name, cert) in certs {
        let common_name = cert["common_name"].as_str().unwrap();
        let organizations: Vec<&str> = cert
            .get("organization")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if common_name.starts_with("system:node:") {
            assert!(
                organizations.contains(&"system:nodes"),
                "{name}: {organizations:?}"
            );
        }
    }
    let node = &certs["node"];
    assert!(
        !node["common_name"]
            .as_str()
            .unwrap()
            .starts_with("system:node:")
    );
    assert_eq!(
        node["organization"].as_array().unwrap(),
        &vec![Value::String("fk:virtual-kubelet".into())]
    );
}

/// `--authentication-config` and `--anonymous-auth` exclude each other, and the config opens
/// only the health endpoints to anonymous users (k8s.io/apiserver v0.36.1
/// `pkg/features/kube_features.go`, AnonymousAuthConfigurableEndpoints; kubernetes-rules §4).
#[test]
fn anonymous_requests_reach_only_the_health_endpoints() {
    let groups = groups();
    let apiserver = &groups["apiserver"];
    assert_eq!(
        apiserver.flag("kube-apiserver", "--authentication-config"),
        Some("/pki/authentication-config.yaml")
    );
    assert!(
        apiserver
            .flag("kube-apiserver", "--anonymous-auth")
            .is_none()
    );
    let config = module_file("authentication-config.yaml");
    let paths: Vec<&str> = config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- path: "))
        .collect();
    assert_eq!(paths, ["/livez", "/readyz", "/healthz"], "{config}");
    assert!(config.contains("kind: AuthenticationConfiguration"));
    // The probes use exactly those paths.
    let module = module_file("apiserver.toml");
    assert!(module.contains("path = \"/livez\", port = 6443, scheme = \"https\""));
    assert!(module.contains("path = \"/readyz\", port = 6443, scheme = \"https\""));
}

/// The audit policy records metadata and never a body: no rule at `Request` or
/// `RequestResponse`, Secrets and tokens named at `Metadata`, a catch-all at the end.
#[test]
fn audit_policy_never_records_bodies() {
    let policy = module_file("audit-policy.yaml");
    let levels: Vec<&str> = policy
        .lines()
        .filter_map(|line| line.trim().trim_start_matches("- ").strip_prefix("level: "))
        .collect();
    assert!(!levels.is_empty());
    for level in &levels {
        assert!(["None", "Metadata"].contains(level), "level {level}");
    }
    assert_eq!(levels.last(), Some(&"Metadata"), "a catch-all rule ends it");
    for named in ["secrets", "serviceaccounts/token", "tokenreviews"] {
        assert!(policy.contains(&format!("\"{named}\"")), "{named}");
    }
    let groups = groups();
    assert_eq!(
        groups["apiserver"].flag("kube-apiserver", "--audit-policy-file"),
        Some("/pki/audit-policy.yaml")
    );
}

/// ACI probes reach the controller-manager's and scheduler's secure health endpoints only
/// if they listen beyond loopback.
#[test]
fn controller_manager_and_scheduler_have_secure_health_probes() {
    let groups = groups();
    for (group, container, file, port) in [
        (
            "controller_manager",
            "kube-controller-manager",
            "controller-manager.toml",
            10257,
        ),
        ("scheduler", "kube-scheduler", "scheduler.toml", 10259),
    ] {
        assert_eq!(
            groups[group].flag(container, "--bind-address"),
            Some("0.0.0.0")
        );
        let text = module_file(file);
        assert!(
            text.contains(&format!(
                "path = \"/healthz\", port = {port}, scheme = \"https\""
            )),
            "{file}"
        );
    }
}

/// The kubelet API of the virtual kubelet authenticates and authorizes through the
/// apiserver: without `--authentication-token-webhook=true` azure-aci v1.6.4 serves it with
/// NoAuth, any certificate of the cluster CA fully authorized (`cmd/virtual-kubelet/main.go`,
/// `withWebhookAuth`); the webhook needs its TokenReview and SubjectAccessReview lines.
#[test]
fn kubelet_api_uses_webhook_authentication_and_authorization() {
    let groups = groups();
    let vk = &groups["virtual_kubelet"];
    assert_eq!(
        vk.flag("virtual-kubelet", "--authentication-token-webhook"),
        Some("true")
    );
    assert_eq!(
        vk.flag("virtual-kubelet", "--client-verify-ca"),
        Some("/pki/ca.crt")
    );
    let granted: Vec<AbacLine> = policy_lines().into_iter().map(|(_, line)| line).collect();
    for (resource, group) in [
        ("tokenreviews", "authentication.k8s.io"),
        ("subjectaccessreviews", "authorization.k8s.io"),
    ] {
        assert!(
            granted
                .iter()
                .any(|(r, _, g, readonly)| r == resource && g == group && !readonly),
            "{resource}"
        );
    }
}

/// azure-aci v1.6.4 exits at start without `ACI_VNET_NAME`, VNet or not
/// (`pkg/provider/aci.go`, `NewACIProvider` calls `SetVNETConfig`;
/// `pkg/network/aci_network.go`, `validateNetworkConfig`: "vnet name can not be empty please
/// set ACI_VNET_NAME"); the name is only used with `ACI_SUBNET_NAME` (`setupNetwork`,
/// `GetACISubnet`), so without one it names nothing and no network API is called.
#[test]
fn the_virtual_kubelet_gets_a_vnet_name_and_no_subnet() {
    let groups = groups();
    let vk = &groups["virtual_kubelet"];
    let vnet = vk.env.get("ACI_VNET_NAME").map(|name| name.trim());
    assert!(vnet.is_some_and(|name| !name.is_empty()), "{:?}", vk.env);
    assert!(!vk.env.contains_key("ACI_SUBNET_NAME"), "{:?}", vk.env);
    assert!(!vk.env.contains_key("ACI_SUBNET_CIDR"), "{:?}", vk.env);
}

/// `kubectl logs/exec` reach the virtual kubelet only at an address of its Node that the
/// apiserver prefers: azure-aci v1.6.4 gives the Node one address, `InternalIP`, from
/// `VKUBELET_POD_IP` (`pkg/provider/vk_node.go`), and the apiserver dials the first of
/// `--kubelet-preferred-address-types` the Node has, else answers "no preferred addresses
/// found" (kubernetes `pkg/util/node/node.go`, `GetPreferredNodeAddress`, not pinned), on the
/// port the Node's `daemonEndpoints` name (`KUBELET_PORT`). So: the apiserver prefers
/// InternalIP; the virtual kubelet's group is public, opens that port, and carries the DNS
/// label whose name its start script resolves into `VKUBELET_POD_IP`.
#[test]
fn the_apiserver_can_reach_the_virtual_kubelet_at_its_nodes_address() {
    let groups = groups();
    let types = groups["apiserver"]
        .flag("kube-apiserver", "--kubelet-preferred-address-types")
        .expect("the apiserver names its preferred address types");
    assert!(types.split(',').any(|kind| kind == "InternalIP"), "{types}");

    let vk = &groups["virtual_kubelet"];
    let command = vk.command("virtual-kubelet");
    assert_eq!(command[..2], ["/tools/sh", "-c"]);
    assert_eq!(command[2], "${file(\"virtual-kubelet-run.sh\")}");
    assert!(
        module_file("virtual-kubelet-run.sh").contains("export VKUBELET_POD_IP="),
        "the start script sets the Node's address"
    );
    assert!(!vk.env.contains_key("VKUBELET_POD_IP"), "{:?}", vk.env);

    let file: Value = toml::from_str(&module_file("virtual-kubelet.toml")).unwrap();
    let group = &file["resource"]["azure_container_group"]["virtual_kubelet"];
    assert_eq!(group["ip_type"].as_str(), Some("Public"));
    let port: i64 = vk.env["KUBELET_PORT"].parse().unwrap();
    let opened = |ports: &Value| {
        ports
            .as_array()
            .into_iter()
            .flatten()
            .any(|entry| entry["port"].as_integer() == Some(port))
    };
    assert!(opened(&group["ports"]), "the group opens {port}");
    assert!(
        opened(&group["containers"][0]["ports"]),
        "the container opens {port}"
    );
    // The name the script resolves is the label the group carries.
    let label = group["dns_label"].as_str().unwrap();
    let resource = label
        .strip_prefix("${dns_label.")
        .and_then(|rest| rest.strip_suffix(".label}"))
        .expect("the group's label comes from a dns_label resource");
    assert_eq!(
        vk.env["NODE_FQDN"],
        format!("${{dns_label.{resource}.fqdn}}")
    );
}

/// With `--kubelet-certificate-authority` the apiserver verifies a kubelet's serving
/// certificate against the address it dials (kubernetes `pkg/kubelet/client/kubelet_client.go`
/// builds a TLS client config from it; Go `crypto/x509` `VerifyHostname`: an IP matches only
/// an IP SAN). The virtual kubelet's address is its group's IP, known only when the group
/// starts (virtual-kubelet-run.sh), so its certificate cannot name it: with that flag every
/// `kubectl logs/exec` would fail TLS. The module leaves it unset and says so (README).
#[test]
fn the_apiserver_does_not_demand_a_kubelet_certificate_naming_an_ip_known_only_at_start() {
    let groups = groups();
    assert_eq!(
        groups["apiserver"].flag("kube-apiserver", "--kubelet-certificate-authority"),
        None
    );
    let pki: Value = toml::from_str(&module_file("pki.toml")).unwrap();
    let serving = &pki["resource"]["tls_cert"]["node_serving"];
    assert!(serving.get("ip_addresses").is_none(), "{serving:?}");
    let names: Vec<&str> = serving["dns_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"${dns_label.virtual_kubelet.fqdn}"),
        "{names:?}"
    );
}
