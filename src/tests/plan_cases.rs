//! Plan cases: `testdata/plan/<case>/`. Each case has `module/` (the module planned), an
//! optional `before/` (applied first, to make the prior state) and an optional `case.toml`:
//!
//! ```toml
//! targets = ["data.a"]          # --target
//! replace = ["fake_thing.x"]    # --replace
//! destroy = true                # fk destroy
//! refresh = true                # refresh before planning (default false)
//! taint = ["fake_thing.x"]      # mark tainted in state before planning
//! delete_outside = ["fake/x"]   # delete from the fake cloud before planning (drift)
//! expect_error = true           # the plan must fail; its diagnostics are the snapshot
//! ```
//!
//! The rendered plan is snapshotted as `plan.snap`, the JSON plan as `plan-json.snap`, both
//! beside the case. Every successful plan is then applied and planned again: the second plan
//! must have no changes (convergence).

use crate::support;

use std::path::{Path, PathBuf};

use fk::addr::Address;
use fk::plan::Mode;
use fk::provider::fake::FakeConfig;
use fk::state::{ResourceStatus, State};
use support::{PlanOptions, fake, normalize, session};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    replace: Vec<String>,
    #[serde(default)]
    destroy: bool,
    #[serde(default)]
    refresh: bool,
    #[serde(default)]
    taint: Vec<String>,
    #[serde(default)]
    delete_outside: Vec<String>,
    #[serde(default)]
    expect_error: bool,
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plan");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata/plan exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Paths in diagnostics relative to the repository, so snapshots hold on any checkout.
fn relative(text: &str) -> String {
    text.replace(concat!(env!("CARGO_MANIFEST_DIR"), "/"), "")
}

fn addresses(texts: &[String]) -> Vec<Address> {
    texts
        .iter()
        .map(|text| Address::parse(text).expect("case address"))
        .collect()
}

#[tokio::test]
async fn plan_cases_render_and_converge() {
    let dirs = case_dirs();
    assert!(
        dirs.len() >= 10,
        "expected the plan cases, found {}",
        dirs.len()
    );
    for dir in dirs {
        check_case(&dir).await;
    }
}

#[track_caller]
fn snapshot(dir: &Path, name: &str, text: &str) {
    insta::with_settings!({snapshot_path => dir, prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name, text);
    });
}

async fn check_case(dir: &Path) {
    let case_name = dir.file_name().unwrap().to_string_lossy().to_string();
    let case: Case = match std::fs::read_to_string(dir.join("case.toml")) {
        Ok(text) => {
            toml::from_str(&text).unwrap_or_else(|err| panic!("{case_name}/case.toml: {err}"))
        }
        Err(_) => Case::default(),
    };
    let cloud = fake(FakeConfig::default());
    let mut state = State::new("00000000-0000-4000-8000-000000000000");
    if dir.join("before").is_dir() {
        let before = session(&dir.join("before"), cloud.clone())
            .unwrap_or_else(|err| panic!("{case_name}/before: {err}"));
        let plan = before
            .plan(&state, &PlanOptions::default())
            .await
            .unwrap_or_else(|err| panic!("{case_name}/before: {err}"));
        let (applied, report) = before.apply(&plan, 4).await;
        assert!(
            report.succeeded(),
            "{case_name}/before did not apply: {:?}",
            report.results
        );
        state = applied;
    }
    for address in &case.taint {
        state
            .resources
            .get_mut(address)
            .unwrap_or_else(|| panic!("{case_name}: taint {address}"))
            .status = ResourceStatus::Tainted;
    }
    if !case.delete_outside.is_empty() {
        cloud.tamper(|world| {
            for id in &case.delete_outside {
                world.objects.remove(id);
            }
        });
    }
    let module = match session(&dir.join("module"), cloud.clone()) {
        Ok(module) => module,
        Err(diagnostics) => {
            assert!(
                case.expect_error,
                "{case_name}: unexpected diagnostics:\n{diagnostics}"
            );
            snapshot(dir, "plan", &normalize(&relative(&diagnostics)));
            return;
        }
    };
    let options = PlanOptions {
        mode: Some(if case.destroy {
            Mode::Destroy
        } else {
            Mode::Normal
        }),
        targets: addresses(&case.targets),
        replace: addresses(&case.replace),
        refresh: case.refresh || !case.delete_outside.is_empty(),
    };
    let plan = match module.plan(&state, &options).await {
        Ok(plan) => {
            assert!(
                !case.expect_error,
                "{case_name}: expected an error, got a plan"
            );
            plan
        }
        Err(diagnostics) => {
            assert!(
                case.expect_error,
                "{case_name}: unexpected diagnostics:\n{diagnostics}"
            );
            snapshot(dir, "plan", &normalize(&relative(&diagnostics)));
            return;
        }
    };
    let text = fk::render::plan_text(&plan, false);
    assert!(
        !text.contains("hunter2") && !text.contains("PRIVATE KEY"),
        "{case_name}: a secret reached the plan"
    );
    snapshot(dir, "plan", &normalize(&text));
    let json = serde_json::to_string_pretty(&fk::render::plan_json(&plan)).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("PRIVATE KEY"),
        "{case_name}: a secret reached the JSON plan"
    );
    snapshot(dir, "plan-json", &normalize(&json));

    // Convergence: apply, then the same plan again has nothing to do.
    let (applied, report) = module.apply(&plan, 4).await;
    assert!(
        report.succeeded(),
        "{case_name}: apply failed: {:?}",
        report.results
    );
    let again = module
        .plan(
            &applied,
            &PlanOptions {
                refresh: true,
                replace: Vec::new(),
                ..options.clone()
            },
        )
        .await
        .unwrap_or_else(|err| panic!("{case_name}: re-plan failed: {err}"));
    assert!(
        !again.has_changes(),
        "{case_name}: the plan after apply is not empty:\n{}",
        fk::render::plan_text(&again, false)
    );
}
