//! The Frankenetes module end to end: the real `fk` binary against the emulator over real
//! HTTP. Dependency order read from the emulator's request log, convergence, in-place updates
//! versus replacements, destroy order and prevent_destroy, faults, and a SIGKILL mid-apply.

use std::time::Duration;

use fk::emulator::{FaultConfig, LogEntry};

use crate::cluster_support;
use cluster_support::{Cluster, module_dir, text};

const GROUPS: [&str; 5] = [
    "etcd",
    "apiserver",
    "controller-manager",
    "scheduler",
    "virtual-kubelet",
];

fn group_path(name: &str) -> String {
    format!("/providers/microsoft.containerinstance/containergroups/frankenetes-{name}")
}

/// Sequence number of the first request `method` to the group `name` answered `status`.
fn request_seq(log: &[LogEntry], method: &str, name: &str, statuses: &[u16]) -> Option<u64> {
    log.iter().find_map(|entry| match entry {
        LogEntry::Request {
            seq,
            method: m,
            path,
            status,
            ..
        } if m == method
            && path.to_lowercase().ends_with(&group_path(name))
            && statuses.contains(status) =>
        {
            Some(*seq)
        }
        _ => None,
    })
}

fn event_seq(log: &[LogEntry], name: &str, wanted: &str) -> Option<u64> {
    log.iter().find_map(|entry| match entry {
        LogEntry::Event {
            seq,
            resource,
            event,
            ..
        } if resource.to_lowercase().ends_with(&group_path(name)) && event == wanted => Some(*seq),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_in_dependency_order_converges_and_destroys_in_reverse() {
    let cluster = Cluster::start(600).await;
    let apply = cluster.apply().await;
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // The plan names the kubelet API that kubectl logs/exec go through.
    assert!(
        text(&apply).lines().any(|line| {
            line.starts_with("kubelet_api ")
                && line.ends_with(
                    "= \"https://frankenetes-virtual-kubelet.westeurope.azurecontainer.io:10250\"",
                )
        }),
        "{}",
        text(&apply)
    );
    let log = cluster.log();
    let put = |name| {
        request_seq(&log, "PUT", name, &[200, 201]).unwrap_or_else(|| panic!("no PUT of {name}"))
    };
    let running = |name| {
        event_seq(&log, name, "containers Running").unwrap_or_else(|| panic!("{name} never ran"))
    };
    assert!(
        running("etcd") < put("apiserver"),
        "etcd runs before the apiserver is created"
    );
    for name in ["controller-manager", "scheduler", "virtual-kubelet"] {
        assert!(
            running("apiserver") < put(name),
            "the apiserver runs before {name} is created"
        );
    }
    // The three that depend only on the apiserver are in flight together.
    let last_put = ["controller-manager", "scheduler", "virtual-kubelet"]
        .map(put)
        .into_iter()
        .max()
        .unwrap();
    let first_running = ["controller-manager", "scheduler", "virtual-kubelet"]
        .map(running)
        .into_iter()
        .min()
        .unwrap();
    assert!(
        last_put < first_running,
        "controller-manager, scheduler and virtual-kubelet overlap"
    );

    // The virtual kubelet's identity: its role assignment is refused with PrincipalNotFound
    // while the new principal replicates, retried until it is made, and only then is the
    // virtual kubelet's group created, with the identity and its client id.
    let assignment = |status: u16| {
        log.iter().find_map(|entry| match entry {
            LogEntry::Request {
                seq,
                method,
                path,
                status: answered,
                ..
            } if method == "PUT"
                && path
                    .to_lowercase()
                    .contains("/microsoft.authorization/roleassignments/")
                && *answered == status =>
            {
                Some(*seq)
            }
            _ => None,
        })
    };
    let refused = assignment(400).expect("a PrincipalNotFound answer");
    let made = assignment(201).expect("the role assignment is made");
    assert!(refused < made && made < put("virtual-kubelet"));

    // No secret reached the output.
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cluster.dir.path().join("state/frankenetes.json")).unwrap(),
    )
    .unwrap();
    let storage_key =
        state["resources"]["azure_storage_account.state"]["attributes"]["primary_access_key"]
            .as_str()
            .expect("the storage key is in state")
            .to_string();
    let vk = &state["resources"]["azure_container_group.virtual_kubelet"]["attributes"];
    let identity =
        &state["resources"]["azure_user_assigned_identity.virtual_kubelet"]["attributes"];
    assert_eq!(vk["identity"][0], identity["id"]);
    assert_eq!(
        vk["containers"][0]["env"]["VIRTUALNODE_USER_IDENTITY_CLIENTID"],
        identity["client_id"]
    );
    assert_eq!(
        state["resources"]["azure_role_assignment.virtual_kubelet"]["attributes"]["principal_id"],
        identity["principal_id"]
    );
    // The kubelet API is reachable at the address the group's name has (kubectl logs/exec):
    // ARM gave the group that name and a public IP with the kubelet port open, and the start
    // script is told the same name (virtual_kubelet_run tests what it does with it).
    let vk_container = &vk["containers"][0];
    let port = vk_container["env"]["KUBELET_PORT"].as_str().unwrap();
    assert_eq!(vk["ip_type"], "Public");
    assert_eq!(vk["ports"][0]["port"].to_string(), port);
    assert_eq!(vk_container["ports"][0]["port"].to_string(), port);
    assert!(
        vk["ip_address"]
            .as_str()
            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
    );
    assert_eq!(vk_container["env"]["NODE_FQDN"], vk["fqdn"]);
    assert_eq!(vk_container["command"][0], "/tools/sh");
    assert_eq!(vk_container["command"][3], "/usr/bin/virtual-kubelet");
    assert_eq!(vk["init_containers"][0]["name"], "tools");
    let mut secrets = vec![storage_key];
    for (address, resource) in state["resources"].as_object().unwrap() {
        if address.starts_with("tls_private_key.") {
            let pem = resource["attributes"]["private_key_pem"].as_str().unwrap();
            secrets.push(pem.lines().nth(1).unwrap().to_string());
        }
        if address.starts_with("random_key.") {
            secrets.push(
                resource["attributes"]["base64"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    for secret in &secrets {
        assert!(
            !text(&apply).contains(secret.as_str()),
            "a secret was printed by apply"
        );
    }

    let again = cluster.plan(&[]).await;
    assert_eq!(
        again.status.code(),
        Some(0),
        "the re-plan is empty:\n{}",
        text(&again)
    );

    // Drift: the role assignment removed behind fk's back is planned again, and made again.
    let assignment_id =
        state["resources"]["azure_role_assignment.virtual_kubelet"]["attributes"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    let removed = reqwest::Client::new()
        .delete(format!(
            "{}{assignment_id}?api-version=2026-08-01",
            cluster.emulator.base_url
        ))
        .bearer_auth("fk-emulator")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 200);
    let drifted = cluster.plan(&[]).await;
    assert_eq!(drifted.status.code(), Some(2), "{}", text(&drifted));
    assert!(
        text(&drifted).contains("# azure_role_assignment.virtual_kubelet will be created"),
        "{}",
        text(&drifted)
    );
    let repaired = cluster.apply().await;
    assert_eq!(repaired.status.code(), Some(0), "{}", text(&repaired));
    assert_eq!(cluster.plan(&[]).await.status.code(), Some(0));

    // The admin kubeconfig goes to an owner-only file, which kubectl reads.
    let written = cluster.on_module("kubeconfig", &[]).await;
    assert_eq!(written.status.code(), Some(0), "{}", text(&written));
    let kubeconfig = cluster.dir.path().join("state/frankenetes.kubeconfig");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&kubeconfig).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        !text(&written).contains("client-key-data"),
        "the kubeconfig was printed"
    );
    let view = tokio::process::Command::new("kubectl")
        .args(["config", "view", "--minify", "--raw", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .await
        .expect("kubectl runs (it is in the base image; .ci/run installs it otherwise)");
    assert!(view.status.success(), "{}", text(&view));
    assert!(
        String::from_utf8_lossy(&view.stdout)
            .contains("https://frankenetes-apiserver.westeurope.azurecontainer.io:6443")
    );

    // A version bump updates the Kubernetes groups in place, restarting their containers.
    let bump = cluster.plan(&["-var", "kubernetes_version=v1.36.1"]).await;
    assert_eq!(bump.status.code(), Some(2), "{}", text(&bump));
    let bump_text = text(&bump);
    for name in ["apiserver", "controller_manager", "scheduler"] {
        assert!(
            bump_text.contains(&format!(
                "# azure_container_group.{name} will be updated in place"
            )),
            "{name} updates in place:\n{bump_text}"
        );
    }
    assert!(
        bump_text.contains("restart"),
        "the plan says containers restart:\n{bump_text}"
    );
    assert!(!bump_text.contains("must be replaced"), "{bump_text}");

    // Neither the text plan nor the JSON plan of that update shows a secret.
    let bump_json = text(
        &cluster
            .plan(&["-var", "kubernetes_version=v1.36.1", "--json"])
            .await,
    );
    assert!(bump_json.contains("\"format_version\""), "{bump_json}");
    for shown in [&bump_text, &bump_json] {
        for secret in &secrets {
            assert!(!shown.contains(secret.as_str()), "a secret reached a plan");
        }
    }

    // A CPU change replaces, naming `cpu`.
    let cpu = cluster.plan(&["-var", "apiserver_cpu=2"]).await;
    assert_eq!(cpu.status.code(), Some(2), "{}", text(&cpu));
    let cpu_text = text(&cpu);
    assert!(
        cpu_text.contains("# azure_container_group.apiserver must be replaced"),
        "{cpu_text}"
    );
    assert!(cpu_text.contains("containers[0].cpu"), "{cpu_text}");

    // Destroy: dependents first, and the protected storage (with its resource group) stays.
    let destroy = cluster.on_module("destroy", &["--auto-approve"]).await;
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let log = cluster.log();
    let delete = |name| {
        request_seq(&log, "DELETE", name, &[200, 202, 204])
            .unwrap_or_else(|| panic!("no DELETE of {name}"))
    };
    for name in ["controller-manager", "scheduler", "virtual-kubelet"] {
        assert!(
            delete(name) < delete("apiserver"),
            "{name} goes before the apiserver"
        );
    }
    assert!(delete("apiserver") < delete("etcd"));
    // etcd's last snapshot is asked for, answered and on the share before its group goes.
    let answered = log.iter().find_map(|entry| match entry {
        LogEntry::Request {
            seq,
            method,
            path,
            status,
            ..
        } if method == "GET" && path.ends_with("/snapshot-answer") && *status == 200 => Some(*seq),
        _ => None,
    });
    assert!(
        answered.is_some_and(|answered| answered < delete("etcd")),
        "{log:?}"
    );
    assert!(
        text(&destroy).contains("azure_container_group.etcd: before stop: `snapshot-"),
        "{}",
        text(&destroy)
    );
    assert!(text(&destroy).contains("is kept"), "{}", text(&destroy));
    let deleted_storage = log.iter().any(|entry| {
        matches!(entry, LogEntry::Request { method, path, .. }
            if method == "DELETE" && path.to_lowercase().ends_with("/storageaccounts/frankenetesstate"))
    });
    assert!(
        !deleted_storage,
        "the protected storage account was deleted"
    );
    // The snapshots survive too, and the destroy plan says so.
    let deleted_share = log.iter().any(|entry| {
        matches!(entry, LogEntry::Request { method, path, .. }
            if method == "DELETE" && path.to_lowercase().contains("/shares/etcd-snapshots"))
    });
    assert!(!deleted_share, "the etcd snapshots were deleted");
    assert!(
        text(&destroy).contains("`azure_file_share.etcd_snapshots` is kept"),
        "{}",
        text(&destroy)
    );
    // The identity and its role assignment go.
    for kind in ["userassignedidentities", "roleassignments"] {
        assert!(
            log.iter().any(
                |entry| matches!(entry, LogEntry::Request { method, path, status, .. }
                if method == "DELETE" && path.to_lowercase().contains(kind) && *status == 200)
            ),
            "no DELETE of the {kind}"
        );
    }
    cluster.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_and_a_failed_group_still_converge() {
    let cluster = Cluster::start(300).await;
    cluster.emulator.set_faults(FaultConfig {
        throttle_rate: 0.2,
        retry_after_secs: 1,
        fail_5xx: 3,
        fail_operations: vec!["frankenetes-apiserver".into()],
        seed: 7,
        ..FaultConfig::default()
    });
    let first = cluster.apply().await;
    let first_text = text(&first);
    assert_eq!(first.status.code(), Some(1), "{first_text}");
    assert!(
        first_text.contains("azure_container_group.apiserver"),
        "{first_text}"
    );
    // The failure names the provider's code, as refresh does.
    assert!(
        first_text.lines().any(|line| line
            .starts_with("azure_container_group.apiserver: Creation failed after ")
            && line.contains(": error[fk::azure::resource_operation_failure]: ")),
        "{first_text}"
    );
    for name in ["controller_manager", "scheduler", "virtual_kubelet"] {
        assert!(
            first_text.contains(&format!("skipped  azure_container_group.{name}")),
            "{name} is skipped:\n{first_text}"
        );
    }
    let throttled = cluster
        .log()
        .iter()
        .filter(|entry| matches!(entry, LogEntry::Request { status: 429, .. }))
        .count();
    assert!(throttled > 0, "the emulator throttled nothing");
    // Retries are shown, not silent; the failed create is stopped so ACI stops billing it.
    assert!(
        first_text.contains("throttled by Azure (429"),
        "{first_text}"
    );
    assert!(first_text.contains(", retrying "), "{first_text}");
    assert!(first_text.contains("fk stopped the group"), "{first_text}");
    let stopped_apiserver = cluster.log().iter().any(|entry| {
        matches!(entry, LogEntry::Request { method, path, status, .. }
            if method == "POST"
                && path.to_lowercase().ends_with("/containergroups/frankenetes-apiserver/stop")
                && (200..300).contains(status))
    });
    assert!(stopped_apiserver, "the failed apiserver group is stopped");

    // The fault is gone; the next apply finishes the job and the plan after it is empty.
    cluster.emulator.set_faults(FaultConfig {
        throttle_rate: 0.2,
        retry_after_secs: 1,
        seed: 8,
        ..FaultConfig::default()
    });
    let second = cluster.apply().await;
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    cluster.emulator.set_faults(FaultConfig::default());
    let plan = cluster.plan(&[]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    cluster.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_apply_the_next_apply_converges_with_no_group_created_twice() {
    let cluster = Cluster::start(1500).await;
    let module = module_dir();
    let mut child = cluster
        .command(&["apply", module.to_str().unwrap(), "--auto-approve"])
        .spawn()
        .expect("fk starts");
    // Kill it while etcd is being provisioned.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while request_seq(&cluster.log(), "PUT", "etcd", &[201]).is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "etcd was never created"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.expect("SIGKILL");

    let again = cluster.apply().await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let log = cluster.log();
    for name in GROUPS {
        let creates = log
            .iter()
            .filter(|entry| {
                matches!(entry, LogEntry::Request { method, path, status: 201, .. }
                if method == "PUT" && path.to_lowercase().ends_with(&group_path(name)))
            })
            .count();
        assert_eq!(creates, 1, "{name} was created {creates} times");
    }
    let plan = cluster.plan(&[]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    cluster.emulator.shutdown().await;
}

/// A virtual kubelet with no Azure identity, or half a service principal, is refused by
/// `fk plan` and `fk validate` before anything reaches Azure (azure-aci v1.6.4
/// `pkg/auth/auth_config.go` would exit at start): at the variables the values come from
/// (`variables.toml`), the env entries second; at the entry when it is written literally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_kubelet_without_an_azure_identity_is_refused_before_azure() {
    let cluster = Cluster::start(0).await;
    // Half a service principal: a client id without its secret and tenant.
    {
        let module = module_dir();
        let refused = cluster
            .command(&["plan", module.to_str().unwrap()])
            .env(
                "FK_VAR_vk_client_id",
                "00000000-0000-0000-0000-0000000000aa",
            )
            .output()
            .await
            .unwrap();
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        let said = text(&refused);
        assert!(
            said.contains("without both `AZURE_CLIENT_SECRET`")
                && said.contains("variables.toml:")
                && said.contains("this default of `vk_client_secret` reaches")
                && said.contains("this default of `tenant_id` reaches")
                && said.contains("virtual-kubelet.toml:"),
            "{said}"
        );
        assert!(!said.contains("default of `vk_client_id`"), "{said}");
    }
    // Neither: the module with the managed identity's client id taken out.
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(module_dir()).unwrap() {
        let path = entry.unwrap().path();
        let mut content = std::fs::read_to_string(&path).unwrap();
        if path.file_name().and_then(|name| name.to_str()) == Some("virtual-kubelet.toml") {
            content = content
                .replace(
                    ", VIRTUALNODE_USER_IDENTITY_CLIENTID = \"${azure_user_assigned_identity.virtual_kubelet.client_id}\"",
                    "",
                );
            assert!(!content.contains("VIRTUALNODE_USER_IDENTITY_CLIENTID ="));
        }
        if path.file_name().and_then(|name| name.to_str()) == Some("literal.toml") {
            continue;
        }
        std::fs::write(copy.path().join(path.file_name().unwrap()), content).unwrap();
    }
    // plan knows the variables (vk_client_id is empty by default) and refuses.
    let refused = cluster
        .command(&["plan", copy.path().to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains("gets neither `VIRTUALNODE_USER_IDENTITY_CLIENTID`")
            && said.contains("variables.toml:")
            && said.contains(
                "this default of `vk_client_id` reaches `containers[0].env.AZURE_CLIENT_ID`"
            )
            && said.contains("virtual-kubelet.toml:"),
        "{said}"
    );
    // fk validate knows the variables' values too, and says the same.
    let validated = cluster
        .command(&["validate", copy.path().to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(validated.status.code(), Some(1), "{}", text(&validated));
    assert!(
        text(&validated).contains("this default of `vk_client_id` reaches"),
        "{}",
        text(&validated)
    );
    // validate sees variables as unknown; with the client id written literally empty it
    // refuses too, pointing at the line.
    let vk = copy.path().join("virtual-kubelet.toml");
    let literal = std::fs::read_to_string(&vk).unwrap().replace(
        "AZURE_CLIENT_ID = \"${var.vk_client_id}\"",
        "AZURE_CLIENT_ID = \"\"",
    );
    std::fs::write(&vk, literal).unwrap();
    let refused = cluster
        .command(&["validate", copy.path().to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("fk::azure::virtual_kubelet_without_identity")
            && text(&refused).contains("virtual-kubelet.toml:"),
        "{}",
        text(&refused)
    );
    assert!(
        cluster
            .log()
            .iter()
            .all(|entry| !matches!(entry, LogEntry::Request { method, .. } if method == "PUT"))
    );
    cluster.emulator.shutdown().await;
}
