//! The estimated cost in the plan: the real `fk` binary plans the Frankenetes module against
//! the emulator; the cost after apply is the sum of the groups' requested sizes at the
//! table's prices, the cost now is what runs, and a stopped group costs nothing.

use std::process::Output;

use crate::cluster_support;
use cluster_support::Cluster;
use serde_json::Value as Json;

/// The table's `eastus` figures, which price `westeurope` (the module's default region).
const VCPU_HOUR: f64 = 0.0405;
const GB_HOUR: f64 = 0.00445;

struct Run {
    cluster: Cluster,
}

impl Run {
    async fn fk(&self, args: &[&str]) -> Output {
        self.cluster.on_module(args[0], &args[1..]).await
    }

    async fn plan_json(&self) -> Json {
        let output = self.fk(&["plan", "--json"]).await;
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!(
                "plan --json prints JSON: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }
}

/// The cost of a group's containers at the table's prices, from a planned value.
fn priced(group: &Json) -> f64 {
    let containers = group["containers"].as_array().cloned().unwrap_or_default();
    containers
        .iter()
        .map(|container| {
            container["cpu"].as_f64().unwrap_or(f64::NAN) * VCPU_HOUR
                + container["memory_gb"].as_f64().unwrap_or(f64::NAN) * GB_HOUR
        })
        .sum()
}

fn number(json: &Json) -> f64 {
    json.as_f64().unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_costs_the_groups_to_create_and_a_stopped_group_nothing() {
    let run = Run {
        cluster: Cluster::start(2000).await,
    };

    // Nothing exists yet: now costs nothing; after apply, every group at its size.
    let plan = run.plan_json().await;
    let cost = &plan["cost"];
    let groups: Vec<&Json> = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|change| change["type"] == "azure_container_group")
        .collect();
    assert_eq!(groups.len(), 5, "five groups are planned");
    let expected: f64 = groups
        .iter()
        .map(|change| priced(&change["change"]["after"]))
        .sum();
    assert!(expected > 0.1, "the groups request real sizes: {expected}");
    assert!(
        (number(&cost["after_per_hour"]) - expected).abs() < 1e-5,
        "{cost}"
    );
    assert_eq!(number(&cost["before_per_hour"]), 0.0, "{cost}");
    assert_eq!(cost["currency"], "USD");
    assert_eq!(cost["basis"].as_array().map(Vec::len), Some(5), "{cost}");
    assert!(
        cost["source"][0]
            .as_str()
            .is_some_and(|source| source.contains("2026-08-27")),
        "{cost}"
    );
    let etcd_cost = groups
        .iter()
        .find(|change| change["name"] == "etcd")
        .map(|change| priced(&change["change"]["after"]))
        .unwrap_or(f64::NAN);

    // The text plan's footer says it too.
    let text_plan = run.fk(&["plan"]).await;
    let text_plan = String::from_utf8_lossy(&text_plan.stdout);
    assert!(
        text_plan.contains(&format!(
            "Estimated cost: ${expected:.4}/hour after apply (now $0.0000/hour)"
        )),
        "{text_plan}"
    );

    let apply = run.fk(&["apply", "--auto-approve"]).await;
    assert_eq!(apply.status.code(), Some(0), "{apply:?}");

    // Stop etcd behind fk's back: the next plan counts it as costing nothing, now and after.
    let state: Json = serde_json::from_slice(
        &std::fs::read(run.cluster.dir.path().join("state/frankenetes.json"))
            .expect("state written"),
    )
    .expect("state is JSON");
    let etcd_id = state["resources"]["azure_container_group.etcd"]["id"]
        .as_str()
        .expect("etcd has an id")
        .to_string();
    let stop = reqwest::Client::new()
        .post(format!(
            "{}{etcd_id}/stop?api-version=2025-09-01",
            run.cluster.emulator.base_url.trim_end_matches('/')
        ))
        .bearer_auth("test")
        .send()
        .await
        .expect("stop answered");
    assert!(stop.status().is_success(), "stop: {}", stop.status());

    let plan = run.plan_json().await;
    let cost = &plan["cost"];
    let running = expected - etcd_cost;
    assert!(
        (number(&cost["before_per_hour"]) - running).abs() < 1e-5,
        "{cost}"
    );
    assert!(
        (number(&cost["after_per_hour"]) - running).abs() < 1e-5,
        "{cost}"
    );
    let etcd = cost["basis"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|resource| resource["address"] == "azure_container_group.etcd")
        .cloned()
        .unwrap_or_default();
    assert_eq!(number(&etcd["after_per_hour"]), 0.0, "{etcd}");
    let text_plan = run.fk(&["plan"]).await;
    let text_plan = String::from_utf8_lossy(&text_plan.stdout);
    assert!(
        text_plan.contains(&format!(
            "Estimated cost: ${running:.4}/hour, unchanged by this plan"
        )),
        "{text_plan}"
    );

    // A destroy leaves nothing running.
    let destroy = run.fk(&["plan", "--destroy"]).await;
    let destroy = String::from_utf8_lossy(&destroy.stdout);
    assert!(
        destroy.contains(&format!(
            "Estimated cost: $0.0000/hour after apply (now ${running:.4}/hour)"
        )),
        "{destroy}"
    );
    assert!(destroy.contains("/hour until destroyed"), "{destroy}");
}
