//! The operations' state rules, on a module of built-in `data` resources and a real state file
//! in a temporary folder.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::*;
use crate::state::{LockInfo, StateStore};

/// A [`Ui`] that records what it is told and answers the prompt with `answer`.
struct Recorder {
    answer: bool,
    said: Mutex<Vec<String>>,
    n_plans_shown: Mutex<usize>,
    walk: Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<usize>)>>,
    n_events: Mutex<usize>,
}

impl Recorder {
    fn answering(answer: bool) -> Recorder {
        Recorder {
            answer,
            said: Mutex::new(Vec::new()),
            n_plans_shown: Mutex::new(0),
            walk: Mutex::new(None),
            n_events: Mutex::new(0),
        }
    }

    fn said(&self) -> Vec<String> {
        self.said.lock().unwrap().clone()
    }
}

#[async_trait]
impl Ui for Recorder {
    fn say(&self, text: &str) {
        self.said.lock().unwrap().push(text.to_string());
    }

    fn warnings(&self, diagnostics: &Diagnostics, sources: &SourceMap) {
        self.say(&diagnostics.render(sources));
    }

    fn show_plan(&self, _plan: &Plan) {
        *self.n_plans_shown.lock().unwrap() += 1;
    }

    fn confirm(&self, _mode: Mode) -> Result<bool, OpsError> {
        Ok(self.answer)
    }

    fn show_targets(&self, _action: Action, _targets: &[Address]) {}

    fn walk_started(&self) -> WalkIo {
        let (interrupt_tx, interrupt) = watch::channel(false);
        let (events, mut events_rx) = mpsc::unbounded_channel();
        let count = tokio::spawn(async move {
            let mut n_events = 0;
            while events_rx.recv().await.is_some() {
                n_events += 1;
            }
            n_events
        });
        *self.walk.lock().unwrap() = Some((interrupt_tx, count));
        WalkIo { interrupt, events }
    }

    async fn walk_finished(&self) {
        let walk = self.walk.lock().unwrap().take();
        if let Some((_interrupt_tx, count)) = walk {
            *self.n_events.lock().unwrap() += count.await.unwrap_or(0);
        }
    }
}

fn module(dir: &Path, input: &str) -> std::path::PathBuf {
    let module = dir.join("m");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("main.toml"),
        format!("[resource.data.settings]\ninput = {input}\n"),
    )
    .unwrap();
    module
}

fn load_module(dir: &Path, ui: &dyn Ui) -> Workspace {
    let context = Context::new(std::iter::empty());
    let flags = ProviderFlags::default();
    load(
        dir,
        &VarSources::default(),
        flags,
        Checks::BeforePlanning,
        &context,
        ui,
    )
    .unwrap_or_else(|err| panic!("{err}"))
}

fn file_store(dir: &Path) -> crate::state::FileStore {
    Context::new(std::iter::empty())
        .file_store(dir.join("state.json"))
        .unwrap()
}

#[tokio::test]
async fn apply_walks_bumps_the_serial_and_a_second_apply_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Recorder::answering(true);
    let workspace = load_module(&module(dir.path(), "{ a = 1 }"), &ui);
    let store = file_store(dir.path());
    let options = PlanOptions::default();

    let Applied::Walked(done) = apply(&workspace, &store, &options, &ui).await.unwrap() else {
        panic!("the first apply has a change to make");
    };
    assert!(done.report.succeeded(), "{:?}", done.report.results);
    assert_eq!(done.state.serial, 1);
    assert!(
        *ui.n_events.lock().unwrap() > 0,
        "the walk's events reach the Ui"
    );
    let stored = store.load().await.unwrap().expect("a state");
    assert_eq!(stored.serial, 1);
    assert_eq!(stored.lineage, done.plan.prior_state.lineage);
    assert!(stored.resources.contains_key("data.settings"));

    let again = apply(&workspace, &store, &options, &ui).await.unwrap();
    assert!(matches!(again, Applied::NoChanges));
    assert_eq!(*ui.n_plans_shown.lock().unwrap(), 2);
    assert_eq!(
        store.load().await.unwrap().map(|state| state.serial),
        Some(1)
    );
}

#[tokio::test]
async fn a_declined_apply_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Recorder::answering(false);
    let workspace = load_module(&module(dir.path(), "{ a = 1 }"), &ui);
    let store = file_store(dir.path());
    let applied = apply(&workspace, &store, &PlanOptions::default(), &ui)
        .await
        .unwrap();
    assert!(matches!(applied, Applied::Cancelled));
    assert!(store.load().await.unwrap().is_none());
}

#[tokio::test]
async fn a_plan_is_refused_once_the_state_moved_and_says_how() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Recorder::answering(true);
    let first = load_module(&module(dir.path(), "{ a = 1 }"), &ui);
    let store = file_store(dir.path());
    let options = PlanOptions::default();
    let before_any_state = plan(&first, &store, &options, &ui).await.unwrap();
    let at_serial_one = {
        apply_plan(
            &first,
            &store,
            before_any_state.clone(),
            4,
            Duration::ZERO,
            &ui,
        )
        .await
        .unwrap();
        let changed = load_module(&module(dir.path(), "{ a = 2 }"), &ui);
        (
            plan(&changed, &store, &options, &ui).await.unwrap(),
            changed,
        )
    };

    let err = apply_plan(&first, &store, before_any_state, 4, Duration::ZERO, &ui)
        .await
        .err()
        .expect("stale");
    assert_eq!(err.code(), Some("fk::cli::stale_plan"));
    assert_eq!(
        err.to_string(),
        "error[fk::cli::stale_plan]: the state moved since the plan was made: it was made before any state existed; now there is one\n  = help: make a new plan and apply that"
    );

    let (update, changed) = at_serial_one;
    apply_plan(&changed, &store, update.clone(), 4, Duration::ZERO, &ui)
        .await
        .unwrap();
    let err = apply_plan(&changed, &store, update, 4, Duration::ZERO, &ui)
        .await
        .err()
        .expect("stale");
    assert!(err.to_string().contains("serial 1 then, 2 now"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_held_lock_is_waited_for_then_refused_naming_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let held = store.lock(LockInfo::new("apply")).await.unwrap();
    let ui = Recorder::answering(true);

    let err = lock(&store, "plan", Duration::ZERO, &ui)
        .await
        .expect_err("locked");
    assert_eq!(err.code(), Some("fk::state::locked"));
    let holder = format!("for `apply` since {}", held.info().created);
    assert!(err.to_string().contains(&holder), "{err}");
    assert!(ui.said().is_empty(), "no wait with a zero timeout");

    let err = lock(&store, "plan", Duration::from_secs(3), &ui)
        .await
        .expect_err("still locked");
    assert_eq!(err.code(), Some("fk::state::locked"));
    let said = ui.said();
    assert_eq!(said.len(), 1, "the wait is announced once: {said:?}");
    assert!(
        said[0].ends_with("Waiting up to 3s for the lock..."),
        "{said:?}"
    );
}

#[test]
fn a_bad_passphrase_setting_is_an_encryption_error_before_any_store_is_opened() {
    let both = ["FK_STATE_PASSPHRASE", "FK_STATE_PASSPHRASE_FILE"]
        .map(|name| (name.to_string(), "x".to_string()));
    let err = Context::new(both)
        .file_store("state.json")
        .err()
        .expect("refused");
    assert_eq!(err.code(), Some("fk::state::encryption"));
    assert!(err.to_string().contains("set one"), "{err}");
}
