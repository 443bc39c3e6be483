//! `Microsoft.Authorization/roleAssignments` (api-version 2026-08-01) at any scope the
//! emulator holds (a subscription, a resource group, a resource): PUT (201 new, 200 the
//! same assignment again), GET, DELETE (200 with the assignment, 204 when there was none).
//!
//! As Azure does: an assignment names a principal by object id; a principal the directory
//! does not know (yet) is refused with `400 PrincipalNotFound`. An identity made less than
//! [`REPLICATION_MS`] (or the provisioning delay, if longer) ago has not replicated yet.
//! A second assignment of the same role to the same principal at the same scope under
//! another name is `409 RoleAssignmentExists`. Role definitions are not modeled: any id of
//! the form `.../providers/Microsoft.Authorization/roleDefinitions/<GUID>` is accepted.

use crate::arm_response::{ArmResponse, parse_json_body};
use crate::context::RequestContext;
use crate::names::key_of;
use crate::world::{RoleAssignmentRecord, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub(crate) const API_VERSIONS: &[&str] = &["2026-08-01", "2022-04-01"];
/// How long a new identity's principal stays unknown to role assignments.
pub(crate) const REPLICATION_MS: u64 = 1_000;
const PRINCIPAL_TYPES: [&str; 7] = [
    "User",
    "Group",
    "ServicePrincipal",
    "ForeignGroup",
    "Device",
    "AgentUser",
    "AgentServicePrincipal",
];

fn assignment_id(scope: &str, name: &str) -> String {
    format!(
        "/{}/providers/Microsoft.Authorization/roleAssignments/{name}",
        scope.trim_matches('/')
    )
}

/// Whether `scope` (without a leading slash) is something the world holds.
fn scope_exists(world: &World, scope: &str) -> bool {
    let lower = scope.trim_matches('/').to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').collect();
    match segments.as_slice() {
        ["subscriptions", _] => true,
        ["subscriptions", _, "resourcegroups", _] => world
            .resource_groups
            .get(&format!("/{lower}"))
            .is_some_and(|group| group.deleting_since_ms.is_none()),
        _ => {
            let key = format!("/{lower}");
            world.container_groups.contains_key(&key)
                || world.identities.contains_key(&key)
                || world.file_shares.contains_key(&key)
                || world
                    .storage_accounts
                    .values()
                    .any(|account| key_of(&account.id) == key)
        }
    }
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    scope: &str,
    name: &str,
    body: &[u8],
) -> ArmResponse {
    if !is_guid(name) {
        return ArmResponse::bad_request(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        );
    }
    if !scope_exists(world, scope) {
        return ArmResponse::not_found(
            "InvalidScope",
            format!(
                "The scope '/{}' is not valid or does not exist.",
                scope.trim_matches('/')
            ),
        );
    }
    let request = match parse_json_body(body) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let text = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let role = text("/properties/roleDefinitionId");
    let principal = text("/properties/principalId");
    let principal_type = text("/properties/principalType");
    let role_guid = role
        .to_ascii_lowercase()
        .split_once("/providers/microsoft.authorization/roledefinitions/")
        .map(|(_, guid)| guid.to_owned());
    let Some(role_guid) = role_guid.filter(|guid| is_guid(guid)) else {
        return ArmResponse::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role}' does not exist."),
        );
    };
    if !principal_type.is_empty() && !PRINCIPAL_TYPES.contains(&principal_type.as_str()) {
        return ArmResponse::bad_request(
            "InvalidPrincipalType",
            format!("The principal type '{principal_type}' is not valid."),
        );
    }
    let replicated = world
        .identities
        .values()
        .find(|identity| identity.principal_id.eq_ignore_ascii_case(&principal));
    let wait = REPLICATION_MS.max(context.delay_ms);
    match replicated {
        Some(identity) if context.now_ms >= identity.created_ms + wait => {}
        _ => {
            return ArmResponse::bad_request(
                "PrincipalNotFound",
                format!(
                    "Principal {} does not exist in the directory {}. Check that you have the \
                     correct principal ID. If you are creating this principal and then \
                     immediately assigning a role, this error might be related to a \
                     replication delay. In this case, set the role assignment principalType \
                     property to a value, such as ServicePrincipal, User, or Group.",
                    principal.replace('-', ""),
                    super::identities::TENANT_ID
                ),
            );
        }
    }
    let id = assignment_id(scope, name);
    let key = key_of(&id);
    let scope_key = key_of(&format!("/{}", scope.trim_matches('/')));
    if let Some(other) = world.role_assignments.values().find(|other| {
        key_of(&other.scope) == scope_key
            && other.role_guid == role_guid
            && other.principal_id.eq_ignore_ascii_case(&principal)
            && key_of(&other.id) != key
    }) {
        let _ = other;
        return ArmResponse::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        );
    }
    let status = if world.role_assignments.contains_key(&key) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let record = RoleAssignmentRecord {
        id,
        name: name.to_owned(),
        scope: format!("/{}", scope.trim_matches('/')),
        role_guid,
        principal_id: principal,
        principal_type: if principal_type.is_empty() {
            "ServicePrincipal".into()
        } else {
            principal_type
        },
    };
    if status == StatusCode::CREATED {
        world.log_event(context.now_ms, &record.id, "Created");
    }
    world.role_assignments.insert(key, record.clone());
    ArmResponse::json(status, render(&record))
}

pub(crate) fn get(world: &World, scope: &str, name: &str) -> ArmResponse {
    match world
        .role_assignments
        .get(&key_of(&assignment_id(scope, name)))
    {
        Some(record) => ArmResponse::json(StatusCode::OK, render(record)),
        None => ArmResponse::not_found(
            "RoleAssignmentNotFound",
            format!("The role assignment '{name}' is not found."),
        ),
    }
}

pub(crate) fn delete(
    world: &mut World,
    context: &RequestContext<'_>,
    scope: &str,
    name: &str,
) -> ArmResponse {
    match world
        .role_assignments
        .remove(&key_of(&assignment_id(scope, name)))
    {
        Some(record) => {
            world.log_event(context.now_ms, &record.id, "Deleted");
            ArmResponse::json(StatusCode::OK, render(&record))
        }
        None => ArmResponse::empty(StatusCode::NO_CONTENT),
    }
}

fn render(record: &RoleAssignmentRecord) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!(
                "/providers/Microsoft.Authorization/roleDefinitions/{}",
                record.role_guid
            ),
            "principalId": record.principal_id,
            "principalType": record.principal_type,
            "scope": record.scope,
        },
    })
}
