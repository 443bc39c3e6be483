//! Built-in resource types that live only in state, owned by the `builtin` provider.

pub mod data;

pub use data::DataProvider;
