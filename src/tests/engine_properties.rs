//! Properties of the engine on random dependency graphs: apply order respects every edge,
//! destroy runs in reverse, a failure skips exactly its dependents, plan → apply → plan is
//! empty, and state round-trips through its file format.

use crate::support;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use fk::apply::Outcome;
use fk::plan::Mode;
use fk::provider::fake::FakeConfig;
use fk::state::State;
use fk::walk::OperationError;
use proptest::prelude::*;
use support::{PlanOptions, fake, session};

/// A random DAG: node `j` may depend on any `i < j`.
fn dag() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (2usize..18).prop_flat_map(|n_nodes| {
        let pairs: Vec<(usize, usize)> = (0..n_nodes)
            .flat_map(|j| (0..j).map(move |i| (i, j)))
            .collect();
        let n_pairs = pairs.len();
        (
            Just(n_nodes),
            proptest::collection::vec(any::<bool>(), n_pairs),
        )
            .prop_map(move |(n_nodes, keep)| {
                let edges = pairs
                    .iter()
                    .zip(keep)
                    .filter(|(_, keep)| *keep)
                    .map(|(pair, _)| *pair)
                    .collect();
                (n_nodes, edges)
            })
    })
}

/// A module with one `fake_thing` per node; an edge `i → j` is a reference from `j` to `i`
/// (alternately to a value known at plan time and to one known only after apply).
fn module_text(n_nodes: usize, edges: &[(usize, usize)]) -> String {
    let mut text = String::new();
    for node in 0..n_nodes {
        let _ = writeln!(text, "[resource.fake_thing.r{node}]\nname = \"r{node}\"");
        let deps: Vec<String> = edges
            .iter()
            .filter(|(_, to)| *to == node)
            .map(|(from, _)| {
                let attr = if from % 2 == 0 { "name" } else { "ip" };
                format!("d{from} = \"${{fake_thing.r{from}.{attr}}}\"")
            })
            .collect();
        if !deps.is_empty() {
            let _ = writeln!(text, "tags = {{ {} }}", deps.join(", "));
        }
        text.push('\n');
    }
    text
}

fn position(log: &[String], entry: &str) -> usize {
    log.iter()
        .position(|line| line == entry)
        .unwrap_or_else(|| panic!("`{entry}` not in {log:?}"))
}

fn descendants(edges: &[(usize, usize)], start: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for (from, to) in edges {
            if *from == node && seen.insert(*to) {
                stack.push(*to);
            }
        }
    }
    seen
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn apply_respects_edges_destroy_reverses_and_replan_is_empty(
        (n_nodes, edges) in dag(),
        parallelism in 1usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.toml"), module_text(n_nodes, &edges)).unwrap();
        runtime().block_on(async {
            let cloud = fake(FakeConfig::default());
            let module = session(dir.path(), cloud.clone()).unwrap();
            let plan = module.plan(&State::fresh(), &PlanOptions::default()).await.unwrap();
            prop_assert_eq!(plan.n_add(), n_nodes);
            let (state, report) = module.apply(&plan, parallelism).await;
            prop_assert!(report.succeeded());
            let log = cloud.world().log;
            for (from, to) in &edges {
                prop_assert!(
                    position(&log, &format!("create fake/r{from}")) < position(&log, &format!("create fake/r{to}")),
                    "r{} must be created before r{}", from, to
                );
            }

            // The state file format round-trips.
            let reread: State = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
            prop_assert_eq!(&reread, &state);

            let again = module.plan(&state, &PlanOptions { refresh: true, ..Default::default() }).await.unwrap();
            prop_assert!(!again.has_changes(), "{}", fk::render::plan_text(&again, false));

            let destroy = module
                .plan(&state, &PlanOptions { mode: Some(Mode::Destroy), refresh: true, ..Default::default() })
                .await
                .unwrap();
            prop_assert_eq!(destroy.n_destroy(), n_nodes);
            let (emptied, report) = module.apply(&destroy, parallelism).await;
            prop_assert!(report.succeeded());
            prop_assert!(emptied.resources.is_empty());
            let log = cloud.world().log;
            for (from, to) in &edges {
                prop_assert!(
                    position(&log, &format!("delete fake/r{to}")) < position(&log, &format!("delete fake/r{from}")),
                    "r{} must be deleted before r{}", to, from
                );
            }
            prop_assert!(cloud.world().objects.is_empty());
            Ok(())
        })?;
    }

    #[test]
    fn a_failure_skips_exactly_its_dependents(
        (n_nodes, edges) in dag(),
        failing_seed in any::<usize>(),
    ) {
        let failing = failing_seed % n_nodes;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.toml"), module_text(n_nodes, &edges)).unwrap();
        runtime().block_on(async {
            let cloud = fake(FakeConfig { fail_names: vec![format!("r{failing}")], ..FakeConfig::default() });
            let module = session(dir.path(), cloud.clone()).unwrap();
            let plan = module.plan(&State::fresh(), &PlanOptions::default()).await.unwrap();
            let (state, report) = module.apply(&plan, 4).await;
            let skipped = descendants(&edges, failing);
            for result in &report.results {
                let node: usize = result.address.name[1..].parse().unwrap();
                let expected = if node == failing {
                    "failed"
                } else if skipped.contains(&node) {
                    "skipped"
                } else {
                    "succeeded"
                };
                let actual = match result.outcome {
                    Outcome::Succeeded => "succeeded",
                    // The provider's own code survives the walk (typed, not a string).
                    Outcome::Failed(OperationError::Provider { ref code, .. })
                        if code == "fk::fake::injected_failure" => "failed",
                    Outcome::Failed(_) => "failed otherwise",
                    Outcome::Skipped(_) => "skipped",
                    Outcome::NotStarted => "not started",
                };
                prop_assert_eq!(actual, expected, "node r{}", node);
            }
            // The next apply, with the failure gone, finishes the job.
            let healed = fake(FakeConfig::default());
            healed.tamper(|world| *world = cloud.world());
            let module = session(dir.path(), healed.clone()).unwrap();
            let plan = module.plan(&state, &PlanOptions { refresh: true, ..Default::default() }).await.unwrap();
            let (state, report) = module.apply(&plan, 4).await;
            prop_assert!(report.succeeded(), "{:?}", report.results);
            prop_assert_eq!(state.resources.len(), n_nodes);
            prop_assert_eq!(healed.world().objects.len(), n_nodes);
            Ok(())
        })?;
    }
}
