//! The apply walk's typed outcomes: a provider's failure keeps its code and details and
//! skips what waits for it; a journal failure fails the step and the walk as a journal
//! error; operations that cannot be ordered fail the walk as an ordering error, not as a
//! journal error, before anything runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::{ApplyInput, ApplyReport, Outcome, run};
use crate::addr::Address;
use crate::config::Module;
use crate::plan::{Action, Mode, Plan, ResourceChange};
use crate::state::{ResourceState, State};
use crate::value::Value;
use crate::walk::test_support::{GROUP, Recorder, Records, registry};
use crate::walk::{OperationError, WalkInput};

fn change(name: &str, action: Action) -> ResourceChange {
    ResourceChange {
        address: Address::new(GROUP, name),
        action,
        action_reason: None,
        replace_causes: Vec::new(),
        notes: Vec::new(),
        prior_id: Some(name.to_string()),
        before: Some(Value::from_json(&serde_json::json!({ "state": "up" }))),
        after: None,
        dependencies: Vec::new(),
        create_before_destroy: false,
        deposed: false,
    }
}

fn plan(changes: Vec<ResourceChange>, prior_state: State) -> Plan {
    Plan {
        format_version: String::new(),
        mode: Mode::Destroy,
        module_name: "test".to_string(),
        module_digest: String::new(),
        state_lineage: Some(prior_state.lineage.clone()),
        state_serial: Some(prior_state.serial),
        changes,
        output_changes: Vec::new(),
        drift: Vec::new(),
        targets: Vec::new(),
        variables: BTreeMap::new(),
        prior_state,
        warnings: Vec::new(),
        cost: None,
    }
}

/// `group.a` depends on `group.b` in state; both are destroyed, `a` first.
fn destroy_both() -> Plan {
    let mut state = State::fresh();
    for (name, dependencies) in [("a", vec!["group.b".to_string()]), ("b", Vec::new())] {
        let address = Address::new(GROUP, name);
        let value = Value::from_json(&serde_json::json!({ "state": "up" }));
        let mut record = ResourceState::from_value(&address, name, &value);
        record.dependencies = dependencies;
        state.resources.insert(address.to_string(), record);
    }
    plan(
        vec![change("a", Action::Delete), change("b", Action::Delete)],
        state,
    )
}

async fn apply(plan: &Plan, provider: Arc<Recorder>, journal: Arc<Records>) -> ApplyReport {
    let registry = registry(provider);
    let module = Module::default();
    let (_interrupt_tx, interrupt) = watch::channel(false);
    let (events, _events_rx) = mpsc::unbounded_channel();
    run(ApplyInput {
        plan,
        module: &module,
        walk: WalkInput {
            registry: &registry,
            state: plan.prior_state.clone(),
            journal,
            parallelism: 1,
            interrupt,
            events,
        },
    })
    .await
}

fn outcome<'a>(report: &'a ApplyReport, name: &str) -> Option<&'a Outcome> {
    report
        .results
        .iter()
        .find(|result| result.address.name == name)
        .map(|result| &result.outcome)
}

#[tokio::test]
async fn a_provider_failure_keeps_its_code_and_details_and_skips_what_waits() {
    let provider = Arc::new(Recorder {
        fail: Some("a".to_string()),
        ..Recorder::default()
    });
    let journal = Arc::new(Records::default());
    let report = apply(&destroy_both(), provider, journal.clone()).await;
    assert!(!report.succeeded());
    assert_eq!(
        outcome(&report, "a"),
        Some(&Outcome::Failed(OperationError::Provider {
            code: "fk::test::failure".to_string(),
            message: "`a` refused".to_string(),
            details: vec!["Conflict: the service said no".to_string()],
        }))
    );
    assert!(matches!(outcome(&report, "b"), Some(Outcome::Skipped(_))));
    assert_eq!(report.error, None, "a provider's failure is not the walk's");
    assert!(journal.records.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_journal_failure_fails_the_step_and_the_walk_as_a_journal_error() {
    let provider = Arc::new(Recorder::default());
    let journal = Arc::new(Records {
        refuse: true,
        ..Records::default()
    });
    let report = apply(&destroy_both(), provider.clone(), journal).await;
    assert_eq!(*provider.deleted.lock().unwrap(), ["a"]);
    let Some(Outcome::Failed(error)) = outcome(&report, "a") else {
        panic!("`group.a` did not fail: {:?}", report.results);
    };
    assert!(matches!(error, OperationError::Journal { .. }), "{error:?}");
    assert!(error.to_string().contains("the disk is full"), "{error}");
    assert!(matches!(outcome(&report, "b"), Some(Outcome::Skipped(_))));
    assert_eq!(report.error.as_ref(), Some(error));
    assert_eq!(error.code(), "fk::apply::journal");
    // Nothing was recorded, so the walk's state is the state it started from.
    assert_eq!(report.state.resources.len(), 2);
}

#[tokio::test]
async fn operations_that_cannot_be_ordered_fail_as_ordering_before_anything_runs() {
    // `b` is replaced create-first but depends on `a`, replaced delete-first: destroying
    // `a` waits for `b`'s old object to go, which waits for the new `b`, which waits for
    // the new `a`, which waits for `a` to be destroyed.
    let mut replace_a = change("a", Action::DeleteThenCreate);
    replace_a.after = replace_a.before.clone();
    let mut replace_b = change("b", Action::CreateThenDelete);
    replace_b.after = replace_b.before.clone();
    replace_b.dependencies = vec![Address::new(GROUP, "a")];
    replace_b.create_before_destroy = true;
    let plan = plan(vec![replace_a, replace_b], State::fresh());
    let provider = Arc::new(Recorder::default());
    let journal = Arc::new(Records::default());
    let report = apply(&plan, provider.clone(), journal.clone()).await;
    let Some(error) = &report.error else {
        panic!("the walk did not fail");
    };
    assert!(
        matches!(error, OperationError::Ordering { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "fk::apply::ordering");
    assert!(error.to_string().contains("cannot be ordered"), "{error}");
    assert!(report.results.is_empty());
    assert!(provider.deleted.lock().unwrap().is_empty());
    assert!(journal.records.lock().unwrap().is_empty());
    assert!(!report.succeeded());
}
