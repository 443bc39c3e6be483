//! What a container group costs per hour: Azure Container Instances bills, per second, the
//! vCPU and memory a group *requests* (the sum over its containers) from the first image pull
//! until the group is stopped; a stopped group costs nothing for compute.
//!
//! The figures are the Azure Retail Prices API meters for `serviceName eq 'Container
//! Instances'`, `skuName eq 'Standard'`, Linux, pay-as-you-go, in USD (see
//! `shared/reference/azure-arm.md` §9):
//!
//! | region | per vCPU-hour | per GB-hour | consulted |
//! |---|---|---|---|
//! | `eastus` | $0.0405 | $0.00445 | 2026-08-27 |
//! | `swedencentral` | $0.0466 | $0.00511 | 2026-09-06 |
//!
//! A region not in the table is priced as `eastus`, and the basis says so. Prices differ by
//! region and change: `[provider.azure]` takes `price_vcpu_hour` and `price_gb_hour` (USD)
//! to override either figure for every region.
//!
//! Choices: init containers declare no size of their own (they run inside the group's
//! resources before the containers start), so they add nothing. Windows adds a software
//! meter and GPU / Confidential SKUs have meters of their own: those are not in the table,
//! the Standard Linux compute is counted and the basis says what is left out. Storage
//! (Azure Files) and egress are not counted.

use super::types::container_group::requested_resources;
use crate::provider::Cost;
use crate::value::Value;

/// The retail prices of one region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RegionPrices {
    /// ARM's spelling: lowercase, no spaces.
    pub(crate) region: &'static str,
    pub(crate) vcpu_hour: f64,
    pub(crate) gb_hour: f64,
    /// The day the figures were read from the Retail Prices API.
    pub(crate) consulted: &'static str,
}

/// Every region with figures; the first is the default for the rest.
pub(crate) const PRICE_TABLE: &[RegionPrices] = &[
    RegionPrices {
        region: "eastus",
        vcpu_hour: 0.0405,
        gb_hour: 0.00445,
        consulted: "2026-08-27",
    },
    RegionPrices {
        region: "swedencentral",
        vcpu_hour: 0.0466,
        gb_hour: 0.00511,
        consulted: "2026-09-06",
    },
];

/// Prices set in `[provider.azure]`, each replacing the table's figure in every region.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PriceOverride {
    pub(crate) vcpu_hour: Option<f64>,
    pub(crate) gb_hour: Option<f64>,
}

/// The prices that apply in `location` (any spelling: `West Europe`, `westeurope`).
pub(crate) fn region_prices(location: &str) -> (RegionPrices, bool) {
    let region: String = location
        .chars()
        .filter(|letter| !letter.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    match PRICE_TABLE.iter().find(|prices| prices.region == region) {
        Some(prices) => (*prices, true),
        None => (PRICE_TABLE[0], false),
    }
}

/// The hourly cost of an `azure_container_group` value, planned or in state.
pub(crate) fn container_group_cost(group: &Value, overrides: &PriceOverride) -> Cost {
    let location = group.get("location").and_then(Value::as_str).unwrap_or("");
    let (table, listed) = region_prices(location);
    let vcpu_hour = overrides.vcpu_hour.unwrap_or(table.vcpu_hour);
    let gb_hour = overrides.gb_hour.unwrap_or(table.gb_hour);
    let mut source = format!(
        "Azure Retail Prices API, Container Instances Standard Linux pay-as-you-go, {}, consulted {}",
        table.region, table.consulted
    );
    if overrides.vcpu_hour.is_some() || overrides.gb_hour.is_some() {
        source = format!("{source}; overridden in `[provider.azure]`");
    }
    let cost = |per_hour: Option<f64>, basis: String| Cost {
        per_hour,
        currency: "USD".to_string(),
        basis,
        source: source.clone(),
    };

    if group.get("state").and_then(Value::as_str) == Some("Stopped") {
        return cost(Some(0.0), "stopped: no compute is billed".to_string());
    }
    let no_containers = group.get("containers").is_none_or(Value::is_null);
    let size = if no_containers {
        Some((0.0, 0.0))
    } else {
        requested_resources(group)
    };
    let Some((vcpus, memory_gb)) = size else {
        return cost(
            None,
            "the containers' cpu or memory_gb is known only after apply".to_string(),
        );
    };
    let region = if listed {
        format!("{} prices", table.region)
    } else {
        format!("{} prices (none listed for {location})", table.region)
    };
    let mut basis =
        format!("{vcpus} vCPU × ${vcpu_hour} + {memory_gb} GB × ${gb_hour}, Linux, {region}");
    if group.get("os_type").and_then(Value::as_str) == Some("Windows") {
        basis.push_str("; the Windows software meter is not counted");
    }
    if let Some(sku) = group
        .get("sku")
        .and_then(Value::as_str)
        .filter(|sku| *sku != "Standard")
    {
        basis.push_str(&format!("; priced as Standard (no figures for `{sku}`)"));
    }
    cost(Some(vcpus * vcpu_hour + memory_gb * gb_hour), basis)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn container(cpu: Value, memory_gb: f64) -> Value {
        Value::Map(BTreeMap::from([
            ("name".to_string(), Value::str("c")),
            ("cpu".to_string(), cpu),
            ("memory_gb".to_string(), Value::Float(memory_gb)),
        ]))
    }

    fn group(location: &str, containers: Vec<Value>, extra: &[(&str, Value)]) -> Value {
        let mut fields = BTreeMap::from([
            ("location".to_string(), Value::str(location)),
            ("containers".to_string(), Value::List(containers)),
        ]);
        for (key, value) in extra {
            fields.insert(key.to_string(), value.clone());
        }
        Value::Map(fields)
    }

    fn per_hour(cost: &Cost) -> f64 {
        cost.per_hour.unwrap_or(f64::NAN)
    }

    #[test]
    fn sums_the_containers_of_a_group_at_the_region_prices() {
        let etcd = group(
            "eastus",
            vec![
                container(Value::Int(1), 2.0),
                container(Value::Float(0.5), 1.5),
            ],
            &[],
        );
        let cost = container_group_cost(&etcd, &PriceOverride::default());
        assert!((per_hour(&cost) - (1.5 * 0.0405 + 3.5 * 0.00445)).abs() < 1e-12);
        assert_eq!(
            cost.basis,
            "1.5 vCPU × $0.0405 + 3.5 GB × $0.00445, Linux, eastus prices"
        );
        assert!(cost.source.contains("2026-08-27"), "{}", cost.source);

        let sweden = group("Sweden Central", vec![container(Value::Int(2), 4.0)], &[]);
        let cost = container_group_cost(&sweden, &PriceOverride::default());
        assert!((per_hour(&cost) - (2.0 * 0.0466 + 4.0 * 0.00511)).abs() < 1e-12);
    }

    #[test]
    fn a_region_without_figures_is_priced_as_eastus_and_says_so() {
        let cost = container_group_cost(
            &group("westeurope", vec![container(Value::Int(1), 1.0)], &[]),
            &PriceOverride::default(),
        );
        assert!((per_hour(&cost) - 0.04495).abs() < 1e-12);
        assert!(
            cost.basis
                .contains("eastus prices (none listed for westeurope)"),
            "{}",
            cost.basis
        );
    }

    #[test]
    fn init_containers_add_nothing() {
        let init = Value::List(vec![Value::Map(BTreeMap::from([(
            "name".to_string(),
            Value::str("wait-for-etcd"),
        )]))]);
        let with_init = group(
            "eastus",
            vec![container(Value::Int(1), 2.0)],
            &[("init_containers", init)],
        );
        let without = group("eastus", vec![container(Value::Int(1), 2.0)], &[]);
        let prices = PriceOverride::default();
        assert_eq!(
            container_group_cost(&with_init, &prices).per_hour,
            container_group_cost(&without, &prices).per_hour
        );
    }

    #[test]
    fn a_stopped_group_costs_nothing() {
        let stopped = group(
            "eastus",
            vec![container(Value::Int(4), 16.0)],
            &[("state", Value::str("Stopped"))],
        );
        let cost = container_group_cost(&stopped, &PriceOverride::default());
        assert_eq!(cost.per_hour, Some(0.0));
        let running = group(
            "eastus",
            vec![container(Value::Int(4), 16.0)],
            &[("state", Value::str("Running"))],
        );
        assert!(per_hour(&container_group_cost(&running, &PriceOverride::default())) > 0.1);
    }

    #[test]
    fn an_unknown_cpu_leaves_the_cost_unknown() {
        let cost = container_group_cost(
            &group("eastus", vec![container(Value::Unknown, 1.0)], &[]),
            &PriceOverride::default(),
        );
        assert_eq!(cost.per_hour, None);
        assert!(cost.basis.contains("after apply"), "{}", cost.basis);
    }

    #[test]
    fn overrides_replace_the_table_in_every_region() {
        let prices = PriceOverride {
            vcpu_hour: Some(0.1),
            gb_hour: None,
        };
        let cost = container_group_cost(
            &group("swedencentral", vec![container(Value::Int(2), 2.0)], &[]),
            &prices,
        );
        assert!((per_hour(&cost) - (0.2 + 2.0 * 0.00511)).abs() < 1e-12);
        assert!(cost.source.contains("overridden"), "{}", cost.source);
    }
}
