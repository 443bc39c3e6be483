//! Maps an ARM path (case-insensitive, as ARM is) to a route, checks its api-version and
//! hands it to the resource module that answers it.

use crate::arm_response::ArmResponse;
use crate::context::RequestContext;
use crate::names::{
    CONTAINER_INSTANCE_API_VERSIONS, CONTAINER_INSTANCE_OPERATION_API_VERSION, InGroup,
    RESOURCES_API_VERSIONS, STORAGE_API_VERSIONS,
};
use crate::operations;
use crate::resources::{
    container_groups, file_shares, identities, providers, resource_groups, role_assignments,
    storage_accounts,
};
use crate::world::{OperationRecord, World};
use axum::http::{Method, StatusCode};

/// An ARM route; names keep the casing of the request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ArmRoute {
    ResourceGroup {
        subscription: String,
        group: String,
    },
    ResourceGroupOperation {
        subscription: String,
        operation: String,
    },
    Provider {
        subscription: String,
        namespace: String,
    },
    ProviderRegister {
        subscription: String,
        namespace: String,
    },
    StorageNameCheck {
        subscription: String,
    },
    StorageAccount(InGroup),
    StorageListKeys(InGroup),
    FileShare {
        storage_account: InGroup,
        share: String,
    },
    StorageOperation {
        operation: String,
    },
    ContainerGroups {
        subscription: String,
        group: Option<String>,
    },
    ContainerGroup(InGroup),
    ContainerGroupAction {
        container_group: InGroup,
        action: String,
    },
    ContainerLogs {
        container_group: InGroup,
        container: String,
    },
    /// `exec` or `attach` on one container.
    ContainerSession {
        container_group: InGroup,
        container: String,
        kind: String,
    },
    ContainerGroupOperation {
        operation: String,
    },
    Identity(InGroup),
    /// A role assignment at `scope` (the path before `/providers/Microsoft.Authorization`).
    RoleAssignment {
        scope: String,
        name: String,
    },
}

/// Which api-version family a route belongs to.
enum ApiFamily {
    Resources,
    Storage,
    ContainerInstance,
    ContainerInstanceOperation,
    ManagedIdentity,
    Authorization,
}

impl ArmRoute {
    /// The route of a path, or `None` for a path the emulator does not serve.
    pub(crate) fn parse(path: &str) -> Option<ArmRoute> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let s = |idx: usize| segments[idx].to_owned();
        if let [
            ..,
            "providers",
            "microsoft.authorization",
            "roleassignments",
            _,
        ] = lower.as_slice()
            && segments.len() > 4
            && lower[0] == "subscriptions"
        {
            let end = segments.len() - 4;
            return Some(ArmRoute::RoleAssignment {
                scope: segments[..end].join("/"),
                name: s(segments.len() - 1),
            });
        }
        if let [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            rest @ ..,
        ] = lower.as_slice()
        {
            return ArmRoute::parse_in_group(segments[1], segments[3], rest, &segments[5..]);
        }
        let route = match lower.as_slice() {
            ["subscriptions", _, "resourcegroups", _] => ArmRoute::ResourceGroup {
                subscription: s(1),
                group: s(3),
            },
            ["subscriptions", _, "operationresults", _] => ArmRoute::ResourceGroupOperation {
                subscription: s(1),
                operation: s(3),
            },
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.storage",
                "checknameavailability",
            ] => ArmRoute::StorageNameCheck { subscription: s(1) },
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.storage",
                "locations",
                _,
                "asyncoperations",
                _,
            ] => ArmRoute::StorageOperation { operation: s(7) },
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.containerinstance",
                "containergroups",
            ] => ArmRoute::ContainerGroups {
                subscription: s(1),
                group: None,
            },
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.containerinstance",
                "locations",
                _,
                "operations",
                _,
            ] => ArmRoute::ContainerGroupOperation { operation: s(7) },
            ["subscriptions", _, "providers", _, "register"] => ArmRoute::ProviderRegister {
                subscription: s(1),
                namespace: s(3),
            },
            ["subscriptions", _, "providers", _] => ArmRoute::Provider {
                subscription: s(1),
                namespace: s(3),
            },
            _ => return None,
        };
        Some(route)
    }

    /// The route of a path inside a resource group, from the segment after its `providers`:
    /// `rest` in lower case, `names` as the request spells them.
    fn parse_in_group(
        subscription: &str,
        group: &str,
        rest: &[&str],
        names: &[&str],
    ) -> Option<ArmRoute> {
        let s = |idx: usize| names[idx].to_owned();
        let in_group = |idx: usize| InGroup {
            subscription: subscription.to_owned(),
            group: group.to_owned(),
            name: s(idx),
        };
        let route = match rest {
            ["microsoft.storage", "storageaccounts", _] => ArmRoute::StorageAccount(in_group(2)),
            ["microsoft.storage", "storageaccounts", _, "listkeys"] => {
                ArmRoute::StorageListKeys(in_group(2))
            }
            [
                "microsoft.storage",
                "storageaccounts",
                _,
                "fileservices",
                "default",
                "shares",
                _,
            ] => ArmRoute::FileShare {
                storage_account: in_group(2),
                share: s(6),
            },
            ["microsoft.containerinstance", "containergroups"] => ArmRoute::ContainerGroups {
                subscription: subscription.to_owned(),
                group: Some(group.to_owned()),
            },
            ["microsoft.containerinstance", "containergroups", _] => {
                ArmRoute::ContainerGroup(in_group(2))
            }
            [
                "microsoft.containerinstance",
                "containergroups",
                _,
                action @ ("start" | "stop" | "restart"),
            ] => ArmRoute::ContainerGroupAction {
                container_group: in_group(2),
                action: (*action).to_owned(),
            },
            [
                "microsoft.containerinstance",
                "containergroups",
                _,
                "containers",
                _,
                "logs",
            ] => ArmRoute::ContainerLogs {
                container_group: in_group(2),
                container: s(4),
            },
            [
                "microsoft.containerinstance",
                "containergroups",
                _,
                "containers",
                _,
                kind @ ("exec" | "attach"),
            ] => ArmRoute::ContainerSession {
                container_group: in_group(2),
                container: s(4),
                kind: (*kind).to_owned(),
            },
            ["microsoft.managedidentity", "userassignedidentities", _] => {
                ArmRoute::Identity(in_group(2))
            }
            _ => return None,
        };
        Some(route)
    }

    fn api_family(&self) -> ApiFamily {
        match self {
            ArmRoute::ResourceGroup { .. }
            | ArmRoute::ResourceGroupOperation { .. }
            | ArmRoute::Provider { .. }
            | ArmRoute::ProviderRegister { .. } => ApiFamily::Resources,
            ArmRoute::StorageNameCheck { .. }
            | ArmRoute::StorageAccount(_)
            | ArmRoute::StorageListKeys(_)
            | ArmRoute::FileShare { .. }
            | ArmRoute::StorageOperation { .. } => ApiFamily::Storage,
            ArmRoute::ContainerGroups { .. }
            | ArmRoute::ContainerGroup(_)
            | ArmRoute::ContainerGroupAction { .. }
            | ArmRoute::ContainerLogs { .. }
            | ArmRoute::ContainerSession { .. } => ApiFamily::ContainerInstance,
            ArmRoute::ContainerGroupOperation { .. } => ApiFamily::ContainerInstanceOperation,
            ArmRoute::Identity(_) => ApiFamily::ManagedIdentity,
            ArmRoute::RoleAssignment { .. } => ApiFamily::Authorization,
        }
    }

    /// The resource-provider namespace that must be registered, if any.
    pub(crate) fn namespace(&self) -> Option<(&str, &'static str)> {
        let (subscription, namespace) = match self {
            ArmRoute::StorageNameCheck { subscription } => (subscription, "Microsoft.Storage"),
            ArmRoute::StorageAccount(account)
            | ArmRoute::StorageListKeys(account)
            | ArmRoute::FileShare {
                storage_account: account,
                ..
            } => (&account.subscription, "Microsoft.Storage"),
            ArmRoute::ContainerGroups { subscription, .. } => {
                (subscription, "Microsoft.ContainerInstance")
            }
            ArmRoute::ContainerGroup(container_group)
            | ArmRoute::ContainerGroupAction {
                container_group, ..
            }
            | ArmRoute::ContainerLogs {
                container_group, ..
            }
            | ArmRoute::ContainerSession {
                container_group, ..
            } => (&container_group.subscription, "Microsoft.ContainerInstance"),
            ArmRoute::Identity(identity) => (&identity.subscription, "Microsoft.ManagedIdentity"),
            _ => return None,
        };
        Some((subscription, namespace))
    }

    /// The error ARM gives for a missing or unsupported api-version, if it is one.
    pub(crate) fn check_api_version(&self, api_version: Option<&str>) -> Option<ArmResponse> {
        let Some(api_version) = api_version.filter(|version| !version.is_empty()) else {
            return Some(ArmResponse::bad_request(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        };
        let (supported, type_name): (Vec<&str>, &str) = match self.api_family() {
            ApiFamily::Resources => (RESOURCES_API_VERSIONS.to_vec(), "resourceGroups"),
            ApiFamily::Storage => (STORAGE_API_VERSIONS.to_vec(), "storageAccounts"),
            ApiFamily::ContainerInstance => {
                (CONTAINER_INSTANCE_API_VERSIONS.to_vec(), "containerGroups")
            }
            ApiFamily::ContainerInstanceOperation => {
                let mut versions = CONTAINER_INSTANCE_API_VERSIONS.to_vec();
                versions.push(CONTAINER_INSTANCE_OPERATION_API_VERSION);
                (versions, "locations/operations")
            }
            ApiFamily::ManagedIdentity => {
                (identities::API_VERSIONS.to_vec(), "userAssignedIdentities")
            }
            ApiFamily::Authorization => {
                (role_assignments::API_VERSIONS.to_vec(), "roleAssignments")
            }
        };
        if supported.contains(&api_version) {
            return None;
        }
        Some(ArmResponse::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{api_version}' is invalid for type '{type_name}'. The \
                 supported api-versions are '{}'.",
                supported.join(", ")
            ),
        ))
    }
}

/// Brings the world up to `now_ms`: finished resource-group deletes, logged phase changes.
pub(crate) fn settle(world: &mut World, now_ms: u64, delay_ms: u64) {
    world.forget_old_operations(now_ms);
    resource_groups::settle(world, now_ms, delay_ms);
    container_groups::settle(world, now_ms, delay_ms);
}

/// Answers one ARM request against the world: a namespace that must be registered first is
/// refused, else the route's resource module answers.
pub(crate) fn dispatch(
    world: &mut World,
    context: &RequestContext<'_>,
    method: &Method,
    route: ArmRoute,
    body: &[u8],
) -> ArmResponse {
    if let Some((subscription, namespace)) = route.namespace()
        && let Some(answer) =
            providers::refuse_unregistered(world, context, subscription, namespace)
    {
        return answer;
    }
    let method = method.as_str();
    match (method, route) {
        (
            method,
            ArmRoute::ResourceGroup {
                subscription,
                group,
            },
        ) => match method {
            "PUT" => resource_groups::put(world, context, &subscription, &group, body),
            "GET" | "HEAD" => resource_groups::get(world, &subscription, &group, method == "HEAD"),
            "DELETE" => resource_groups::delete(world, context, &subscription, &group),
            _ => method_not_allowed(method),
        },
        // a resource-group delete and a storage-account create answer their `Location` alike
        (
            "GET",
            ArmRoute::ResourceGroupOperation { operation, .. }
            | ArmRoute::StorageOperation { operation },
        ) => operations::location_status(world, context, &operation, |finished| {
            operation_result(world, context, finished)
        }),
        (
            "GET",
            ArmRoute::Provider {
                subscription,
                namespace,
            },
        ) => providers::get(world, context, &subscription, &namespace),
        (
            "POST",
            ArmRoute::ProviderRegister {
                subscription,
                namespace,
            },
        ) => providers::register(world, context, &subscription, &namespace),
        ("POST", ArmRoute::StorageNameCheck { .. }) => {
            storage_accounts::check_name_availability(world, body)
        }
        ("PUT", ArmRoute::StorageAccount(account)) => {
            storage_accounts::put(world, context, &account, body)
        }
        ("GET", ArmRoute::StorageAccount(account)) => {
            storage_accounts::get(world, context, &account)
        }
        ("DELETE", ArmRoute::StorageAccount(account)) => {
            storage_accounts::delete(world, context, &account)
        }
        ("POST", ArmRoute::StorageListKeys(account)) => {
            storage_accounts::list_keys(world, &account)
        }
        (
            method,
            ArmRoute::FileShare {
                storage_account,
                share,
            },
        ) => match method {
            "PUT" => file_shares::put(world, context, &storage_account, &share, body),
            "GET" => file_shares::get(world, &storage_account, &share),
            "DELETE" => file_shares::delete(world, &storage_account, &share),
            _ => method_not_allowed(method),
        },
        (
            "GET",
            ArmRoute::ContainerGroups {
                subscription,
                group,
            },
        ) => container_groups::list(world, context, &subscription, group.as_deref()),
        ("PUT", ArmRoute::ContainerGroup(group)) => {
            container_groups::put(world, context, &group, body)
        }
        ("GET", ArmRoute::ContainerGroup(group)) => container_groups::get(world, context, &group),
        ("PATCH", ArmRoute::ContainerGroup(group)) => {
            container_groups::patch(world, context, &group, body)
        }
        ("DELETE", ArmRoute::ContainerGroup(group)) => {
            container_groups::delete(world, context, &group)
        }
        (
            "POST",
            ArmRoute::ContainerGroupAction {
                container_group,
                action,
            },
        ) => container_groups::act(world, context, &container_group, &action),
        (
            "GET",
            ArmRoute::ContainerLogs {
                container_group,
                container,
            },
        ) => container_groups::logs(world, context, &container_group, &container),
        (
            "POST",
            ArmRoute::ContainerSession {
                container_group,
                container,
                kind,
            },
        ) => container_groups::session(
            world,
            context,
            (&container_group, &container),
            (kind == "exec").then_some(body),
        ),
        ("GET", ArmRoute::ContainerGroupOperation { operation }) => {
            operations::async_operation_status(world, context, &operation, |resource_id| {
                container_groups::events(world, context, resource_id)
            })
        }
        ("PUT", ArmRoute::Identity(identity)) => identities::put(world, context, &identity, body),
        ("GET", ArmRoute::Identity(identity)) => identities::get(world, &identity),
        ("DELETE", ArmRoute::Identity(identity)) => identities::delete(world, context, &identity),
        ("PUT", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::put(world, context, &scope, &name, body)
        }
        ("GET", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::get(world, &scope, &name)
        }
        ("DELETE", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::delete(world, context, &scope, &name)
        }
        (method, _) => method_not_allowed(method),
    }
}

/// ARM's 405 for a method the route does not take.
fn method_not_allowed(method: &str) -> ArmResponse {
    ArmResponse::cloud_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("The requested method '{method}' is not allowed for this resource."),
    )
}

/// What a finished `Location` operation answers: the storage account it created, or nothing
/// (a resource-group delete).
fn operation_result(
    world: &World,
    context: &RequestContext<'_>,
    operation: &OperationRecord,
) -> ArmResponse {
    match operation.kind.as_str() {
        "storage_account" => storage_accounts::render_by_id(world, context, &operation.resource_id)
            .map(|body| ArmResponse::json(StatusCode::OK, body))
            .unwrap_or_else(|| {
                ArmResponse::not_found(
                    "ResourceNotFound",
                    format!("The Resource '{}' was not found.", operation.resource_id),
                )
            }),
        _ => ArmResponse::empty(StatusCode::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_case_insensitively_keeping_name_casing() {
        let route = ArmRoute::parse(
            "/SUBSCRIPTIONS/s1/resourcegroups/My-RG/providers/microsoft.containerinstance/\
             CONTAINERGROUPS/etcd/Start",
        );
        assert_eq!(
            route,
            Some(ArmRoute::ContainerGroupAction {
                container_group: InGroup {
                    subscription: "s1".into(),
                    group: "My-RG".into(),
                    name: "etcd".into(),
                },
                action: "start".into(),
            })
        );
        assert_eq!(ArmRoute::parse("/subscriptions/s1/nothing"), None);
    }
}

#[cfg(test)]
mod robustness_tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("properties".to_owned()),
                        Just("containers".to_owned()),
                        Just("location".to_owned()),
                        Just("ipAddress".to_owned()),
                        Just("volumes".to_owned()),
                        Just("name".to_owned()),
                        "[a-z]{1,8}",
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn answers_any_json_body_without_panicking(
            body in any_json(),
            method_idx in 0usize..4,
            pointer_idx in 0usize..6,
        ) {
            let mut world = World::default();
            let context = RequestContext {
                now_ms: 1_000,
                base_url: "http://127.0.0.1:1",
                api_version: "2025-09-01",
                delay_ms: 10,
                validator: None,
                file_share_validator: None,
                fail_operations: &[],
                require_registration: false,
                stop_transition_ms: 0,
                tail: None,
            };
            let group_path = "/subscriptions/s/resourcegroups/rg";
            let rg = ArmRoute::parse(group_path).expect("route");
            dispatch(&mut world, &context, &Method::PUT, rg, br#"{"location":"eastus"}"#);
            let mut valid_group = json!({
                "location": "eastus",
                "properties": {
                    "osType": "Linux",
                    "containers": [{ "name": "web", "properties": {
                        "image": "nginx",
                        "ports": [{ "port": 80 }],
                        "resources": { "requests": { "cpu": 1, "memoryInGB": 1 } } } }],
                    "ipAddress": { "type": "Public", "dnsNameLabel": "fk-web", "ports": [{ "port": 80 }] },
                    "volumes": [{ "name": "v", "azureFile": { "shareName": "s", "storageAccountName": "a" } }]
                }
            });
            let pointers = [
                "/location", "/properties/containers", "/properties/containers/0/properties/resources",
                "/properties/ipAddress", "/properties/volumes/0/azureFile", "/properties/containers/0/name",
            ];
            if let Some(slot) = valid_group.pointer_mut(pointers[pointer_idx]) {
                *slot = body.clone();
            }
            let route = ArmRoute::parse(
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerInstance/containerGroups/mutant",
            )
            .expect("route");
            let mutated = serde_json::to_vec(&valid_group).expect("serialises");
            prop_assert!(dispatch(&mut world, &context, &Method::PUT, route, &mutated).status.as_u16() < 500);
            let bytes = serde_json::to_vec(&body).expect("serialises");
            let paths = [
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerInstance/containerGroups/web",
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/fkdata",
                "/subscriptions/s/resourcegroups/rg",
                "/subscriptions/s/providers/Microsoft.Storage/checkNameAvailability",
            ];
            let method = if method_idx == 3 { Method::POST } else { Method::PUT };
            let route = ArmRoute::parse(paths[method_idx]).expect("route");
            let answer = dispatch(&mut world, &context, &method, route, &bytes);
            prop_assert!(answer.status.as_u16() < 500);
            let get = ArmRoute::parse(paths[0]).expect("route");
            let shown = dispatch(&mut world, &context, &Method::GET, get, b"");
            prop_assert!(shown.status.as_u16() < 500);
        }
    }
}
