//! What the emulator checks in a request body when it is not given the official specs:
//! the parts of a container group and of a file share that fk sends or that Azure refuses
//! when they are wrong, written here in the validator's vocabulary from the facts of the
//! ARM API (property names, JSON types, required members, fixed value sets, read-only
//! members). Members not described here are accepted, as Azure accepts members it does not
//! know. The cross-check `described_schema_agrees_with_the_official_spec`
//! (`src/tests/emulator_specs.rs`) compares every line below with the official
//! specification whenever it is at hand.

use super::SpecValidator;
use serde_json::{Map, Value, json};

/// The definition names the emulator validates against.
pub const CONTAINER_GROUP: &str = "ContainerGroup";
pub const FILE_SHARE: &str = "FileShare";

/// The description as a document with `definitions`, as the official specs are laid out.
pub fn document() -> Value {
    json!({ "definitions": definitions() })
}

/// A validator over [`document`].
pub fn validator() -> SpecValidator {
    SpecValidator {
        definitions: definitions(),
    }
}

fn definitions() -> Map<String, Value> {
    Map::from_iter([
        (CONTAINER_GROUP.to_owned(), container_group()),
        (FILE_SHARE.to_owned(), file_share()),
    ])
}

fn container_group() -> Value {
    object(
        &["properties"],
        [
            ("location", string()),
            ("tags", map_of(string())),
            ("zones", list(string())),
            ("identity", identity()),
            ("properties", group_properties()),
        ],
    )
}

fn identity() -> Value {
    object(
        &[],
        [
            (
                "type",
                fixed(&[
                    "SystemAssigned",
                    "UserAssigned",
                    "SystemAssigned, UserAssigned",
                    "None",
                ]),
            ),
            (
                "userAssignedIdentities",
                map_of(json!({ "type": "object" })),
            ),
            ("principalId", read_only(string())),
            ("tenantId", read_only(string())),
        ],
    )
}

fn group_properties() -> Value {
    object(
        &["containers"],
        [
            ("provisioningState", read_only(string())),
            ("instanceView", read_only(json!({}))),
            ("containers", list(container())),
            ("initContainers", list(init_container())),
            ("imageRegistryCredentials", list(registry_credential())),
            ("restartPolicy", open(&["Always", "OnFailure", "Never"])),
            ("ipAddress", ip_address()),
            ("osType", open(&["Windows", "Linux"])),
            ("volumes", list(volume())),
            (
                "sku",
                open(&["NotSpecified", "Standard", "Dedicated", "Confidential"]),
            ),
            ("priority", open(&["Regular", "Spot"])),
            (
                "subnetIds",
                list(object(&["id"], [("id", string()), ("name", string())])),
            ),
            (
                "dnsConfig",
                object(
                    &["nameServers"],
                    [
                        ("nameServers", list(string())),
                        ("searchDomains", string()),
                        ("options", string()),
                    ],
                ),
            ),
            ("isCreatedFromStandbyPool", read_only(boolean())),
        ],
    )
}

fn container() -> Value {
    object(
        &["name", "properties"],
        [
            ("name", string()),
            (
                "properties",
                object(
                    &[],
                    [
                        ("image", string()),
                        ("command", list(string())),
                        ("ports", list(port())),
                        ("environmentVariables", list(environment_variable())),
                        ("resources", resources()),
                        ("volumeMounts", list(volume_mount())),
                        ("livenessProbe", probe()),
                        ("readinessProbe", probe()),
                        ("instanceView", read_only(json!({}))),
                    ],
                ),
            ),
        ],
    )
}

fn init_container() -> Value {
    object(
        &["name", "properties"],
        [
            ("name", string()),
            (
                "properties",
                object(
                    &[],
                    [
                        ("image", string()),
                        ("command", list(string())),
                        ("environmentVariables", list(environment_variable())),
                        ("volumeMounts", list(volume_mount())),
                        ("instanceView", read_only(json!({}))),
                    ],
                ),
            ),
        ],
    )
}

fn port() -> Value {
    object(
        &["port"],
        [("port", integer()), ("protocol", open(&["TCP", "UDP"]))],
    )
}

fn environment_variable() -> Value {
    object(
        &["name"],
        [
            ("name", string()),
            ("value", string()),
            ("secureValue", string()),
        ],
    )
}

fn resources() -> Value {
    let amounts = |required: &[&str]| {
        object(
            required,
            [
                ("cpu", number()),
                ("memoryInGB", number()),
                (
                    "gpu",
                    object(
                        &["count", "sku"],
                        [
                            ("count", integer()),
                            ("sku", open(&["K80", "P100", "V100"])),
                        ],
                    ),
                ),
            ],
        )
    };
    object(
        &["requests"],
        [
            ("requests", amounts(&["memoryInGB", "cpu"])),
            ("limits", amounts(&[])),
        ],
    )
}

fn volume_mount() -> Value {
    object(
        &["name", "mountPath"],
        [
            ("name", string()),
            ("mountPath", string()),
            ("readOnly", boolean()),
        ],
    )
}

fn probe() -> Value {
    object(
        &[],
        [
            ("exec", object(&[], [("command", list(string()))])),
            (
                "httpGet",
                object(
                    &["port"],
                    [
                        ("path", string()),
                        ("port", integer()),
                        ("scheme", open(&["http", "https"])),
                    ],
                ),
            ),
            ("initialDelaySeconds", integer()),
            ("periodSeconds", integer()),
            ("failureThreshold", integer()),
            ("successThreshold", integer()),
            ("timeoutSeconds", integer()),
        ],
    )
}

fn registry_credential() -> Value {
    object(
        &["server"],
        [
            ("server", string()),
            ("username", string()),
            ("password", string()),
            ("identity", string()),
        ],
    )
}

fn ip_address() -> Value {
    object(
        &["ports", "type"],
        [
            (
                "ports",
                list(object(
                    &["port"],
                    [("port", integer()), ("protocol", open(&["TCP", "UDP"]))],
                )),
            ),
            ("type", open(&["Public", "Private"])),
            ("ip", string()),
            ("dnsNameLabel", string()),
            (
                "autoGeneratedDomainNameLabelScope",
                open(&[
                    "Unsecure",
                    "TenantReuse",
                    "SubscriptionReuse",
                    "ResourceGroupReuse",
                    "Noreuse",
                ]),
            ),
            ("fqdn", read_only(string())),
        ],
    )
}

fn volume() -> Value {
    object(
        &["name"],
        [
            ("name", string()),
            (
                "azureFile",
                object(
                    &["shareName", "storageAccountName"],
                    [
                        ("shareName", string()),
                        ("storageAccountName", string()),
                        ("storageAccountKey", string()),
                        ("readOnly", boolean()),
                    ],
                ),
            ),
            ("secret", json!({ "type": "object" })),
            (
                "gitRepo",
                object(
                    &["repository"],
                    [
                        ("repository", string()),
                        ("directory", string()),
                        ("revision", string()),
                    ],
                ),
            ),
        ],
    )
}

fn file_share() -> Value {
    object(
        &[],
        [(
            "properties",
            object(
                &[],
                [
                    ("metadata", json!({ "type": "object" })),
                    ("shareQuota", integer()),
                    ("provisionedIops", integer()),
                    ("provisionedBandwidthMibps", integer()),
                    ("enabledProtocols", open(&["SMB", "NFS"])),
                    (
                        "rootSquash",
                        open(&["NoRootSquash", "RootSquash", "AllSquash"]),
                    ),
                    (
                        "accessTier",
                        open(&["TransactionOptimized", "Hot", "Cool", "Premium"]),
                    ),
                    ("lastModifiedTime", read_only(string())),
                    ("shareUsageBytes", read_only(integer())),
                ],
            ),
        )],
    )
}

/// An object with these members, of which `required` must be present.
fn object<const N: usize>(required: &[&str], members: [(&str, Value); N]) -> Value {
    let properties: Map<String, Value> = members
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn integer() -> Value {
    json!({ "type": "integer" })
}

fn number() -> Value {
    json!({ "type": "number" })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn list(item: Value) -> Value {
    json!({ "type": "array", "items": item })
}

/// An object whose every member is `value` (tags, labels).
fn map_of(value: Value) -> Value {
    json!({ "type": "object", "additionalProperties": value })
}

/// A string from a closed set: anything else is refused (case is not significant).
fn fixed(names: &[&str]) -> Value {
    json!({ "type": "string", "enum": names, "x-ms-enum": { "modelAsString": false } })
}

/// A string with these known values that Azure may extend: any string is accepted.
fn open(names: &[&str]) -> Value {
    json!({ "type": "string", "enum": names, "x-ms-enum": { "modelAsString": true } })
}

/// Set by Azure only: ignored in a request.
fn read_only(mut schema: Value) -> Value {
    schema["readOnly"] = json!(true);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(definition: &str, body: Value) -> Vec<String> {
        validator()
            .validate(definition, &body)
            .into_iter()
            .map(|violation| violation.path)
            .collect()
    }

    #[test]
    fn a_plain_group_is_accepted_and_each_broken_part_is_named() {
        let good = json!({ "location": "eastus", "properties": {
            "osType": "Linux", "restartPolicy": "Whatever-Azure-Adds",
            "provisioningState": 7,
            "containers": [{ "name": "web", "properties": {
                "image": "nginx", "ports": [{ "port": 80 }],
                "resources": { "requests": { "cpu": 1, "memoryInGB": 1.5 } } } }] } });
        assert_eq!(paths(CONTAINER_GROUP, good), Vec::<String>::new());
        let bad = json!({ "identity": { "type": "Bogus" }, "properties": {
            "ipAddress": { "ports": [{ "port": "80" }] },
            "containers": [{ "name": "web", "properties": {
                "resources": { "requests": { "cpu": "one" } } } }] } });
        assert_eq!(
            paths(CONTAINER_GROUP, bad),
            vec![
                "identity.type",
                "properties.ipAddress.type",
                "properties.ipAddress.ports[0].port",
                "properties.containers[0].properties.resources.requests.memoryInGB",
                "properties.containers[0].properties.resources.requests.cpu",
            ]
        );
    }

    #[test]
    fn a_share_quota_must_be_an_integer() {
        let bad = json!({ "properties": { "shareQuota": "big", "accessTier": "Hot" } });
        assert_eq!(paths(FILE_SHARE, bad), vec!["properties.shareQuota"]);
    }
}
