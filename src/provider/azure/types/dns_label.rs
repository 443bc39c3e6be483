//! `dns_label`: no cloud object. It validates a container-group DNS name label and exports
//! its FQDN at plan time, so certificates can name an endpoint before any group exists.
//!
//! Attributes: `label` (5-63 lowercase letters, digits and hyphens, starting with a letter
//! and ending with a letter or digit), `location`; computed `fqdn` =
//! `<label>.<location>.azurecontainer.io` (known at plan time). Two labels alike in one
//! region are an error (`fk::azure::duplicate_dns_label`): ACI labels are unique per region.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{Arm, AzureType};
use crate::addr::Address;
use crate::provider::azure::cloud::{CloudProfile, normalise_location};
use crate::provider::azure::config::AzureConfig;
use crate::provider::azure::shape::text;
use crate::provider::{
    AttrProblem, Attribute, OpContext, PlannedChange, ProviderError, ResourceSchema, Type,
};
use crate::value::{PathSeg, Value};

pub(crate) const TYPE: &str = "dns_label";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: TYPE.into(),
        description: "A container-group DNS name label, pinned at plan time".into(),
        attributes: vec![
            Attribute::required("label", Type::String)
                .force_new("a label names one endpoint")
                .describe("5-63 lowercase letters, digits, hyphens; starts with a letter"),
            Attribute::required("location", Type::String)
                .force_new("labels are unique per region")
                .describe("the region of the container group that will carry the label"),
            Attribute::computed("fqdn", Type::String)
                .describe("`<label>.<location>.azurecontainer.io`, known at plan time"),
        ],
        remote: false,
    }
}

/// Why `label` is not a valid ACI DNS name label; `None` when it is.
pub(crate) fn label_problem(label: &str) -> Option<String> {
    let first = label.chars().next();
    let last = label.chars().last();
    if !(5..=63).contains(&label.len()) {
        Some(format!("is {} characters long (5-63 allowed)", label.len()))
    } else if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        Some(format!(
            "contains `{bad}` (only lowercase letters, digits and hyphens)"
        ))
    } else if !first.is_some_and(|c| c.is_ascii_lowercase()) {
        Some("does not start with a letter".into())
    } else if last == Some('-') {
        Some("ends with a hyphen".into())
    } else {
        None
    }
}

/// A problem at `path` when the label there is known and invalid.
pub(crate) fn check_label(config: &Value, key: &str) -> Vec<AttrProblem> {
    let Some(label) = config.get(key).and_then(Value::as_str) else {
        return Vec::new();
    };
    label_problem(label)
        .map(|why| AttrProblem {
            path: vec![PathSeg::Key(key.into())],
            code: "fk::azure::invalid_dns_label",
            message: format!("DNS name label `{label}` {why}"),
            help: Some(
                "use 5-63 lowercase letters, digits and hyphens, starting with a letter".into(),
            ),
        })
        .into_iter()
        .collect()
}

/// The planned value: the FQDN is computed whenever label and location are known.
pub(crate) fn plan(
    schema: &ResourceSchema,
    cloud: &CloudProfile,
    prior: Option<&Value>,
    config: &Value,
) -> PlannedChange {
    let mut config = config.clone();
    if let Some(fields) = config.as_map_mut()
        && let Some(location) = fields.get("location").and_then(Value::as_str)
    {
        let location = normalise_location(location);
        fields.insert("location".into(), Value::str(location));
    }
    let mut change = schema.propose(prior, &config);
    let label = config.get("label").and_then(Value::as_str);
    let location = config.get("location").and_then(Value::as_str);
    let fqdn = match (label, location) {
        (Some(label), Some(location)) => Value::str(cloud.container_fqdn(label, location)),
        _ => Value::Unknown,
    };
    if let Some(fields) = change.planned.as_map_mut() {
        fields.insert("fqdn".into(), fqdn);
    }
    change
}

/// Labels claimed twice in one region: among `dns_label` resources (`label`) and among
/// container groups (`dns_label`; two groups can never share one, even through one
/// `dns_label` resource). Values still unknown are skipped.
pub(crate) fn duplicates(resources: &[(Address, Value)]) -> Vec<(Address, AttrProblem)> {
    let mut problems = duplicates_of(resources, TYPE, "label");
    problems.extend(duplicates_of(
        resources,
        "azure_container_group",
        "dns_label",
    ));
    problems
}

fn duplicates_of(
    resources: &[(Address, Value)],
    resource_type: &str,
    key: &str,
) -> Vec<(Address, AttrProblem)> {
    let mut first_seen: BTreeMap<(String, String), &Address> = BTreeMap::new();
    let mut problems = Vec::new();
    for (address, config) in resources {
        if address.resource_type != resource_type {
            continue;
        }
        let (Some(label), Some(location)) = (
            config.get(key).and_then(Value::as_str),
            config.get("location").and_then(Value::as_str),
        ) else {
            continue;
        };
        let region_label = (label.to_string(), normalise_location(location));
        match first_seen.get(&region_label) {
            Some(first) => problems.push((
                address.clone(),
                AttrProblem {
                    path: vec![PathSeg::Key(key.into())],
                    code: "fk::azure::duplicate_dns_label",
                    message: format!(
                        "DNS name label `{label}` in `{}` is also claimed by `{first}`",
                        region_label.1
                    ),
                    help: Some("labels are unique per region: give each one its own".into()),
                },
            )),
            None => {
                first_seen.insert(region_label, address);
            }
        }
    }
    problems
}

/// The DNS label type: lives in state only.
pub(crate) struct DnsLabel;

#[async_trait]
impl AzureType for DnsLabel {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<AttrProblem> {
        check_label(config, "label")
    }

    fn plan(
        &self,
        config: &AzureConfig,
        schema: &ResourceSchema,
        prior: Option<&Value>,
        value: &Value,
    ) -> Result<PlannedChange, ProviderError> {
        Ok(plan(schema, &config.cloud, prior, value))
    }

    /// The FQDN: one label names one endpoint.
    fn intended_id(&self, _config: &AzureConfig, planned: &Value) -> String {
        text(planned, "fqdn").to_string()
    }

    fn is_arm_resource(&self) -> bool {
        false
    }

    async fn read(
        &self,
        _arm: Arm<'_>,
        _ctx: &OpContext,
        _id: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Ok(Some(prior.clone()))
    }

    async fn write(
        &self,
        _arm: Arm<'_>,
        _ctx: &OpContext,
        _id: &str,
        _prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        Ok(planned.clone())
    }

    async fn delete(
        &self,
        _arm: Arm<'_>,
        _ctx: &OpContext,
        _id: &str,
        _prior: &Value,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::azure::shape::map;

    #[test]
    fn validates_label_syntax() {
        assert_eq!(label_problem("fk-etcd"), None);
        assert!(label_problem("etcd").is_some_and(|why| why.contains("4 characters")));
        assert!(label_problem("Fk-etcd").is_some_and(|why| why.contains('F')));
        assert!(label_problem("1fk-etcd").is_some_and(|why| why.contains("start")));
        assert!(label_problem("fk-etcd-").is_some_and(|why| why.contains("hyphen")));
        assert!(label_problem(&"a".repeat(64)).is_some());
        let problems = check_label(&map([("label", Value::str("UP"))]), "label");
        assert_eq!(problems[0].code, "fk::azure::invalid_dns_label");
    }

    #[test]
    fn exports_fqdn_at_plan_time() {
        let config = map([
            ("label", Value::str("fk-apiserver")),
            ("location", Value::str("West Europe")),
        ]);
        let change = plan(&schema(), &CloudProfile::public(), None, &config);
        assert_eq!(
            change.planned.get("fqdn"),
            Some(&Value::str("fk-apiserver.westeurope.azurecontainer.io"))
        );
        let replanned = plan(
            &schema(),
            &CloudProfile::public(),
            Some(&change.planned),
            &config,
        );
        assert!(replanned.requires_replace.is_empty());
        assert_eq!(replanned.planned, change.planned);
        let unknown = map([("label", Value::Unknown), ("location", Value::str("x"))]);
        let change = plan(&schema(), &CloudProfile::public(), None, &unknown);
        assert_eq!(change.planned.get("fqdn"), Some(&Value::Unknown));
    }

    #[test]
    fn finds_two_labels_alike_in_one_region() {
        let label = |name: &str, label: &str, location: &str| {
            (
                Address::new(TYPE, name),
                map([
                    ("label", Value::str(label)),
                    ("location", Value::str(location)),
                ]),
            )
        };
        let resources = vec![
            label("a", "fk-etcd", "westeurope"),
            label("b", "fk-etcd", "eastus"),
            label("c", "fk-etcd", "West Europe"),
        ];
        let problems = duplicates(&resources);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, Address::new(TYPE, "c"));
        assert!(problems[0].1.message.contains("dns_label.a"));
    }

    #[test]
    fn two_groups_with_one_label_conflict_but_a_group_and_its_label_do_not() {
        let group = |name: &str| {
            (
                Address::new("azure_container_group", name),
                map([
                    ("dns_label", Value::str("fk-etcd")),
                    ("location", Value::str("westeurope")),
                ]),
            )
        };
        let label = (
            Address::new(TYPE, "etcd"),
            map([
                ("label", Value::str("fk-etcd")),
                ("location", Value::str("westeurope")),
            ]),
        );
        assert_eq!(duplicates(&[label.clone(), group("etcd")]), Vec::new());
        let problems = duplicates(&[label, group("etcd"), group("etcd2")]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0.name, "etcd2");
        assert_eq!(problems[0].1.path, vec![PathSeg::Key("dns_label".into())]);
    }
}
