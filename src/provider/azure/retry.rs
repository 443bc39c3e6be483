//! Which ARM failures are retried, and how long to wait.
//!
//! One function, [`is_retryable`], decides from the status, the ARM code and whether the
//! request got an answer at all; its table is tested. [`RetryPolicy`] turns an attempt
//! number and a `Retry-After` into a bounded, jittered exponential delay.

use std::future::Future;
use std::time::Duration;

use super::error::ArmError;

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A client error or a permanent failure: report it.
    Never,
    /// Throttled, a server error, another operation holding the resource, or no answer:
    /// wait and send again.
    Backoff,
    /// `MissingSubscriptionRegistration`: register the namespace, then send again.
    RegisterNamespace,
}

/// ARM codes for "another operation holds this resource": transient despite their 409.
const ANOTHER_OPERATION_CODES: &[&str] = &[
    "AnotherOperationInProgress",
    "RetryableErrorDueToAnotherOperation",
    "OperationInProgress",
    "ConflictingOperationInProgress",
    // ACI: "container group ... is still transitioning, please retry later" (a start right
    // after a stop, a PUT while a restart runs).
    "ContainerGroupTransitioning",
];

/// True for a 409 whose message says another operation holds the resource, whatever its
/// code ("... is still transitioning, please retry later", "another operation is in
/// progress").
pub(crate) fn says_another_operation(status: Option<u16>, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    status == Some(409)
        && (message.contains("still transitioning")
            || message.contains("another operation")
            || message.contains("operation is in progress"))
}

/// One retry about to happen, for the user to see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RetryNotice {
    /// The failed attempt (1-based).
    pub(crate) attempt: u32,
    pub(crate) delay: Duration,
    /// `throttled by Azure (429)`, `Azure answered 503`, `another operation holds the
    /// resource (409 ContainerGroupTransitioning)`, `no answer`.
    pub(crate) reason: String,
    /// `GET /subscriptions/.../containerGroups/fk-etcd`: never a body, never a secret.
    pub(crate) request: String,
}

fn retry_reason(error: &ArmError, transport: bool) -> String {
    if transport {
        return "no answer from Azure".into();
    }
    let status = error.status().unwrap_or_default();
    let code = error
        .arm_code()
        .map(|code| format!(" {code}"))
        .unwrap_or_default();
    match status {
        429 => format!("throttled by Azure (429{code})"),
        409 => format!("another operation holds the resource (409{code})"),
        _ => format!("Azure answered {status}{code}"),
    }
}

fn error_request(error: &ArmError) -> String {
    match error {
        ArmError::Http { method, path, .. } | ArmError::Transport { method, path, .. } => {
            format!("{method} {path}")
        }
        _ => String::new(),
    }
}

/// The decision table. `status` is `None` when no answer came (`transport_error`).
pub(crate) fn is_retryable(
    status: Option<u16>,
    arm_code: Option<&str>,
    transport_error: bool,
) -> Retry {
    if transport_error {
        return Retry::Backoff;
    }
    let Some(status) = status else {
        return Retry::Never;
    };
    if arm_code == Some("MissingSubscriptionRegistration") {
        return Retry::RegisterNamespace;
    }
    if arm_code.is_some_and(|code| ANOTHER_OPERATION_CODES.contains(&code)) {
        return Retry::Backoff;
    }
    match status {
        429 => Retry::Backoff,
        // Not implemented / version not supported will not change by waiting.
        501 | 505 => Retry::Never,
        500..=599 => Retry::Backoff,
        _ => Retry::Never,
    }
}

/// Bounds on retrying one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub(crate) max_attempts: u32,
    /// Delay before the second attempt; doubles after each further one.
    pub(crate) base_delay: Duration,
    /// No single wait is longer, whatever `Retry-After` says.
    pub(crate) max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// True when a failed `attempt` (1-based) may be followed by another.
    pub(crate) fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The wait after failed `attempt` (1-based). `Retry-After` is honoured as a floor;
    /// otherwise `base · 2^(attempt-1)` scaled by `jitter` in `[0.5, 1.0]` ("equal jitter").
    /// `jitter_unit` is a number in `[0, 1)`; [`jitter_unit`] gives a random one.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter_unit: f64,
    ) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let backoff = self.base_delay.saturating_mul(1 << exponent);
        let jittered = backoff.mul_f64(0.5 + 0.5 * jitter_unit.clamp(0.0, 1.0));
        let wanted = match retry_after {
            Some(after) => after.max(jittered),
            None => jittered,
        };
        wanted.min(self.max_delay)
    }
}

/// A random number in `[0, 1)` for jitter, from the v4 UUID generator (no extra crate).
pub(crate) fn jitter_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After` in seconds (ARM never sends the HTTP-date form).
pub(crate) fn parse_retry_after(header: Option<&str>) -> Option<Duration> {
    let seconds: f64 = header?.trim().parse().ok()?;
    // Clamped to a day so an absurd header cannot overflow a Duration.
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// One failed attempt, before the retry decision.
pub(crate) struct FailedAttempt {
    pub(crate) error: ArmError,
    pub(crate) retry_after: Option<Duration>,
    /// No answer came (connection refused, reset, timed out).
    pub(crate) transport: bool,
}

/// Runs `attempt` (given the 1-based attempt number) until it succeeds, fails in a way
/// [`is_retryable`] does not retry, or the policy's attempts run out; sleeps between.
#[cfg(test)]
pub(crate) async fn with_retries<T, Fut>(
    policy: &RetryPolicy,
    attempt: impl FnMut(u32) -> Fut,
) -> Result<T, ArmError>
where
    Fut: Future<Output = Result<T, FailedAttempt>>,
{
    with_retries_observed(policy, &|_| {}, attempt).await
}

/// [`with_retries`], telling `observe` about every retry before it waits.
pub(crate) async fn with_retries_observed<T, Fut>(
    policy: &RetryPolicy,
    observe: &(dyn Fn(&RetryNotice) + Send + Sync),
    mut attempt: impl FnMut(u32) -> Fut,
) -> Result<T, ArmError>
where
    Fut: Future<Output = Result<T, FailedAttempt>>,
{
    let mut attempt_number = 1;
    loop {
        let failed = match attempt(attempt_number).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        let status = failed.error.status();
        let mut decision = is_retryable(status, failed.error.arm_code(), failed.transport);
        if decision == Retry::Never && says_another_operation(status, &error_message(&failed.error))
        {
            decision = Retry::Backoff;
        }
        if decision != Retry::Backoff || !policy.allows_another(attempt_number) {
            return Err(failed.error);
        }
        let delay = policy.delay(attempt_number, failed.retry_after, jitter_unit());
        observe(&RetryNotice {
            attempt: attempt_number,
            delay,
            reason: retry_reason(&failed.error, failed.transport),
            request: error_request(&failed.error),
        });
        tokio::time::sleep(delay).await;
        attempt_number += 1;
    }
}

fn error_message(error: &ArmError) -> String {
    match error {
        ArmError::Http {
            cloud_error: Some(cloud),
            ..
        } => cloud.message.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn http_failure(status: u16, retry_after: Option<u64>) -> FailedAttempt {
        FailedAttempt {
            error: ArmError::Http {
                method: "GET".into(),
                path: "/x".into(),
                status,
                cloud_error: None,
                request_id: None,
            },
            retry_after: retry_after.map(Duration::from_secs),
            transport: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_retry_after_then_backs_off_exponentially() {
        let started = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let result = with_retries(&RetryPolicy::default(), |attempt| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                match attempt {
                    1 => Err(http_failure(429, Some(7))),
                    2 => Err(http_failure(503, None)),
                    _ => Ok("done"),
                }
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let waited = started.elapsed();
        // 7 s from Retry-After, then 4 s of backoff scaled by jitter into [2 s, 4 s].
        assert!(waited >= Duration::from_secs(9), "waited {waited:?}");
        assert!(waited <= Duration::from_secs(11), "waited {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_and_never_retries_client_errors() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let throttled: Result<(), ArmError> = with_retries(&policy, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(http_failure(429, Some(1))) }
        })
        .await;
        assert_eq!(throttled.map_err(|e| e.status()), Err(Some(429)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let rejected: Result<(), ArmError> = with_retries(&policy, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(http_failure(400, None)) }
        })
        .await;
        assert!(rejected.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    fn conflict(code: &str, message: &str) -> FailedAttempt {
        FailedAttempt {
            error: ArmError::Http {
                method: "POST".into(),
                path: "/cg/start".into(),
                status: 409,
                cloud_error: Some(Box::new(crate::provider::azure::error::CloudError {
                    code: code.into(),
                    message: message.into(),
                    details: Vec::new(),
                })),
                request_id: None,
            },
            retry_after: None,
            transport: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transitioning_conflicts_are_retried_with_backoff_and_shown() {
        let notices = std::sync::Mutex::new(Vec::new());
        let observe = |notice: &RetryNotice| {
            if let Ok(mut notices) = notices.lock() {
                notices.push(notice.clone());
            }
        };
        let started = tokio::time::Instant::now();
        let result =
            with_retries_observed(&RetryPolicy::default(), &observe, |attempt| async move {
                match attempt {
                    1 => Err(conflict(
                        "ContainerGroupTransitioning",
                        "The container group 'fk-etcd' is still transitioning, please retry later.",
                    )),
                    // The same answer under a generic code is still "retry later".
                    2 => Err(conflict(
                        "Conflict",
                        "The container group 'fk-etcd' is still transitioning, please retry later.",
                    )),
                    _ => Ok("started"),
                }
            })
            .await;
        assert_eq!(result, Ok("started"));
        let notices = notices.into_inner().unwrap_or_default();
        assert_eq!(notices.len(), 2);
        assert_eq!(
            notices[0].reason,
            "another operation holds the resource (409 ContainerGroupTransitioning)"
        );
        assert_eq!(notices[0].request, "POST /cg/start");
        // Exponential backoff from 2 s with equal jitter: [1, 2] s then [2, 4] s.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(3), "waited {waited:?}");
        assert!(waited <= Duration::from_secs(6), "waited {waited:?}");
        // A plain conflict is a real one: not retried.
        let calls = AtomicU32::new(0);
        let plain: Result<(), ArmError> = with_retries(&RetryPolicy::default(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(conflict("Conflict", "The resource already exists.")) }
        })
        .await;
        assert!(plain.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retry_decision_table() {
        let table: &[(Option<u16>, Option<&str>, bool, Retry)] = &[
            (None, None, true, Retry::Backoff),
            (Some(429), None, false, Retry::Backoff),
            (Some(429), Some("TooManyRequests"), false, Retry::Backoff),
            (Some(500), None, false, Retry::Backoff),
            (Some(502), None, false, Retry::Backoff),
            (Some(503), Some("ServiceUnavailable"), false, Retry::Backoff),
            (Some(504), None, false, Retry::Backoff),
            (Some(408), None, false, Retry::Never),
            (Some(501), None, false, Retry::Never),
            (Some(505), None, false, Retry::Never),
            (Some(507), None, false, Retry::Backoff),
            (
                Some(400),
                Some("InvalidContainerGroupUpdate"),
                false,
                Retry::Never,
            ),
            (
                Some(400),
                Some("DnsNameLabelAlreadyTaken"),
                false,
                Retry::Never,
            ),
            (Some(401), None, false, Retry::Never),
            (Some(403), Some("AuthorizationFailed"), false, Retry::Never),
            (Some(404), Some("ResourceNotFound"), false, Retry::Never),
            (Some(409), Some("Conflict"), false, Retry::Never),
            (
                Some(409),
                Some("AnotherOperationInProgress"),
                false,
                Retry::Backoff,
            ),
            (
                Some(429),
                Some("RetryableErrorDueToAnotherOperation"),
                false,
                Retry::Backoff,
            ),
            (
                Some(409),
                Some("ContainerGroupTransitioning"),
                false,
                Retry::Backoff,
            ),
            (
                Some(409),
                Some("MissingSubscriptionRegistration"),
                false,
                Retry::RegisterNamespace,
            ),
            (None, None, false, Retry::Never),
        ];
        for (status, code, transport, expected) in table {
            assert_eq!(
                is_retryable(*status, *code, *transport),
                *expected,
                "status {status:?} code {code:?} transport {transport}"
            );
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, None, 1.0), Duration::from_secs(2));
        assert_eq!(policy.delay(1, None, 0.0), Duration::from_secs(1));
        assert_eq!(policy.delay(3, None, 1.0), Duration::from_secs(8));
        assert_eq!(policy.delay(30, None, 1.0), policy.max_delay);
        assert!(policy.allows_another(5));
        assert!(!policy.allows_another(6));
    }

    #[test]
    fn retry_after_is_a_floor_but_capped() {
        let policy = RetryPolicy::default();
        let after = Some(Duration::from_secs(17));
        assert_eq!(policy.delay(1, after, 0.3), Duration::from_secs(17));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600)), 0.3),
            policy.max_delay
        );
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(Some("soon")), None);
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(
            parse_retry_after(Some("1e300")),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn jitter_is_in_unit_interval() {
        for _ in 0..100 {
            let unit = jitter_unit();
            assert!((0.0..1.0).contains(&unit));
        }
    }
}
