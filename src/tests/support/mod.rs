//! What the integration tests share: an in-memory journal, and the engine run in-process the
//! way the CLI runs it (parse → validate → graph → refresh → plan → apply).
pub mod azurite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fk::addr::Address;
use fk::apply::{self, ApplyInput, ApplyReport};
use fk::config::{self, Module};
use fk::diag::Diagnostics;
use fk::plan::{self, Mode, Plan, PlanInput};
use fk::provider::Registry;
use fk::provider::builtin::DataProvider;
use fk::provider::fake::{FakeConfig, FakeProvider};
use fk::provider::tls::TlsProvider;
use fk::state::{Journal, JournalRecord, State, StateError};
use fk::value::Value;
use fk::walk::WalkInput;
use tokio::sync::{mpsc, watch};

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

pub struct Session {
    pub module: Module,
    pub variables: BTreeMap<String, Value>,
    pub registry: Registry,
}

#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    pub mode: Option<Mode>,
    pub targets: Vec<Address>,
    pub replace: Vec<Address>,
    pub refresh: bool,
}

/// Parses and validates a module; panics with the rendered diagnostics if it has errors.
pub fn session(
    dir: &Path,
    fake: Arc<FakeProvider>,
    variables: BTreeMap<String, Value>,
) -> Result<Session, String> {
    let (module, mut diagnostics) = config::parse(dir);
    let mut registry = Registry::new();
    registry.register(Arc::new(DataProvider));
    registry.register(Arc::new(TlsProvider));
    registry.register(fake);
    let (mut resolved, var_diagnostics) = config::variables::resolve(&module, &[]);
    diagnostics.extend(var_diagnostics);
    resolved.extend(variables);
    if !diagnostics.has_errors() {
        diagnostics.extend(fk::validate::check(&module, &registry));
    }
    if diagnostics.has_errors() {
        return Err(diagnostics.render(&module.sources));
    }
    Ok(Session {
        module,
        variables: resolved,
        registry,
    })
}

impl Session {
    /// Refresh (when asked) and diff. `Err` carries rendered diagnostics.
    pub async fn plan(&self, state: &State, options: &PlanOptions) -> Result<Plan, String> {
        let (refreshed, drift) = if options.refresh {
            fk::refresh::refresh(state, &self.registry, 10)
                .await
                .map_err(|errors| format!("{errors:?}"))?
        } else {
            (state.clone(), Vec::new())
        };
        let (graph, graph_diagnostics) = fk::graph::build(&self.module, Some(&refreshed));
        if graph_diagnostics.has_errors() {
            return Err(graph_diagnostics.render(&self.module.sources));
        }
        let stored = (state.serial > 0).then(|| (state.lineage.clone(), state.serial));
        let (plan, diagnostics): (Plan, Diagnostics) = plan::diff(PlanInput {
            module: &self.module,
            variables: &self.variables,
            state: &refreshed,
            stored,
            registry: &self.registry,
            graph: &graph,
            mode: options.mode.unwrap_or(Mode::Normal),
            targets: &options.targets,
            replace: &options.replace,
            drift,
        });
        if diagnostics.has_errors() {
            return Err(diagnostics.render(&self.module.sources));
        }
        Ok(plan)
    }

    /// Applies a plan; returns the new state (serial bumped) and the walk's report.
    pub async fn apply(&self, plan: &Plan, parallelism: usize) -> (State, ApplyReport) {
        let journal = Arc::new(MemoryJournal::default());
        let (_interrupt_tx, interrupt_rx) = watch::channel(false);
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let drain = tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
        let report = apply::run(ApplyInput {
            plan,
            module: &self.module,
            walk: WalkInput {
                registry: &self.registry,
                state: plan.prior_state.clone(),
                journal: journal.clone(),
                parallelism,
                interrupt: interrupt_rx,
                events: events_tx,
            },
        })
        .await;
        let _ = drain.await;
        // The journal replayed over the prior state must be the walk's state.
        let mut replayed = plan.prior_state.clone();
        for record in journal.records.lock().unwrap().iter() {
            record.apply_to(&mut replayed);
        }
        assert_eq!(
            replayed.resources, report.state.resources,
            "journal and walk disagree"
        );
        let mut state = report.state.clone();
        state.serial = plan.prior_state.serial + 1;
        (state, report)
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
