//! Maps an ARM path (case-insensitive, as ARM is) to a route, checks its api-version and
//! hands it to the resource module that answers it.

use crate::arm_response::ArmResponse;
use crate::context::RequestContext;
use crate::names::{
    CONTAINER_INSTANCE_API_VERSIONS, CONTAINER_INSTANCE_OPERATION_API_VERSION,
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
    StorageAccount {
        subscription: String,
        group: String,
        account: String,
    },
    StorageListKeys {
        subscription: String,
        group: String,
        account: String,
    },
    FileShare {
        subscription: String,
        group: String,
        account: String,
        share: String,
    },
    StorageOperation {
        operation: String,
    },
    ContainerGroups {
        subscription: String,
        group: Option<String>,
    },
    ContainerGroup {
        subscription: String,
        group: String,
        name: String,
    },
    ContainerGroupAction {
        subscription: String,
        group: String,
        name: String,
        action: String,
    },
    ContainerLogs {
        subscription: String,
        group: String,
        name: String,
        container: String,
    },
    /// `exec` or `attach` on one container.
    ContainerSession {
        subscription: String,
        group: String,
        name: String,
        container: String,
        kind: String,
    },
    ContainerGroupOperation {
        operation: String,
    },
    Identity {
        subscription: String,
        group: String,
        name: String,
    },
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
    pub fn parse(path: &str) -> Option<ArmRoute> {
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
            return ArmRoute::parse_in_group(s(1), s(3), rest, &segments[5..]);
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
        subscription: String,
        group: String,
        rest: &[&str],
        names: &[&str],
    ) -> Option<ArmRoute> {
        let s = |idx: usize| names[idx].to_owned();
        let route = match rest {
            ["microsoft.storage", "storageaccounts", _] => ArmRoute::StorageAccount {
                subscription,
                group,
                account: s(2),
            },
            ["microsoft.storage", "storageaccounts", _, "listkeys"] => ArmRoute::StorageListKeys {
                subscription,
                group,
                account: s(2),
            },
            [
                "microsoft.storage",
                "storageaccounts",
                _,
                "fileservices",
                "default",
                "shares",
                _,
            ] => ArmRoute::FileShare {
                subscription,
                group,
                account: s(2),
                share: s(6),
            },
            ["microsoft.containerinstance", "containergroups"] => ArmRoute::ContainerGroups {
                subscription,
                group: Some(group),
            },
            ["microsoft.containerinstance", "containergroups", _] => ArmRoute::ContainerGroup {
                subscription,
                group,
                name: s(2),
            },
            [
                "microsoft.containerinstance",
                "containergroups",
                _,
                action @ ("start" | "stop" | "restart"),
            ] => ArmRoute::ContainerGroupAction {
                subscription,
                group,
                name: s(2),
                action: (*action).to_owned(),
            },
            [
                "microsoft.containerinstance",
                "containergroups",
                _,
                "containers",
                _,
                verb,
            ] => {
                let (name, container) = (s(2), s(4));
                match *verb {
                    "logs" => ArmRoute::ContainerLogs {
                        subscription,
                        group,
                        name,
                        container,
                    },
                    "exec" | "attach" => ArmRoute::ContainerSession {
                        subscription,
                        group,
                        name,
                        container,
                        kind: (*verb).to_owned(),
                    },
                    _ => return None,
                }
            }
            ["microsoft.managedidentity", "userassignedidentities", _] => ArmRoute::Identity {
                subscription,
                group,
                name: s(2),
            },
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
            | ArmRoute::StorageAccount { .. }
            | ArmRoute::StorageListKeys { .. }
            | ArmRoute::FileShare { .. }
            | ArmRoute::StorageOperation { .. } => ApiFamily::Storage,
            ArmRoute::ContainerGroups { .. }
            | ArmRoute::ContainerGroup { .. }
            | ArmRoute::ContainerGroupAction { .. }
            | ArmRoute::ContainerLogs { .. }
            | ArmRoute::ContainerSession { .. } => ApiFamily::ContainerInstance,
            ArmRoute::ContainerGroupOperation { .. } => ApiFamily::ContainerInstanceOperation,
            ArmRoute::Identity { .. } => ApiFamily::ManagedIdentity,
            ArmRoute::RoleAssignment { .. } => ApiFamily::Authorization,
        }
    }

    /// The resource-provider namespace that must be registered, if any.
    pub fn namespace(&self) -> Option<(&str, &'static str)> {
        match self {
            ArmRoute::StorageNameCheck { subscription }
            | ArmRoute::StorageAccount { subscription, .. }
            | ArmRoute::StorageListKeys { subscription, .. }
            | ArmRoute::FileShare { subscription, .. } => Some((subscription, "Microsoft.Storage")),
            ArmRoute::ContainerGroups { subscription, .. }
            | ArmRoute::ContainerGroup { subscription, .. }
            | ArmRoute::ContainerGroupAction { subscription, .. }
            | ArmRoute::ContainerLogs { subscription, .. }
            | ArmRoute::ContainerSession { subscription, .. } => {
                Some((subscription, "Microsoft.ContainerInstance"))
            }
            ArmRoute::Identity { subscription, .. } => {
                Some((subscription, "Microsoft.ManagedIdentity"))
            }
            _ => None,
        }
    }

    /// The error ARM gives for a missing or unsupported api-version, if it is one.
    pub fn check_api_version(&self, api_version: Option<&str>) -> Option<ArmResponse> {
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
            "PUT",
            ArmRoute::ResourceGroup {
                subscription,
                group,
            },
        ) => resource_groups::put(world, context, &subscription, &group, body),
        (
            "GET" | "HEAD",
            ArmRoute::ResourceGroup {
                subscription,
                group,
            },
        ) => resource_groups::get(world, &subscription, &group, method == "HEAD"),
        (
            "DELETE",
            ArmRoute::ResourceGroup {
                subscription,
                group,
            },
        ) => resource_groups::delete(world, context, &subscription, &group),
        ("GET", ArmRoute::ResourceGroupOperation { operation, .. }) => {
            operations::location_status(world, context, &operation, |finished| {
                operation_result(world, context, finished)
            })
        }
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
        (
            "PUT",
            ArmRoute::StorageAccount {
                subscription,
                group,
                account,
            },
        ) => storage_accounts::put(world, context, &subscription, &group, &account, body),
        (
            "GET",
            ArmRoute::StorageAccount {
                subscription,
                group,
                account,
            },
        ) => storage_accounts::get(world, context, &subscription, &group, &account),
        (
            "DELETE",
            ArmRoute::StorageAccount {
                subscription,
                group,
                account,
            },
        ) => storage_accounts::delete(world, context, &subscription, &group, &account),
        (
            "POST",
            ArmRoute::StorageListKeys {
                subscription,
                group,
                account,
            },
        ) => storage_accounts::list_keys(world, &subscription, &group, &account),
        (
            "PUT",
            ArmRoute::FileShare {
                subscription,
                group,
                account,
                share,
            },
        ) => file_shares::put(
            world,
            context,
            &subscription,
            &group,
            &account,
            &share,
            body,
        ),
        (
            "GET",
            ArmRoute::FileShare {
                subscription,
                group,
                account,
                share,
            },
        ) => file_shares::get(world, &subscription, &group, &account, &share),
        (
            "DELETE",
            ArmRoute::FileShare {
                subscription,
                group,
                account,
                share,
            },
        ) => file_shares::delete(world, &subscription, &group, &account, &share),
        ("GET", ArmRoute::StorageOperation { operation }) => {
            operations::location_status(world, context, &operation, |finished| {
                operation_result(world, context, finished)
            })
        }
        (
            "GET",
            ArmRoute::ContainerGroups {
                subscription,
                group,
            },
        ) => container_groups::list(world, context, &subscription, group.as_deref()),
        (
            "PUT",
            ArmRoute::ContainerGroup {
                subscription,
                group,
                name,
            },
        ) => container_groups::put(world, context, &subscription, &group, &name, body),
        (
            "GET",
            ArmRoute::ContainerGroup {
                subscription,
                group,
                name,
            },
        ) => container_groups::get(world, context, &subscription, &group, &name),
        (
            "PATCH",
            ArmRoute::ContainerGroup {
                subscription,
                group,
                name,
            },
        ) => container_groups::patch(world, context, &subscription, &group, &name, body),
        (
            "DELETE",
            ArmRoute::ContainerGroup {
                subscription,
                group,
                name,
            },
        ) => container_groups::delete(world, context, &subscription, &group, &name),
        (
            "POST",
            ArmRoute::ContainerGroupAction {
                subscription,
                group,
                name,
                action,
            },
        ) => container_groups::act(world, context, &subscription, &group, &name, &action),
        (
            "GET",
            ArmRoute::ContainerLogs {
                subscription,
                group,
                name,
                container,
            },
        ) => container_groups::logs(world, context, &subscription, &group, &name, &container),
        (
            "POST",
            ArmRoute::ContainerSession {
                subscription,
                group,
                name,
                container,
                kind,
            },
        ) => container_groups::session(
            world,
            context,
            (&subscription, &group, &name, &container),
            (kind == "exec").then_some(body),
        ),
        ("GET", ArmRoute::ContainerGroupOperation { operation }) => {
            operations::async_operation_status(world, context, &operation, |resource_id| {
                container_groups::events(world, context, resource_id)
            })
        }
        (
            "PUT",
            ArmRoute::Identity {
                subscription,
                group,
                name,
            },
        ) => identities::put(world, context, &subscription, &group, &name, body),
        (
            "GET",
            ArmRoute::Identity {
                subscription,
                group,
                name,
            },
        ) => identities::get(world, &subscription, &group, &name),
        (
            "DELETE",
            ArmRoute::Identity {
                subscription,
                group,
                name,
            },
        ) => identities::delete(world, context, &subscription, &group, &name),
        ("PUT", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::put(world, context, &scope, &name, body)
        }
        ("GET", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::get(world, &scope, &name)
        }
        ("DELETE", ArmRoute::RoleAssignment { scope, name }) => {
            role_assignments::delete(world, context, &scope, &name)
        }
        (method, _) => ArmResponse::cloud_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested method '{method}' is not allowed for this resource."),
        ),
    }
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
                subscription: "s1".into(),
                group: "My-RG".into(),
                name: "etcd".into(),
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
