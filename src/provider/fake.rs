//! An in-memory provider with real semantics, for engine tests.
