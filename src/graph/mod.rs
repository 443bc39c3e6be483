//! The dependency graph: the only user of petgraph.
//!
//! Nodes are resource addresses: every resource of the module and every resource of the
//! state that the module no longer declares (an orphan, to be deleted). An edge `a → b` means
//! `b` depends on `a`: `a` is created first and deleted last. Edges come from references,
//! `depends_on`, and, for orphans, the dependencies recorded in state.
//!
//! Invariant: a graph returned without errors is acyclic.

mod render;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::addr::Address;
use crate::config::{Module, RefTarget, references};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::state::State;

/// Why one resource depends on another; `span` is where the module says so (none for edges
/// recorded in state).
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub(crate) span: Option<Span>,
    pub(crate) explicit: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct DependencyGraph {
    graph: DiGraph<Address, Edge>,
    index: BTreeMap<Address, NodeIndex>,
    /// Edges already present: petgraph's `find_edge` walks a node's edges, which made a
    /// wide fan-out quadratic to build.
    edges: std::collections::HashSet<(NodeIndex, NodeIndex)>,
}

/// Builds the graph of a module and the orphans of its state. Cycles are diagnostics that
/// name every edge of the cycle.
pub(crate) fn build(module: &Module, state: Option<&State>) -> (DependencyGraph, Diagnostics) {
    let mut dependency_graph = DependencyGraph::default();
    for address in module.resources.keys() {
        dependency_graph.add_node(address.clone());
    }
    for (address, resource) in &module.resources {
        for attr in resource.attributes.values() {
            for (reference, span) in references(&attr.value) {
                if let RefTarget::Resource(target) = &reference.target {
                    dependency_graph.add_edge(target, address, Some(span), false);
                }
            }
        }
        for (target, span) in &resource.depends_on {
            dependency_graph.add_edge(target, address, Some(*span), true);
        }
    }
    if let Some(state) = state {
        let orphans = state
            .resources
            .values()
            .map(|resource| resource.address())
            .chain(
                state
                    .deposed
                    .values()
                    .flatten()
                    .map(|resource| resource.address()),
            )
            .filter(|address| !module.resources.contains_key(address))
            .collect::<BTreeSet<_>>();
        for address in &orphans {
            dependency_graph.add_node(address.clone());
        }
        for resource in state.resources.values() {
            let address = resource.address();
            if !orphans.contains(&address) {
                continue;
            }
            for dependency in &resource.dependencies {
                if let Some(target) = Address::parse(dependency) {
                    dependency_graph.add_edge(&target, &address, None, false);
                }
            }
        }
    }
    let diagnostics = dependency_graph.cycle_diagnostics();
    (dependency_graph, diagnostics)
}

impl DependencyGraph {
    pub(crate) fn add_node(&mut self, address: Address) -> NodeIndex {
        if let Some(idx) = self.index.get(&address) {
            return *idx;
        }
        let idx = self.graph.add_node(address.clone());
        self.index.insert(address, idx);
        idx
    }

    /// `dependent` depends on `dependency`. Edges to unknown nodes are ignored (validation
    /// reports unknown references).
    pub(crate) fn add_edge(
        &mut self,
        dependency: &Address,
        dependent: &Address,
        span: Option<Span>,
        explicit: bool,
    ) {
        let (Some(from), Some(to)) = (self.index.get(dependency), self.index.get(dependent)) else {
            return;
        };
        if self.edges.insert((*from, *to)) {
            self.graph.add_edge(*from, *to, Edge { span, explicit });
        }
    }

    pub(crate) fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }

    pub(crate) fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.index.keys()
    }

    /// Direct dependencies, sorted.
    pub(crate) fn dependencies(&self, address: &Address) -> Vec<Address> {
        self.neighbours(address, petgraph::Direction::Incoming)
    }

    /// Direct dependents, sorted.
    pub(crate) fn dependents(&self, address: &Address) -> Vec<Address> {
        self.neighbours(address, petgraph::Direction::Outgoing)
    }

    fn neighbours(&self, address: &Address, direction: petgraph::Direction) -> Vec<Address> {
        let Some(idx) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<Address> = self
            .graph
            .neighbors_directed(*idx, direction)
            .map(|neighbour| self.graph[neighbour].clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The addresses and everything they depend on, transitively (for `--target`).
    pub(crate) fn with_ancestors(&self, addresses: &[Address]) -> BTreeSet<Address> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<NodeIndex> = addresses
            .iter()
            .filter_map(|address| self.index.get(address).copied())
            .collect();
        while let Some(idx) = queue.pop_front() {
            if seen.insert(self.graph[idx].clone()) {
                queue.extend(
                    self.graph
                        .neighbors_directed(idx, petgraph::Direction::Incoming),
                );
            }
        }
        seen
    }

    /// Every node, dependencies before dependents; ties broken by address so the order is
    /// stable. Nodes on a cycle are left out (a graph with cycles has diagnostics).
    pub(crate) fn topological_order(&self) -> Vec<Address> {
        let mut in_degree: Vec<usize> = self
            .graph
            .node_indices()
            .map(|idx| {
                self.graph
                    .neighbors_directed(idx, petgraph::Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BTreeSet<(Address, NodeIndex)> = self
            .graph
            .node_indices()
            .filter(|idx| in_degree[idx.index()] == 0)
            .map(|idx| (self.graph[idx].clone(), idx))
            .collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some((address, idx)) = ready.pop_first() {
            order.push(address);
            for next in self
                .graph
                .neighbors_directed(idx, petgraph::Direction::Outgoing)
            {
                in_degree[next.index()] -= 1;
                if in_degree[next.index()] == 0 {
                    ready.insert((self.graph[next].clone(), next));
                }
            }
        }
        order
    }

    fn cycle_diagnostics(&self) -> Diagnostics {
        let mut diagnostics = Diagnostics::default();
        for component in tarjan_scc(&self.graph) {
            let is_cycle =
                component.len() > 1 || self.graph.find_edge(component[0], component[0]).is_some();
            if !is_cycle {
                continue;
            }
            let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
            let cycle = self.cycle_within(&members);
            let names: Vec<String> = cycle
                .iter()
                .map(|idx| format!("`{}`", self.graph[*idx]))
                .collect();
            let mut diagnostic = Diagnostic::error(
                "fk::graph::cycle",
                format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
            );
            for (position, from) in cycle.iter().enumerate() {
                let to = cycle[(position + 1) % cycle.len()];
                let Some(edge) = self.graph.find_edge(*from, to) else {
                    continue;
                };
                let edge = &self.graph[edge];
                let label = format!(
                    "`{}` depends on `{}` here",
                    self.graph[to], self.graph[*from]
                );
                if let Some(span) = edge.span {
                    diagnostic = if diagnostic.primary.is_none() {
                        diagnostic.at(span, label)
                    } else {
                        diagnostic.also(span, label)
                    };
                }
            }
            diagnostics.push(diagnostic.help(
                "break the cycle: remove one of these references or `depends_on` entries; \
                 a `dns_label` resource pins a name before anything that uses it exists",
            ));
        }
        diagnostics
    }

    /// One simple cycle through the members of a strongly connected component, starting at
    /// its smallest address.
    fn cycle_within(&self, members: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
        let Some(start) = members.iter().min_by_key(|idx| &self.graph[**idx]).copied() else {
            return Vec::new();
        };
        // Breadth-first from `start` back to `start`, staying inside the component.
        let mut previous: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut found = None;
        'search: while let Some(idx) = queue.pop_front() {
            let mut nexts: Vec<_> = self
                .graph
                .edges_directed(idx, petgraph::Direction::Outgoing)
                .map(|edge| edge.target())
                .filter(|next| members.contains(next))
                .collect();
            nexts.sort_by_key(|next| &self.graph[*next]);
            for next in nexts {
                if next == start {
                    found = Some(idx);
                    break 'search;
                }
                if let std::collections::btree_map::Entry::Vacant(entry) = previous.entry(next) {
                    entry.insert(idx);
                    queue.push_back(next);
                }
            }
        }
        let mut cycle = Vec::new();
        let mut cursor = found;
        while let Some(idx) = cursor {
            cycle.push(idx);
            if idx == start {
                break;
            }
            cursor = previous.get(&idx).copied();
        }
        cycle.reverse();
        cycle
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::parse_sources;

    fn module(text: &str) -> Module {
        let (module, diagnostics) = parse_sources(
            "m",
            &PathBuf::from("m"),
            vec![(PathBuf::from("m/main.toml"), text.to_string())],
        );
        assert!(
            !diagnostics.has_errors(),
            "{}",
            diagnostics.render(&module.sources)
        );
        module
    }

    #[test]
    fn a_cycle_names_every_edge_with_its_place() {
        let module = module(
            "[resource.data.a]\ninput = \"${data.c.output}\"\n\n\
             [resource.data.b]\ninput = \"${data.a.output}\"\n\n\
             [resource.data.c]\ninput = \"x\"\ndepends_on = [\"data.b\"]\n\n\
             [resource.data.free]\ninput = \"y\"\n",
        );
        let (graph, diagnostics) = build(&module, None);
        assert_eq!(diagnostics.n_errors(), 1);
        let diagnostic = diagnostics.iter().next().unwrap();
        assert_eq!(diagnostic.code, "fk::graph::cycle");
        assert_eq!(
            diagnostic.message,
            "dependency cycle: `data.a` → `data.b` → `data.c` → `data.a`"
        );
        let rendered = diagnostic.render(&module.sources);
        for (line, label) in [
            ("m/main.toml:5:12", "`data.b` depends on `data.a` here"),
            ("m/main.toml:9:15", "`data.c` depends on `data.b` here"),
            ("m/main.toml:2:12", "`data.a` depends on `data.c` here"),
        ] {
            assert!(rendered.contains(line), "{line} missing:\n{rendered}");
            assert!(rendered.contains(label), "{label} missing:\n{rendered}");
        }
        // Only the node off the cycle has an order.
        assert_eq!(
            graph.topological_order(),
            vec![Address::new("data", "free")]
        );
    }

    #[test]
    fn order_puts_dependencies_first_and_renders_dot_and_mermaid() {
        let module = module(
            "[resource.data.etcd]\ninput = \"e\"\n\n\
             [resource.data.apiserver]\ninput = \"${data.etcd.output}\"\n\n\
             [resource.data.scheduler]\ninput = \"s\"\ndepends_on = [\"data.apiserver\"]\n",
        );
        let (graph, diagnostics) = build(&module, None);
        assert!(diagnostics.is_empty());
        let order: Vec<String> = graph
            .topological_order()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(order, ["data.etcd", "data.apiserver", "data.scheduler"]);
        let dot = graph.to_dot();
        assert!(
            dot.contains("\"data.etcd\" -> \"data.apiserver\";"),
            "{dot}"
        );
        assert!(
            dot.contains("\"data.apiserver\" -> \"data.scheduler\" [style = dashed];"),
            "{dot}"
        );
        let mermaid = graph.to_mermaid();
        assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
        assert!(mermaid.contains("n1[\"data.etcd\"]"), "{mermaid}");
        assert!(mermaid.contains("n1 --> n0"), "{mermaid}");
        assert!(mermaid.contains("n0 -.-> n2"), "{mermaid}");
    }
}
