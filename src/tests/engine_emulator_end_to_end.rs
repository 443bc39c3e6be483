//! The whole engine with the Azure provider against the in-process emulator: validate, plan,
//! apply, re-plan (no changes), destroy.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fk::plan::Mode;
use fk::provider::azure::{AzureConfig, AzureProvider, StaticToken};
use fk::state::State;
use support::PlanOptions;

#[tokio::test]
async fn azure_module_applies_converges_and_destroys_against_the_emulator() {
    let emulator = fk::emulator::start(fk::emulator::EmulatorConfig {
        provisioning_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/azure/module");
    let config = AzureConfig {
        poll_interval: Duration::from_millis(20),
        ..AzureConfig::local(&emulator.base_url, "00000000-0000-0000-0000-0000000000aa")
    };
    let provider = AzureProvider::new(config, Arc::new(StaticToken::new("t"))).expect("provider");
    let mut registry = fk::provider::Registry::new();
    registry.register(Arc::new(fk::provider::builtin::DataProvider));
    registry.register(Arc::new(provider));
    let session = support::session_with(&dir, registry).unwrap_or_else(|err| panic!("{err}"));
    let plan = session
        .plan(&State::fresh(), &PlanOptions::default())
        .await
        .expect("plan");
    let text = fk::render::plan_text(&plan, false);
    assert!(text.contains("Plan: 5 to add"), "{text}");
    assert!(
        text.contains("fk-demo-etcd.westeurope.azurecontainer.io"),
        "{text}"
    );
    assert!(!text.contains("\"secret\""), "{text}");
    let (applied, report) = session.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    let again = session
        .plan(
            &applied,
            &PlanOptions {
                refresh: true,
                ..PlanOptions::default()
            },
        )
        .await
        .expect("re-plan");
    assert!(
        !again.has_changes(),
        "{}",
        fk::render::plan_text(&again, false)
    );
    let destroy = session
        .plan(
            &applied,
            &PlanOptions {
                refresh: true,
                mode: Some(Mode::Destroy),
                ..PlanOptions::default()
            },
        )
        .await
        .expect("destroy plan");
    let (gone, report) = session.apply(&destroy, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    assert!(gone.resources.is_empty());
    emulator.shutdown().await;
}
