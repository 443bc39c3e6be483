//! The provider's settings, from `[provider.azure]` and the environment snapshot.
//!
//! Attributes of `[provider.azure]`:
//!
//! | attribute | type | default |
//! |---|---|---|
//! | `subscription_id` | string | `AZURE_SUBSCRIPTION_ID` (or `ARM_SUBSCRIPTION_ID`) |
//! | `endpoint` | string (http or https URL of a local ARM) | `FK_ARM_ENDPOINT` |
//! | `cloud` | `public` \| `china` \| `usgovernment` | `public` (env `AZURE_CLOUD`) |
//! | `endpoint` | URL of a local ARM (the emulator); implies a static token | none |
//! | `parallelism` | integer, concurrent refreshes | 10 |
//! | `poll_interval_seconds` | integer, LRO and readiness polling | 5 (0.25 s for an `http://` endpoint) |
//! | `timeout_minutes` | integer, longest wait for one operation | 30 |
//! | `max_attempts` | integer, attempts per request (retries + 1) | 6 |
//! | `price_vcpu_hour` | number, USD per vCPU-hour of a container group (plan cost) | the [`super::pricing`] table |
//! | `price_gb_hour` | number, USD per GB-hour of a container group (plan cost) | the [`super::pricing`] table |
//!
//! `skip_before_stop` (set from `--skip-before-stop` by the command that builds the provider,
//! or `FK_SKIP_BEFORE_STOP=1` in the environment) lets stop, destroy and apply go on without a
//! container group's `before_stop` handshake.

use std::collections::BTreeMap;
use std::time::Duration;

use super::auth::EnvSnapshot;
use super::cloud::{CloudName, CloudProfile};
use super::pricing::PriceOverride;
use super::retry::RetryPolicy;
use crate::provider::AttrProblem;
use crate::value::{PathSeg, Value};

const KNOWN_ATTRIBUTES: &[&str] = &[
    "subscription_id",
    "cloud",
    "endpoint",
    "parallelism",
    "poll_interval_seconds",
    "timeout_minutes",
    "max_attempts",
    "price_vcpu_hour",
    "price_gb_hour",
];

#[derive(Clone, Debug, PartialEq)]
pub struct AzureConfig {
    pub subscription_id: String,
    pub cloud: CloudProfile,
    /// Concurrent reads during refresh.
    pub parallelism: usize,
    pub poll_interval: Duration,
    /// Longest wait for one operation (an LRO, readiness).
    pub max_wait: Duration,
    pub retry: RetryPolicy,
    /// Prices that replace the built-in table in plan cost estimates.
    pub prices: PriceOverride,
    /// Go on without a group's `before_stop` handshake (`--skip-before-stop`, or
    /// `FK_SKIP_BEFORE_STOP=1`).
    pub skip_before_stop: bool,
}

impl AzureConfig {
    /// Settings for a local ARM at `endpoint` (the emulator, a test server).
    pub fn local(endpoint: &str, subscription_id: &str) -> AzureConfig {
        AzureConfig {
            subscription_id: subscription_id.to_string(),
            cloud: CloudProfile::custom(endpoint),
            parallelism: 10,
            poll_interval: Duration::from_secs(5),
            max_wait: Duration::from_secs(30 * 60),
            retry: RetryPolicy::default(),
            prices: PriceOverride::default(),
            skip_before_stop: false,
        }
    }

    /// Reads `[provider.azure]` attributes (already evaluated) and the environment. Every
    /// problem is returned at once, each at the attribute it concerns.
    pub(crate) fn from_module(
        attributes: &BTreeMap<String, Value>,
        env: &EnvSnapshot,
    ) -> Result<AzureConfig, Vec<AttrProblem>> {
        let mut problems = Vec::new();
        for name in attributes.keys() {
            if !KNOWN_ATTRIBUTES.contains(&name.as_str()) {
                let near = crate::diag::nearest(name, KNOWN_ATTRIBUTES.iter().copied());
                problems.push(problem(
                    name,
                    "fk::azure::unknown_setting",
                    format!("`[provider.azure]` has no setting `{name}`"),
                    near.map(|near| format!("did you mean `{near}`?")),
                ));
            }
        }
        let text = |name: &str, problems: &mut Vec<AttrProblem>| -> Option<String> {
            let value = attributes.get(name).filter(|value| !value.is_null())?;
            match value.as_str() {
                Some(text) => Some(text.to_string()),
                None => {
                    problems.push(type_problem(name, "a string", value));
                    None
                }
            }
        };
        // `FK_ARM_ENDPOINT` points a module at a local ARM (the emulator) without editing it.
        let endpoint = text("endpoint", &mut problems)
            .or_else(|| env.get("FK_ARM_ENDPOINT").map(String::from));
        let cloud_name = text("cloud", &mut problems).or(env.get("AZURE_CLOUD").map(String::from));
        let mut cloud = match (&endpoint, cloud_name) {
            (Some(endpoint), _) => CloudProfile::custom(endpoint),
            (None, None) => CloudProfile::public(),
            (None, Some(name)) => match CloudName::parse(&name) {
                Some(parsed) => CloudProfile::for_name(&parsed),
                None => {
                    problems.push(problem(
                        "cloud",
                        "fk::azure::unknown_cloud",
                        format!("unknown cloud `{name}`"),
                        Some("use `public`, `china` or `usgovernment`".into()),
                    ));
                    CloudProfile::public()
                }
            },
        };
        if let Some(endpoint) = &endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            problems.push(problem(
                "endpoint",
                "fk::azure::invalid_endpoint",
                format!("`endpoint` must be an http(s) URL, not `{endpoint}`"),
                None,
            ));
            cloud = CloudProfile::public();
        }
        let subscription_id = text("subscription_id", &mut problems)
            .or_else(|| env.get("AZURE_SUBSCRIPTION_ID").map(String::from))
            .or_else(|| env.get("ARM_SUBSCRIPTION_ID").map(String::from));
        let subscription_id = match subscription_id {
            Some(id) => id,
            None => {
                problems.push(problem(
                    "subscription_id",
                    "fk::azure::missing_subscription",
                    "no Azure subscription: `[provider.azure]` has no `subscription_id` and `AZURE_SUBSCRIPTION_ID` is not set".into(),
                    Some("set `subscription_id` or export `AZURE_SUBSCRIPTION_ID` (see `az account show`)".into()),
                ));
                String::new()
            }
        };
        let mut number = |name: &str, default: u64, max: u64| -> u64 {
            let Some(value) = attributes.get(name).filter(|value| !value.is_null()) else {
                return default;
            };
            match value.as_i64() {
                Some(number) if number >= 1 && number as u64 <= max => number as u64,
                _ => {
                    problems.push(type_problem(
                        name,
                        &format!("an integer from 1 to {max}"),
                        value,
                    ));
                    default
                }
            }
        };
        let parallelism = number("parallelism", 10, 256) as usize;
        // A local ARM (the emulator) answers in milliseconds: poll it often unless told not to.
        let local_default = endpoint
            .as_deref()
            .is_some_and(|url| url.starts_with("http://"))
            && !attributes.contains_key("poll_interval_seconds");
        let poll_interval = if local_default {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(number("poll_interval_seconds", 5, 300))
        };
        let max_wait = Duration::from_secs(60 * number("timeout_minutes", 30, 24 * 60));
        let max_attempts = number("max_attempts", 6, 20) as u32;
        let mut price = |name: &str| -> Option<f64> {
            let value = attributes.get(name).filter(|value| !value.is_null())?;
            match value.as_f64() {
                Some(price) if price.is_finite() && price >= 0.0 => Some(price),
                _ => {
                    problems.push(type_problem(name, "a price in USD, 0 or more", value));
                    None
                }
            }
        };
        let prices = PriceOverride {
            vcpu_hour: price("price_vcpu_hour"),
            gb_hour: price("price_gb_hour"),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AzureConfig {
            subscription_id,
            cloud,
            parallelism,
            poll_interval,
            max_wait,
            retry: RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            },
            prices,
            skip_before_stop: env
                .get("FK_SKIP_BEFORE_STOP")
                .is_some_and(|value| matches!(value, "1" | "true")),
        })
    }

    /// True when fk talks to a local ARM that takes a static token.
    pub(crate) fn is_local(&self) -> bool {
        self.cloud.name == CloudName::Custom
    }
}

fn problem(name: &str, code: &'static str, message: String, help: Option<String>) -> AttrProblem {
    AttrProblem {
        path: vec![PathSeg::Key(name.to_string())],
        code,
        message,
        help,
    }
}

fn type_problem(name: &str, wanted: &str, value: &Value) -> AttrProblem {
    problem(
        name,
        "fk::azure::invalid_setting",
        format!(
            "`{name}` must be {wanted}, not a {} ({value})",
            value.type_name()
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn module_subscription_wins_over_environment() {
        let env = EnvSnapshot::new([("AZURE_SUBSCRIPTION_ID".to_string(), "from-env".into())]);
        let from_env = AzureConfig::from_module(&BTreeMap::new(), &env).map(|c| c.subscription_id);
        assert_eq!(from_env, Ok("from-env".to_string()));
        let module = attrs(&[("subscription_id", Value::str("from-module"))]);
        let config = AzureConfig::from_module(&module, &env).map(|c| c.subscription_id);
        assert_eq!(config, Ok("from-module".to_string()));
    }

    #[test]
    fn endpoint_selects_a_local_cloud() {
        let module = attrs(&[
            ("subscription_id", Value::str("s")),
            ("endpoint", Value::str("http://127.0.0.1:8080/")),
            ("parallelism", Value::Int(4)),
        ]);
        let config = AzureConfig::from_module(&module, &EnvSnapshot::default());
        let config = config.map_err(|problems| problems.len());
        let config = config.as_ref().map(|c| (c.is_local(), c.parallelism));
        assert_eq!(config, Ok((true, 4)));
    }

    #[test]
    fn prices_override_the_table_and_must_be_numbers() {
        let module = attrs(&[
            ("subscription_id", Value::str("s")),
            ("price_vcpu_hour", Value::Float(0.05)),
        ]);
        let config = AzureConfig::from_module(&module, &EnvSnapshot::default());
        let prices = config.map(|config| config.prices).map_err(|p| p.len());
        assert_eq!(
            prices,
            Ok(PriceOverride {
                vcpu_hour: Some(0.05),
                gb_hour: None
            })
        );
        let module = attrs(&[
            ("subscription_id", Value::str("s")),
            ("price_gb_hour", Value::str("cheap")),
        ]);
        let problems = AzureConfig::from_module(&module, &EnvSnapshot::default()).err();
        let codes: Vec<&str> = problems.iter().flatten().map(|p| p.code).collect();
        assert_eq!(codes, ["fk::azure::invalid_setting"]);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let module = attrs(&[
            ("cloud", Value::str("mars")),
            ("paralelism", Value::Int(3)),
            ("timeout_minutes", Value::Int(0)),
        ]);
        let problems = AzureConfig::from_module(&module, &EnvSnapshot::default()).err();
        let codes: Vec<&str> = problems
            .iter()
            .flatten()
            .map(|problem| problem.code)
            .collect();
        assert_eq!(
            codes,
            [
                "fk::azure::unknown_setting",
                "fk::azure::unknown_cloud",
                "fk::azure::missing_subscription",
                "fk::azure::invalid_setting"
            ]
        );
        let unknown = problems
            .iter()
            .flatten()
            .next()
            .and_then(|p| p.help.clone());
        assert_eq!(unknown.as_deref(), Some("did you mean `parallelism`?"));
    }
}
