//! Plan and progress rendering: text and JSON; no logic of its own.
