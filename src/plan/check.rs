//! Every check of a module that needs no state, in one place, so that `fk validate` and
//! `fk plan --refresh=false` report the same problems, all at once.
//!
//! After the config phase (parsing, variables, provider blocks) come the schema and
//! reference checks (`validate::check`), the graph (cycles), and a plan of the module from
//! empty state with the variables' values: what only values show (an index out of range, a
//! failing function, a secret reaching an output, a provider refusing a value). A mistake in
//! one phase does not stop the next; what a later phase finds again at the place of an
//! earlier error, or only because of it, is left out.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::Address;
use crate::config::Module;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::graph;
use crate::plan::{Mode, PlanInput, diff};
use crate::provider::Registry;
use crate::state::State;
use crate::validate;
use crate::value::Value;

/// The diagnostics the phases after the config phase add to `earlier` (the config phase's).
/// `evaluate_clean: false` is for a command that plans the module itself next (`fk plan`,
/// `fk apply`): when nothing before the plan from empty state found an error, that plan is
/// skipped, since the command's own diff reports the same mistakes (and a large module is
/// not planned twice); with an error it still runs, so every mistake is reported at once.
pub fn check(
    module: &Module,
    variables: &BTreeMap<String, Value>,
    registry: &Registry,
    earlier: &Diagnostics,
    evaluate_clean: bool,
) -> Diagnostics {
    let mut found = Merged {
        earlier,
        added: Diagnostics::default(),
    };
    found.add(validate::check(module, registry));
    let (dependency_graph, graph_diagnostics) = graph::build(module, None);
    let cyclic = graph_diagnostics.has_errors();
    found.add(graph_diagnostics);
    if cyclic {
        return found.added;
    }
    let had_errors = found.has_errors();
    if !had_errors && !evaluate_clean {
        // The caller plans this module next and reports the same mistakes from that diff.
        return found.added;
    }
    let broken = found.broken_resources(module);
    // A variable without a usable value (already reported) is not known yet.
    let mut values = variables.clone();
    for name in module.variables.keys() {
        values.entry(name.clone()).or_insert(Value::Unknown);
    }
    let empty = State::fresh();
    let (_, plan_diagnostics) = diff(PlanInput {
        module,
        variables: &values,
        state: &empty,
        stored: None,
        registry,
        graph: &dependency_graph,
        mode: Mode::Normal,
        targets: &[],
        replace: &[],
        drift: Vec::new(),
    });
    found.add(plan_diagnostics.into_iter().filter(|diagnostic| {
        let resource_level = matches!(
            diagnostic.code,
            "fk::plan::provider" | "fk::plan::unknown_resource_type"
        );
        let at_broken = diagnostic
            .primary
            .as_ref()
            .is_some_and(|label| broken.iter().any(|span| overlaps(*span, label.span)));
        diagnostic.is_error()
            && !(had_errors && diagnostic.code == "fk::eval::unknown_reference")
            && !(resource_level && at_broken)
    }));
    found.added
}

struct Merged<'e> {
    earlier: &'e Diagnostics,
    added: Diagnostics,
}

impl Merged<'_> {
    fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.earlier
            .iter()
            .chain(self.added.iter())
            .filter(|diagnostic| diagnostic.is_error())
    }

    fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Adds what is not at the place of an error already found. A later diagnostic that says
    /// more about an error a later phase found (same code, one of its other labels at that
    /// error's place: the plan, knowing the variables, points at the one a value came from)
    /// takes that error's place.
    fn add(&mut self, more: impl IntoIterator<Item = Diagnostic>) {
        let taken: BTreeSet<Span> = self
            .errors()
            .filter_map(|diagnostic| diagnostic.primary.as_ref().map(|label| label.span))
            .collect();
        for diagnostic in more {
            let repeats = diagnostic
                .primary
                .as_ref()
                .is_some_and(|label| taken.iter().any(|span| overlaps(*span, label.span)));
            if repeats {
                continue;
            }
            let widens = self.added.0.iter().position(|found| {
                found.is_error()
                    && found.code == diagnostic.code
                    && found.primary.as_ref().is_some_and(|primary| {
                        diagnostic
                            .secondary
                            .iter()
                            .any(|label| overlaps(label.span, primary.span))
                    })
            });
            match widens {
                Some(index) => self.added.0[index] = diagnostic,
                None => self.added.push(diagnostic),
            }
        }
    }

    /// The header spans of the resources with an error inside them.
    fn broken_resources(&self, module: &Module) -> Vec<Span> {
        let error_spans: Vec<Span> = self
            .errors()
            .filter_map(|diagnostic| diagnostic.primary.as_ref().map(|label| label.span))
            .collect();
        let mut broken: BTreeMap<&Address, Vec<Span>> = BTreeMap::new();
        for resource in module.resources.values() {
            let mut spans = vec![resource.span, resource.type_span];
            for attr in resource.attributes.values() {
                spans.push(attr.key_span);
                spans.push(attr.value.span);
            }
            if error_spans
                .iter()
                .any(|error| spans.iter().any(|span| overlaps(*span, *error)))
            {
                broken.insert(&resource.address, vec![resource.span, resource.type_span]);
            }
        }
        broken.into_values().flatten().collect()
    }
}

/// Two spans share a byte, or are the same empty place, in one file.
fn overlaps(left: Span, right: Span) -> bool {
    left.file == right.file && (left == right || (left.start < right.end && right.start < left.end))
}
