//! `fk stop` and `fk start` end to end: the real binary against the emulator over real HTTP.
//! The order comes from the emulator's request log; the plans after each must be empty.

use fk::emulator::{FaultConfig, LogEntry};

mod cluster_support;
use cluster_support::{Cluster, text};

const KUBE_COMPONENTS: [&str; 3] = ["controller-manager", "scheduler", "virtual-kubelet"];

fn group_path(name: &str) -> String {
    format!("/providers/microsoft.containerinstance/containergroups/frankenetes-{name}")
}

/// Sequence number of the POST `action` to the group `name`, answered with success.
fn post_seq(log: &[LogEntry], action: &str, name: &str) -> u64 {
    find_post(log, action, name).unwrap_or_else(|| panic!("no POST {action} of {name}"))
}

fn find_post(log: &[LogEntry], action: &str, name: &str) -> Option<u64> {
    let wanted = format!("{}/{action}", group_path(name));
    log.iter().find_map(|entry| match entry {
        LogEntry::Request {
            seq,
            method,
            path,
            status,
            ..
        } if method == "POST"
            && path.to_lowercase().ends_with(&wanted)
            && (200..300).contains(status) =>
        {
            Some(*seq)
        }
        _ => None,
    })
}

/// Sequence number of the first successful data-plane request `method` whose path ends
/// with `suffix`.
fn data_plane_seq(log: &[LogEntry], wanted_method: &str, suffix: &str) -> u64 {
    log.iter()
        .find_map(|entry| match entry {
            LogEntry::Request {
                seq,
                method,
                path,
                status,
                ..
            } if method == wanted_method
                && path.ends_with(suffix)
                && !path.starts_with("/subscriptions")
                && (200..300).contains(status) =>
            {
                Some(*seq)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {wanted_method} …{suffix}"))
}

/// Sequence number of the emulator event `wanted` of the group `name`.
fn event_seq(log: &[LogEntry], name: &str, wanted: &str) -> u64 {
    log.iter()
        .find_map(|entry| match entry {
            LogEntry::Event {
                seq,
                resource,
                event,
                ..
            } if resource.to_lowercase().ends_with(&group_path(name)) && event == wanted => {
                Some(*seq)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no event `{wanted}` of {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_in_reverse_and_starts_in_dependency_order_with_empty_plans_between() {
    let cluster = Cluster::start(300).await;
    let apply = cluster.on_module("apply", &["--auto-approve"]).await;
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));

    let before_stop = cluster.emulator.log_entries().len();
    let stop = cluster.on_module("stop", &[]).await;
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    let log = cluster.emulator.log_entries().split_off(before_stop);
    let stopped = |name| post_seq(&log, "stop", name);
    for component in KUBE_COMPONENTS {
        assert!(
            stopped(component) < stopped("apiserver"),
            "{component} stops before the apiserver"
        );
    }
    assert!(stopped("apiserver") < stopped("etcd"), "etcd stops last");
    // Before etcd's group stops, fk asks its backup sidecar for a last snapshot through the
    // share (the emulator answers as the sidecar does) and reports it.
    let asked = data_plane_seq(&log, "PUT", "/snapshot-request");
    let answered = data_plane_seq(&log, "GET", "/snapshot-answer");
    assert!(asked < answered && answered < stopped("etcd"), "{log:?}");
    let said = text(&stop);
    assert!(
        said.contains("azure_container_group.etcd: before stop: `snapshot-")
            && said.contains("bytes) is on share `etcd-snapshots`"),
        "{said}"
    );
    assert_eq!(said.matches("before stop: `snapshot-").count(), 1, "{said}");

    let plan = cluster.on_module("plan", &["--detailed-exitcode"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        text(&plan).contains("Estimated cost: $0.0000/hour, unchanged by this plan"),
        "a stopped cluster costs nothing:\n{}",
        text(&plan)
    );
    assert!(
        text(&plan).contains("the cluster is stopped: 5 resource(s)"),
        "{}",
        text(&plan)
    );
    let again = cluster.on_module("stop", &[]).await;
    assert!(text(&again).contains("Nothing to stop"), "{}", text(&again));

    let before_start = cluster.emulator.log_entries().len();
    let start = cluster.on_module("start", &[]).await;
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    let log = cluster.emulator.log_entries().split_off(before_start);
    let started = |name| post_seq(&log, "start", name);
    let running = |name| event_seq(&log, name, "containers Running");
    assert!(running("etcd") < started("apiserver"), "etcd runs first");
    for component in KUBE_COMPONENTS {
        assert!(
            running("apiserver") < started(component),
            "the apiserver runs before {component} starts"
        );
    }

    let plan = cluster.on_module("plan", &["--detailed-exitcode"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(!text(&plan).contains("stopped"), "{}", text(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_is_stopped_again_skips_its_dependents_and_a_second_start_finishes() {
    let cluster = Cluster::start(300).await;
    let apply = cluster.on_module("apply", &["--auto-approve"]).await;
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let stop = cluster.on_module("stop", &[]).await;
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));

    cluster.emulator.set_faults(FaultConfig {
        fail_operations: vec!["frankenetes-apiserver".into()],
        ..FaultConfig::default()
    });
    let before = cluster.emulator.log_entries().len();
    let start = cluster.on_module("start", &[]).await;
    assert_eq!(start.status.code(), Some(1), "{}", text(&start));
    let log = cluster.emulator.log_entries().split_off(before);
    assert!(find_post(&log, "start", "etcd").is_some());
    for component in KUBE_COMPONENTS {
        assert_eq!(
            find_post(&log, "start", component),
            None,
            "{component} waits"
        );
        assert!(
            text(&start).contains(&format!(
                "skipped  azure_container_group.{}",
                component.replace('-', "_")
            )),
            "{}",
            text(&start)
        );
    }

    // The state records what finished: etcd runs, the rest are still stopped.
    let plan = cluster.on_module("plan", &["--detailed-exitcode"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        text(&plan).contains("the cluster is stopped: 4 resource(s)"),
        "{}",
        text(&plan)
    );

    // The failed group was stopped again: once the cause is gone, a second start finishes.
    cluster.emulator.set_faults(FaultConfig::default());
    let before = cluster.emulator.log_entries().len();
    let again = cluster.on_module("start", &[]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let log = cluster.emulator.log_entries().split_off(before);
    assert_eq!(find_post(&log, "start", "etcd"), None, "etcd already runs");
    let running = |name| event_seq(&log, name, "containers Running");
    for component in KUBE_COMPONENTS {
        assert!(running("apiserver") < post_seq(&log, "start", component));
    }
    let plan = cluster.on_module("plan", &["--detailed-exitcode"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(!text(&plan).contains("stopped"), "{}", text(&plan));
}

/// The module in a folder of the same name (so it shares the state) with etcd's
/// `before_stop` asking for a file nobody answers, within 1 s.
fn module_nobody_answers(cluster: &Cluster) -> std::path::PathBuf {
    let copy = cluster.dir.path().join("unanswered/frankenetes");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(cluster_support::module_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let etcd = std::fs::read_to_string(copy.join("etcd.toml")).unwrap();
    let changed = etcd.replace(
        r#"request = "snapshot-request", answer = "snapshot-answer", timeout_seconds = 300"#,
        r#"request = "nobody-reads-this", answer = "snapshot-answer", timeout_seconds = 1"#,
    );
    assert_ne!(etcd, changed, "etcd.toml declares before_stop as expected");
    std::fs::write(copy.join("etcd.toml"), changed).unwrap();
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_whose_last_snapshot_is_not_answered_fails_unless_skipped() {
    let cluster = Cluster::start(300).await;
    let apply = cluster.on_module("apply", &["--auto-approve"]).await;
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let copy = module_nobody_answers(&cluster);
    let copy = copy.to_str().unwrap();
    // Only fk's own setting changes: an update in place, no new deployment.
    let apply = cluster
        .command(&["apply", copy, "--auto-approve"])
        .output()
        .await
        .unwrap();
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(
        !text(&apply).contains("must be replaced"),
        "{}",
        text(&apply)
    );

    let before = cluster.emulator.log_entries().len();
    let stop = cluster.command(&["stop", copy]).output().await.unwrap();
    let said = text(&stop);
    assert_eq!(stop.status.code(), Some(1), "{said}");
    assert!(said.contains("no answer in `snapshot-answer`"), "{said}");
    assert!(said.contains("--skip-before-stop"), "{said}");
    let log = cluster.emulator.log_entries().split_off(before);
    assert!(
        find_post(&log, "stop", "etcd").is_none(),
        "etcd was stopped anyway"
    );
    assert!(
        find_post(&log, "stop", "apiserver").is_some(),
        "its dependents stopped first"
    );

    let stop = cluster
        .command(&["stop", copy, "--skip-before-stop"])
        .output()
        .await
        .unwrap();
    let said = text(&stop);
    assert_eq!(stop.status.code(), Some(0), "{said}");
    assert!(
        said.contains("before stop: skipped (--skip-before-stop)"),
        "{said}"
    );
}
