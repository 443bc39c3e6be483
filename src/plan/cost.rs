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
pub(crate) struct PlanCost {
    /// Per hour once the plan is applied, in `currency`; resources in `unknown` not counted.
    pub(crate) after_per_hour: f64,
    /// Per hour now, from the refreshed state.
    pub(crate) before_per_hour: f64,
    pub(crate) currency: String,
    /// Every priced resource, by address.
    pub(crate) resources: Vec<ResourceCost>,
    /// Resources whose cost after apply depends on values known only after apply.
    pub(crate) unknown: Vec<Address>,
    /// Where the prices come from, with their date; each once.
    pub(crate) sources: Vec<String>,
}

/// One priced resource: `None` on a side where it does not exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResourceCost {
    pub(crate) address: Address,
    pub(crate) before_per_hour: Option<f64>,
    pub(crate) after_per_hour: Option<f64>,
    /// How the figure after apply (or before, for a resource that goes) was reached.
    pub(crate) basis: String,
}

/// The plan's cost, or `None` when no provider prices any resource of the plan.
pub(crate) fn estimate(
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::provider::{OpContext, Provider, ProviderError, ResourceSchema};
    use crate::state::ResourceState;

    /// Prices `box` at its `size` per hour; `size` unknown leaves the cost unknown.
    struct BoxProvider;

    #[async_trait]
    impl Provider for BoxProvider {
        fn name(&self) -> &str {
            "box"
        }

        fn schemas(&self) -> Vec<ResourceSchema> {
            vec![ResourceSchema {
                type_name: "box".into(),
                description: String::new(),
                attributes: Vec::new(),
                remote: false,
            }]
        }

        fn hourly_cost(&self, _resource_type: &str, value: &Value) -> Option<Cost> {
            Some(Cost {
                per_hour: value.get("size").and_then(Value::as_f64),
                currency: "USD".into(),
                basis: "size".into(),
                source: "the box price list".into(),
            })
        }

        fn intended_id(&self, _resource_type: &str, _planned: &Value) -> String {
            String::new()
        }

        async fn read(
            &self,
            _ctx: &OpContext,
            _resource_type: &str,
            _id: &str,
            prior: &Value,
        ) -> Result<Option<Value>, ProviderError> {
            Ok(Some(prior.clone()))
        }

        async fn create(
            &self,
            _ctx: &OpContext,
            _resource_type: &str,
            _id: &str,
            planned: &Value,
        ) -> Result<Value, ProviderError> {
            Ok(planned.clone())
        }

        async fn update(
            &self,
            _ctx: &OpContext,
            _resource_type: &str,
            _id: &str,
            _prior: &Value,
            planned: &Value,
        ) -> Result<Value, ProviderError> {
            Ok(planned.clone())
        }

        async fn delete(
            &self,
            _ctx: &OpContext,
            _resource_type: &str,
            _id: &str,
            _prior: &Value,
        ) -> Result<(), ProviderError> {
            Ok(())
        }
    }

    fn sized(size: Value) -> Value {
        Value::Map(BTreeMap::from([("size".to_string(), size)]))
    }

    fn change(name: &str, action: Action, after: Option<Value>) -> ResourceChange {
        ResourceChange {
            address: Address::new("box", name),
            action,
            action_reason: None,
            replace_causes: Vec::new(),
            notes: Vec::new(),
            prior_id: None,
            before: None,
            after,
            dependencies: Vec::new(),
            create_before_destroy: false,
            deposed: false,
        }
    }

    fn state_with(boxes: &[(&str, f64)]) -> State {
        let mut state = State::new("lineage");
        for (name, size) in boxes {
            let address = Address::new("box", *name);
            state.resources.insert(
                address.to_string(),
                ResourceState::from_value(&address, *name, &sized(Value::Float(*size))),
            );
        }
        state
    }

    fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register(Arc::new(BoxProvider));
        registry
    }

    #[test]
    fn sums_what_stays_what_changes_and_drops_what_goes() {
        let state = state_with(&[("kept", 1.0), ("grown", 2.0), ("gone", 4.0)]);
        let changes = [
            change("grown", Action::Update, Some(sized(Value::Float(3.0)))),
            change("gone", Action::Delete, None),
            change("new", Action::Create, Some(sized(Value::Float(0.5)))),
        ];
        let cost = estimate(&registry(), &state, &changes);
        let totals = cost.as_ref().map(|c| (c.before_per_hour, c.after_per_hour));
        assert_eq!(totals, Some((7.0, 4.5)));
        let gone = cost
            .iter()
            .flat_map(|c| &c.resources)
            .find(|r| r.address.name == "gone")
            .map(|r| (r.before_per_hour, r.after_per_hour));
        assert_eq!(gone, Some((Some(4.0), None)));
        let sources = cost.map(|c| c.sources);
        assert_eq!(sources, Some(vec!["the box price list".to_string()]));
    }

    #[test]
    fn an_unknown_size_is_named_not_counted() {
        let changes = [
            change("known", Action::Create, Some(sized(Value::Float(1.0)))),
            change("later", Action::Create, Some(sized(Value::Unknown))),
        ];
        let cost = estimate(&registry(), &State::new("lineage"), &changes);
        let seen = cost.map(|c| (c.after_per_hour, c.before_per_hour, c.unknown));
        assert_eq!(seen, Some((1.0, 0.0, vec![Address::new("box", "later")])));
    }

    #[test]
    fn no_priced_resource_means_no_estimate() {
        let changes = [change(
            "known",
            Action::Create,
            Some(sized(Value::Float(1.0))),
        )];
        assert_eq!(estimate(&Registry::new(), &State::new("l"), &changes), None);
    }
}
