//! `Microsoft.ManagedIdentity/userAssignedIdentities` (api-version 2024-11-30): synchronous
//! PUT (201 new, 200 existing, with `clientId`, `principalId` and `tenantId` Entra ID gives
//! the identity once), GET, DELETE (200, or 204 when there was nothing).
//!
//! A new identity's service principal takes a while to replicate through the directory; the
//! emulator remembers when each identity was made so role assignments can answer
//! `PrincipalNotFound` until then (see `role_assignments`).

use crate::arm_response::{ArmResponse, parse_located_body};
use crate::context::RequestContext;
use crate::names::{InGroup, key_of, normalize_location, resource_group_id};
use crate::world::{IdentityRecord, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The api-versions of Microsoft.ManagedIdentity the emulator accepts.
pub(crate) const API_VERSIONS: &[&str] = &["2024-11-30", "2023-01-31"];
/// The tenant every emulated identity belongs to.
pub(crate) const TENANT_ID: &str = "72f988bf-0000-4000-8000-000000000f01";

pub(crate) fn identity_id(subscription: &str, group: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
        resource_group_id(subscription, group)
    )
}

/// 3-128 characters: letters, digits, `-` and `_`, starting with a letter or digit.
fn is_valid_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    identity: &InGroup,
    body: &[u8],
) -> ArmResponse {
    let (subscription, group, name) = identity.parts();
    let Some(group_record) = world
        .resource_groups
        .get(&key_of(&resource_group_id(subscription, group)))
        .filter(|record| record.deleting_since_ms.is_none())
        .cloned()
    else {
        return ArmResponse::not_found(
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        );
    };
    if !is_valid_name(name) {
        return ArmResponse::bad_request(
            "InvalidResourceName",
            format!(
                "Resource name '{name}' is invalid: 3-128 letters, digits, hyphens and \
                 underscores, starting with a letter or digit."
            ),
        );
    }
    let (request, location) = match parse_located_body(body) {
        Ok(located) => located,
        Err(answer) => return answer,
    };
    let location = location.as_str();
    let id = identity_id(subscription, &group_record.name, name);
    let key = key_of(&id);
    let tags = request.get("tags").cloned();
    let (status, record) = match world.identities.get_mut(&key) {
        Some(existing) => {
            if normalize_location(location) != existing.location {
                return ArmResponse::bad_request(
                    "InvalidResourceLocation",
                    format!(
                        "The resource '{name}' already exists in location '{}'. A resource \
                         with the same name cannot be created in location '{location}'.",
                        existing.location
                    ),
                );
            }
            existing.tags = tags;
            (StatusCode::OK, existing.clone())
        }
        None => {
            let record = IdentityRecord {
                id,
                name: name.to_owned(),
                location: normalize_location(location),
                tags,
                client_id: uuid::Uuid::new_v4().to_string(),
                principal_id: uuid::Uuid::new_v4().to_string(),
                created_ms: context.now_ms,
            };
            world.identities.insert(key, record.clone());
            world.log_event(context.now_ms, &record.id, "Created");
            (StatusCode::CREATED, record)
        }
    };
    ArmResponse::json(status, render(&record))
}

pub(crate) fn get(world: &World, identity: &InGroup) -> ArmResponse {
    let InGroup { group, name, .. } = identity;
    match world.identities.get(&key(identity)) {
        Some(record) => ArmResponse::json(StatusCode::OK, render(record)),
        None => ArmResponse::not_found(
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under \
                 resource group '{group}' was not found."
            ),
        ),
    }
}

pub(crate) fn delete(
    world: &mut World,
    context: &RequestContext<'_>,
    identity: &InGroup,
) -> ArmResponse {
    match world.identities.remove(&key(identity)) {
        Some(record) => {
            world.log_event(context.now_ms, &record.id, "Deleted");
            ArmResponse::empty(StatusCode::OK)
        }
        None => ArmResponse::empty(StatusCode::NO_CONTENT),
    }
}

/// The map key of an identity.
fn key(identity: &InGroup) -> String {
    let (subscription, group, name) = identity.parts();
    key_of(&identity_id(subscription, group, name))
}

fn render(record: &IdentityRecord) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": record.location,
        "tags": record.tags.clone().unwrap_or_else(|| json!({})),
        "properties": {
            "clientId": record.client_id,
            "principalId": record.principal_id,
            "tenantId": TENANT_ID,
        },
    })
}
