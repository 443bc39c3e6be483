//! Semantic checks of a parsed module: every problem at once.
