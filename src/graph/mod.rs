//! The dependency graph: the only user of petgraph.
