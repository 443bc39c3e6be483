//! What every route is given besides the world: the request's time, the public URL and
//! api-version, the provisioning delay, the validators and the faults that shape answers.

use crate::schema::SpecValidator;

/// What a route needs besides the world: the time, the public URL, the api-version, the
/// provisioning delay, the validator and the names whose provisioning must fail.
pub(crate) struct RequestContext<'a> {
    pub now_ms: u64,
    pub base_url: &'a str,
    pub api_version: &'a str,
    pub delay_ms: u64,
    pub validator: Option<&'a SpecValidator>,
    /// Validates file-share bodies (`FileShare` of `file.json`), when that spec is present.
    pub file_share_validator: Option<&'a SpecValidator>,
    pub fail_operations: &'a [String],
    /// Whether resource providers must be registered before use (a fault).
    pub require_registration: bool,
    /// How long after a stop a start is refused as transitioning (a fault).
    pub stop_transition_ms: u64,
    /// The `tail` query parameter (container logs).
    pub tail: Option<usize>,
}

impl RequestContext<'_> {
    pub(crate) fn fails_operation(&self, group_name: &str) -> bool {
        self.fail_operations
            .iter()
            .any(|name| name.eq_ignore_ascii_case(group_name))
    }
}
