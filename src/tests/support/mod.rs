//! What the integration tests share: an in-memory state store and a quiet [`Ui`], and the
//! engine run in-process through the same `fk::ops` functions the commands call (load, plan,
//! apply a plan), against that store.
pub mod azurite;
pub mod shell;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fk::addr::Address;
use fk::apply::ApplyReport;
use fk::diag::{Diagnostics, SourceMap};
use fk::ops::{self, Checks, OpsError, Ui, VarSources, WalkIo, Workspace};
use fk::plan::{Mode, Plan};
use fk::provider::fake::{FakeConfig, FakeProvider};
use fk::provider::{Action, Registry};
use fk::state::{Journal, JournalRecord, LockInfo, State, StateError, StateLock, StateStore};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A journal that keeps records in memory (durability is the state store's own tests' job).
#[derive(Default)]
pub struct MemoryJournal {
    pub records: Mutex<Vec<JournalRecord>>,
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn append(&self, records: Vec<JournalRecord>) -> Result<(), StateError> {
        self.records.lock().unwrap().extend(records);
        Ok(())
    }
}

/// A state store in memory: what `persist` was given is what `load` returns; the journal
/// keeps every record appended.
#[derive(Default)]
pub struct MemoryStore {
    pub state: Mutex<Option<State>>,
    pub journal: Arc<MemoryJournal>,
}

impl MemoryStore {
    pub fn holding(state: Option<State>) -> MemoryStore {
        MemoryStore {
            state: Mutex::new(state),
            journal: Arc::default(),
        }
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        Ok(self.state.lock().unwrap().clone())
    }

    async fn persist(&self, state: &State) -> Result<(), StateError> {
        *self.state.lock().unwrap() = Some(state.clone());
        Ok(())
    }

    async fn lock(&self, info: LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        Ok(Box::new(MemoryLock(info)))
    }

    async fn force_unlock(&self, _id: &str) -> Result<(), StateError> {
        Ok(())
    }

    async fn journal(&self) -> Result<Arc<dyn Journal>, StateError> {
        Ok(self.journal.clone())
    }
}

#[derive(Debug)]
struct MemoryLock(LockInfo);

#[async_trait]
impl StateLock for MemoryLock {
    fn info(&self) -> &LockInfo {
        &self.0
    }

    async fn release(self: Box<Self>) -> Result<(), StateError> {
        Ok(())
    }
}

/// A [`Ui`] that says nothing, answers yes, and drains a walk's events.
#[derive(Default)]
pub struct Quiet {
    walk: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
}

#[async_trait]
impl Ui for Quiet {
    fn say(&self, _text: &str) {}

    fn warnings(&self, _diagnostics: &Diagnostics, _sources: &SourceMap) {}

    fn show_plan(&self, _plan: &Plan) {}

    fn confirm(&self, _mode: Mode) -> Result<bool, OpsError> {
        Ok(true)
    }

    fn show_targets(&self, _action: Action, _targets: &[Address]) {}

    fn walk_started(&self) -> WalkIo {
        let (interrupt_tx, interrupt) = watch::channel(false);
        let (events, mut events_rx) = mpsc::unbounded_channel();
        let drain = tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
        *self.walk.lock().unwrap() = Some((interrupt_tx, drain));
        WalkIo { interrupt, events }
    }

    async fn walk_finished(&self) {
        let walk = self.walk.lock().unwrap().take();
        if let Some((_interrupt_tx, drain)) = walk {
            let _ = drain.await;
        }
    }
}

/// A module loaded by `ops`, with the test's providers, planned and applied by `ops`.
pub struct Session {
    pub workspace: Workspace,
}

#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    pub mode: Option<Mode>,
    pub targets: Vec<Address>,
    pub replace: Vec<Address>,
    pub refresh: bool,
}

/// Loads and checks a module (`ops::load_with`) with the built-in providers and `fake`;
/// `Err` carries the rendered diagnostics.
pub fn session(dir: &Path, fake: Arc<FakeProvider>) -> Result<Session, String> {
    let mut registry = Registry::new();
    registry.register(Arc::new(fk::provider::builtin::DataProvider));
    registry.register(Arc::new(fk::provider::tls::TlsProvider));
    registry.register(fake);
    session_with(dir, registry)
}

/// [`session`] with the caller's providers.
pub fn session_with(dir: &Path, registry: Registry) -> Result<Session, String> {
    let context = ops::Context::new(std::iter::empty());
    let workspace = ops::load_with(
        dir,
        &VarSources::default(),
        Checks::BeforePlanning,
        &context,
        &Quiet::default(),
        |_, _, _| registry,
    )
    .map_err(|err| rendered(&err))?;
    Ok(Session { workspace })
}

/// An error as the tests compare it: a module's diagnostics without the CLI's count line.
fn rendered(err: &OpsError) -> String {
    match err {
        OpsError::Module {
            diagnostics,
            sources,
        } => diagnostics.render(sources),
        other => other.to_string(),
    }
}

/// The store a plan of `state` starts from: nothing stored while its serial is 0.
fn store_of(state: &State) -> MemoryStore {
    MemoryStore::holding((state.serial > 0).then(|| state.clone()))
}

impl Session {
    /// `ops::plan` against a store holding `state`. `Err` carries rendered diagnostics.
    pub async fn plan(&self, state: &State, options: &PlanOptions) -> Result<Plan, String> {
        let texts = |addresses: &[Address]| addresses.iter().map(ToString::to_string).collect();
        let options = ops::PlanOptions {
            mode: options.mode.unwrap_or(Mode::Normal),
            refresh: options.refresh,
            targets: texts(&options.targets),
            replace: texts(&options.replace),
            parallelism: 10,
            lock_timeout: Duration::ZERO,
        };
        ops::plan(
            &self.workspace,
            &store_of(state),
            &options,
            &Quiet::default(),
        )
        .await
        .map_err(|err| rendered(&err))
    }

    /// `ops::apply_plan` against a store holding the state the plan was made from; returns
    /// the state saved after the walk (serial bumped) and the walk's report.
    pub async fn apply(&self, plan: &Plan, parallelism: usize) -> (State, ApplyReport) {
        let store = MemoryStore::holding(plan.state_serial.map(|_| plan.prior_state.clone()));
        let done = ops::apply_plan(
            &self.workspace,
            &store,
            plan.clone(),
            parallelism,
            Duration::ZERO,
            &Quiet::default(),
        )
        .await
        .unwrap_or_else(|err| panic!("apply: {}", rendered(&err)));
        // The journal replayed over the prior state must be the walk's state.
        let mut replayed = plan.prior_state.clone();
        for record in store.journal.records.lock().unwrap().iter() {
            record.apply_to(&mut replayed);
        }
        assert_eq!(
            replayed.resources, done.report.state.resources,
            "journal and walk disagree"
        );
        let saved = store.state.lock().unwrap().clone();
        assert_eq!(
            saved.as_ref(),
            Some(&done.state),
            "the store holds the saved state"
        );
        (done.state, done.report)
    }
}

pub fn fake(config: FakeConfig) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::new(config))
}

/// Replaces random identities, digests, PEM blocks, timestamps and the line counts of long
/// texts, so snapshots are stable.
pub fn normalize(text: &str) -> String {
    let text = replace_pem_blocks(text);
    let text = replace_timestamps(&text);
    let text = replace_line_counts(&text);
    replace_hex_runs(&text)
}

/// `-----BEGIN X-----...-----END X-----` (with real or JSON-escaped newlines) → `<pem X>`.
fn replace_pem_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after_begin.find("-----") else {
            break;
        };
        let label = &after_begin[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = after_begin.find(&end_marker) else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&format!("<pem {label}>"));
        rest = &after_begin[end + end_marker.len()..];
        // The newline that ends the block belongs to it.
        rest = rest
            .strip_prefix("\\n")
            .or_else(|| rest.strip_prefix('\n'))
            .unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// `2026-11-22T05:00:00Z` → `<time>`.
fn replace_timestamps(text: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:ddZ";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut idx = 0;
    let mut copied = 0;
    while idx + SHAPE.len() <= bytes.len() {
        let fits =
            SHAPE
                .iter()
                .zip(&bytes[idx..idx + SHAPE.len()])
                .all(|(shape, byte)| match shape {
                    b'd' => byte.is_ascii_digit(),
                    other => other == byte,
                });
        if fits {
            out.push_str(&text[copied..idx]);
            out.push_str("<time>");
            idx += SHAPE.len();
            copied = idx;
        } else {
            idx += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `<<-EOT (12 lines)` → `<<-EOT (<n> lines)`: a signature's length varies by a byte or two.
fn replace_line_counts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<<-EOT (") {
        let after = &rest[start + "<<-EOT (".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..start]);
        if digits > 0 && after[digits..].starts_with(" line") {
            out.push_str("<<-EOT (<n>");
            rest = &after[digits..];
        } else {
            out.push_str("<<-EOT (");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn replace_hex_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut idx = 0;
    while idx < chars.len() {
        if let Some(len) = hex_run_at(&chars, idx) {
            let run: String = chars[idx..idx + len].iter().collect();
            if is_uuid(&run) {
                out.push_str("<uuid>");
                idx += len;
                continue;
            }
            if len == 64 {
                out.push_str("<digest>");
                idx += len;
                continue;
            }
            if len == 32 {
                out.push_str("<hex>");
                idx += len;
                continue;
            }
        }
        out.push(chars[idx]);
        idx += 1;
    }
    out
}

fn hex_run_at(chars: &[char], start: usize) -> Option<usize> {
    if start > 0 && (chars[start - 1].is_ascii_hexdigit() || chars[start - 1] == '-') {
        return None;
    }
    let len = chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit() || **c == '-')
        .count();
    (len >= 32).then_some(len)
}

fn is_uuid(run: &str) -> bool {
    let parts: Vec<&str> = run.split('-').collect();
    parts.len() == 5 && parts.iter().map(|part| part.len()).eq([8, 4, 4, 4, 12])
}

/// A loopback port nothing listens on, never one this binary handed out before: the kernel
/// may give a just-released port again, and etcd refuses to start when its metrics port is
/// its peer port (seen once on CI). Shared by every test that starts a server.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}
