//! Azure's naming rules, canonical resource ids and accepted api-versions (azure-arm.md §1,
//! §2.6, §5, §6).

/// Api-versions each resource provider of the emulator accepts.
pub(crate) const RESOURCES_API_VERSIONS: &[&str] = &[
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-09-01",
    "2021-04-01",
];
pub(crate) const STORAGE_API_VERSIONS: &[&str] = &[
    "2026-09-01",
    "2026-06-01",
    "2026-04-01",
    "2025-08-01",
    "2025-06-01",
    "2025-01-01",
    "2023-05-01",
    "2023-01-01",
];
pub(crate) const CONTAINER_INSTANCE_API_VERSIONS: &[&str] = &[
    "2026-05-01",
    "2025-09-01",
    "2023-05-01",
    "2022-09-01",
    "2021-10-01",
];
/// The api-version ACI puts in its `Azure-AsyncOperation` URLs, whatever the request used.
pub(crate) const CONTAINER_INSTANCE_OPERATION_API_VERSION: &str = "2018-06-01";

/// A resource inside a resource group, as a request names it (its casing kept).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InGroup {
    pub subscription: String,
    pub group: String,
    pub name: String,
}

impl InGroup {
    /// Its subscription, resource group and name.
    pub(crate) fn parts(&self) -> (&str, &str, &str) {
        (&self.subscription, &self.group, &self.name)
    }
}

/// `"West US"` → `"westus"`, the form ARM returns and FQDNs use.
pub(crate) fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// 3–24 characters, lowercase letters and digits only (the name is global).
pub(crate) fn is_valid_storage_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// 3–63 characters, lowercase letters, digits and hyphens, every hyphen between
/// alphanumerics.
pub(crate) fn is_valid_share_name(name: &str) -> bool {
    (3..=63).contains(&name.len()) && is_hyphenated_lowercase(name)
}

/// 1–63 characters, lowercase letters, digits and hyphens, no leading, trailing or
/// consecutive hyphens.
pub(crate) fn is_valid_container_group_name(name: &str) -> bool {
    (1..=63).contains(&name.len()) && is_hyphenated_lowercase(name)
}

/// 1–63 characters, lowercase letters, digits and hyphens, not starting or ending with one.
pub(crate) fn is_valid_container_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// 5–63 characters, lowercase letters, digits and hyphens, starting with a letter and
/// ending with a letter or digit.
pub(crate) fn is_valid_dns_label(label: &str) -> bool {
    (5..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && label.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && label
            .as_bytes()
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// 1–90 characters of letters, digits, `-_.()`, not ending with a period.
pub(crate) fn is_valid_resource_group_name(name: &str) -> bool {
    (1..=90).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        && !name.ends_with('.')
}

fn is_hyphenated_lowercase(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

pub(crate) fn resource_group_id(subscription_id: &str, resource_group: &str) -> String {
    format!("/subscriptions/{subscription_id}/resourceGroups/{resource_group}")
}

pub(crate) fn storage_account_id(resource_group_id: &str, account: &str) -> String {
    format!("{resource_group_id}/providers/Microsoft.Storage/storageAccounts/{account}")
}

pub(crate) fn file_share_id(account_id: &str, share: &str) -> String {
    format!("{account_id}/fileServices/default/shares/{share}")
}

pub(crate) fn container_group_id(resource_group_id: &str, group: &str) -> String {
    format!("{resource_group_id}/providers/Microsoft.ContainerInstance/containerGroups/{group}")
}

/// The map key of a resource id: ARM ids compare case-insensitively.
pub(crate) fn key_of(resource_id: &str) -> String {
    resource_id.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_documented_naming_rules() {
        assert!(is_valid_storage_account_name("fkdemo123"));
        assert!(!is_valid_storage_account_name("FkDemo"));
        assert!(!is_valid_storage_account_name("ab"));
        assert!(!is_valid_storage_account_name("fk-demo"));
        assert!(is_valid_dns_label("fk-etcd"));
        assert!(!is_valid_dns_label("etcd"));
        assert!(!is_valid_dns_label("1etcd-x"));
        assert!(!is_valid_dns_label("etcd-"));
        assert!(is_valid_share_name("etcd-data"));
        assert!(!is_valid_share_name("etcd--data"));
        assert!(!is_valid_container_group_name("Etcd"));
        assert!(is_valid_resource_group_name("my_rg(1)"));
        assert!(!is_valid_resource_group_name("rg."));
        assert_eq!(normalize_location("West US"), "westus");
    }
}
