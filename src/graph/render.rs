//! The graph as DOT (Graphviz) and as a mermaid flowchart, stable and sorted.

use std::fmt::Write as _;

use super::DependencyGraph;

impl DependencyGraph {
    /// `digraph fk { "a" -> "b"; }`: an arrow from a dependency to its dependent.
    pub(crate) fn to_dot(&self) -> String {
        let mut out = String::from("digraph fk {\n  rankdir = LR;\n  node [shape = box];\n");
        for address in self.addresses() {
            let _ = writeln!(out, "  \"{address}\";");
        }
        for (from, to, explicit) in self.sorted_edges() {
            let style = if explicit { " [style = dashed]" } else { "" };
            let _ = writeln!(out, "  \"{from}\" -> \"{to}\"{style};");
        }
        out.push_str("}\n");
        out
    }

    /// `flowchart LR` with one node per resource; ids are `n0`, `n1`, ... by address order.
    pub(crate) fn to_mermaid(&self) -> String {
        let ids: std::collections::BTreeMap<String, String> = self
            .addresses()
            .enumerate()
            .map(|(idx, address)| (address.to_string(), format!("n{idx}")))
            .collect();
        let mut out = String::from("flowchart LR\n");
        for (address, id) in &ids {
            let _ = writeln!(out, "  {id}[\"{address}\"]");
        }
        for (from, to, explicit) in self.sorted_edges() {
            let arrow = if explicit { "-.->" } else { "-->" };
            let _ = writeln!(out, "  {} {arrow} {}", ids[&from], ids[&to]);
        }
        out
    }

    fn sorted_edges(&self) -> Vec<(String, String, bool)> {
        let mut edges: Vec<(String, String, bool)> = self
            .graph
            .edge_indices()
            .filter_map(|edge| {
                let (from, to) = self.graph.edge_endpoints(edge)?;
                Some((
                    self.graph[from].to_string(),
                    self.graph[to].to_string(),
                    self.graph[edge].explicit,
                ))
            })
            .collect();
        edges.sort();
        edges
    }
}
