//! The apply walk.
