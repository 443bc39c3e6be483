//! Resource addresses: `type.name`, as written in references and shown in plans.

use std::fmt;

#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Address {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
}

impl Address {
    pub fn new(resource_type: impl Into<String>, name: impl Into<String>) -> Address {
        Address {
            resource_type: resource_type.into(),
            name: name.into(),
        }
    }

    /// Parses `type.name`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Address> {
        let (resource_type, name) = text.split_once('.')?;
        if !is_identifier(resource_type) || !is_identifier(name) {
            return None;
        }
        Some(Address::new(resource_type, name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource_type, self.name)
    }
}

/// Names of types, resources, variables and outputs: a letter or `_`, then letters, digits,
/// `_` or `-`.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let addr = Address::parse("azure_container_group.etcd").unwrap();
        assert_eq!(addr.resource_type, "azure_container_group");
        assert_eq!(addr.to_string(), "azure_container_group.etcd");
        assert!(Address::parse("nodot").is_none());
        assert!(Address::parse("a.b.c").is_none());
        assert!(Address::parse("1a.b").is_none());
    }
}
