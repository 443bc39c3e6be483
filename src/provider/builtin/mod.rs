//! Built-in resource types that live only in state, owned by the `builtin` provider.

pub(crate) mod data;

pub use data::DataProvider;
