//! Fault injection for ARM routes: throttling (429 + `Retry-After`), a burst of 5xx,
//! latency, failed provisioning for chosen names and the provider-registration requirement.
//! Deterministic for a given seed.

use crate::arm_response::ArmResponse;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The faults an emulator injects; also the body of `PUT /_emulator/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Fraction (0.0–1.0) of ARM requests answered 429 `TooManyRequests`.
    pub throttle_rate: f64,
    /// The `Retry-After` seconds sent with 429 and 503 answers.
    pub retry_after_secs: u64,
    /// The next N ARM requests fail: alternately 503 (with `Retry-After`) and 500.
    pub fail_5xx: u32,
    /// Added before every ARM request is handled.
    pub latency_ms: u64,
    /// Container-group names whose provisioning ends `Failed`.
    pub fail_operations: Vec<String>,
    /// When true, resource-provider namespaces answer `MissingSubscriptionRegistration`
    /// until `POST /subscriptions/{sub}/providers/{ns}/register`.
    pub require_registration: bool,
    /// Seed of the throttling draw; the same seed gives the same 429s.
    pub seed: u64,
    /// For this long after a stop, a start is answered 409 `ContainerGroupTransitioning`
    /// ("still transitioning, please retry later"), as ACI does right after a stop.
    pub stop_transition_ms: u64,
}

/// The live fault state: the configuration plus its random stream and burst counter.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    pub config: FaultConfig,
    random_state: u64,
    n_5xx_sent: u32,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let random_state = config.seed;
        FaultInjector {
            config,
            random_state,
            n_5xx_sent: 0,
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.config.latency_ms)
    }

    /// The fault answer for the next ARM request, if it gets one.
    pub(crate) fn next_fault(&mut self) -> Option<ArmResponse> {
        if self.n_5xx_sent < self.config.fail_5xx {
            self.n_5xx_sent += 1;
            if self.n_5xx_sent % 2 == 1 {
                return Some(
                    ArmResponse::cloud_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        "The service is temporarily unavailable. Please retry later.",
                    )
                    .with_header("retry-after", self.config.retry_after_secs.to_string()),
                );
            }
            return Some(ArmResponse::cloud_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Encountered internal server error. Please try again.",
            ));
        }
        if self.config.throttle_rate > 0.0 && self.next_unit_draw() < self.config.throttle_rate {
            let seconds = self.config.retry_after_secs;
            return Some(
                ArmResponse::cloud_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    format!(
                        "The request is being throttled as the limit has been reached for this \
                         subscription. Please retry after {seconds} seconds."
                    ),
                )
                .with_header("retry-after", seconds.to_string()),
            );
        }
        None
    }

    /// A uniform draw in [0, 1) from a splitmix64 stream.
    fn next_unit_draw(&mut self) -> f64 {
        self.random_state = self.random_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.random_state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^= mixed >> 31;
        (mixed >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_throttled(seed: u64, n_requests: usize) -> usize {
        let mut injector = FaultInjector::new(FaultConfig {
            throttle_rate: 0.25,
            seed,
            ..Default::default()
        });
        (0..n_requests)
            .filter(|_| injector.next_fault().is_some())
            .count()
    }

    #[test]
    fn throttles_about_the_configured_rate_and_repeats_for_a_seed() {
        let n_throttled = count_throttled(7, 4_000);
        assert!(
            (800..1_200).contains(&n_throttled),
            "{n_throttled} of 4000 throttled"
        );
        assert_eq!(n_throttled, count_throttled(7, 4_000));
    }

    #[test]
    fn sends_a_burst_of_5xx_then_recovers() {
        let mut injector = FaultInjector::new(FaultConfig {
            fail_5xx: 3,
            ..Default::default()
        });
        let statuses: Vec<Option<u16>> = (0..5)
            .map(|_| injector.next_fault().map(|answer| answer.status.as_u16()))
            .collect();
        assert_eq!(statuses, vec![Some(503), Some(500), Some(503), None, None]);
    }
}
