//! The walk's order, journaling and failure handling, with a recording provider.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::{LifecycleInput, LifecycleReport, run, targets};
use crate::addr::Address;
use crate::graph::DependencyGraph;
use crate::provider::Action;
use crate::state::{JournalRecord, ResourceState, State};
use crate::value::Value;
use crate::walk::test_support::{CERT, GROUP, Recorder, Records, registry};
use crate::walk::{ApplyEvent, OperationError, Outcome, WalkInput};

/// etcd ← cert ← apiserver ← {scheduler, kubelet}: the cert (no actions) sits between
/// etcd and the apiserver, so the order must hold across it.
fn cluster(stopped: bool) -> (DependencyGraph, State) {
    let mut graph = DependencyGraph::default();
    let mut state = State::fresh();
    let nodes = [
        (GROUP, "etcd"),
        (CERT, "tls"),
        (GROUP, "apiserver"),
        (GROUP, "scheduler"),
        (GROUP, "kubelet"),
    ];
    for (resource_type, name) in nodes {
        let address = Address::new(resource_type, name);
        graph.add_node(address.clone());
        let value = Value::from_json(&serde_json::json!({ "state": "Running" }));
        let mut record = ResourceState::from_value(&address, name, &value);
        record.stopped = stopped && resource_type == GROUP;
        state.resources.insert(address.to_string(), record);
    }
    let edge = |graph: &mut DependencyGraph, from: (&str, &str), to: (&str, &str)| {
        graph.add_edge(
            &Address::new(from.0, from.1),
            &Address::new(to.0, to.1),
            None,
            false,
        );
    };
    edge(&mut graph, (GROUP, "etcd"), (CERT, "tls"));
    edge(&mut graph, (CERT, "tls"), (GROUP, "apiserver"));
    edge(&mut graph, (GROUP, "apiserver"), (GROUP, "scheduler"));
    edge(&mut graph, (GROUP, "apiserver"), (GROUP, "kubelet"));
    (graph, state)
}

async fn walk(
    action: Action,
    provider: Arc<Recorder>,
    stopped: bool,
) -> (LifecycleReport, Vec<JournalRecord>) {
    let (graph, state) = cluster(stopped);
    let registry = registry(provider);
    let journal = Arc::new(Records::default());
    let (_interrupt_tx, interrupt) = watch::channel(false);
    let (events, mut events_rx) = mpsc::unbounded_channel();
    let report = run(LifecycleInput {
        action,
        graph: &graph,
        walk: WalkInput {
            registry: &registry,
            state,
            journal: journal.clone(),
            parallelism: 1,
            interrupt,
            events,
        },
    })
    .await;
    while let Ok(event) = events_rx.try_recv() {
        assert!(
            !matches!(&event, ApplyEvent::Started { address, .. } if address.resource_type == CERT)
        );
    }
    let records = journal.records.lock().unwrap().clone();
    (report, records)
}

fn names(calls: &[(Action, String)]) -> Vec<&str> {
    calls.iter().map(|(_, name)| name.as_str()).collect()
}

#[tokio::test]
async fn stops_dependents_first_and_marks_each_group_stopped() {
    let provider = Arc::new(Recorder::default());
    let (report, records) = walk(Action::Stop, provider.clone(), false).await;
    assert!(report.succeeded());
    assert_eq!(
        names(&provider.calls.lock().unwrap()),
        ["kubelet", "scheduler", "apiserver", "etcd"]
    );
    assert_eq!(records.len(), 4);
    let etcd = &report.state.resources["group.etcd"];
    assert!(etcd.stopped);
    assert_eq!(etcd.value().get("state"), Some(&Value::str("Stopped")));
    assert!(!report.state.resources["cert.tls"].stopped);
}

#[tokio::test]
async fn starts_dependencies_first_and_clears_stopped() {
    let provider = Arc::new(Recorder::default());
    let (report, _) = walk(Action::Start, provider.clone(), true).await;
    assert!(report.succeeded());
    assert_eq!(
        names(&provider.calls.lock().unwrap()),
        ["etcd", "apiserver", "kubelet", "scheduler"]
    );
    assert!(
        report
            .state
            .resources
            .values()
            .all(|record| !record.stopped)
    );
}

#[tokio::test]
async fn a_failed_start_skips_what_waits_for_it() {
    let provider = Arc::new(Recorder {
        fail: Some("apiserver".into()),
        ..Recorder::default()
    });
    let (report, records) = walk(Action::Start, provider.clone(), true).await;
    assert!(!report.succeeded());
    let calls = provider.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            (Action::Start, "etcd".to_string()),
            (Action::Start, "apiserver".to_string()),
            (Action::Stop, "apiserver".to_string()),
        ],
        "the failed group is stopped again"
    );
    assert_eq!(records.len(), 1, "only etcd's start is journaled");
    let outcome = |name: &str| {
        report
            .results
            .iter()
            .find(|(address, _)| address.name == name)
            .map(|(_, outcome)| outcome.clone())
    };
    // The provider's code and details survive, with the walk's own note on the retry.
    let Some(Outcome::Failed(OperationError::Provider { code, details, .. })) =
        outcome("apiserver")
    else {
        panic!(
            "apiserver did not fail with the provider's error: {:?}",
            report.results
        );
    };
    assert_eq!(code, "fk::test::failure");
    // The recorder refuses the stop again too.
    assert_eq!(
        details,
        [
            "Conflict: the service said no",
            "stopping it again failed too: `apiserver` refused"
        ]
    );
    assert_eq!(report.error, None);
    assert!(matches!(outcome("scheduler"), Some(Outcome::Skipped(_))));
    assert!(report.state.resources["group.scheduler"].stopped);
}

#[test]
fn targets_leave_out_groups_already_in_the_wanted_state() {
    let provider = Arc::new(Recorder::default());
    let registry = registry(provider);
    let (graph, mut state) = cluster(false);
    if let Some(record) = state.resources.get_mut("group.kubelet") {
        record.stopped = true;
    }
    // Read back stopped without fk having stopped it (the portal, a patch of its tags).
    if let Some(record) = state.resources.get_mut("group.scheduler") {
        record.attributes = serde_json::json!({ "state": "Stopped" });
    }
    let stop: Vec<String> = targets(Action::Stop, &graph, &registry, &state)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(stop, ["group.apiserver", "group.etcd"]);
    let start: Vec<String> = targets(Action::Start, &graph, &registry, &state)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(start, ["group.kubelet", "group.scheduler"]);
}
