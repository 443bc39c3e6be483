//! The estimated cost per hour of what a plan leaves running, next to what runs now.
//!
//! Every provider may price a resource value ([`Provider::hourly_cost`]); the plan sums the
//! values in the refreshed state (now) and the values as planned (after apply). A resource
//! whose price depends on a value known only after apply is named, not counted. Pure: the
//! same plan gives the same figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Action, ResourceChange};
use crate::addr::Address;
use crate::provider::{Cost, Registry};
use crate::state::State;
use crate::value::Value;

/// The cost of the resources a provider prices, before and after apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanCost {
    /// Per hour once the plan is applied, in `currency`; resources in `unknown` not counted.
    pub after_per_hour: f64,
    /// Per hour now, from the refreshed state.
    pub before_per_hour: f64,
    pub currency: String,
    /// Every priced resource, by address.
    pub resources: Vec<ResourceCost>,
    /// Resources whose cost after apply depends on values known only after apply.
    pub unknown: Vec<Address>,
    /// Where the prices come from, with their date; each once.
    pub sources: Vec<String>,
}

/// One priced resource: `None` on a side where it does not exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceCost {
    pub address: Address,
    pub before_per_hour: Option<f64>,
    pub after_per_hour: Option<f64>,
    /// How the figure after apply (or before, for a resource that goes) was reached.
    pub basis: String,
}

/// The plan's cost, or `None` when no provider prices any resource of the plan.
pub fn estimate(
    registry: &Registry,
    state: &State,
    changes: &[ResourceChange],
) -> Option<PlanCost> {
    let mut before: BTreeMap<Address, Value> = BTreeMap::new();
    for (key, resource) in &state.resources {
        if let Some(address) = Address::parse(key) {
            before.insert(address, resource.value());
        }
    }
    let mut after = before.clone();
    for change in changes {
        match (&change.action, &change.after) {
            (Action::Delete, _) | (_, None) => {
                if !change.deposed {
                    after.remove(&change.address);
                }
            }
            (_, Some(value)) => {
                after.insert(change.address.clone(), value.clone());
            }
        }
    }
    let price = |address: &Address, value: &Value| -> Option<Cost> {
        registry
            .provider(&address.resource_type)?
            .hourly_cost(&address.resource_type, value)
    };
    let before_costs: BTreeMap<&Address, Cost> = before
        .iter()
        .filter_map(|(address, value)| Some((address, price(address, value)?)))
        .collect();
    let after_costs: BTreeMap<&Address, Cost> = after
        .iter()
        .filter_map(|(address, value)| Some((address, price(address, value)?)))
        .collect();
    let deposed_costs: Vec<Cost> = state
        .deposed
        .iter()
        .filter_map(|(key, objects)| Some((Address::parse(key)?, objects)))
        .flat_map(|(address, objects)| {
            objects
                .iter()
                .filter_map(|object| price(&address, &object.value()))
                .collect::<Vec<_>>()
        })
        .collect();
    let currency = after_costs
        .values()
        .chain(before_costs.values())
        .next()?
        .currency
        .clone();
    let counted = |cost: &Cost| {
        cost.per_hour
            .filter(|_| cost.currency == currency)
            .unwrap_or(0.0)
    };

    let mut addresses: Vec<&Address> = before_costs
        .keys()
        .chain(after_costs.keys())
        .copied()
        .collect();
    addresses.sort();
    addresses.dedup();
    let mut resources = Vec::new();
    let mut unknown = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    for address in addresses {
        let before_cost = before_costs.get(address);
        let after_cost = after_costs.get(address);
        if let Some(cost) = after_cost
            && (cost.per_hour.is_none() || cost.currency != currency)
        {
            unknown.push(address.clone());
        }
        for cost in before_cost.iter().chain(after_cost.iter()) {
            if !sources.contains(&cost.source) {
                sources.push(cost.source.clone());
            }
        }
        resources.push(ResourceCost {
            address: address.clone(),
            before_per_hour: before_cost.and_then(|cost| cost.per_hour.map(rounded)),
            after_per_hour: after_cost.and_then(|cost| cost.per_hour.map(rounded)),
            basis: after_cost
                .or(before_cost)
                .map(|cost| cost.basis.clone())
                .unwrap_or_default(),
        });
    }
    let before_per_hour = before_costs
        .values()
        .chain(deposed_costs.iter())
        .map(counted)
        .sum();
    let after_per_hour = after_costs.values().map(counted).sum();
    Some(PlanCost {
        after_per_hour: rounded(after_per_hour),
        before_per_hour: rounded(before_per_hour),
        currency,
        resources,
        unknown,
        sources,
    })
}

/// To a millionth, so sums print and snapshot the same everywhere; never `-0` (the sum of
/// nothing).
fn rounded(amount: f64) -> f64 {
    (amount * 1e6).round() / 1e6 + 0.0
}
