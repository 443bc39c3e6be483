//! Built-in resource types that live only in state.
