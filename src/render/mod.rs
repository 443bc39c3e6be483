//! Rendering: plans as text and JSON, apply progress and summaries. No logic of its own:
//! everything shown is decided by the plan and the walk.

pub mod plan_json;
pub mod plan_text;

pub use plan_json::plan_json;
pub use plan_text::plan_text;
