//! The plan: a pure diff of the module against state.
