//! Cloud profiles: where ARM lives, which audience its tokens need, and the DNS suffix of
//! container-group FQDNs. One struct per cloud, so tests and the emulator are just another
//! profile.

use azure_core::cloud::CloudConfiguration;

/// Which Azure cloud a module talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CloudName {
    Public,
    China,
    UsGovernment,
    /// A local ARM (the emulator, a test server): plain management URL, static token.
    Custom,
}

impl CloudName {
    /// Parses the `cloud` attribute of `[provider.azure]`: `public`, `china`,
    /// `usgovernment` (also `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment`).
    pub(crate) fn parse(text: &str) -> Option<CloudName> {
        match text
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "public" | "azurecloud" | "azurepublic" => Some(CloudName::Public),
            "china" | "azurechinacloud" | "azurechina" => Some(CloudName::China),
            "usgovernment" | "usgov" | "azureusgovernment" | "azuregovernment" => {
                Some(CloudName::UsGovernment)
            }
            _ => None,
        }
    }
}

/// Endpoints of one cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudProfile {
    pub(crate) name: CloudName,
    /// ARM base URL without a trailing slash: `https://management.azure.com`.
    pub(crate) management_url: String,
    /// The v2 scope tokens are requested for: `https://management.azure.com/.default`.
    pub(crate) token_scope: String,
    /// Suffix of container-group FQDNs: `azurecontainer.io`.
    pub(crate) container_dns_suffix: String,
}

impl CloudProfile {
    pub(crate) fn public() -> CloudProfile {
        CloudProfile::known(
            CloudName::Public,
            "https://management.azure.com",
            "azurecontainer.io",
        )
    }

    pub(crate) fn china() -> CloudProfile {
        CloudProfile::known(
            CloudName::China,
            "https://management.chinacloudapi.cn",
            "azurecontainer.console.azure.cn",
        )
    }

    /// The US Government ACI suffix is not confirmed by the reference; FQDNs are read from
    /// ARM after create, so only the plan-time prediction depends on it.
    pub(crate) fn us_government() -> CloudProfile {
        CloudProfile::known(
            CloudName::UsGovernment,
            "https://management.usgovcloudapi.net",
            "azurecontainer.us",
        )
    }

    /// A local ARM such as `fk emulator` at `http://127.0.0.1:PORT`; FQDNs as in public.
    pub(crate) fn custom(management_url: &str) -> CloudProfile {
        CloudProfile {
            name: CloudName::Custom,
            ..CloudProfile::known(CloudName::Custom, management_url, "azurecontainer.io")
        }
    }

    pub(crate) fn for_name(name: &CloudName) -> CloudProfile {
        match name {
            CloudName::Public | CloudName::Custom => CloudProfile::public(),
            CloudName::China => CloudProfile::china(),
            CloudName::UsGovernment => CloudProfile::us_government(),
        }
    }

    fn known(name: CloudName, management_url: &str, suffix: &str) -> CloudProfile {
        let management_url = management_url.trim_end_matches('/').to_string();
        CloudProfile {
            token_scope: format!("{management_url}/.default"),
            management_url,
            container_dns_suffix: suffix.to_string(),
            name,
        }
    }

    /// The cloud as `azure_identity` knows it (authority host for credentials).
    pub(crate) fn sdk_cloud(&self) -> CloudConfiguration {
        match self.name {
            CloudName::China => CloudConfiguration::AzureChina,
            CloudName::UsGovernment => CloudConfiguration::AzureGovernment,
            CloudName::Public | CloudName::Custom => CloudConfiguration::AzurePublic,
        }
    }

    /// `<label>.<location>.<suffix>`, the FQDN ACI gives a label under the `Unsecure` scope.
    pub(crate) fn container_fqdn(&self, label: &str, location: &str) -> String {
        format!(
            "{label}.{}.{}",
            normalise_location(location),
            self.container_dns_suffix
        )
    }
}

/// ARM accepts `West US`, `westus` and `WestUs` for one region; fk keeps `westus`.
pub(crate) fn normalise_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloud_names_and_builds_scopes() {
        assert_eq!(
            CloudName::parse("AzureUSGovernment"),
            Some(CloudName::UsGovernment)
        );
        assert_eq!(CloudName::parse("china"), Some(CloudName::China));
        assert_eq!(CloudName::parse("mars"), None);
        assert_eq!(
            CloudProfile::china().token_scope,
            "https://management.chinacloudapi.cn/.default"
        );
        assert_eq!(
            CloudProfile::custom("http://127.0.0.1:9/").management_url,
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn fqdn_uses_normalised_location() {
        let fqdn = CloudProfile::public().container_fqdn("fk-etcd", "West US");
        assert_eq!(fqdn, "fk-etcd.westus.azurecontainer.io");
    }
}
